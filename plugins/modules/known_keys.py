#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: known_keys
short_description: Pin public keys on first use and refuse changed ones, like SSH's known_hosts
version_added: 0.1.0
description:
  - Keeps a JSON file that maps an id (for obshell agents C(host:port)) to the SHA-256 fingerprint of the
    key first seen for it, with the key's type, size and the time it was first seen.
  - A key seen for the first time is recorded. A key that matches its pin passes. A key that differs from
    its pin fails the task, naming the id, the pinned and the new fingerprint, unless O(accept_changes=true),
    which records the new key in place of the old one.
  - When any key is refused, the file is left exactly as it was, including for the keys that were new.
  - Runs that update one file at the same time take turns (a lock on its directory), so none loses another's pin.
    A known-keys file that is a symbolic link is refused, not trusted as the source of pins.
  - "Usually run on the controller with C(delegate_to: localhost) and C(run_once: true); the
    C(keyward.keys.obshell_hybrid_encryption) role does so. Needs only Python's standard library."
author:
  - keyward.keys developers (@keyward)
options:
  path:
    description: The known-keys JSON file. Created, with its directory, when missing.
    type: path
    required: true
  keys:
    description:
      - The keys presented now.
      - Key records from any keyward.keys lookup or module fit, once given an O(keys[].id).
    type: list
    elements: dict
    required: true
    suboptions:
      id:
        description: What the key belongs to, for example C(10.0.0.5:2886).
        type: str
        required: true
      fingerprint_sha256:
        description: Hex SHA-256 of the key's SubjectPublicKeyInfo DER (colons and case are ignored).
        type: str
        required: true
      key_type:
        description: Recorded with the pin, for people reading the file.
        type: str
      key_size:
        description: Recorded with the pin, for people reading the file.
        type: int
  accept_changes:
    description: Accept keys that differ from their pins in this run and re-pin them.
    type: bool
    default: false
  label:
    description: What the ids are, for messages (for example C(obshell agent)).
    type: str
    default: key
  hint:
    description:
      - Text appended to the failure message when a changed key is refused.
      - Without it, the message says to re-run with O(accept_changes=true) to accept the change.
    type: str
  min_key_size:
    description:
      - Refuse (fail, write nothing) when a key's O(keys[].key_size) is smaller than this.
    type: int
  warn_key_size:
    description:
      - Warn when a key's O(keys[].key_size) is smaller than this.
    type: int
  size_hint:
    description: Text appended to key size warnings and failures, for example the upgrade that fixes them.
    type: str
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in diff mode).
    support: full
seealso:
  - module: keyward.keys.obshell_public_key_info
"""

EXAMPLES = r"""
- name: Pin the agents' keys on first use
  keyward.keys.known_keys:
    path: "{{ playbook_dir }}/obshell_known_keys.json"
    label: obshell agent
    keys:
      - id: 10.0.0.5:2886
        fingerprint_sha256: "{{ agent_key.fingerprint_sha256 }}"
        key_size: "{{ agent_key.key_size }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
pins:
  description: One entry per presented key.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The key's id.
      type: str
      sample: 10.0.0.5:2886
    state:
      description: C(new) (recorded now), C(unchanged), C(changed) (accepted and re-pinned) or C(refused).
      type: str
      sample: unchanged
    fingerprint_sha256:
      description: The presented key's fingerprint.
      type: str
      sample: 8f4c5a7e2b1d0c9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a392817
    previous_fingerprint_sha256:
      description: The pinned fingerprint, for changed and refused keys.
      type: str
      returned: when the key differs from its pin
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyward.keys.plugins.module_utils import _known_keys


# How to get past a refusal, when the caller (a role, say) does not say it in its own terms.
ACCEPT_HINT = "if the key was changed on purpose, re-run with accept_changes=true to accept it and re-pin"


def update_pins(module, path):
    """Read the pins, reconcile the presented keys, write the file if it changed -> the result."""
    try:
        before = _known_keys.load(path)
        after, results, refusal = _known_keys.reconcile(
            before, module.params["keys"], accept_changes=module.params["accept_changes"],
            label=module.params["label"], hint=module.params["hint"] or ACCEPT_HINT)
    except _known_keys.KnownKeysError as exc:
        module.fail_json(msg=str(exc))
    if refusal:
        module.fail_json(msg=refusal, pins=results)
    changed = after != before
    result = {"changed": changed, "pins": results}
    if module._diff:
        result["diff"] = {"before": _known_keys.dumps(before) if before else "",
                          "after": _known_keys.dumps(after),
                          "before_header": path, "after_header": path}
    if changed and not module.check_mode:
        try:
            _known_keys.save(path, after)
        except OSError as exc:
            module.fail_json(msg="cannot write known keys file %s: %s" % (path, exc.strerror or exc))
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            keys=dict(type="list", elements="dict", required=True, no_log=False, options=dict(
                id=dict(type="str", required=True),
                fingerprint_sha256=dict(type="str", required=True),
                key_type=dict(type="str"),
                key_size=dict(type="int"),
            )),
            accept_changes=dict(type="bool", default=False),
            label=dict(type="str", default="key"),
            hint=dict(type="str"),
            min_key_size=dict(type="int"),
            warn_key_size=dict(type="int"),
            size_hint=dict(type="str"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params["path"]
    small = _known_keys.size_findings(module.params["keys"], module.params["min_key_size"], module.params["warn_key_size"],
                                      label=module.params["label"], hint=module.params["size_hint"])
    if small["refuse"]:
        module.fail_json(msg="; ".join(small["refuse"]))
    for warning in small["warn"]:
        module.warn(warning)
    # The whole read-modify-write holds the directory's lock: concurrent runs lose no pin.
    with _known_keys.locked_store(path, create=not module.check_mode):
        result = update_pins(module, path)
    if os.path.exists(path) and not module.check_mode:
        file_args = module.load_file_common_arguments(module.params)
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
