# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyward.keys.public_key_info filter, called directly.

Oracles: the openssl CLI for fingerprints, cryptography loading the OpenSSH line and the
JWK numbers back, RFC 7638's published thumbprint.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.keyward.keys.plugins.filter.public_key_info import FilterModule, public_key_info
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as tk

OPENSSL = shutil.which("openssl")
KEY_FIELDS = {"public_key", "key_type", "key_size", "curve", "fingerprint_sha256", "pin_sha256", "openssh", "jwk"}

HUAWEI_DOC_KEY = (
    "-----BEGIN PUBLIC KEY-----\r\nMIICCgKCAgEA3RQAXXwya9k4zV1/Q3AFr37GO8JgFobDKZioAklLQdgElHZ/uxmP\r\n"
    "4bveNHpY6OI0Okk/1Ov8oJf+9W10VqVxbzihWa5n/RMN0720DzLV7KuH4YylCGDb\r\n3JH/+bMbhF2qRArrrKod0kR9rYHrdPkI7O5fYQQprZ3kWnPgrhDoDFC8ja+OelOg\r\n"
    "n4MMOGGYA/DAOb0XyxPnGl26PnUtvvF7aZbMW5x/Yq2yAVFE1cjqLaH7/j1C8KYE\r\naOSYtl2nOif28WoweFavXpgVsb/iICTfqgC91BtCSFC5pT8vqZCimfoHmJCAkZa5\r\n"
    "Z8QIqkOOf9F6iMqqIz7pGKgQSUmoKKY9j6DK3OwXDOB5gKu0vyuz+gW3b4SZn+Xa\r\nKkEN8ZpXsdQdEGpe4SwIzSVyUGYNBOCLrsydBcPR7jWgQ6gs56IJrV2pdAtmBwKd\r\n"
    "6l33z1tQ7+/h3IrZxXuuej/fRRUMlbVcmhTS2l6vle7HXgZj/dWzPsLLg9MGHu0+\r\no9PRr+brxTbrf5e2Zdr1ad35X/b86gx7Grg1sYPkly2aEI4fsnDGPgFrudG+Hzx/\r\n"
    "ABHejYfJEI6P0SXCzB/oDMkjw6XKhTSojMzuncAP/AM+0LVYQxQe750qkb3hjBT0\r\nq/HBl/4zMXA03tMb9QySnLK63uo64JMJiBsEe7wPLhHB3VzBZk9SvvECAwEAAQ==\r\n"
    "-----END PUBLIC KEY-----\r\n"
)
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-"
    "5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt"
    "-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
# An SM2 SubjectPublicKeyInfo (id-ecPublicKey + curve 1.2.156.10197.1.301; the point is the SM2 generator).
SM2_SPKI_HEX = (
    "3059301306072a8648ce3d020106082a811ccf5501822d034200"
    "0432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7"
    "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0"
)


def sm2_pem():
    return "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % base64.b64encode(bytes.fromhex(SM2_SPKI_HEX)).decode()


