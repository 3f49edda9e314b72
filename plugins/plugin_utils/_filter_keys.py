# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the public_key_info and jwks filters share: input -> key info dict, JWK algorithms.

The key work is done by module_utils/_keys.py; this file only adapts filter input and output.
Every failure is a KeywardError; the filter files turn it into AnsibleFilterError.

Controller side only.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.keyward.keys.plugins.module_utils import _keys, _pins
from ansible_collections.keyward.keys.plugins.module_utils._errors import KeyFormatError, OptionError

# Record fields carried over unchanged when the input is a key record (or a public_key_info result).
CARRIED_FIELDS = ("provider", "key_id", "public_key_raw", "metadata")
KEY_FIELDS = ("public_key", "key_type", "key_size", "curve", "fingerprint_sha256", "pin_sha256")

# RFC 7518 section 3.1 / 4.1, RFC 8037 (EdDSA), RFC 8812 (ES256K): which "alg" fits which key.
_SIG_ALGS = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "P-256": ("ES256",),
    "P-384": ("ES384",),
    "P-521": ("ES512",),
    "secp256k1": ("ES256K",),
    "Ed25519": ("EdDSA",),
}
_ECDH_ALGS = ("ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW")
_ENC_ALGS = {
    "RSA": ("RSA-OAEP", "RSA-OAEP-256", "RSA1_5"),
    "P-256": _ECDH_ALGS,
    "P-384": _ECDH_ALGS,
    "P-521": _ECDH_ALGS,
    "secp256k1": _ECDH_ALGS,
    "Ed25519": (),  # Ed25519 keys sign only; ECDH needs X25519 keys
}
# alg=auto: the usual choice for each key (JWT verification for sig, key wrapping for enc).
_AUTO = {
    "sig": {"RSA": "RS256", "P-256": "ES256", "P-384": "ES384", "P-521": "ES512", "secp256k1": "ES256K", "Ed25519": "EdDSA"},
    "enc": {"RSA": "RSA-OAEP-256", "P-256": "ECDH-ES", "P-384": "ECDH-ES", "P-521": "ECDH-ES", "secp256k1": "ECDH-ES"},
}
USES = ("sig", "enc")


def _is_key_text(value):
    return isinstance(value, (str, bytes))


def describe(value, position=None):
    """How to name an input key in a message: its key_id, else its position in the list."""
    if isinstance(value, Mapping):
        for field in ("key_id", "name"):
            if value.get(field):
                return str(value[field])
    if position is not None:
        return "#%d" % position
    return None


def parse_input(value, key_id=None, position=None):
    """A key in any accepted shape, or a dict holding one -> (ParsedKey, carried fields)."""
    name = key_id or describe(value, position)
    carried = {}
    provider = None
    if isinstance(value, Mapping):
        text = _keys.key_text(value, value.get("provider"), name)
        if text is None:
            raise KeyFormatError("a dict given as a key needs a public_key (or public_key_raw) field; it has %s"
                                 % (", ".join(sorted(str(k) for k in value)) or "no fields"), key=name)
        for field in CARRIED_FIELDS:
            if field in value:
                carried[field] = value[field]
        provider = value.get("provider")
    elif _is_key_text(value):
        text = value
    else:
        raise KeyFormatError("expected a public key (string) or a key record (dict), got %s"
                             % type(value).__name__, key=name)
    if key_id is not None:
        carried["key_id"] = key_id
    if isinstance(carried.get("metadata"), Mapping):
        carried["metadata"] = dict(carried["metadata"])
    parsed = _keys.parse_public_key(text, provider=provider, key_id=name)
    return parsed, carried


def key_info(value, key_id=None, comment=None, expected_fingerprint=None, position=None):
    """The public_key_info filter's result for one key."""
    pins = _pins.normalize_pins(expected_fingerprint)
    parsed, carried = parse_input(value, key_id=key_id, position=position)
    record = _keys.key_record(carried.get("provider"), carried.get("key_id", describe(value, position)),
                              carried.get("public_key_raw"), parsed=parsed)
    _pins.check_pins(record, pins)
    info = dict(carried)
    for field in KEY_FIELDS:
        info[field] = record[field]
    info["openssh"] = _keys.to_openssh(parsed, comment=comment)
    info["jwk"] = _keys.to_jwk(parsed)
    return info


def _jwk_curve(jwk):
    return "RSA" if jwk["kty"] == "RSA" else jwk["crv"]


def check_use(use):
    if use is not None and use not in USES:
        raise OptionError("use must be one of %s, not %r" % (", ".join(USES), use))


def choose_alg(jwk, alg, use, key_name):
    """The alg member for this JWK (None: leave it out); OptionError if alg does not fit the key."""
    if alg is None:
        return None
    curve = _jwk_curve(jwk)
    if alg == "auto":
        chosen = _AUTO[use or "sig"].get(curve)
        if chosen is None:
            raise OptionError("key %s: %s keys cannot be used for %s; no alg fits"
                              % (key_name, curve, "encryption" if use == "enc" else use))
        return chosen
    sig_ok = alg in _SIG_ALGS.get(curve, ())
    enc_ok = alg in _ENC_ALGS.get(curve, ())
    if not (sig_ok or enc_ok):
        fitting = _SIG_ALGS.get(curve, ()) + _ENC_ALGS.get(curve, ())
        raise OptionError("key %s: alg %s does not fit this %s key (fitting: %s)"
                          % (key_name, alg, curve, ", ".join(fitting)))
    if use == "sig" and not sig_ok:
        raise OptionError("key %s: alg %s is not a signature algorithm but use is sig" % (key_name, alg))
    if use == "enc" and not enc_ok:
        raise OptionError("key %s: alg %s is not an encryption algorithm but use is enc" % (key_name, alg))
    return alg


def jwk_set(items, use=None, alg=None, skip_unsupported=False):
    """The jwks filter: keys in any accepted shape -> {"keys": [JWK, ...]} without duplicate kids."""
    check_use(use)
    if alg is not None and not isinstance(alg, str):
        raise OptionError("alg must be a string, not %s" % type(alg).__name__)
    if items is None:
        items = []
    elif _is_key_text(items) or isinstance(items, Mapping):
        items = [items]
    elif not isinstance(items, (list, tuple)):
        raise OptionError("jwks expects a list of keys, got %s" % type(items).__name__)
    keys = []
    seen = set()
    for position, item in enumerate(items, 1):
        parsed, carried = parse_input(item, position=position)
        name = describe(item, position)
        jwk = _keys.to_jwk(parsed)
        if jwk is None:
            if skip_unsupported:
                continue
            kind = parsed.key_type if parsed.curve is None or parsed.key_type == "SM2" else "%s %s" % (parsed.key_type, parsed.curve)
            raise KeyFormatError(
                "JWK has no form for %s keys (this one has sha256 %s); drop it from the list or set skip_unsupported=true"
                % (kind, _keys.fingerprint_sha256(parsed.spki_der)),
                provider=carried.get("provider"), key=name)
        if jwk["kid"] in seen:
            continue
        seen.add(jwk["kid"])
        if use is not None:
            jwk["use"] = use
        chosen = choose_alg(jwk, alg, use, name)
        if chosen is not None:
            jwk["alg"] = chosen
        keys.append(jwk)
    return {"keys": keys}
