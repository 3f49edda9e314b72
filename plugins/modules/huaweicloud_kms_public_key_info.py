#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: huaweicloud_kms_public_key_info
short_description: Public keys of Huawei Cloud KMS asymmetric keys, by key ID
version_added: 0.1.0
description:
  - Fetches the public keys of asymmetric KMS keys with C(POST /v1.0/{project_id}/kms/get-publickey) and
    returns them as key records, with the key as SubjectPublicKeyInfo PEM, its type, size and fingerprints.
  - Several keys are fetched concurrently (up to 16 requests at a time).
  - Accepts every shape KMS returns keys in, including PKCS#1 RSA keys under a C(PUBLIC KEY) label with
    CRLF line endings (the API documentation's own example); RSA 2048 to 4096, EC P-256 and P-384, SM2.
  - "Authentication, first match wins: O(auth_token); O(access_key) and O(secret_key) (AK/SK request signing,
    optionally with O(security_token)); O(username), O(password) and O(domain_name) (one IAM login whose token
    is reused for every key)."
  - Options come from the task's parameters, then C(module_defaults) (action group
    C(group/keyward.keys.huaweicloud)), then environment variables of the host that runs the module.
  - Key IDs are checked before any request is made.
author:
  - keyward.keys developers (@keyward)
requirements:
  - requests
  - cryptography
options:
  key_ids:
    description:
      - KMS key IDs, 36 characters such as C(0d0466b0-e727-4d9c-b35d-f84bb474a37f).
      - Exactly one of O(key_ids) and O(key_id) is required.
    type: list
    elements: str
  key_id:
    description:
      - One KMS key ID; shorthand for a O(key_ids) list of one.
    type: str
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.huaweicloud
  - keyward.keys.attributes.INFO_MODULE
  - keyward.keys.attributes.ACTION_GROUP_HUAWEICLOUD
seealso:
  - plugin: keyward.keys.huaweicloud_kms_public_key
    plugin_type: lookup
  - name: Huawei Cloud KMS API, querying a public key
    description: The API this module calls.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/ShowPublicKey.html
"""

EXAMPLES = r"""
- name: Public keys of two KMS keys, with AK/SK from the environment (HUAWEICLOUD_SDK_AK, HUAWEICLOUD_SDK_SK)
  keyward.keys.huaweicloud_kms_public_key_info:
    region: cn-north-4
    key_ids:
      - 0d0466b0-e727-4d9c-b35d-f84bb474a37f
      - 919c82d4-8046-4722-9094-35c3c6524cff
  register: kms

- name: Write them
  ansible.builtin.copy:
    dest: "/etc/pki/kms/{{ item.key_id }}.pem"
    content: "{{ item.public_key }}"
    mode: "0644"
  loop: "{{ kms.public_keys }}"
  loop_control:
    label: "{{ item.key_id }}"

- name: Credentials once for every Huawei Cloud task of a block
  module_defaults:
    group/keyward.keys.huaweicloud:
      region: ap-southeast-1
      access_key: "{{ vault_hw_access_key }}"
      secret_key: "{{ vault_hw_secret_key }}"
  block:
    - name: One key, pinned
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ signing_key_id }}"
        expected_fingerprint: "{{ signing_key_fingerprint }}"
      register: signing

- name: With an IAM password login (one token for all keys)
  keyward.keys.huaweicloud_kms_public_key_info:
    region: cn-north-4
    username: "{{ hw_user }}"
    password: "{{ hw_password }}"
    domain_name: "{{ hw_account }}"
    key_ids: "{{ kms_key_ids }}"
"""

RETURN = r"""
public_keys:
  description: One key record per requested key ID, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    provider:
      description: V(huaweicloud_kms).
      type: str
      sample: huaweicloud_kms
    key_id:
      description: The KMS key ID.
      type: str
      sample: 0d0466b0-e727-4d9c-b35d-f84bb474a37f
    public_key:
      description: SubjectPublicKeyInfo PEM, C(\n) line endings, trailing newline.
      type: str
    public_key_raw:
      description: The key exactly as KMS returned it.
      type: str
    key_type:
      description: V(RSA), V(EC) or V(SM2).
      type: str
      sample: RSA
    key_size:
      description: RSA modulus size or EC curve size in bits.
      type: int
      sample: 4096
    curve:
      description: EC curve name (V(secp256r1), V(secp384r1), V(sm2p256v1)), null for RSA.
      type: str
    fingerprint_sha256:
      description: Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
      type: str
    pin_sha256:
      description: C(sha256//) and the base64 of the same digest.
      type: str
    metadata:
      description: Where the key was read from.
      type: dict
      contains:
        project_id:
          description: The project ID of the KMS URL.
          type: str
        region:
          description: The region, when one was set.
          type: str
"""

from ansible_collections.keyward.keys.plugins.module_utils.providers._huaweicloud import PROVIDER
from ansible_collections.keyward.keys.plugins.module_utils._module import provider_module, run_key_info


def main():
    module = provider_module(
        PROVIDER,
        extra=dict(key_ids=dict(type="list", elements="str", no_log=False), key_id=dict(type="str", no_log=False)),
        mutually_exclusive=[("key_ids", "key_id")],
        required_one_of=[("key_ids", "key_id")],
    )
    params = module.params
    run_key_info(module, PROVIDER, params["key_ids"] if params["key_ids"] is not None else [params["key_id"]])


if __name__ == "__main__":
    main()
