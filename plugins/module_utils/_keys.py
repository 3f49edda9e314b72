# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The key model: any key shape a provider returns -> one key record. The only key parser.

Accepted shapes: SubjectPublicKeyInfo PEM; PKCS#1 RSA under a 'PUBLIC KEY' label (Huawei's
documentation example) or an 'RSA PUBLIC KEY' label; CRLF line endings; bare base64 of PKCS#1
or SPKI DER (obshell); an OpenSSH public key line. Fingerprints hash the canonical SPKI DER,
the same bytes `openssl pkey -pubin -outform DER` writes.

Importing this file is cheap: `cryptography` is imported on the first parse, so a lookup
answered from the cache never loads it. Every step runs in time linear in the input.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import importlib.util
import json
import re
import traceback
from collections.abc import Mapping

from ._errors import KeyFormatError, OptionError
from ._key_size import too_small

try:
    CRYPTOGRAPHY_IMPORT_ERROR = None if importlib.util.find_spec("cryptography") else "No module named 'cryptography'"
except (ImportError, ValueError):  # pragma: no cover - a broken installation
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

KEY_TYPES = ("RSA", "EC", "ED25519", "SM2")
RECORD_FIELDS = ("provider", "key_id", "public_key", "public_key_raw", "key_type", "key_size",
                 "curve", "fingerprint_sha256", "pin_sha256", "metadata")
_B64_TEXT = re.compile(r"^[A-Za-z0-9+/=\s]+$")
_SSH_LINE = re.compile(r"^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521))\s+[A-Za-z0-9+/=]+")


class _Crypto(object):
    """The parts of `cryptography` this file uses, imported on first use."""

    loaded = None

    @classmethod
    def get(cls):
        if cls.loaded is None:
            if CRYPTOGRAPHY_IMPORT_ERROR:
                raise OptionError("the Python library 'cryptography' is required on this machine")
            from cryptography.exceptions import UnsupportedAlgorithm
            from cryptography.hazmat.primitives import serialization
            from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
            crypto = cls()
            crypto.serialization, crypto.ec, crypto.ed25519, crypto.rsa = serialization, ec, ed25519, rsa
            crypto.UnsupportedAlgorithm = UnsupportedAlgorithm
            cls.loaded = crypto
        return cls.loaded


def _require_cryptography():
    """OptionError unless cryptography is importable (kept for _obshell_crypto, which calls it)."""
    _Crypto.get()


class ParsedKey(object):
    """A public key reduced to what the record needs. `key` is None for SM2."""

    __slots__ = ("key", "spki_der", "key_type", "key_size", "curve")

    def __init__(self, key, spki_der, key_type, key_size, curve):
        self.key = key
        self.spki_der = spki_der
        self.key_type = key_type
        self.key_size = key_size
        self.curve = curve

    @property
    def pem(self):
        return pem_encode(self.spki_der)


def _fail(reason, provider, key_id):
    raise KeyFormatError("the public key is not usable: %s" % reason, provider=provider, key=key_id)


# --- record or text -> key text ------------------------------------------------------------

def key_text(value, provider=None, key_id=None):
    """The key text held by value, or None when it holds none.

    value: a str (returned as is), ASCII bytes (decoded), or a mapping such as a key record,
    a public_key_info result or a trust_store item. For a mapping `public_key` wins when it
    is a non-empty string, else `public_key_raw`: both hold the same key, and public_key is
    always a shape this file reads. Anything else (None, numbers, lists) holds no key text.
    Binary bytes raise KeyFormatError.
    """
    if isinstance(value, Mapping):
        for field in ("public_key", "public_key_raw"):
            candidate = value.get(field)
            if isinstance(candidate, (str, bytes)) and candidate.strip():
                value = candidate
                break
        else:
            return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            _fail("it is binary data, not text", provider, key_id)
    if not isinstance(value, str) or not value.strip():
        return None
    return value


# --- PEM and just enough DER ----------------------------------------------------------------

# Armour lines are found with one pattern without back-references or lazy spans, then paired
# in a single pass: linear time whatever the input (repeated BEGIN lines included).
_PEM_MARKER = re.compile(r"-----(BEGIN|END) ([A-Z0-9 ]{1,64})-----")


class PemError(ValueError):
    pass


def pem_blocks(text):
    """Every PEM block in text -> [(label, DER bytes)]; PemError for broken armour or base64.

    Text outside the blocks is ignored; CRLF, stray spaces and RFC 1421 header lines
    ("Proc-Type: ...") inside a block are tolerated.
    """
    blocks = []
    label = None
    start = 0
    for marker in _PEM_MARKER.finditer(text):
        kind, found = marker.group(1), marker.group(2)
        if kind == "BEGIN":
            if label is not None:
                raise PemError("a BEGIN line inside the %s block" % label)
            label, start = found, marker.end()
            continue
        if label is None:
            raise PemError("an END %s line without a BEGIN line" % found)
        if found != label:
            raise PemError("the %s block ends with an END %s line" % (label, found))
        lines = text[start:marker.start()].replace("\r", "\n").split("\n")
        payload = "".join("".join(line.split()) for line in lines if ":" not in line)
        try:
            blocks.append((label, base64.b64decode(payload, validate=True)))
        except (binascii.Error, ValueError):
            raise PemError("its PEM body is not valid base64")
        label = None
    if label is not None:
        raise PemError("its PEM armour is incomplete (BEGIN without a matching END line)")
    return blocks


