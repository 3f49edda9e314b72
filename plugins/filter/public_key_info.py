# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: public_key_info
version_added: 0.1.0
short_description: Describe a public key given in any accepted shape
description:
  - Takes a public key as a provider returns it, or a key record from one of the collection's lookups or
    C(*_info) modules, and returns the key fields of the key record plus the key as an OpenSSH
    C(authorized_keys) line and as a JSON Web Key.
  - Accepted shapes are SubjectPublicKeyInfo PEM; PKCS#1 RSA under a C(PUBLIC KEY) label (as in Huawei Cloud's
    documentation) or an C(RSA PUBLIC KEY) label; PEM with C(\r\n) line endings; bare base64 of PKCS#1 or
    SubjectPublicKeyInfo DER (as the OceanBase obshell agent serves it); an OpenSSH public key line.
  - Key types are RSA, EC (P-256, P-384, P-521, secp256k1), Ed25519 and SM2.
  - Anything else fails with one line that says what is wrong, for example a private key or two PEM blocks.
author:
  - keyward.keys contributors
requirements:
  - cryptography (Python library, on the controller)
options:
  _input:
    description:
      - The public key as text, or a key record (a dictionary with a C(public_key) or C(public_key_raw) field, as the
        keyward.keys lookups return with C(return_format=dict) and the C(*_info) modules in C(public_keys)).
      - When a key record is given, its C(provider), C(key_id), C(metadata) and C(public_key_raw) are kept
        in the result.
    type: raw
    required: true
  key_id:
    description:
      - A name for the key, returned as RV(_value.key_id) and used in error messages.
      - Overrides the C(key_id) of a key record given as input.
    type: str
  comment:
    description:
      - Comment to append to the OpenSSH line RV(_value.openssh). Whitespace in it is replaced with C(_).
    type: str
  expected_fingerprint:
    description:
      - Pins. The key must match one of these, else the filter fails.
      - Each entry is the hex SHA-256 of the key's SubjectPublicKeyInfo DER (colons and case are ignored) or a
        C(sha256//<base64>) pin. A string with commas is read as a list.
    type: list
    elements: str
notes:
  - Fingerprints hash the SubjectPublicKeyInfo DER, so they equal C(openssl pkey -pubin -outform DER | sha256sum)
    whatever shape the key came in. They differ from OpenSSH's C(SHA256:) fingerprints, which hash another encoding.
seealso:
  - plugin: keyward.keys.jwks
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Describe the obshell agent's key (bare base64 of PKCS#1 DER)
  ansible.builtin.debug:
    msg: "{{ agent_public_key | keyward.keys.public_key_info }}"

- name: Fingerprint of a key record from a lookup
  ansible.builtin.debug:
    msg: >-
      {{ (lookup('keyward.keys.huaweicloud_kms_public_key', key_id, return_format='dict')
          | keyward.keys.public_key_info).fingerprint_sha256 }}

- name: Authorize an Ed25519 key for SSH logins
  ansible.posix.authorized_key:
    user: deploy
    key: "{{ (ed25519_pem | keyward.keys.public_key_info(comment='deploy@ci')).openssh }}"

- name: Fail unless the key is the one we pinned
  ansible.builtin.set_fact:
    signing_key: "{{ key_pem | keyward.keys.public_key_info(key_id='signing', expected_fingerprint=signing_pin) }}"
"""

RETURN = r"""
_value:
  description: The key fields of a key record, plus RV(_value.openssh) and RV(_value.jwk).
  type: dict
  contains:
    public_key:
      description: The key as SubjectPublicKeyInfo PEM, C(\n) line endings and a trailing newline.
      type: str
    key_type:
      description: The key type.
      type: str
      choices: [RSA, EC, ED25519, SM2]
    key_size:
      description: Bits of the RSA modulus, or of the curve for EC, Ed25519 and SM2 keys.
      type: int
    curve:
      description: Curve name of an EC or SM2 key (V(secp256r1), V(secp384r1), V(secp521r1), V(secp256k1), V(sm2p256v1)), else null.
      type: str
    fingerprint_sha256:
      description: Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
      type: str
      sample: b5d670515de69fd1e6ed4930549e6daea97846fa413b72c47415067336051a25
    pin_sha256:
      description: C(sha256//) and the base64 of the same digest, as curl's C(--pinnedpubkey) takes it.
      type: str
      sample: sha256//tdZwUV3mn9Hm7UkwVJ5trql4RvpBO3LEdBUGczYFGiU=
    openssh:
      description:
        - The key as an OpenSSH C(authorized_keys) line (with O(comment) appended when given).
        - Null for keys OpenSSH has no type for (SM2, secp256k1).
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOOZ5Zb/RpnOAIZSfRAq63ScxDUX2iJOmNDcaM5vLWPv deploy@ci
    jwk:
      description:
        - The key as an RFC 7517 JSON Web Key; C(kid) is the RFC 7638 thumbprint of the key.
        - Null for keys JWK cannot express (SM2).
      type: dict
      sample: {"kty": "OKP", "crv": "Ed25519", "x": "45nllv9Gmc4AhlJ9ECrrdJzENRfaIk6Y0Nxozm8tY-8", "kid": "4NII42QQGu2cqjilg1wT0BmiNiIV7IF7Pde6CGGf4t8"}
    key_id:
      description: O(key_id), else the C(key_id) of the key record given as input.
      type: str
      returned: when O(key_id) is set or the input is a key record
    provider:
      description: The provider of the key record given as input.
      type: str
      returned: when the input is a key record
    public_key_raw:
      description: The key exactly as the provider returned it.
      type: str
      returned: when the input is a key record
    metadata:
      description: Provider extras of the key record given as input.
      type: dict
      returned: when the input is a key record
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError
from ansible_collections.keyward.keys.plugins.plugin_utils._filter_keys import key_info


def public_key_info(data, key_id=None, comment=None, expected_fingerprint=None):
    """Any accepted key shape or key record -> key fields + openssh + jwk."""
    try:
        return key_info(data, key_id=key_id, comment=comment, expected_fingerprint=expected_fingerprint)
    except KeywardError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"public_key_info": public_key_info}
