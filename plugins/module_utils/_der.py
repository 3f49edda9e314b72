# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Just enough DER to tell public-key encodings apart, using only the standard library.

Used where `cryptography` cannot help (SM2 keys, which it does not load) and on hosts that
have nothing but Python (public_key_store builds JWKS there).

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import base64
import re

SEQUENCE = 0x30
INTEGER = 0x02
BIT_STRING = 0x03
NULL = 0x05
OID = 0x06

OID_RSA = "1.2.840.113549.1.1.1"
OID_EC = "1.2.840.10045.2.1"
OID_ED25519 = "1.3.101.112"
OID_SM2 = "1.2.156.10197.1.301"
EC_CURVES = {
    "1.2.840.10045.3.1.7": ("secp256r1", "P-256", 256),
    "1.3.132.0.34": ("secp384r1", "P-384", 384),
    "1.3.132.0.35": ("secp521r1", "P-521", 521),
    "1.3.132.0.10": ("secp256k1", "secp256k1", 256),
    OID_SM2: ("sm2p256v1", None, 256),
}

_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


class DerError(ValueError):
    pass


def read_tlv(data, pos=0):
    """Read one DER element at pos -> (tag, value bytes, position after it)."""
    if pos + 2 > len(data):
        raise DerError("truncated DER")
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise DerError("bad DER length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise DerError("truncated DER")
    return tag, data[pos:end], end


def read_sequence(data):
    """The elements of a DER SEQUENCE that must fill `data` exactly -> [(tag, value)]."""
    tag, body, end = read_tlv(data)
    if tag != SEQUENCE or end != len(data):
        raise DerError("not a single DER SEQUENCE")
    items = []
    pos = 0
    while pos < len(body):
        tag, value, pos = read_tlv(body, pos)
        items.append((tag, value))
    return items


def decode_oid(value):
    if not value:
        raise DerError("empty OID")
    first = value[0]
    parts = [min(first // 40, 2), first - 40 * min(first // 40, 2)]
    acc = 0
    for byte in value[1:]:
        acc = (acc << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(acc)
            acc = 0
    return ".".join(str(p) for p in parts)


def encode_length(length):
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def encode_tlv(tag, value):
    return bytes([tag]) + encode_length(len(value)) + value


def encode_oid(dotted):
    nums = [int(p) for p in dotted.split(".")]
    out = bytearray([40 * nums[0] + nums[1]])
    for num in nums[2:]:
        chunk = [num & 0x7F]
        num >>= 7
        while num:
            chunk.append(0x80 | (num & 0x7F))
            num >>= 7
        out.extend(reversed(chunk))
    return encode_tlv(OID, bytes(out))


def rsa_spki_from_pkcs1(pkcs1_der):
    """Wrap a PKCS#1 RSAPublicKey in a SubjectPublicKeyInfo."""
    algorithm = encode_tlv(SEQUENCE, encode_oid(OID_RSA) + encode_tlv(NULL, b""))
    return encode_tlv(SEQUENCE, algorithm + encode_tlv(BIT_STRING, b"\x00" + pkcs1_der))


def is_pkcs1_rsa(der):
    """True for a PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e }."""
    try:
        items = read_sequence(der)
    except DerError:
        return False
    return len(items) == 2 and items[0][0] == INTEGER and items[1][0] == INTEGER


def spki_parts(der):
    """Split a SubjectPublicKeyInfo -> (algorithm OID, parameter OID or None, key bytes)."""
    items = read_sequence(der)
    if len(items) != 2 or items[0][0] != SEQUENCE or items[1][0] != BIT_STRING:
        raise DerError("not a SubjectPublicKeyInfo")
    alg = read_sequence(encode_tlv(SEQUENCE, items[0][1]))
    if not alg or alg[0][0] != OID:
        raise DerError("SubjectPublicKeyInfo without an algorithm OID")
    param = decode_oid(alg[1][1]) if len(alg) > 1 and alg[1][0] == OID else None
    bits = items[1][1]
    if not bits or bits[0] != 0:
        raise DerError("public key BIT STRING with unused bits")
    return decode_oid(alg[0][1]), param, bits[1:]


def rsa_numbers(pkcs1_der):
    items = read_sequence(pkcs1_der)
    return int.from_bytes(items[0][1], "big"), int.from_bytes(items[1][1], "big")


def pem_blocks(text):
    """Every PEM block in text -> [(label, DER bytes)]; tolerant of CRLF and stray spaces."""
    blocks = []
    for label, body in _PEM_BLOCK.findall(text):
        lines = [ln.strip() for ln in body.replace("\r", "\n").split("\n")]
        # Skip RFC 1421 style headers ("Proc-Type: ..."), which never occur in public keys.
        payload = "".join(ln for ln in lines if ln and ":" not in ln)
        blocks.append((label, base64.b64decode(payload, validate=True)))
    return blocks


def pem_encode(der, label="PUBLIC KEY"):
    """PEM with 64-character lines, '\\n' endings and a trailing newline (what OpenSSL writes)."""
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)
