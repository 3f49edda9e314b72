# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stdlib-only DER helpers (_der.py), against published encodings, cryptography and openssl."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.plugins.module_utils import _der
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as tk

OPENSSL = shutil.which("openssl")

# DER encodings of OIDs as published (RFC 8017, RFC 5480, RFC 8410, GM/T 0006).
OID_DER = {
    "1.2.840.113549.1.1.1": "06092a864886f70d010101",
    "1.2.840.10045.2.1": "06072a8648ce3d0201",
    "1.2.840.10045.3.1.7": "06082a8648ce3d030107",
    "1.3.132.0.34": "06052b81040022",
    "1.3.132.0.35": "06052b81040023",
    "1.3.101.112": "06032b6570",
    "1.2.156.10197.1.301": "06082a811ccf5501822d",
}


@pytest.mark.parametrize("dotted", sorted(OID_DER))
def test_oid_encoding_matches_published_bytes(dotted):
    der = bytes.fromhex(OID_DER[dotted])
    assert _der.encode_oid(dotted) == der
    tag, value, end = _der.read_tlv(der)
    assert (tag, end) == (_der.OID, len(der))
    assert _der.decode_oid(value) == dotted


@pytest.mark.parametrize("length,encoded", [(0, "00"), (0x7F, "7f"), (0x80, "8180"), (0xFF, "81ff"), (0x100, "820100"), (0x10000, "83010000")])
def test_encode_length(length, encoded):
    assert _der.encode_length(length) == bytes.fromhex(encoded)
    tlv = _der.encode_tlv(0x04, b"\x00" * length)
    assert _der.read_tlv(tlv) == (0x04, b"\x00" * length, len(tlv))


@pytest.mark.parametrize("data", [
    b"", b"\x30", b"\x30\x05\x02\x01", b"\x30\x80\x00\x00", b"\x30\x85\x00\x00\x00\x00\x01",
    b"\x30\x82\x01",
])
def test_read_tlv_rejects_truncated_and_indefinite(data):
    with pytest.raises(_der.DerError):
        _der.read_tlv(data)


def test_read_sequence_requires_exact_fill():
    seq = _der.encode_tlv(_der.SEQUENCE, _der.encode_tlv(_der.INTEGER, b"\x01"))
    assert _der.read_sequence(seq) == [(_der.INTEGER, b"\x01")]
    with pytest.raises(_der.DerError):
        _der.read_sequence(seq + b"\x00")
    with pytest.raises(_der.DerError):
        _der.read_sequence(_der.encode_tlv(_der.INTEGER, b"\x01"))


def test_rsa_spki_from_pkcs1_equals_cryptography():
    key = tk.rsa_key(2048)
    pkcs1 = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    assert _der.rsa_spki_from_pkcs1(pkcs1) == tk.spki_der(key)
    assert _der.is_pkcs1_rsa(pkcs1)
    assert not _der.is_pkcs1_rsa(tk.spki_der(key))
    assert not _der.is_pkcs1_rsa(b"\x30\x03\x02\x01\x01")  # one INTEGER only
    assert not _der.is_pkcs1_rsa(b"garbage")
    numbers = key.public_key().public_numbers()
    assert _der.rsa_numbers(pkcs1) == (numbers.n, numbers.e)


@pytest.mark.parametrize("make,alg,param", [
    (lambda: tk.rsa_key(2048), _der.OID_RSA, None),
    (lambda: tk.ec_key("secp256r1"), _der.OID_EC, "1.2.840.10045.3.1.7"),
    (lambda: tk.ec_key("secp521r1"), _der.OID_EC, "1.3.132.0.35"),
    (tk.ed25519_key, _der.OID_ED25519, None),
])
def test_spki_parts(make, alg, param):
    key = make()
    parts = _der.spki_parts(tk.spki_der(key))
    assert parts[:2] == (alg, param)
    if alg == _der.OID_RSA:
        assert parts[2] == key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    elif alg == _der.OID_EC:
        assert parts[2] == key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    else:
        assert parts[2] == key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_spki_parts_errors():
    pkcs1 = tk.rsa_key(1024).public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    with pytest.raises(_der.DerError):
        _der.spki_parts(pkcs1)
    algorithm = _der.encode_tlv(_der.SEQUENCE, _der.encode_oid(_der.OID_ED25519))
    unused_bits = _der.encode_tlv(_der.SEQUENCE, algorithm + _der.encode_tlv(_der.BIT_STRING, b"\x03" + b"\x00" * 32))
    with pytest.raises(_der.DerError, match="unused bits"):
        _der.spki_parts(unused_bits)
    no_oid = _der.encode_tlv(_der.SEQUENCE, _der.encode_tlv(_der.SEQUENCE, b"\x05\x00") + _der.encode_tlv(_der.BIT_STRING, b"\x00\x01"))
    with pytest.raises(_der.DerError):
        _der.spki_parts(no_oid)


def test_pem_blocks_crlf_headers_and_several_blocks():
    der1, der2 = tk.spki_der(tk.rsa_key(2048)), tk.spki_der(tk.ed25519_key())
    text = ("junk before\r\n" + tk.spki_pem(tk.rsa_key(2048)).replace("\n", "\r\n")
            + "Proc-Type: 4,ENCRYPTED\n" + tk.spki_pem(tk.ed25519_key()).replace("\n", "\n  "))
    assert _der.pem_blocks(text) == [("PUBLIC KEY", der1), ("PUBLIC KEY", der2)]
    assert _der.pem_blocks("no armour here") == []
    # Mismatched labels are not a block.
    assert _der.pem_blocks("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n") == []
    with pytest.raises(ValueError):
        _der.pem_blocks("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n")


@pytest.mark.skipif(OPENSSL is None, reason="openssl CLI not installed")
@pytest.mark.parametrize("make", [lambda: tk.rsa_key(4096), lambda: tk.ec_key("secp384r1"), tk.ed25519_key])
def test_pem_encode_matches_openssl_byte_for_byte(make):
    der = tk.spki_der(make())
    proc = subprocess.run([OPENSSL, "pkey", "-pubin", "-inform", "DER", "-outform", "PEM"], input=der, capture_output=True, check=True)
    assert _der.pem_encode(der) == proc.stdout.decode("ascii")


def test_pem_encode_label_and_round_trip():
    der = os.urandom(200)
    pem = _der.pem_encode(der, label="RSA PUBLIC KEY")
    assert pem.startswith("-----BEGIN RSA PUBLIC KEY-----\n") and pem.endswith("-----END RSA PUBLIC KEY-----\n")
    assert _der.pem_blocks(pem) == [("RSA PUBLIC KEY", der)]
    assert base64.b64decode("".join(pem.splitlines()[1:-1])) == der


def test_der_module_needs_only_the_standard_library():
    # public_key_store uses _der on hosts that may have no cryptography: import it with cryptography blocked.
    code = (
        "import sys; sys.modules['cryptography'] = None\n"
        "import importlib.util\n"
        "spec = importlib.util.spec_from_file_location('der', %r)\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "print(mod.spki_parts(bytes.fromhex(%r))[0])\n"
    ) % (_der.__file__, tk.spki_der(tk.ed25519_key()).hex())
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == _der.OID_ED25519
