# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: oceanbase_cloud_api_keys
author:
  - keyward.keys developers (@keyward)
version_added: 0.1.0
short_description: The AI-service API keys of an OceanBase Cloud project, with their expiry
description:
  - Lists every AI-service API key of an OceanBase Cloud organization and project with
    C(GET /api/v2/maas/apikeys) (ListAIServiceAPIKeys), all pages, and returns one record per key with its
    name, times and expiry, so that a play can fail or alert before a key expires.
  - Takes no terms. Use C(query()) (or C(lookup(..., wantlist=true))) to get the list.
  - The secret value of an API key is never returned, cached or logged, whatever the service sends with it.
  - Authentication is HTTP Digest with the AccessKey ID and secret (the secret itself never travels).
  - Options come from keyword arguments, then C(keyward_oceanbase_cloud_<option>) variables, then environment
    variables; where an option has several environment variables, the first one set wins.
  - The records are not key records; C(return_format) and C(expected_fingerprint) do not apply.
requirements:
  - requests (Python library, on the controller)
options: {}
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.plugins
  - keyward.keys.connection.cache
  - keyward.keys.oceanbase_cloud
  - keyward.keys.oceanbase_cloud.plugins
notes:
  - Lookups run on the controller. The listing is cached for the run (see O(cache)), shared by every host and
    task, and keyed by every option that is not a secret (endpoint or site, organization, project, AccessKey ID,
    page size, certificate settings). The cache holds the records without RV(_raw[].expired) and
    RV(_raw[].expires_in_days), which are computed from RV(_raw[].expires_at) every time the lookup returns.
  - Pages are fetched until every key has been seen; each key is returned once, in the order the service lists
    them, even when the service answers fewer keys per page than asked.
seealso:
  - module: keyward.keys.oceanbase_cloud_api_key_info
  - name: ListAIServiceAPIKeys
    description: The API this lookup calls.
    link: https://en.oceanbase.com/docs/common-oceanbase-cloud-10000000003726410
"""

EXAMPLES = r"""
- name: Fail the play while any API key expires within 30 days (credentials from OCEANBASE_* variables)
  vars:
    api_keys: "{{ query('keyward.keys.oceanbase_cloud_api_keys') }}"
    soon: "{{ api_keys | rejectattr('expires_in_days', 'none') | selectattr('expires_in_days', 'lt', 30) | list }}"
  ansible.builtin.assert:
    that: soon | length == 0
    fail_msg: "Rotate these OceanBase Cloud API keys: {{ soon | map(attribute='name') | join(', ') }}"

- name: Names of the keys of a project on the China site
  ansible.builtin.debug:
    msg: "{{ query('keyward.keys.oceanbase_cloud_api_keys', site='china', org_id=ob_org_id,
                   project_id=ob_project_id) | map(attribute='name') | list }}"

- name: Variables set once, for example in group_vars (the secret from Ansible Vault)
  vars:
    keyward_oceanbase_cloud_org_id: org-xxxxxxxx
    keyward_oceanbase_cloud_project_id: proj-xxxxxxxx
    keyward_oceanbase_cloud_access_key_id: "{{ vault_ob_access_key_id }}"
    keyward_oceanbase_cloud_access_key_secret: "{{ vault_ob_access_key_secret }}"
  ansible.builtin.debug:
    msg: "{{ item.name }} expires {{ item.expires_at or 'never' }}"
  loop: "{{ query('keyward.keys.oceanbase_cloud_api_keys') }}"
  loop_control:
    label: "{{ item.id }}"
"""

RETURN = r"""
_raw:
  description: One record per API key of the project, in the order the service lists them.
  type: list
  elements: dict
  contains:
    id:
      description: The API key's ID.
      type: str
    name:
      description: The API key's name.
      type: str
    created_at:
      description: When the key was created, ISO-8601 UTC (C(2025-01-01T00:00:00Z)).
      type: str
    updated_at:
      description: When the key was last changed, ISO-8601 UTC.
      type: str
    expires_at:
      description: When the key expires, ISO-8601 UTC whatever offset the service used; null if it never expires.
      type: str
    expired:
      description: Whether RV(_raw[].expires_at) has passed, at the time of the call. False for keys that never expire.
      type: bool
    expires_in_days:
      description:
        - Whole days left until RV(_raw[].expires_at), rounded down, at the time of the call; negative once
          the key has expired; null for a key that never expires.
      type: int
"""

from ansible_collections.keyward.keys.plugins.plugin_utils._lookup import KeywardLookupBase


class LookupModule(KeywardLookupBase):
    PROVIDER = "oceanbase_cloud"
    RECORDS = False
    # expired and expires_in_days depend on the clock: computed on every call, cached listing or not.
    CACHE_RULES = "providers._oceanbase_cloud_expiry"
