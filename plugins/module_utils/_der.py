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


# --- JWK members from a SubjectPublicKeyInfo (stdlib only; used on hosts) -------------------

def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _uint_bytes(number):
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


# Short Weierstrass parameters (p, a, b) of the curves JWK names (SEC 2 / FIPS 186-4). Each p is
# 3 mod 4, so a compressed point's y is a single modular exponentiation away.
_P256 = 2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1
_P384 = 2 ** 384 - 2 ** 128 - 2 ** 96 + 2 ** 32 - 1
_P521 = 2 ** 521 - 1
_K256 = 2 ** 256 - 2 ** 32 - 977
_CURVE_PARAMS = {
    "1.2.840.10045.3.1.7": (_P256, _P256 - 3,
                            0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b),
    "1.3.132.0.34": (_P384, _P384 - 3,
                     int("b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875a"
                         "c656398d8a2ed19d2a85c8edd3ec2aef", 16)),
    "1.3.132.0.35": (_P521, _P521 - 3,
                     int("051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef1"
                         "09e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00", 16)),
    "1.3.132.0.10": (_K256, 0, 7),
}


def ec_point(curve_oid, point):
    """An SEC 1 point (uncompressed 04||x||y or compressed 02/03||x) -> (x, y) ints; None if unusable.

    The point is checked to lie on the curve, so a JWK is never built from garbage.
    """
    if curve_oid not in _CURVE_PARAMS or not point:
        return None
    p, a, b = _CURVE_PARAMS[curve_oid]
    size = (p.bit_length() + 7) // 8
    if point[0] == 0x04 and len(point) == 1 + 2 * size:
        x = int.from_bytes(point[1:1 + size], "big")
        y = int.from_bytes(point[1 + size:], "big")
    elif point[0] in (0x02, 0x03) and len(point) == 1 + size:
        x = int.from_bytes(point[1:], "big")
        y = pow((x * x * x + a * x + b) % p, (p + 1) // 4, p)
        if (y & 1) != (point[0] & 1):
            y = (p - y) % p
    else:
        return None
    if x >= p or y >= p or (y * y - (x * x * x + a * x + b)) % p:
        return None
    return x, y


def spki_to_jwk(der):
    """RFC 7517 JWK members (no kid) for an SPKI DER; None where JWK has no form for the key.

    RSA -> kty RSA (n, e); EC P-256/P-384/P-521/secp256k1, compressed or not -> kty EC (x, y
    padded to the field size); Ed25519 -> kty OKP. SM2 and anything else -> None.
    Add the RFC 7638 thumbprint as kid with _keys.jwk_thumbprint (also stdlib only).
    """
    alg, param, key = spki_parts(der)
    if alg == OID_RSA:
        modulus, exponent = rsa_numbers(key)
        return {"kty": "RSA", "n": _b64url(_uint_bytes(modulus)), "e": _b64url(_uint_bytes(exponent))}
    if alg == OID_EC and param in EC_CURVES and EC_CURVES[param][1]:
        _name, crv, bits = EC_CURVES[param]
        size = (bits + 7) // 8
        point = ec_point(param, key)
        if point is None:
            return None
        x, y = point
        return {"kty": "EC", "crv": crv, "x": _b64url(x.to_bytes(size, "big")), "y": _b64url(y.to_bytes(size, "big"))}
    if alg == OID_ED25519 and len(key) == 32:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(key)}
    return None