def pem_encode(der, label="PUBLIC KEY"):
    """PEM with 64-character lines, '\\n' endings and a trailing newline (what OpenSSL writes)."""
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label, "\n".join(lines), label)


class _DerError(ValueError):
    pass


def _tlv(data, pos=0):
    """One DER element at pos -> (tag, value bytes, position after it)."""
    if pos + 2 > len(data):
        raise _DerError("truncated")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise _DerError("bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise _DerError("truncated")
    return tag, data[pos:pos + length], pos + length


def _sequence(data):
    tag, body, end = _tlv(data)
    if tag != 0x30 or end != len(data):
        raise _DerError("not one SEQUENCE")
    items, pos = [], 0
    while pos < len(body):
        tag, value, pos = _tlv(body, pos)
        items.append((tag, value))
    return items


# OID contents (DER value bytes), compared raw: no OID decoding needed.
_OID_SM2 = bytes.fromhex("2a811ccf5501822d")  # 1.2.156.10197.1.301


def _spki_parts(der):
    """SubjectPublicKeyInfo -> (algorithm OID bytes, parameter OID bytes or None, key bytes)."""
    items = _sequence(der)
    if len(items) != 2 or items[0][0] != 0x30 or items[1][0] != 0x03:
        raise _DerError("not a SubjectPublicKeyInfo")
    algorithm = _sequence(b"\x30" + _length(len(items[0][1])) + items[0][1])
    if not algorithm or algorithm[0][0] != 0x06:
        raise _DerError("no algorithm OID")
    param = algorithm[1][1] if len(algorithm) > 1 and algorithm[1][0] == 0x06 else None
    bits = items[1][1]
    if not bits or bits[0] != 0:
        raise _DerError("BIT STRING with unused bits")
    return algorithm[0][1], param, bits[1:]


def _length(length):
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


# SM2 (GB/T 32918.5, sm2p256v1): p = 3 mod 4, so a compressed point's y is one exponentiation.
_SM2_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
_SM2_A = _SM2_P - 3
_SM2_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)


