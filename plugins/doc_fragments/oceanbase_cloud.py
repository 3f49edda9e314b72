# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # OceanBase Cloud options of the lookup and the module. Kept in step with OPTIONS in
    # plugins/module_utils/providers/_oceanbase_cloud.py (types, defaults, choices, env names, no_log);
    # tests/unit/plugins/module_utils/test_oceanbase_cloud_parse.py checks that they agree.
    DOCUMENTATION = r"""
options:
  org_id:
    description:
      - ID of the OceanBase Cloud organization whose API keys are listed, sent as the C(X-OB-Org-Id) header.
      - Required.
      - Environment variable E(OCEANBASE_ORG_ID).
    type: str
  project_id:
    description:
      - ID of the project inside O(org_id), sent as the C(X-OB-Project-Id) header. Required.
      - Environment variable E(OCEANBASE_PROJECT_ID).
    type: str
  access_key_id:
    description:
      - AccessKey ID of the account, the user name of HTTP Digest authentication. Needs O(access_key_secret).
      - Environment variables, first one set wins, E(OCEANBASE_ACCESS_KEY_ID), E(OCEANBASE_ACCESS_KEY).
    type: str
  access_key_secret:
    description:
      - AccessKey secret of O(access_key_id), the password of HTTP Digest authentication. It never travels
        over the network (Digest sends a hash of it), and never appears in any message.
      - Environment variables, first one set wins, E(OCEANBASE_ACCESS_KEY_SECRET), E(OCEANBASE_SECRET_KEY).
    type: str
  site:
    description:
      - Which OceanBase Cloud site to call when O(endpoint) is not set.
      - V(global) is C(https://api-cloud.oceanbase.com), V(china) is C(https://api-cloud-cn.oceanbase.com).
      - Environment variable E(OCEANBASE_SITE).
    type: str
    default: global
    choices: [global, china]
  endpoint:
    description:
      - Base URL of the open API, a full URL (C(https://host[:port][/base])) or a bare host name
        (https is assumed). Overrides O(site).
      - Environment variable E(OCEANBASE_ENDPOINT).
    type: str
  page_size:
    description:
      - How many keys to ask for per page; every page is fetched, so this changes only the number of requests.
      - From 1 to 100. The service answers 20 keys per page when asked for more than 100, so larger values
        are refused instead of being sent.
    type: int
    default: 100
"""

    # Sources of the lookup's options: environment variables and keyward_oceanbase_cloud_* variables,
    # connection options included (their env entries come from keyward.keys.connection.PLUGINS).
    # Where an option has several environment variables, the first one set wins, as in OPTIONS
    # (Ansible's config manager would take the last; plugin_utils/_lookup.py corrects that).
    # No expected_fingerprint or return_format: the lookup returns API key records, not keys.
    PLUGINS = r"""
options:
  org_id:
    env:
      - name: OCEANBASE_ORG_ID
    vars:
      - name: keyward_oceanbase_cloud_org_id
  project_id:
    env:
      - name: OCEANBASE_PROJECT_ID
    vars:
      - name: keyward_oceanbase_cloud_project_id
  access_key_id:
    env:
      - name: OCEANBASE_ACCESS_KEY_ID
      - name: OCEANBASE_ACCESS_KEY
    vars:
      - name: keyward_oceanbase_cloud_access_key_id
  access_key_secret:
    env:
      - name: OCEANBASE_ACCESS_KEY_SECRET
      - name: OCEANBASE_SECRET_KEY
    vars:
      - name: keyward_oceanbase_cloud_access_key_secret
  site:
    env:
      - name: OCEANBASE_SITE
    vars:
      - name: keyward_oceanbase_cloud_site
  endpoint:
    env:
      - name: OCEANBASE_ENDPOINT
    vars:
      - name: keyward_oceanbase_cloud_endpoint
  page_size:
    vars:
      - name: keyward_oceanbase_cloud_page_size
  timeout:
    vars:
      - name: keyward_oceanbase_cloud_timeout
  retries:
    vars:
      - name: keyward_oceanbase_cloud_retries
  validate_certs:
    vars:
      - name: keyward_oceanbase_cloud_validate_certs
  ca_path:
    vars:
      - name: keyward_oceanbase_cloud_ca_path
  cache:
    vars:
      - name: keyward_oceanbase_cloud_cache
"""
