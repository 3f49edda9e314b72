#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: oceanbase_cloud_api_key_info
short_description: The AI-service API keys of an OceanBase Cloud project, with their expiry
version_added: 0.1.0
description:
  - Lists every AI-service API key of an OceanBase Cloud organization and project with
    C(GET /api/v2/maas/apikeys) (ListAIServiceAPIKeys), all pages, and returns one record per key with its
    name, times and expiry.
  - With O(expiring_within_days), returns only the keys that expire within that many days or have already
    expired, so that a play can fail or alert before a key expires.
  - The secret value of an API key is never returned or logged, whatever the service sends with it.
  - Authentication is HTTP Digest with the AccessKey ID and secret (the secret itself never travels).
  - Options come from the task's parameters, then C(module_defaults) (action group
    C(group/keyward.keys.oceanbase_cloud)), then environment variables of the host that runs the module.
author:
  - keyward.keys developers (@keyward)
requirements:
  - requests
options:
  expiring_within_days:
    description:
      - Return only the keys whose expiry is less than this many days (of 24 hours) away, already expired keys
        included. Keys that never expire are left out.
      - V(0) returns only the expired keys. Without it, every key is returned.
    type: int
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.oceanbase_cloud
  - keyward.keys.attributes.INFO_MODULE
  - keyward.keys.attributes.ACTION_GROUP_OCEANBASE_CLOUD
notes:
  - Usually run on the controller (C(delegate_to) C(localhost), C(run_once)); the environment variables are read
    on the host that runs the module.
  - Pages are fetched until every key has been seen; each key is returned once, in the order the service lists
    them, even when the service answers fewer keys per page than asked.
seealso:
  - plugin: keyward.keys.oceanbase_cloud_api_keys
    plugin_type: lookup
  - name: ListAIServiceAPIKeys
    description: The API this module calls.
    link: https://en.oceanbase.com/docs/common-oceanbase-cloud-10000000003726410
"""

EXAMPLES = r"""
- name: API keys that expire within two weeks, or have expired
  keyward.keys.oceanbase_cloud_api_key_info:
    org_id: org-xxxxxxxx
    project_id: proj-xxxxxxxx
    access_key_id: "{{ vault_ob_access_key_id }}"
    access_key_secret: "{{ vault_ob_access_key_secret }}"
    expiring_within_days: 14
  delegate_to: localhost
  run_once: true
  register: expiring

- name: Warn about each of them
  ansible.builtin.debug:
    msg: >-
      OceanBase Cloud API key {{ item.name }} ({{ item.id }})
      {{ 'expired on' if item.expired else 'expires on' }} {{ item.expires_at }}
  loop: "{{ expiring.api_keys }}"
  loop_control:
    label: "{{ item.name }}"

- name: Fail while an expired key is still listed
  ansible.builtin.assert:
    that: expiring.api_keys | selectattr('expired') | list | length == 0
    fail_msg: "Expired: {{ expiring.api_keys | selectattr('expired') | map(attribute='name') | join(', ') }}"

- name: Credentials once for every OceanBase Cloud task of a block (or from OCEANBASE_* environment variables)
  module_defaults:
    group/keyward.keys.oceanbase_cloud:
      site: china
      org_id: "{{ ob_org_id }}"
      project_id: "{{ ob_project_id }}"
      access_key_id: "{{ vault_ob_access_key_id }}"
      access_key_secret: "{{ vault_ob_access_key_secret }}"
  block:
    - name: Every API key of the project
      keyward.keys.oceanbase_cloud_api_key_info:
      register: all_keys

    - name: Keys that never expire
      ansible.builtin.debug:
        msg: "{{ all_keys.api_keys | selectattr('expires_at', 'none') | map(attribute='name') | list }}"
"""

RETURN = r"""
api_keys:
  description:
    - One record per API key of the project, in the order the service lists them; with O(expiring_within_days),
      only the keys that expire within that many days or have expired.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The API key's ID.
      type: str
      sample: ak-0123456789
    name:
      description: The API key's name.
      type: str
      sample: chatbot-production
    created_at:
      description: When the key was created, ISO-8601 UTC.
      type: str
      sample: "2025-01-01T00:00:00Z"
    updated_at:
      description: When the key was last changed, ISO-8601 UTC.
      type: str
      sample: "2025-03-01T08:30:00Z"
    expires_at:
      description: When the key expires, ISO-8601 UTC whatever offset the service used; null if it never expires.
      type: str
      sample: "2026-01-01T00:00:00Z"
    expired:
      description: Whether RV(api_keys[].expires_at) has passed, at the time of the call. False for keys that never
        expire.
      type: bool
      sample: false
    expires_in_days:
      description:
        - Whole days left until RV(api_keys[].expires_at), rounded down, at the time of the call; negative once
          the key has expired; null for a key that never expires.
      type: int
      sample: 12
"""

from ansible_collections.keyward.keys.plugins.module_utils._module import provider_module, run
from ansible_collections.keyward.keys.plugins.module_utils.providers._oceanbase_cloud import PROVIDER, check_days, expiring_within
from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_list


def main():
    module = provider_module(PROVIDER, extra=dict(expiring_within_days=dict(type="int")), libraries=("requests",))
    days = module.params["expiring_within_days"]

    def work():
        if days is not None:
            check_days(days)  # before any request
        api_keys = fetch_list(PROVIDER, module.params, warn=module.warn, debug=module.debug)
        if days is not None:
            api_keys = expiring_within(api_keys, days)
        return {"api_keys": api_keys, "changed": False}

    run(module, work)


if __name__ == "__main__":
    main()
