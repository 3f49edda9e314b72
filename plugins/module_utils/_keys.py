# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The key model: any key shape a provider returns -> one key record.

Accepted shapes: SubjectPublicKeyInfo PEM; PKCS#1 RSA under a 'PUBLIC KEY' label (Huawei's
documentation example) or an 'RSA PUBLIC KEY' label; CRLF line endings; bare base64 of PKCS#1
or SPKI DER (obshell); an OpenSSH public key line. Fingerprints hash the canonical SPKI DER,
the same bytes `openssl pkey -pubin -outform DER` writes.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import traceback

from . import _der
from ._errors import KeyFormatError, OptionError
from ._pins import check_pins, normalize_fingerprint, normalize_pins  # noqa: F401  (re-exported)

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.exceptions import UnsupportedAlgorithm
except ImportError:  # reported by the adapters with missing_required_lib('cryptography')
    serialization = None
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None

KEY_TYPES = ("RSA", "EC", "ED25519", "SM2")
RECORD_FIELDS = ("provider", "key_id", "public_key", "public_key_raw", "key_type", "key_size",
                 "curve", "fingerprint_sha256", "pin_sha256", "metadata")
_B64_TEXT = re.compile(r"^[A-Za-z0-9+/=\s]+$")
_SSH_LINE = re.compile(r"^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp(256|384|521))\s+[A-Za-z0-9+/=]+")


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
        return _der.pem_encode(self.spki_der)


def _require_cryptography():
    if serialization is None:
        raise OptionError("the Python library 'cryptography' is required on this machine")


def _fail(reason, provider, key_id):
    raise KeyFormatError("the public key is not usable: %s" % reason, provider=provider, key=key_id)


def _der_candidates(text):
    """DER blobs hidden in the text: PEM blocks, or the whole text as bare base64."""
    if "-----BEGIN" in text:
        try:
            blocks = _der.pem_blocks(text)
        except (binascii.Error, ValueError):
            return None, "its PEM body is not valid base64"
        if not blocks:
            return None, "its PEM armour is incomplete (BEGIN without a matching END line)"
        if len(blocks) > 1:
            return None, "it holds %d PEM blocks; give one key at a time" % len(blocks)
        label, der = blocks[0]
        if label not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
            if "PRIVATE" in label:
                return None, "it is a private key (%s); only public keys are accepted" % label
            return None, "PEM label %r is not a public key" % label
        return der, None
    compact = "".join(text.split())
    if not compact or not _B64_TEXT.match(text):
        return None, "it is neither PEM, OpenSSH nor base64-encoded DER"
    try:
        return base64.b64decode(compact, validate=True), None
    except (binascii.Error, ValueError):
        return None, "it is not valid base64"


def _parse_der(der, provider, key_id):
    if _der.is_pkcs1_rsa(der):
        der = _der.rsa_spki_from_pkcs1(der)
    try:
        alg, param, bits = _der.spki_parts(der)
    except _der.DerError:
        _fail("the DER is neither a SubjectPublicKeyInfo nor a PKCS#1 RSA public key", provider, key_id)
    if alg == _der.OID_SM2 or param == _der.OID_SM2:
        # cryptography cannot load SM2; the record is built from the DER alone.
        return ParsedKey(None, der, "SM2", 256, "sm2p256v1")
    try:
        key = serialization.load_der_public_key(der)
    except UnsupportedAlgorithm as exc:
        _fail("unsupported key algorithm (%s)" % exc, provider, key_id)
    except ValueError:
        _fail("the DER does not decode as a public key", provider, key_id)
    parsed = _from_key(key, provider, key_id)
    if parsed.key_type == "EC" and bits[:1] in (b"\x02", b"\x03"):
        # A compressed EC point stays compressed, as with `openssl pkey -pubin -outform DER`, so
        # fingerprints and pins match OpenSSL's (cryptography would re-encode it uncompressed).
        parsed.spki_der = der
    return parsed


def _from_key(key, provider, key_id):
    spki = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if isinstance(key, rsa.RSAPublicKey):
        return ParsedKey(key, spki, "RSA", key.key_size, None)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ParsedKey(key, spki, "EC", key.curve.key_size, key.curve.name)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return ParsedKey(key, spki, "ED25519", 256, None)
    _fail("key type %s is not one of %s" % (type(key).__name__, ", ".join(KEY_TYPES)), provider, key_id)


def key_text(value):
    """The key text of a key record (its `public_key`, else `public_key_raw`) or of a plain value."""
    if isinstance(value, dict):
        return value.get("public_key") or value.get("public_key_raw")
    return value


def parse_public_key(value, provider=None, key_id=None):
    """Any accepted key shape (str, bytes, or a key record dict) -> ParsedKey, else KeyFormatError."""
    _require_cryptography()
    value = key_text(value)
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            _fail("it is binary data, not text", provider, key_id)
    if not isinstance(value, str) or not value.strip():
        _fail("no key text was given", provider, key_id)
    text = value.strip()
    if _SSH_LINE.match(text):
        try:
            key = serialization.load_ssh_public_key(text.encode("ascii"))
        except (ValueError, UnsupportedAlgorithm):
            _fail("the OpenSSH public key does not decode", provider, key_id)
        return _from_key(key, provider, key_id)
    der, reason = _der_candidates(text)
    if der is None:
        _fail(reason, provider, key_id)
    return _parse_der(der, provider, key_id)


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
    if min_bits and record["key_type"] == "RSA" and record["key_size"] < int(min_bits):
        raise KeyFormatError(
            "the %d-bit RSA key is smaller than min_key_size %d" % (record["key_size"], int(min_bits)),
            provider=record.get("provider"), key=record.get("key_id"))


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
    try:
        line = parsed.key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    except ValueError:
        return None
    line = line.decode("ascii")
    if comment:
        line += " " + re.sub(r"\s+", "_", str(comment))
    return line
