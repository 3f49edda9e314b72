# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Huawei Cloud options of the lookup and the module. Kept in step with
    # module_utils/providers/_huaweicloud.py OPTIONS (tests/unit/plugins/module_utils/test_huaweicloud_client.py).
    DOCUMENTATION = r"""
options:
  region:
    description:
      - Region name, for example V(cn-north-4) or V(ap-southeast-1).
      - Gives the KMS endpoint C(https://kms.<region>.myhuaweicloud.com) (C(.myhuaweicloud.eu) for V(eu-west-101)),
        the IAM endpoint C(https://iam.<region>.myhuaweicloud.com), and the name of the project looked up when
        O(project_id) is not set.
      - Environment variables, first one set wins, E(HUAWEICLOUD_SDK_REGION), E(HW_REGION_NAME).
        In modules they are read on the host that runs the module.
    type: str
  project_id:
    description:
      - The project ID (32 characters) in the KMS URL.
      - When not set, it is the ID of the IAM project named after O(region) (C(GET /v3/projects?name=<region>)
        with AK/SK or O(auth_token)), or, for a password login, the project of the token scoped to that name.
      - Environment variables, first one set wins, E(HUAWEICLOUD_SDK_PROJECT_ID), E(HW_PROJECT_ID).
    type: str
  endpoint:
    description:
      - KMS endpoint, a full URL (C(https://host[:port][/base])) or a bare host name (https is assumed).
      - Overrides the endpoint derived from O(region).
      - Environment variable E(HUAWEICLOUD_KMS_ENDPOINT).
    type: str
  iam_endpoint:
    description:
      - IAM endpoint, used for password logins and project lookups; base URL without C(/v3)
        (a trailing C(/v3) is ignored).
      - Defaults to C(https://iam.<region>.myhuaweicloud.com).
      - Environment variable E(HUAWEICLOUD_SDK_IAM_ENDPOINT).
    type: str
  access_key:
    description:
      - Access key ID (AK) for SDK-HMAC-SHA256 request signing. Needs O(secret_key).
      - Used when O(auth_token) is not set; wins over O(username) and O(password).
      - Environment variables, first one set wins, E(HUAWEICLOUD_SDK_AK), E(HW_ACCESS_KEY).
    type: str
  secret_key:
    description:
      - Secret access key (SK) that signs requests made with O(access_key). Never logged.
      - Environment variables, first one set wins, E(HUAWEICLOUD_SDK_SK), E(HW_SECRET_KEY).
    type: str
  security_token:
    description:
      - Security token of a temporary AK/SK pair, sent (and signed) as the C(X-Security-Token) header.
      - Environment variables, first one set wins, E(HUAWEICLOUD_SDK_SECURITY_TOKEN), E(HW_SECURITY_TOKEN).
    type: str
  auth_token:
    description:
      - An IAM token scoped to the project (the C(X-Subject-Token) of an IAM login), sent as C(X-Auth-Token).
      - Wins over AK/SK and over a password login. Never logged.
      - Lookups do not cache keys fetched with only a token, because a token is the only identity they would
        have to key the cache with.
      - Environment variable E(HUAWEICLOUD_AUTH_TOKEN).
    type: str
  username:
    description:
      - IAM user name for a password login (C(POST /v3/auth/tokens)); needs O(password) and O(domain_name).
      - The token is obtained once and reused for every key the task fetches. It is kept in memory only,
        never written to disk.
      - Environment variable E(HW_USER_NAME).
    type: str
  password:
    description:
      - Password of O(username). Never logged.
      - Environment variable E(HW_USER_PASSWORD).
    type: str
  domain_name:
    description:
      - Account (domain) name O(username) belongs to.
      - Environment variable E(HW_DOMAIN_NAME).
    type: str
  sequence:
    description:
      - Optional 36-byte serial number sent with each request, for example a UUID.
    type: str
"""

    # Sources of the lookup's options: environment variables and keyward_huaweicloud_* variables,
    # connection and lookup options included (their env entries come from keyward.keys.connection.PLUGINS).
    # Where an option has several environment variables, the first one set wins, as in OPTIONS
    # (Ansible's config manager would take the last; plugin_utils/_lookup.py corrects that).
    PLUGINS = r"""
options:
  region:
    env:
      - name: HUAWEICLOUD_SDK_REGION
      - name: HW_REGION_NAME
    vars:
      - name: keyward_huaweicloud_region
  project_id:
    env:
      - name: HUAWEICLOUD_SDK_PROJECT_ID
      - name: HW_PROJECT_ID
    vars:
      - name: keyward_huaweicloud_project_id
  endpoint:
    env:
      - name: HUAWEICLOUD_KMS_ENDPOINT
    vars:
      - name: keyward_huaweicloud_endpoint
  iam_endpoint:
    env:
      - name: HUAWEICLOUD_SDK_IAM_ENDPOINT
    vars:
      - name: keyward_huaweicloud_iam_endpoint
  access_key:
    env:
      - name: HUAWEICLOUD_SDK_AK
      - name: HW_ACCESS_KEY
    vars:
      - name: keyward_huaweicloud_access_key
  secret_key:
    env:
      - name: HUAWEICLOUD_SDK_SK
      - name: HW_SECRET_KEY
    vars:
      - name: keyward_huaweicloud_secret_key
  security_token:
    env:
      - name: HUAWEICLOUD_SDK_SECURITY_TOKEN
      - name: HW_SECURITY_TOKEN
    vars:
      - name: keyward_huaweicloud_security_token
  auth_token:
    env:
      - name: HUAWEICLOUD_AUTH_TOKEN
    vars:
      - name: keyward_huaweicloud_auth_token
  username:
    env:
      - name: HW_USER_NAME
    vars:
      - name: keyward_huaweicloud_username
  password:
    env:
      - name: HW_USER_PASSWORD
    vars:
      - name: keyward_huaweicloud_password
  domain_name:
    env:
      - name: HW_DOMAIN_NAME
    vars:
      - name: keyward_huaweicloud_domain_name
  sequence:
    vars:
      - name: keyward_huaweicloud_sequence
  timeout:
    vars:
      - name: keyward_huaweicloud_timeout
  retries:
    vars:
      - name: keyward_huaweicloud_retries
  validate_certs:
    vars:
      - name: keyward_huaweicloud_validate_certs
  ca_path:
    vars:
      - name: keyward_huaweicloud_ca_path
  expected_fingerprint:
    vars:
      - name: keyward_huaweicloud_expected_fingerprint
  return_format:
    vars:
      - name: keyward_huaweicloud_return_format
  cache:
    vars:
      - name: keyward_huaweicloud_cache
"""
