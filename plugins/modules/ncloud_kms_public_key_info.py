#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ncloud_kms_public_key_info
short_description: Public keys of NAVER Cloud Platform KMS keys, by keyTag
version_added: 0.1.0
description:
  - Fetches the public keys of NAVER Cloud KMS keys with KMS API 2.0's C(POST /kms/v1/keys/{keyTag}/get-pub-key)
    and returns them as key records, with the key as SubjectPublicKeyInfo PEM, its type, size and fingerprints.
  - Only the asymmetric key types have a public key, C(RSA2048) and C(ECDSA) (EC P-256).
  - Several keys are fetched concurrently (up to 16 requests at a time).
  - Every request is signed with O(access_key) and O(secret_key) (API Gateway signature v2, with a time stamp
    in milliseconds); each retry is signed again.
  - Options come from the task's parameters, then C(module_defaults) (action group
    C(group/keyward.keys.ncloud)), then environment variables of the host that runs the module.
  - KeyTags are checked before any request is made.
author:
  - keyward.keys developers (@keyward)
requirements:
  - requests
  - cryptography
options:
  key_tags:
    description:
      - KMS keyTags, as shown by the console or Get Key List, such as
        C(a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6). Only letters, digits, C(_) and C(-).
      - Exactly one of O(key_tags) and O(key_tag) is required.
    type: list
    elements: str
  key_tag:
    description:
      - One keyTag; shorthand for a O(key_tags) list of one.
    type: str
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.ncloud
  - keyward.keys.attributes.INFO_MODULE
  - keyward.keys.attributes.ACTION_GROUP_NCLOUD
notes:
  - NAVER Cloud refuses a request whose time stamp is 5 minutes or more away from its own clock and answers it
    like a wrong secret key (HTTP 401, code 200); keep the clock of the host that runs the module synchronised.
seealso:
  - plugin: keyward.keys.ncloud_kms_public_key
    plugin_type: lookup
  - name: NAVER Cloud KMS API, Get Public Key
    description: The API this module calls.
    link: https://api.ncloud-docs.com/docs/en/security-kms2-public-key
"""

EXAMPLES = r"""
- name: Public keys of two keys, credentials from the environment (NCLOUD_ACCESS_KEY_ID, NCLOUD_SECRET_ACCESS_KEY)
  keyward.keys.ncloud_kms_public_key_info:
    key_tags:
      - a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6
      - z6y5x4w3v2u1t0s9r8q7p6o5n4m3l2k1j0i9h8g7f6e5d4c3b2a1
  register: kms

- name: Write them
  ansible.builtin.copy:
    dest: "/etc/pki/ncloud/{{ item.key_id }}.pem"
    content: "{{ item.public_key }}"
    mode: "0644"
  loop: "{{ kms.public_keys }}"
  loop_control:
    label: "{{ item.key_id }}"

- name: Credentials once for every NAVER Cloud task of a block
  module_defaults:
    group/keyward.keys.ncloud:
      access_key: "{{ vault_ncloud_access_key }}"
      secret_key: "{{ vault_ncloud_secret_key }}"
  block:
    - name: Version 1 of one key, pinned
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ jwt_key_tag }}"
        key_version: 1
        expected_fingerprint: "{{ jwt_key_fingerprint }}"
      register: jwt_v1

- name: A key isolated in the Korea region
  keyward.keys.ncloud_kms_public_key_info:
    key_tag: "{{ kr_key_tag }}"
    endpoint: ocapi-kr.ncloud.com
  register: kr_key
"""

RETURN = r"""
public_keys:
  description: One key record per requested keyTag, in the order given.
  returned: success
  type: list
  elements: dict
  contains:
    provider:
      description: V(ncloud_kms).
      type: str
      sample: ncloud_kms
    key_id:
      description: The keyTag.
      type: str
      sample: a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6
    public_key:
      description: SubjectPublicKeyInfo PEM, C(\n) line endings, trailing newline.
      type: str
    public_key_raw:
      description: The key exactly as KMS returned it.
      type: str
    key_type:
      description: V(RSA) or V(EC).
      type: str
      sample: RSA
    key_size:
      description: RSA modulus size or EC curve size in bits.
      type: int
      sample: 2048
    curve:
      description: V(secp256r1) for ECDSA keys, null for RSA.
      type: str
    fingerprint_sha256:
      description: Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
      type: str
    pin_sha256:
      description: C(sha256//) and the base64 of the same digest.
      type: str
    metadata:
      description: The key version.
      type: dict
      contains:
        key_version:
          description:
            - The version KMS names in its answer, else the version asked for with O(key_version), else null
              (KMS's answer for the latest version does not say which one it is).
          type: int
        latest:
          description: True when no O(key_version) was given, so the key is whatever version was current.
          type: bool
"""

from ansible_collections.keyward.keys.plugins.module_utils._module import provider_module, run_key_info
from ansible_collections.keyward.keys.plugins.module_utils.providers._ncloud import PROVIDER


def main():
    module = provider_module(
        PROVIDER,
        extra=dict(key_tags=dict(type="list", elements="str", no_log=False), key_tag=dict(type="str", no_log=False)),
        mutually_exclusive=[("key_tags", "key_tag")],
        required_one_of=[("key_tags", "key_tag")],
    )
    params = module.params
    run_key_info(module, PROVIDER, params["key_tags"] if params["key_tags"] is not None else [params["key_tag"]])


if __name__ == "__main__":
    main()