def openssl_fingerprint(spki_pem):
    if OPENSSL is None:  # pragma: no cover - fallback oracle
        der = serialization.load_pem_public_key(spki_pem.encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()
    der = subprocess.run([OPENSSL, "pkey", "-pubin", "-outform", "DER"], input=spki_pem.encode(), capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()


def pkcs1_b64(key):
    return tk.pkcs1_b64(key)


def _b64url_int(text):
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"public_key_info": public_key_info}


@pytest.mark.parametrize("shape", ["spki", "spki-crlf", "pkcs1-public-key-label", "rsa-public-key-label", "bare-pkcs1", "bare-spki",
                                   "openssh", "bytes"])
def test_every_shape_of_an_rsa_key(shape):
    key = tk.rsa_key(2048)
    spki_pem = tk.spki_pem(key)
    pkcs1_der = base64.b64decode(pkcs1_b64(key))
    value = {
        "spki": spki_pem,
        "spki-crlf": spki_pem.replace("\n", "\r\n"),
        "pkcs1-public-key-label": "-----BEGIN PUBLIC KEY-----\r\n%s\r\n-----END PUBLIC KEY-----\r\n" % pkcs1_b64(key),
        "rsa-public-key-label": key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1).decode(),
        "bare-pkcs1": pkcs1_b64(key),
        "bare-spki": base64.b64encode(tk.spki_der(key)).decode(),
        "openssh": key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + " me@host",
        "bytes": spki_pem.encode(),
    }[shape]
    info = public_key_info(value)
    assert set(info) == KEY_FIELDS
    assert info["public_key"] == spki_pem  # canonical SPKI PEM, \n endings, trailing newline
    assert (info["key_type"], info["key_size"], info["curve"]) == ("RSA", 2048, None)
    assert info["fingerprint_sha256"] == openssl_fingerprint(spki_pem)
    assert info["pin_sha256"] == "sha256//" + base64.b64encode(bytes.fromhex(info["fingerprint_sha256"])).decode()
    assert pkcs1_der in base64.b64decode("".join(info["public_key"].splitlines()[1:-1]))
    numbers = key.public_key().public_numbers()
    assert info["jwk"]["kty"] == "RSA" and _b64url_int(info["jwk"]["n"]) == numbers.n and _b64url_int(info["jwk"]["e"]) == numbers.e
    loaded = serialization.load_ssh_public_key(info["openssh"].encode())
    assert loaded.public_numbers() == numbers


def test_huawei_documentation_key():
    info = public_key_info(HUAWEI_DOC_KEY)
    assert (info["key_type"], info["key_size"]) == ("RSA", 4096)
    assert "\r" not in info["public_key"] and info["public_key"].endswith("-----END PUBLIC KEY-----\n")
    assert info["fingerprint_sha256"] == openssl_fingerprint(info["public_key"])
    assert info["openssh"].startswith("ssh-rsa AAAAB3NzaC1yc2E")


@pytest.mark.parametrize("curve,size,crv,ssh", [("secp256r1", 256, "P-256", "ecdsa-sha2-nistp256"),
                                                ("secp384r1", 384, "P-384", "ecdsa-sha2-nistp384"),
                                                ("secp521r1", 521, "P-521", "ecdsa-sha2-nistp521")])
def test_ec_keys(curve, size, crv, ssh):
    key = tk.ec_key(curve)
    info = public_key_info(tk.spki_pem(key))
    assert (info["key_type"], info["key_size"], info["curve"]) == ("EC", size, curve)
    assert info["jwk"]["crv"] == crv and info["openssh"].split()[0] == ssh
    numbers = key.public_key().public_numbers()
    rebuilt = ec.EllipticCurvePublicNumbers(_b64url_int(info["jwk"]["x"]), _b64url_int(info["jwk"]["y"]), key.curve).public_key()
    assert rebuilt.public_numbers() == numbers
    assert info["fingerprint_sha256"] == openssl_fingerprint(tk.spki_pem(key))


def test_ed25519_key_with_comment():
    key = tk.ed25519_key()
    info = public_key_info(tk.spki_pem(key), comment="deploy bot@ci")
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert (info["key_type"], info["key_size"], info["curve"]) == ("ED25519", 256, None)
    assert info["openssh"].endswith(" deploy_bot@ci") and info["openssh"].startswith("ssh-ed25519 ")
    assert base64.urlsafe_b64decode(info["jwk"]["x"] + "=") == raw
    assert info["jwk"]["kty"] == "OKP" and info["jwk"]["crv"] == "Ed25519"


def test_sm2_has_no_openssh_line_and_no_jwk():
    info = public_key_info(sm2_pem())
    assert (info["key_type"], info["key_size"], info["curve"]) == ("SM2", 256, "sm2p256v1")
    assert info["openssh"] is None and info["jwk"] is None
    assert info["fingerprint_sha256"] == hashlib.sha256(bytes.fromhex(SM2_SPKI_HEX)).hexdigest()


