# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyward.keys.jwks filter, called directly.

Every JWK is turned back into a key with cryptography (from n/e or x/y) and compared with the
original; kids are recomputed from a hand-written RFC 7638 canonical form.
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.keyward.keys.plugins.filter.jwks import FilterModule, jwks
from ansible_collections.keyward.keys.plugins.filter.public_key_info import public_key_info
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as tk

SM2_SPKI_HEX = (
    "3059301306072a8648ce3d020106082a811ccf5501822d034200"
    "0432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7"
    "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0"
)
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-"
    "5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt"
    "-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def sm2_pem():
    return "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % base64.b64encode(bytes.fromhex(SM2_SPKI_HEX)).decode()


def _b64url_int(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_from_jwk(jwk):
    """An independent JWK reader: the cryptography key the JWK describes."""
    if jwk["kty"] == "RSA":
        return rsa.RSAPublicNumbers(_b64url_int(jwk["e"]), _b64url_int(jwk["n"])).public_key()
    if jwk["kty"] == "EC":
        curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1(), "secp256k1": ec.SECP256K1()}[jwk["crv"]]
        return ec.EllipticCurvePublicNumbers(_b64url_int(jwk["x"]), _b64url_int(jwk["y"]), curve).public_key()
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    return ed25519.Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(jwk["x"] + "="))


def thumbprint(jwk):
    """RFC 7638 section 3: required members in lexicographic order, no whitespace, written by hand."""
    if jwk["kty"] == "RSA":
        canonical = '{"e":"%s","kty":"RSA","n":"%s"}' % (jwk["e"], jwk["n"])
    elif jwk["kty"] == "EC":
        canonical = '{"crv":"%s","kty":"EC","x":"%s","y":"%s"}' % (jwk["crv"], jwk["x"], jwk["y"])
    else:
        canonical = '{"crv":"%s","kty":"OKP","x":"%s"}' % (jwk["crv"], jwk["x"])
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def spki(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"jwks": jwks}


def test_mixed_shapes_in_order():
    rsa_key, ec_key, ed_key, ec384 = tk.rsa_key(2048), tk.ec_key("secp256r1"), tk.ed25519_key(), tk.ec_key("secp384r1")
    record = {"provider": "huaweicloud_kms", "key_id": "k-1", "public_key": tk.spki_pem(ec_key), "public_key_raw": tk.spki_pem(ec_key),
              "metadata": {}}
    items = [
        tk.pkcs1_b64(rsa_key),  # obshell's bare base64
        record,
        public_key_info(tk.spki_pem(ed_key)),
        ec384.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode(),
    ]
    result = jwks(items)
    assert list(result) == ["keys"] and len(result["keys"]) == 4
    for jwk, key in zip(result["keys"], (rsa_key, ec_key, ed_key, ec384)):
        assert spki(key_from_jwk(jwk)) == tk.spki_der(key)
        assert jwk["kid"] == thumbprint(jwk)
        assert "use" not in jwk and "alg" not in jwk
    assert json.loads(json.dumps(result)) == result


def test_duplicates_in_different_shapes_appear_once():
    key = tk.rsa_key(2048)
    pem = tk.spki_pem(key)
    items = [pem, tk.pkcs1_b64(key), pem.replace("\n", "\r\n"), {"public_key": pem, "key_id": "a"}, tk.spki_pem(tk.ed25519_key()), pem]
    result = jwks(items)
    assert len(result["keys"]) == 2
    assert spki(key_from_jwk(result["keys"][0])) == tk.spki_der(key)
    assert len({jwk["kid"] for jwk in result["keys"]}) == 2


def test_rfc7638_example_kid():
    pem = rsa.RSAPublicNumbers(65537, _b64url_int(RFC7638_N)).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert jwks([pem])["keys"][0]["kid"] == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_single_key_and_empty_input():
    pem = tk.spki_pem(tk.ed25519_key())
    assert jwks(pem) == jwks([pem])
    assert jwks([]) == {"keys": []}
    assert jwks(None) == {"keys": []}


def test_sm2_is_an_error_naming_the_key():
    with pytest.raises(AnsibleFilterError) as info:
        jwks([tk.spki_pem(tk.ed25519_key()), {"provider": "huaweicloud_kms", "key_id": "sm2-key-1", "public_key": sm2_pem()}])
    text = str(info.value)
    assert text.startswith("huaweicloud_kms: key sm2-key-1: JWK has no form for SM2 keys")
    assert "skip_unsupported" in text and "\n" not in text
    assert hashlib.sha256(bytes.fromhex(SM2_SPKI_HEX)).hexdigest() in text
    with pytest.raises(AnsibleFilterError, match=r"^keyward.keys: key #2: JWK has no form for SM2 keys"):
        jwks([tk.spki_pem(tk.ed25519_key()), sm2_pem()])


