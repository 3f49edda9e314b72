# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: huaweicloud_kms_public_key
author:
  - keyward.keys developers (@keyward)
version_added: 0.1.0
short_description: Public keys of Huawei Cloud KMS asymmetric keys, by key ID
description:
  - Fetches the public key of each asymmetric KMS key given as a term, with
    C(POST /v1.0/{project_id}/kms/get-publickey), and returns it as SubjectPublicKeyInfo PEM
    (or the whole key record, or the key exactly as KMS sent it).
  - Accepts every shape KMS returns keys in, including PKCS#1 RSA keys under a C(PUBLIC KEY) label with
    CRLF line endings (the API documentation's own example); RSA 2048 to 4096, EC P-256 and P-384, SM2.
  - "Authentication, first match wins: O(auth_token); O(access_key) and O(secret_key) (AK/SK request signing,
    optionally with O(security_token)); O(username), O(password) and O(domain_name) (one IAM login whose token
    is reused for every key)."
  - Options come from keyword arguments, then C(keyward_huaweicloud_<option>) variables, then environment
    variables; where an option has several environment variables, the first one set wins.
  - Each key ID is checked before any request is made.
requirements:
  - requests (Python library, on the controller)
  - cryptography (Python library, on the controller)
options:
  _terms:
    description:
      - KMS key IDs, 36 characters such as C(0d0466b0-e727-4d9c-b35d-f84bb474a37f).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.connection.PLUGINS
  - keyward.keys.connection.lookup
  - keyward.keys.connection.cache
  - keyward.keys.huaweicloud
  - keyward.keys.huaweicloud.PLUGINS
notes:
  - Lookups run on the controller. Keys are cached for the run (see O(cache)), keyed by the key ID and every
    option that is not a secret (endpoints, region, project, access key ID or user name, certificate settings).
  - A password login happens at most once per Ansible worker process that has to fetch a key; the token
    stays in that process's memory and is never written to disk. Keys already in the run's cache need no
    login at all. For large fleets prefer AK/SK, which needs no login.
seealso:
  - module: keyward.keys.huaweicloud_kms_public_key_info
  - name: Huawei Cloud KMS API, querying a public key
    description: The API this lookup calls.
    link: https://support.huaweicloud.com/intl/en-us/api-dew/ShowPublicKey.html
"""

EXAMPLES = r"""
- name: A key as PEM, in a template or a variable
  ansible.builtin.copy:
    dest: /etc/myapp/signing.pem
    content: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', '0d0466b0-e727-4d9c-b35d-f84bb474a37f',
                        region='cn-north-4') }}"
    mode: "0644"
  # AK/SK from HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK (or keyward_huaweicloud_access_key /
  # keyward_huaweicloud_secret_key variables, for example injected by an AWX credential).

- name: Several keys as key records, pinned
  ansible.builtin.set_fact:
    kms_keys: "{{ query('keyward.keys.huaweicloud_kms_public_key', *kms_key_ids, return_format='dict',
                        expected_fingerprint=kms_pins) }}"

- name: With an IAM password login (one token for all keys)
  ansible.builtin.debug:
    msg: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', kms_key_id, region='ap-southeast-1',
                    username=hw_user, password=hw_password, domain_name=hw_account) }}"

- name: Variables set once for the play
  vars:
    keyward_huaweicloud_region: cn-north-4
    keyward_huaweicloud_access_key: "{{ vault_hw_ak }}"
    keyward_huaweicloud_secret_key: "{{ vault_hw_sk }}"
  ansible.builtin.template:
    src: jwt-verifier.conf.j2   # uses lookup('keyward.keys.huaweicloud_kms_public_key', key_id)
    dest: /etc/jwt-verifier.conf
    mode: "0644"
"""

RETURN = r"""
_raw:
  description:
    - One entry per term, in order.
    - With O(return_format=pem), the key as SubjectPublicKeyInfo PEM (C(\n) line endings, trailing newline).
    - With O(return_format=raw), the C(public_key) string exactly as KMS returned it.
    - With O(return_format=dict), the key record described below.
  type: list
  elements: raw
  contains:
    provider:
      description: V(huaweicloud_kms).
      type: str
    key_id:
      description: The KMS key ID.
      type: str
    public_key:
      description: SubjectPublicKeyInfo PEM, C(\n) line endings, trailing newline.
      type: str
    public_key_raw:
      description: The key exactly as KMS returned it.
      type: str
    key_type:
      description: V(RSA), V(EC) or V(SM2).
      type: str
    key_size:
      description: RSA modulus size or EC curve size in bits.
      type: int
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
      description: C(project_id) and C(region) the key was read from.
      type: dict
"""

from ansible_collections.keyward.keys.plugins.plugin_utils._lookup import KeywardLookupBase


class LookupModule(KeywardLookupBase):
    PROVIDER = "huaweicloud_kms"