def test_kid_is_the_rfc7638_thumbprint():
    e = int.from_bytes(base64.urlsafe_b64decode("AQAB"), "big")
    pem = rsa.RSAPublicNumbers(e, _b64url_int(RFC7638_N)).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    assert public_key_info(pem)["jwk"] == {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"}


def _record():
    key = tk.rsa_key(1024)
    return {
        "provider": "obshell", "key_id": "10.0.0.1:2886", "public_key": tk.spki_pem(key), "public_key_raw": pkcs1_b64(key),
        "key_type": "RSA", "key_size": 1024, "curve": None, "fingerprint_sha256": "x", "pin_sha256": "y",
        "metadata": {"ip": "10.0.0.1", "port": 2886, "trace_id": "672cc42c132a4b90"},
    }


def test_key_record_input_carries_provider_key_id_metadata_and_raw():
    record = _record()
    before = copy.deepcopy(record)
    info = public_key_info(record)
    assert set(info) == KEY_FIELDS | {"provider", "key_id", "metadata", "public_key_raw"}
    assert (info["provider"], info["key_id"], info["public_key_raw"], info["metadata"]) == (
        "obshell", "10.0.0.1:2886", record["public_key_raw"], record["metadata"])
    # Key fields are recomputed from the key, not copied: the record's bogus fingerprint is replaced.
    assert info["fingerprint_sha256"] == openssl_fingerprint(record["public_key"])
    info["metadata"]["ip"] = "changed"
    assert record == before  # the input is never modified


def test_record_with_only_the_raw_key():
    record = _record()
    del record["public_key"]
    assert public_key_info(record)["fingerprint_sha256"] == openssl_fingerprint(tk.spki_pem(tk.rsa_key(1024)))


def test_key_id_argument():
    pem = tk.spki_pem(tk.ed25519_key())
    assert public_key_info(pem, key_id="signing")["key_id"] == "signing"
    assert public_key_info(_record(), key_id="renamed")["key_id"] == "renamed"


def test_expected_fingerprint_pins():
    pem = tk.spki_pem(tk.ec_key("secp256r1"))
    fingerprint = openssl_fingerprint(pem)
    colons = ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
    pin = "sha256//" + base64.b64encode(bytes.fromhex(fingerprint)).decode()
    for pins in (fingerprint, colons, pin, [("00" * 32), pin], "%s,%s" % ("00" * 32, colons)):
        assert public_key_info(pem, expected_fingerprint=pins)["fingerprint_sha256"] == fingerprint
    with pytest.raises(AnsibleFilterError) as info:
        public_key_info(pem, key_id="signing", expected_fingerprint="00" * 32)
    assert str(info.value).startswith("keyward.keys: key signing: fingerprint mismatch: the key has sha256 %s" % fingerprint)
    with pytest.raises(AnsibleFilterError, match="neither 64 hex digits"):
        public_key_info(pem, expected_fingerprint="abc")
    with pytest.raises(AnsibleFilterError, match="OpenSSH fingerprint"):
        public_key_info(pem, expected_fingerprint="SHA256:" + "A" * 43)


def _private_pem():
    return tk.rsa_key(1024).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()).decode()


@pytest.mark.parametrize("value,fragment", [
    ("", "no key text"),
    ("garbage!", "neither PEM"),
    ("-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", "incomplete"),
    (None, "got NoneType"),
    (["a"], "got list"),
    ({"name": "x"}, "needs a public_key"),
])
def test_errors_are_one_line_filter_errors(value, fragment):
    with pytest.raises(AnsibleFilterError) as info:
        public_key_info(value)
    text = str(info.value)
    assert fragment in text and "\n" not in text
    assert text.startswith("keyward.keys: ")


def test_private_key_error_names_the_key_and_hides_it():
    private = _private_pem()
    with pytest.raises(AnsibleFilterError) as info:
        public_key_info(private, key_id="agent")
    text = str(info.value)
    assert text == "keyward.keys: key agent: the public key is not usable: it is a private key (PRIVATE KEY); only public keys are accepted"
    assert private.splitlines()[1][:16] not in text


def test_record_errors_name_provider_and_key():
    record = dict(_record(), public_key="not a key!", public_key_raw="not a key!")
    with pytest.raises(AnsibleFilterError) as info:
        public_key_info(record)
    assert str(info.value).startswith("obshell: key 10.0.0.1:2886: the public key is not usable")


def test_unsafe_text_input():
    from ansible.utils.unsafe_proxy import wrap_var

    pem = tk.spki_pem(tk.ed25519_key())
    assert public_key_info(wrap_var(pem))["public_key"] == pem
