# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: trust_store_drift
version_added: 0.2.0
short_description: Compare the keys hosts hold with the keys they should hold
description:
  - Takes the keys every host should trust and what M(keyward.keys.trust_store_info) found on each host, and says per
    host whether its trust store is in sync, drifted or absent, and per key which hosts hold it and which lack it.
  - Keys are matched by their SHA-256 fingerprint, never by file name, so a key written under another name still
    counts as held.
  - A host is C(in_sync) when it holds every desired key intact and no other key that is active. A key the host keeps
    only through its retirement grace period (C(trust_store_retire_after)) is listed under C(retiring) and is not
    drift. A managed file that no longer holds what the store wrote is C(tampered) and does not count as holding
    its key.
  - A host whose result is missing (V(null) or V({})), failed, unreachable, or says C(exists=false) is C(absent).
  - The playbook C(keyward.keys.trust_store_report) (C(ansible-playbook keyward.keys.trust_store_report)) runs this
    filter over a fleet and writes a Markdown and an HTML report.
author:
  - keyward.keys contributors
requirements:
  - cryptography (Python library, on the controller)
options:
  _input:
    description:
      - The desired keys, each a key record from one of the collection's lookups or C(*_info) modules, a dictionary
        with C(name) and C(public_key) (the shapes C(trust_store_keys) takes), or the key itself as text (a PEM
        string, as public-key lookups return by default).
      - Each key's C(name) in the result is its C(name), else a safe form of its C(key_id), else
        C(sha256-) and the first 16 hex digits of its fingerprint (the file name M(keyward.keys.public_key_store)
        gives it, without C(.pem)).
      - V(null) takes as desired every key that some host holds intact and active.
    type: list
    elements: raw
    required: true
  infos:
    description:
      - A mapping of each host name to its M(keyward.keys.trust_store_info) result (as registered).
    type: dict
    required: true
seealso:
  - module: keyward.keys.trust_store_info
  - module: keyward.keys.public_key_store
  - plugin: keyward.keys.trust_store_drift_report
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Read every host's trust store
  keyward.keys.trust_store_info:
    path: /etc/keyward/trust
  register: store_info

- name: Compare with the keys the application trusts today
  ansible.builtin.set_fact:
    store_drift: >-
      {{ wanted_keys | keyward.keys.trust_store_drift(dict(ansible_play_hosts_all
         | zip(ansible_play_hosts_all | map('extract', hostvars) | map(attribute='store_info', default=none)))) }}
  run_once: true
  delegate_to: localhost

- name: Name the hosts that lack a key
  ansible.builtin.debug:
    msg: "{{ item.value.name }} is missing on {{ item.value.missing_on | join(', ') }}"
  loop: "{{ store_drift['keys'] | dict2items }}"
  when: item.value.missing_on | length > 0
  run_once: true
"""

RETURN = r"""
_value:
  description: The comparison.
  type: dict
  contains:
    summary:
      description: How many hosts were given and how many are in each state.
      type: dict
      contains:
        hosts:
          description: Every host given.
          type: int
        in_sync:
          description: Hosts that hold every desired key intact and nothing else active.
          type: int
        drifted:
          description: Hosts with a store that differs from the desired keys.
          type: int
        absent:
          description: Hosts with no store, or no result.
          type: int
      sample: {"hosts": 3, "in_sync": 1, "drifted": 1, "absent": 1}
    hosts:
      description:
        - Host name to its state. Every list holds fingerprints (lowercase hex SHA-256 of the SubjectPublicKeyInfo
          DER).
      type: dict
      contains:
        status:
          description: The host's state.
          type: str
          choices: [in_sync, drifted, absent]
        missing:
          description: Desired keys with no file on the host (every desired key when the host is absent).
          type: list
          elements: str
        extra:
          description: Keys the host holds intact and active that are not desired.
          type: list
          elements: str
        tampered:
          description:
            - Managed files that no longer hold exactly what the store wrote, by the fingerprint the store recorded
              (C(file:) and the file name when none is known). A tampered key is not held, nor listed as missing.
          type: list
          elements: str
        retiring:
          description: Keys the host keeps only until their retirement grace period ends.
          type: list
          elements: str
      sample:
        web1: {"status": "drifted", "missing": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
               "extra": [], "tampered": [], "retiring": []}
    keys:
      description: Desired key fingerprint to the key's name and the hosts that hold it intact or lack it.
      type: dict
      contains:
        name:
          description: The key's name (see the input).
          type: str
        held_by:
          description: Hosts that hold the key intact (active or retiring).
          type: list
          elements: str
        missing_on:
          description: Every other host given (no file, a tampered file, or absent).
          type: list
          elements: str
      sample:
        9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08: {"name": "app-2026", "held_by": ["web2"],
                                                                          "missing_on": ["web1", "web3"]}
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError
from ansible_collections.keyward.keys.plugins.plugin_utils._drift import drift


def trust_store_drift(desired, infos):
    """Desired keys against every host's trust_store_info result -> summary, hosts, keys."""
    try:
        return drift(desired, infos)
    except KeywardError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"trust_store_drift": trust_store_drift}
