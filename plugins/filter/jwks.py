# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: jwks
version_added: 0.1.0
short_description: Build a JSON Web Key Set from public keys
description:
  - Turns a list of public keys into an RFC 7517 JSON Web Key Set (a dictionary with one item C(keys), the list of
    JWKs), for example to publish the verification keys of KMS signing keys or to configure a service that takes a
    JWKS document.
  - Each list entry may be a key record from one of the collection's lookups or C(*_info) modules, a result of the
    P(keyward.keys.public_key_info#filter) filter, a dictionary with a C(public_key) field, or the key itself as text in
    any shape P(keyward.keys.public_key_info#filter) accepts (SubjectPublicKeyInfo PEM, PKCS#1, bare base64 DER,
    OpenSSH line).
  - Each key's C(kid) is its RFC 7638 thumbprint, so the same key always gets the same C(kid). A key listed twice
    appears once.
  - JWK has no form for SM2 keys; they make the filter fail with a message naming the key, unless O(skip_unsupported=true).
author:
  - keyward.keys contributors
requirements:
  - cryptography (Python library, on the controller)
options:
  _input:
    description:
      - The keys. A single key or key record is taken as a list of one.
    type: list
    elements: raw
    required: true
  use:
    description:
      - Sets the JWK C(use) member of every key (RFC 7517 section 4.2). Left out when not set.
    type: str
    choices: [sig, enc]
  alg:
    description:
      - Sets the JWK C(alg) member of every key (RFC 7517 section 4.4). Left out when not set.
      - V(auto) picks the usual algorithm per key. With O(use=sig) or no O(use), V(RS256) for RSA keys,
        V(ES256), V(ES384) or V(ES512) for P-256, P-384 or P-521 keys, V(ES256K) for secp256k1 keys and
        V(EdDSA) for Ed25519 keys. With O(use=enc), V(RSA-OAEP-256) for RSA and V(ECDH-ES) for EC keys
        (Ed25519 keys cannot encrypt).
      - Any other value must be an RFC 7518, RFC 8037 or RFC 8812 algorithm that fits every key in the list
        (for example V(PS256) for a list of RSA keys) and the O(use) if given; otherwise the filter fails.
    type: str
  skip_unsupported:
    description:
      - Leave out keys JWK cannot express (SM2) instead of failing.
    type: bool
    default: false
seealso:
  - plugin: keyward.keys.public_key_info
    plugin_type: filter
  - name: RFC 7517 JSON Web Key (JWK)
    description: JWK and JWK Set format.
    link: https://www.rfc-editor.org/rfc/rfc7517
  - name: RFC 7638 JSON Web Key (JWK) Thumbprint
    description: How the C(kid) of each key is computed.
    link: https://www.rfc-editor.org/rfc/rfc7638
"""

EXAMPLES = r"""
- name: Publish the verification keys of two KMS signing keys
  ansible.builtin.copy:
    dest: /var/www/.well-known/jwks.json
    content: >-
      {{ lookup('keyward.keys.huaweicloud_kms_public_key', key_a, key_b, return_format='dict')
         | keyward.keys.jwks(use='sig', alg='auto') | to_nice_json }}
    mode: "0644"

- name: JWKS of keys from several sources, leaving out SM2 keys
  ansible.builtin.set_fact:
    verification_jwks: "{{ [rsa_pem, ec_key_record, obshell_base64_key] | keyward.keys.jwks(skip_unsupported=true) }}"
"""

RETURN = r"""
_value:
  description: A JSON Web Key Set.
  type: dict
  contains:
    keys:
      description:
        - One RFC 7517 JWK per distinct key, in input order. C(kid) is the RFC 7638 thumbprint.
        - RSA keys have C(kty=RSA), C(n) and C(e); EC keys C(kty=EC), C(crv), C(x) and C(y); Ed25519 keys C(kty=OKP),
          C(crv=Ed25519) and C(x). C(use) and C(alg) are present when O(use) and O(alg) are set.
      type: list
      elements: dict
      sample:
        - {"kty": "OKP", "crv": "Ed25519", "x": "45nllv9Gmc4AhlJ9ECrrdJzENRfaIk6Y0Nxozm8tY-8",
           "kid": "4NII42QQGu2cqjilg1wT0BmiNiIV7IF7Pde6CGGf4t8", "use": "sig", "alg": "EdDSA"}
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError
from ansible_collections.keyward.keys.plugins.plugin_utils._filter_keys import jwk_set


def jwks(data, use=None, alg=None, skip_unsupported=False):
    """Keys in any accepted shape -> {"keys": [JWK, ...]}, one JWK per distinct key."""
    try:
        skip = boolean(skip_unsupported, strict=True)
    except TypeError as exc:
        raise AnsibleFilterError("skip_unsupported: %s" % exc)
    try:
        return jwk_set(data, use=use, alg=alg, skip_unsupported=skip)
    except KeywardError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"jwks": jwks}