def sm2_point_on_curve(point):
    """True for an SEC 1 point (04||x||y, or 02/03||x) that lies on the SM2 curve.

    cryptography cannot load SM2 keys, so this is the only check their bytes get; without it
    any 2 KB of noise under the SM2 OID would pass as a key. The cofactor is 1, so a point on
    the curve is in the group.
    """
    p = _SM2_P
    if len(point) == 65 and point[0] == 0x04:
        x, y = int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")
        return x < p and y < p and (y * y - (x * x * x + _SM2_A * x + _SM2_B)) % p == 0
    if len(point) == 33 and point[0] in (0x02, 0x03):
        x = int.from_bytes(point[1:], "big")
        if x >= p:
            return False
        rhs = (x * x * x + _SM2_A * x + _SM2_B) % p
        y = pow(rhs, (p + 1) // 4, p)
        return (y * y) % p == rhs
    return False


# --- parsing --------------------------------------------------------------------------------

def _der_from_text(text, provider, key_id):
    """The DER in the text: its one PEM block, or the whole text as bare base64."""
    if "-----BEGIN" in text or "-----END" in text:
        try:
            blocks = pem_blocks(text)
        except PemError as exc:
            _fail(str(exc), provider, key_id)
        if not blocks:
            _fail("its PEM armour is incomplete (BEGIN without a matching END line)", provider, key_id)
        if len(blocks) > 1:
            _fail("it holds %d PEM blocks; give one key at a time" % len(blocks), provider, key_id)
        label, der = blocks[0]
        if label not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            if "PRIVATE" in label:
                _fail("it is a private key (%s); only public keys are accepted" % label, provider, key_id)
            _fail("PEM label %r is not a public key" % label, provider, key_id)
        return der
    if not _B64_TEXT.match(text):
        _fail("it is neither PEM, OpenSSH nor base64-encoded DER", provider, key_id)
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        _fail("it is not valid base64", provider, key_id)


def _from_key(key, provider, key_id):
    crypto = _Crypto.get()
    spki = key.public_bytes(crypto.serialization.Encoding.DER, crypto.serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(key, crypto.rsa.RSAPublicKey):
        return ParsedKey(key, spki, "RSA", key.key_size, None)
    if isinstance(key, crypto.ec.EllipticCurvePublicKey):
        return ParsedKey(key, spki, "EC", key.curve.key_size, key.curve.name)
    if isinstance(key, crypto.ed25519.Ed25519PublicKey):
        return ParsedKey(key, spki, "ED25519", 256, None)
    _fail("key type %s is not one of %s" % (type(key).__name__, ", ".join(KEY_TYPES)), provider, key_id)


def _parse_der(der, provider, key_id):
    crypto = _Crypto.get()
    try:
        alg, param, bits = _spki_parts(der)
    except _DerError:
        alg = param = bits = None  # PKCS#1 RSA, or garbage: cryptography tells them apart
    if _OID_SM2 in (alg, param):
        if not sm2_point_on_curve(bits):
            _fail("its SM2 public key is not a point on the SM2 curve", provider, key_id)
        # cryptography cannot load SM2; the record is built from the DER alone.
        return ParsedKey(None, der, "SM2", 256, "sm2p256v1")
    try:
        key = crypto.serialization.load_der_public_key(der)
    except crypto.UnsupportedAlgorithm as exc:
        _fail("unsupported key algorithm (%s)" % exc, provider, key_id)
    except ValueError:
        _fail("the DER is neither a SubjectPublicKeyInfo nor a PKCS#1 RSA public key", provider, key_id)
    parsed = _from_key(key, provider, key_id)
    if parsed.key_type == "EC" and bits is not None and bits[:1] in (b"\x02", b"\x03"):
        # A compressed EC point stays compressed, as with `openssl pkey -pubin -outform DER`, so
        # fingerprints and pins match OpenSSL's (cryptography would re-encode it uncompressed).
        parsed.spki_der = der
    return parsed


def parse_public_key(value, provider=None, key_id=None):
    """Any accepted key shape (str, bytes, or a mapping, see key_text) -> ParsedKey, else KeyFormatError."""
    text = key_text(value, provider, key_id)
    if text is None:
        _fail("no key text was given", provider, key_id)
    crypto = _Crypto.get()
    text = text.strip()
    if _SSH_LINE.match(text):
        try:
            key = crypto.serialization.load_ssh_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError, crypto.UnsupportedAlgorithm):
            _fail("the OpenSSH public key does not decode", provider, key_id)
        return _from_key(key, provider, key_id)
    return _parse_der(_der_from_text(text, provider, key_id), provider, key_id)


def fingerprint_sha256(spki_der):
    return hashlib.sha256(spki_der).hexdigest()


def pin_sha256(spki_der):
    return "sha256//" + base64.b64encode(hashlib.sha256(spki_der).digest()).decode("ascii")


def key_record(provider, key_id, raw, metadata=None, parsed=None):
    """Build the one key record every public-key plugin returns."""
    parsed = parsed or parse_public_key(raw, provider=provider, key_id=key_id)
    return {
        "provider": provider,
        "key_id": key_id,
        "public_key": parsed.pem,
        "public_key_raw": raw,
        "key_type": parsed.key_type,
        "key_size": parsed.key_size,
        "curve": parsed.curve,
        "fingerprint_sha256": fingerprint_sha256(parsed.spki_der),
        "pin_sha256": pin_sha256(parsed.spki_der),
        "metadata": dict(metadata or {}),
    }


def check_min_size(record, min_bits):
    """KeyFormatError when the record's key is below min_bits (the rule: _key_size.too_small)."""
    if too_small(record.get("key_type"), record.get("key_size"), min_bits):
        raise KeyFormatError(
            "the %d-bit %s key is smaller than min_key_size %d"
            % (record["key_size"], record.get("key_type") or "RSA", int(min_bits)),
            provider=record.get("provider"), key=record.get("key_id"))
    return record


# --- presentations: JWK and OpenSSH -------------------------------------------------------

def _b64url_uint(number, length=None):
    length = length or max(1, (number.bit_length() + 7) // 8)
    return base64.urlsafe_b64encode(number.to_bytes(length, "big")).rstrip(b"=").decode("ascii")


_JWK_REQUIRED = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


def jwk_thumbprint(jwk):
    """RFC 7638 thumbprint: SHA-256 over the required members, sorted, no whitespace."""
    members = {name: jwk[name] for name in _JWK_REQUIRED[jwk["kty"]]}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode("ascii")


_JWK_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521", "secp256k1": "secp256k1"}


def to_jwk(parsed):
    """RFC 7517 JWK with kid = RFC 7638 thumbprint; None for key types JWK cannot express (SM2)."""
    if parsed.key_type == "RSA":
        numbers = parsed.key.public_numbers()
        jwk = {"kty": "RSA", "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e)}
    elif parsed.key_type == "EC" and parsed.curve in _JWK_CURVES:
        numbers = parsed.key.public_numbers()
        size = (parsed.key_size + 7) // 8
        jwk = {"kty": "EC", "crv": _JWK_CURVES[parsed.curve],
               "x": _b64url_uint(numbers.x, size), "y": _b64url_uint(numbers.y, size)}
    elif parsed.key_type == "ED25519":
        serialization = _Crypto.get().serialization
        raw = parsed.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")}
    else:
        return None
    jwk["kid"] = jwk_thumbprint(jwk)
    return jwk


def to_openssh(parsed, comment=None):
    """An authorized_keys line, or None where OpenSSH has no key type for it (SM2, secp256k1)."""
    if parsed.key is None:
        return None
    serialization = _Crypto.get().serialization
    try:
        line = parsed.key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    except ValueError:
        return None
    line = line.decode("ascii")
    if comment:
        line += " " + re.sub(r"\s+", "_", str(comment))
    return line
