#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: trust_store_info
short_description: What a trust store directory holds, key by key, as its manifest records it
version_added: 0.2.0
description:
  - Reads a directory written by M(keyward.keys.public_key_store) (and so by the role C(keyward.keys.trust_store))
    and its manifest, C(.keyward-manifest.json), and returns each managed key's fingerprint and state
    (V(active), or V(retiring) while it waits out O(keyward.keys.public_key_store#module:retire_after)),
    whether its file still holds exactly what the store wrote, and the files the store did not write.
  - Read-only. Needs only Python's standard library (Python 3.6 or later) on the host and parses no key.
    Symlinks are never followed.
  - Feed the results of many hosts to the C(keyward.keys.trust_store_drift) filter to see which hosts
    hold which keys.
  - "The result's list C(keys) has one entry per key file the store manages (listed in its manifest), in file-name
    order, each with: C(name) (the file name without C(.pem)); C(path); C(fingerprint_sha256) (lowercase hex
    SHA-256 of the key's SubjectPublicKeyInfo DER, as the store wrote it); C(state), V(active) while a run lists
    the key or V(retiring) once a run no longer lists it and it waits out its grace; C(written_at), when the
    store wrote the file's current content; C(retiring_since), when a run first found the key unlisted, and
    C(retire_at), from when the next run removes it (both null while the key is active); C(intact), whether
    the file still holds exactly the bytes the store wrote (false when it was edited, replaced or removed).
    Times are ISO-8601 UTC from the host's clock."
  - Read the list as C(result['keys']), not C(result.keys), which in Jinja is the dictionary's own method. For the
    same reason it is described here and not under Return Values, where ansible-test does not allow that name.
  - A store written by release 0.1.0 (manifest version 2) records no fingerprints, states or times; for its
    files the fingerprint is taken from the file when it is intact and C(written_at) is its modification time.
author:
  - keyward.keys developers (@keyward)
options:
  path:
    description: The store's directory, as an absolute path.
    type: path
    required: true
extends_documentation_fragment:
  - keyward.keys.attributes.INFO_MODULE
notes:
  - Times come from the manifest, written with the host's clock, as ISO-8601 UTC.
seealso:
  - module: keyward.keys.public_key_store
"""

EXAMPLES = r"""
- name: Read the trust store
  keyward.keys.trust_store_info:
    path: /etc/myapp/trust
  register: store

- name: Fail when a key file was edited on the host
  ansible.builtin.assert:
    that: store['keys'] | rejectattr('intact') | list | length == 0
    fail_msg: "edited: {{ store['keys'] | rejectattr('intact') | map(attribute='path') | list }}"

- name: Keys still retiring, and when each goes
  ansible.builtin.debug:
    msg: "{{ store['keys'] | selectattr('state', 'equalto', 'retiring') | items2dict(key_name='name', value_name='retire_at') }}"
"""

RETURN = r"""
exists:
  description: Whether the directory exists. When it does not, the lists are empty and the names null.
  returned: always
  type: bool
  sample: true
unmanaged:
  description: Names of the other entries in the directory, which the store did not write (its manifest excluded).
  returned: always
  type: list
  elements: str
  sample: [README]
bundle:
  description: File name of the store's PEM bundle, or null.
  returned: always
  type: str
  sample: bundle.pem
jwks:
  description: File name of the store's JWKS document, or null.
  returned: always
  type: str
  sample: jwks.json
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyward.keys.plugins.module_utils import _store_inventory


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True)), supports_check_mode=True)
    path = module.params["path"]
    if not os.path.isabs(path):
        module.fail_json(msg="path must be absolute, not %r" % path)
    try:
        result, warnings = _store_inventory.inventory(path)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (getattr(exc, "filename", None) or path, exc.strerror or exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
