# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ncloud_kms_public_key
author:
  - keyward.keys developers (@keyward)
version_added: 0.1.0
short_description: Public keys of NAVER Cloud Platform KMS keys, by keyTag
description:
  - Fetches the public key of each NAVER Cloud KMS key given as a term, with KMS API 2.0's
    C(POST /kms/v1/keys/{keyTag}/get-pub-key), and returns it as SubjectPublicKeyInfo PEM
    (or the whole key record, or the key exactly as KMS sent it).
  - Only the asymmetric key types have a public key, C(RSA2048) and C(ECDSA) (EC P-256); asking for an
    C(AES256) key fails with the service's error.
  - Without O(key_version) each key's latest version is read; with it, that version of every key.
  - Every request is signed with an access key and its secret key (API Gateway signature v2, over the full
    path including C(/kms/v1), with a time stamp in milliseconds); each retry is signed again.
  - Options come from keyword arguments, then C(keyward_ncloud_<option>) variables, then environment
    variables; where an option has several environment variables, the first one set wins.
  - Each keyTag is checked before any request is made.
requirements:
  - requests (Python library, on the controller)
  - cryptography (Python library, on the controller)
options:
  _terms:
    description:
      - KMS keyTags, as shown by the console or Get Key List, such as
        C(a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6). Only letters, digits, C(_) and C(-).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.connection.PLUGINS
  - keyward.keys.connection.lookup
  - keyward.keys.connection.cache
  - keyward.keys.ncloud
  - keyward.keys.ncloud.PLUGINS
notes:
  - Lookups run on the controller. Keys are cached for the run (see O(cache)), keyed by the keyTag and every
    option that is not a secret (endpoint, site, key version, access key ID, certificate settings); the
    secret key is never part of the cache.
  - NAVER Cloud refuses a request whose time stamp is 5 minutes or more away from its own clock and answers it
    like a wrong secret key (HTTP 401, code 200); keep the controller's clock synchronised.
seealso:
  - module: keyward.keys.ncloud_kms_public_key_info
  - name: NAVER Cloud KMS API, Get Public Key
    description: The API this lookup calls.
    link: https://api.ncloud-docs.com/docs/en/security-kms2-public-key
"""

EXAMPLES = r"""
- name: A key as PEM, with credentials from NCLOUD_ACCESS_KEY_ID and NCLOUD_SECRET_ACCESS_KEY
  ansible.builtin.copy:
    dest: /etc/myapp/jwt.pem
    content: "{{ lookup('keyward.keys.ncloud_kms_public_key', 'a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6') }}"
    mode: "0644"

- name: Several keys as key records, pinned
  ansible.builtin.set_fact:
    signing_keys: "{{ query('keyward.keys.ncloud_kms_public_key', *ncloud_key_tags, return_format='dict',
                            expected_fingerprint=ncloud_pins) }}"

- name: Version 2 of a key, on the government site
  ansible.builtin.debug:
    msg: "{{ lookup('keyward.keys.ncloud_kms_public_key', jwt_key_tag, key_version=2, site='gov') }}"

- name: Credentials set once as variables (for example from a vault)
  vars:
    keyward_ncloud_access_key: "{{ vault_ncloud_access_key }}"
    keyward_ncloud_secret_key: "{{ vault_ncloud_secret_key }}"
  ansible.builtin.template:
    src: jwt-verifier.conf.j2   # uses lookup('keyward.keys.ncloud_kms_public_key', jwt_key_tag)
    dest: /etc/jwt-verifier.conf
    mode: "0644"
"""

RETURN = r"""
_raw:
  description:
    - One entry per term, in order.
    - With O(return_format=pem), the key as SubjectPublicKeyInfo PEM (C(\n) line endings, trailing newline).
    - With O(return_format=raw), the C(publicKey) string exactly as KMS returned it.
    - With O(return_format=dict), the key record described below.
  type: list
  elements: raw
  contains:
    provider:
      description: V(ncloud_kms).
      type: str
    key_id:
      description: The keyTag.
      type: str
    public_key:
      description: SubjectPublicKeyInfo PEM, C(\n) line endings, trailing newline.
      type: str
    public_key_raw:
      description: The key exactly as KMS returned it.
      type: str
    key_type:
      description: V(RSA) or V(EC).
      type: str
    key_size:
      description: RSA modulus size or EC curve size in bits (2048 or 256).
      type: int
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
      description:
        - C(key_version), the version KMS names in its answer, else the version asked for with O(key_version),
          else null (KMS's answer for the latest version does not say which one it is).
        - C(latest), true when no O(key_version) was given.
      type: dict
"""

from ansible_collections.keyward.keys.plugins.plugin_utils._lookup import KeywardLookupBase


class LookupModule(KeywardLookupBase):
    PROVIDER = "ncloud_kms"
