# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of keyward.keys.public_key_store: check everything on the controller first.

Every key is parsed with `cryptography` (any accepted shape -> canonical SPKI PEM), every pin
compared, every file name checked, by the same _key_store.build() the module runs on the
host. Only when all of that passes is the module sent to the host, with the keys already in
canonical form and stripped to the fields it takes. A host whose key list has any problem is
not contacted at all. Why an action plugin and not tasks in the role: docs/trust_store.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.keyward.keys.plugins.module_utils import _key_store, _keys
from ansible_collections.keyward.keys.plugins.module_utils._errors import KeyFormatError

MODULE = "keyward.keys.public_key_store"
# The fields of a key item the module takes; everything else of a key record is dropped here.
MODULE_FIELDS = ("name", "expected_fingerprint", "jwk")


def _controller_parse(text, provider, label):
    if text in (None, ""):
        raise KeyFormatError("no public_key (or public_key_raw) was given", provider=provider, key=label)
    return _keys.parse_public_key(text, provider=provider, key_id=label).spki_der


def prepare(args):
    """Task args -> (module args, None) or (None, KeyStoreError). Runs on the controller only."""
    keys = args.get("keys")
    if keys is None:
        keys = []
    if not isinstance(keys, (list, tuple)):
        return None, _key_store.KeyStoreError(["keys must be a list, not %s" % type(keys).__name__], args.get("path"))
    items = []
    for item in keys:
        if isinstance(item, Mapping):
            item = dict(item)
            if item.get("public_key") in (None, ""):
                item["public_key"] = item.get("public_key_raw")
        items.append(item)
    if _keys.CRYPTOGRAPHY_IMPORT_ERROR:
        return None, _key_store.KeyStoreError(
            ["the Python library 'cryptography' is required on the controller to check the keys"], args.get("path"))
    try:
        store = _key_store.build(items, args.get("bundle"), args.get("jwks"), parse=_controller_parse,
                                 path=args.get("path"), documents=args.get("documents"))
    except _key_store.KeyStoreError as exc:
        return None, exc
    module_keys = []
    for entry in store.entries:
        module_item = {field: entry.item[field] for field in MODULE_FIELDS if entry.item.get(field) is not None}
        module_item["name"] = entry.stem
        module_item["public_key"] = entry.pem
        module_keys.append(module_item)
    module_args = dict(args)
    module_args["keys"] = module_keys
    return module_args, None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        module_args, error = prepare(self._task.args)
        if error is not None:
            result.update(failed=True, changed=False, msg=str(error), errors=error.errors)
            return result
        try:
            result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
