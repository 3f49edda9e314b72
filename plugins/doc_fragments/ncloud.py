# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # NAVER Cloud Platform KMS options of the lookup and the module. Kept in step with
    # module_utils/providers/_ncloud.py OPTIONS (tests/unit/plugins/module_utils/test_ncloud_helpers.py).
    DOCUMENTATION = r"""
options:
  key_version:
    description:
      - Version of the key to read, from V(1) to V(100).
      - When not set, KMS returns the key's latest version. Disabled versions cannot be read.
      - The same version is asked for every key tag of the task.
    type: int
  site:
    description:
      - NAVER Cloud site, which picks the default KMS endpoint, V(public) or V(gov) (case does not matter).
      - V(public) is C(https://ocapi.ncloud.com/kms/v1), V(gov) is C(https://ocapi.gov-ncloud.com/kms/v1).
      - An empty value means V(public); any other value fails before any request.
      - Ignored when O(endpoint) is set.
      - Environment variable E(NCLOUD_SITE).
    type: str
    default: public
  endpoint:
    description:
      - KMS API 2.0 base URL, a full URL (C(https://host[:port][/base])) or a bare host name (https is assumed).
      - A URL without a path gets C(/kms/v1), so V(ocapi-kr.ncloud.com) means C(https://ocapi-kr.ncloud.com/kms/v1)
        (the Korea region-isolation endpoint); a URL with a path is used as given.
      - Defaults to the endpoint of O(site), C(https://ocapi.ncloud.com/kms/v1) for the public site.
      - Environment variable E(NCLOUD_KMS_ENDPOINT).
    type: str
  access_key:
    description:
      - Access key ID of the NAVER Cloud account or sub account, sent as C(x-ncp-iam-access-key). Needs O(secret_key).
      - Environment variables, first one set wins, E(NCLOUD_ACCESS_KEY_ID), E(NCLOUD_ACCESS_KEY).
    type: str
  secret_key:
    description:
      - Secret key of O(access_key); it signs every request (API Gateway signature v2) and is never sent or logged.
      - The signature carries the time, and NAVER Cloud refuses requests 5 minutes or more away from its clock,
        so the clock of the machine that signs must be right.
      - Environment variables, first one set wins, E(NCLOUD_SECRET_ACCESS_KEY), E(NCLOUD_SECRET_KEY).
    type: str
"""

    # Sources of the lookup's options: environment variables and keyward_ncloud_* variables,
    # connection and lookup options included (their env entries come from keyward.keys.connection.PLUGINS).
    # Where an option has several environment variables, the first one set wins, as in OPTIONS
    # (Ansible's config manager would take the last; plugin_utils/_lookup.py corrects that).
    PLUGINS = r"""
options:
  key_version:
    vars:
      - name: keyward_ncloud_key_version
  site:
    env:
      - name: NCLOUD_SITE
    vars:
      - name: keyward_ncloud_site
  endpoint:
    env:
      - name: NCLOUD_KMS_ENDPOINT
    vars:
      - name: keyward_ncloud_endpoint
  access_key:
    env:
      - name: NCLOUD_ACCESS_KEY_ID
      - name: NCLOUD_ACCESS_KEY
    vars:
      - name: keyward_ncloud_access_key
  secret_key:
    env:
      - name: NCLOUD_SECRET_ACCESS_KEY
      - name: NCLOUD_SECRET_KEY
    vars:
      - name: keyward_ncloud_secret_key
  timeout:
    vars:
      - name: keyward_ncloud_timeout
  retries:
    vars:
      - name: keyward_ncloud_retries
  validate_certs:
    vars:
      - name: keyward_ncloud_validate_certs
  ca_path:
    vars:
      - name: keyward_ncloud_ca_path
  expected_fingerprint:
    vars:
      - name: keyward_ncloud_expected_fingerprint
  return_format:
    vars:
      - name: keyward_ncloud_return_format
  cache:
    vars:
      - name: keyward_ncloud_cache
"""
