# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every provider of the collection: its name -> the module_utils module that declares it.

Adding a provider adds one line here (and its action group in meta/runtime.yml). Lookups find
their provider through this table only when they have to fetch, so a lookup answered from the
run-wide cache never imports (or compiles) the provider's client. Modules import their provider
module directly, which is how Ansible knows to ship it to the host.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import importlib

PROVIDERS = {
    "alicloud_idaas": "providers._alicloud",
    "huaweicloud_kms": "providers._huaweicloud",
    "ncloud_kms": "providers._ncloud",
    "obshell": "providers._obshell",
    "oceanbase_cloud": "providers._oceanbase_cloud",
}

_PACKAGE = "ansible_collections.keyward.keys.plugins.module_utils."


def load(name):
    """The Provider declared by the named provider's module."""
    return importlib.import_module(_PACKAGE + PROVIDERS[name]).PROVIDER