@pytest.mark.parametrize("flag", [True, "yes", "true", 1])
def test_skip_unsupported(flag):
    ed = tk.spki_pem(tk.ed25519_key())
    assert jwks([sm2_pem(), ed], skip_unsupported=flag) == jwks([ed])


def test_skip_unsupported_must_be_a_boolean():
    with pytest.raises(AnsibleFilterError, match="skip_unsupported"):
        jwks([sm2_pem()], skip_unsupported="maybe")


def test_alg_auto_for_signatures():
    keys = [tk.rsa_key(2048), tk.ec_key("secp256r1"), tk.ec_key("secp384r1"), tk.ec_key("secp521r1"), tk.ed25519_key(),
            ec.generate_private_key(ec.SECP256K1())]
    result = jwks([tk.spki_pem(k) for k in keys], use="sig", alg="auto")
    assert [(j["use"], j["alg"]) for j in result["keys"]] == [
        ("sig", "RS256"), ("sig", "ES256"), ("sig", "ES384"), ("sig", "ES512"), ("sig", "EdDSA"), ("sig", "ES256K")]
    assert [j["alg"] for j in jwks([tk.spki_pem(k) for k in keys], alg="auto")["keys"]] == [
        "RS256", "ES256", "ES384", "ES512", "EdDSA", "ES256K"]
    # use/alg do not change the thumbprint.
    assert all(j["kid"] == thumbprint(j) for j in result["keys"])


def test_alg_auto_for_encryption():
    result = jwks([tk.spki_pem(tk.rsa_key(2048)), tk.spki_pem(tk.ec_key("secp256r1"))], use="enc", alg="auto")
    assert [(j["use"], j["alg"]) for j in result["keys"]] == [("enc", "RSA-OAEP-256"), ("enc", "ECDH-ES")]
    with pytest.raises(AnsibleFilterError, match="key #1: Ed25519 keys cannot be used for encryption"):
        jwks([tk.spki_pem(tk.ed25519_key())], use="enc", alg="auto")


@pytest.mark.parametrize("make,alg,use", [
    (lambda: tk.rsa_key(2048), "PS256", None),
    (lambda: tk.rsa_key(2048), "RS512", "sig"),
    (lambda: tk.rsa_key(2048), "RSA-OAEP", "enc"),
    (lambda: tk.ec_key("secp384r1"), "ES384", "sig"),
    (lambda: tk.ec_key("secp521r1"), "ECDH-ES+A256KW", "enc"),
    (tk.ed25519_key, "EdDSA", None),
])
def test_explicit_alg_that_fits(make, alg, use):
    jwk = jwks([tk.spki_pem(make())], alg=alg, use=use)["keys"][0]
    assert jwk["alg"] == alg and jwk.get("use") == use


@pytest.mark.parametrize("make,alg,use,fragment", [
    (lambda: tk.rsa_key(2048), "ES256", None, "alg ES256 does not fit this RSA key"),
    (lambda: tk.ec_key("secp384r1"), "ES256", None, "alg ES256 does not fit this P-384 key"),
    (tk.ed25519_key, "RS256", None, "does not fit this Ed25519 key"),
    (lambda: tk.rsa_key(2048), "RSA-OAEP", "sig", "not a signature algorithm"),
    (lambda: tk.ec_key("secp256r1"), "ES256", "enc", "not an encryption algorithm"),
    (lambda: tk.rsa_key(2048), "HS256", None, "does not fit"),
])
def test_alg_that_does_not_fit_is_an_error(make, alg, use, fragment):
    with pytest.raises(AnsibleFilterError, match=fragment):
        jwks([tk.spki_pem(make())], alg=alg, use=use)


def test_alg_must_fit_every_key_of_a_mixed_list():
    with pytest.raises(AnsibleFilterError, match=r"key #2: alg RS256 does not fit this P-256 key"):
        jwks([tk.spki_pem(tk.rsa_key(2048)), tk.spki_pem(tk.ec_key("secp256r1"))], alg="RS256")


def test_invalid_use():
    with pytest.raises(AnsibleFilterError, match="use must be one of sig, enc"):
        jwks([tk.spki_pem(tk.rsa_key(2048))], use="signing")


@pytest.mark.parametrize("value,fragment", [
    (["garbage!"], "keyward.keys: key #1: the public key is not usable"),
    ([tk.spki_pem(tk.ed25519_key()), {"name": "web", "owner": "x"}], "key web: a dict given as a key needs a public_key"),
    ([42], "key #1: expected a public key (string) or a key record (dict), got int"),
    (42, "jwks expects a list of keys, got int"),
])
def test_bad_entries_are_one_line_errors(value, fragment):
    with pytest.raises(AnsibleFilterError) as info:
        jwks(value)
    assert fragment in str(info.value) and "\n" not in str(info.value)
