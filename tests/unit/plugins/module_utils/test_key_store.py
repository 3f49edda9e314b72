# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_key_store (the public_key_store module's logic) and the stdlib JWK code it uses in _der."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.keyward.keys.plugins.module_utils import _der, _key_store, _keys
from ansible_collections.keyward.keys.plugins.module_utils._errors import (
    FingerprintMismatchError, KeyFormatError, OptionError)
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K

RSA = K.rsa_key(2048, 0)
RSA2 = K.rsa_key(2048, 1)
ED = K.ed25519_key(0)
_CURVES = {"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1, "secp521r1": ec.SECP521R1,
           "secp256k1": ec.SECP256K1}


def ec_key(curve):
    # tests/emulators/_keys_for_tests.ec_key calls a curve instance; generate here instead.
    return ec.generate_private_key(_CURVES[curve]())


def sm2_spki():
    """An SPKI naming SM2 (cryptography cannot make one); the point is a P-256-sized placeholder."""
    algorithm = _der.encode_tlv(_der.SEQUENCE, _der.encode_oid(_der.OID_EC) + _der.encode_oid(_der.OID_SM2))
    return _der.encode_tlv(_der.SEQUENCE, algorithm + _der.encode_tlv(_der.BIT_STRING, b"\x00\x04" + b"\x01" * 64))


# --- file names -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a", "key-1", "10.0.0.5_2886", "K_1.pub", "_x", "a@b+c", "x" * 200])
def test_plain_names_pass(name):
    assert _key_store.check_file_name(name) == name


@pytest.mark.parametrize("name, reason", [
    ("", "empty"),
    (None, "empty"),
    ("../x", "path separator"),
    ("a/b", "path separator"),
    ("a\\b", "path separator"),
    ("..", "'..'"),
    ("a..b", "'..'"),
    (".hidden", "starts with a dot"),
    (".keyward-manifest.json", "starts with a dot"),
    ("a\x00b", "NUL"),
    ("a b", "may only hold"),
    ("-rf", "may only hold"),
    ("kéy", "may only hold"),
    ("x" * 300, "longer than"),
])
def test_unsafe_names_are_refused(name, reason):
    with pytest.raises(OptionError) as exc:
        _key_store.check_file_name(name, "name")
    assert reason in str(exc.value)


@pytest.mark.parametrize("key_id, stem", [
    ("10.0.0.5:2886", "10.0.0.5_2886"),
    ("[::1]:2886", "1_2886"),
    ("0b8d2f3e-5c6a-4d1e-9f7a-1234567890ab", "0b8d2f3e-5c6a-4d1e-9f7a-1234567890ab"),
    ("../../etc/passwd", "etc_passwd"),
    ("a..b", "a_b"),
    (".hidden", "hidden"),
    ("key tag/1", "key_tag_1"),
])
def test_name_from_key_id(key_id, stem):
    assert _key_store.name_from_key_id(key_id) == stem
    _key_store.check_file_name(stem)


def test_key_stem_never_alters_an_explicit_name():
    assert _key_store.key_stem({"key_id": "h:1"}, 1) == "h_1"
    assert _key_store.key_stem({"name": "n", "key_id": "h:1"}, 1) == "n"
    with pytest.raises(OptionError, match="path separator"):
        _key_store.key_stem({"name": "../x", "key_id": "safe"}, 1)
    with pytest.raises(OptionError, match="neither a name nor a key_id"):
        _key_store.key_stem({"public_key": "x"}, 3)
    with pytest.raises(OptionError, match="no usable file name"):
        _key_store.key_stem({"key_id": ":::"}, 1)


# --- PEM on the host ------------------------------------------------------------------------

def test_pem_to_der_accepts_spki_crlf_and_pkcs1():
    der = K.spki_der(RSA)
    pem = K.spki_pem(RSA)
    assert _key_store.pem_to_der(pem) == der
    assert _key_store.pem_to_der(pem.replace("\n", "\r\n")) == der
    pkcs1 = _der.pem_encode(base64.b64decode(K.pkcs1_b64(RSA)), "RSA PUBLIC KEY")
    assert _key_store.pem_to_der(pkcs1) == der


@pytest.mark.parametrize("text, reason", [
    ("", "no key text"),
    (None, "no key text"),
    (K.pkcs1_b64(RSA), "one PEM block"),
    ("junk\n" + K.spki_pem(RSA), "one PEM block"),
    (K.spki_pem(RSA) + K.spki_pem(ED), "2 PEM blocks"),
    (K.rsa_key(1024, 9).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode(), "private key"),
    (_der.pem_encode(b"\x30\x03\x02\x01\x01", "CERTIFICATE"), "not a public key"),
    (_der.pem_encode(b"\x30\x03\x02\x01\x01"), "not a SubjectPublicKeyInfo"),
    ("-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----", "base64"),
])
def test_pem_to_der_refuses_anything_else(text, reason):
    with pytest.raises(KeyFormatError) as exc:
        _key_store.pem_to_der(text, label="k1")
    assert reason in str(exc.value)
    assert "key k1" in str(exc.value)


# --- pins -----------------------------------------------------------------------------------

def test_pins_in_every_form():
    der = K.spki_der(RSA)
    digest = hashlib.sha256(der).digest()
    hex_colons = ":".join("%02X" % b for b in digest)
    _key_store.check_pins(der, None)
    _key_store.check_pins(der, [])
    _key_store.check_pins(der, hex_colons)
    _key_store.check_pins(der, ["00" * 32, "sha256//" + base64.b64encode(digest).decode()])
    _key_store.check_pins(der, "%s,%s" % ("11" * 32, digest.hex()))
    with pytest.raises(FingerprintMismatchError, match="matches none of the 1"):
        _key_store.check_pins(der, ["00" * 32], label="k")
    with pytest.raises(OptionError, match="neither 64 hex digits"):
        _key_store.check_pins(der, ["abc"])


# --- JWK, stdlib ----------------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda: K.rsa_key(2048, 0), lambda: K.rsa_key(1024, 3), lambda: ec_key("secp256r1"),
    lambda: ec_key("secp384r1"), lambda: ec_key("secp521r1"), lambda: ec_key("secp256k1"),
    lambda: K.ed25519_key(0),
])
def test_spki_to_jwk_matches_cryptography(make):
    private = make()
    parsed = _keys.parse_public_key(K.spki_pem(private))
    jwk = _der.spki_to_jwk(K.spki_der(private))
    jwk["kid"] = _keys.jwk_thumbprint(jwk)
    assert jwk == _keys.to_jwk(parsed)


@pytest.mark.parametrize("curve", sorted(_CURVES))
def test_compressed_ec_points_decompress(curve):
    for _attempt in range(8):  # both parities of y turn up
        public = ec_key(curve).public_key()
        spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        point = public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
        alg = _der.read_sequence(spki)[0]
        compressed = _der.encode_tlv(_der.SEQUENCE, _der.encode_tlv(alg[0], alg[1])
                                     + _der.encode_tlv(_der.BIT_STRING, b"\x00" + point))
        assert _der.spki_to_jwk(compressed) == _der.spki_to_jwk(spki)


def test_jwk_refuses_points_off_the_curve_and_sm2():
    spki = K.spki_der(ec_key("secp256r1"))
    tampered = spki[:-1] + bytes([spki[-1] ^ 1])
    assert _der.spki_to_jwk(tampered) is None
    assert _der.spki_to_jwk(sm2_spki()) is None


def test_given_jwk_must_be_the_same_public_key():
    der = K.spki_der(RSA)
    derived = _key_store.key_jwk(der)
    extra = dict(derived, use="sig", alg="RS256")
    del extra["kid"]
    kept = _key_store.key_jwk(der, extra)
    assert kept == dict(derived, use="sig", alg="RS256")
    other = _keys.to_jwk(_keys.parse_public_key(K.spki_pem(RSA2)))
    with pytest.raises(KeyFormatError, match="different key"):
        _key_store.key_jwk(der, other, label="k")
    with pytest.raises(KeyFormatError, match="private key members"):
        _key_store.key_jwk(der, dict(derived, d="secret"))
    with pytest.raises(KeyFormatError, match="lacks the members"):
        _key_store.key_jwk(der, {"kty": "RSA", "n": derived["n"]})
    # SM2 has no derived JWK: a given one is taken as it is.
    assert _key_store.key_jwk(sm2_spki()) is None


# --- build ----------------------------------------------------------------------------------

def items():
    return [
        {"name": "zeta", "public_key": K.spki_pem(RSA)},
        {"key_id": "10.0.0.5:2886", "public_key": K.spki_pem(ED), "provider": "obshell"},
        {"name": "alpha", "public_key": K.spki_pem(RSA2)},
        {"name": "zeta-copy", "public_key": K.spki_pem(RSA)},
    ]


def test_build_writes_sorted_canonical_files_bundle_and_jwks():
    store = _key_store.build(items(), bundle="bundle.pem", jwks="jwks.json")
    assert list(store.files) == ["10.0.0.5_2886.pem", "alpha.pem", "bundle.pem", "jwks.json", "zeta-copy.pem", "zeta.pem"]
    assert store.files["zeta.pem"] == K.spki_pem(RSA).encode()
    # The bundle holds each distinct key once, in file-name order.
    assert store.files["bundle.pem"] == (K.spki_pem(ED) + K.spki_pem(RSA2) + K.spki_pem(RSA)).encode()
    jwks = json.loads(store.files["jwks.json"])
    assert [k["kid"] for k in jwks["keys"]] == [_keys.to_jwk(_keys.parse_public_key(K.spki_pem(k)))["kid"]
                                                for k in (ED, RSA2, RSA)]
    assert store.files["jwks.json"].endswith(b"}\n")
    assert store.files["jwks.json"] == (json.dumps(jwks, sort_keys=True, indent=2) + "\n").encode()
    assert store.warnings == []
    # Same input in another order -> byte-identical files.
    again = _key_store.build(list(reversed(items())), bundle="bundle.pem", jwks="jwks.json")
    assert again.files == store.files


def test_build_leaves_sm2_out_of_the_jwks_with_a_warning():
    store = _key_store.build([{"name": "sm2", "public_key": _der.pem_encode(sm2_spki())},
                              {"name": "ed", "public_key": K.spki_pem(ED)}], jwks="jwks.json")
    assert len(json.loads(store.files["jwks.json"])["keys"]) == 1
    assert store.warnings == ["key sm2 has no JWK form (an SM2 key); it is left out of jwks.json"]


def test_build_reports_every_problem_at_once():
    bad = [
        {"name": "../x", "public_key": K.spki_pem(RSA)},
        {"name": "ok", "public_key": K.spki_pem(RSA)},
        {"name": "ok", "public_key": K.spki_pem(RSA2)},
        {"name": "pinned", "public_key": K.spki_pem(RSA), "expected_fingerprint": ["00" * 32]},
        {"name": "junk", "public_key": "not a key"},
        "a string",
    ]
    with pytest.raises(_key_store.KeyStoreError) as exc:
        _key_store.build(bad, bundle="ok.pem", jwks="../jwks.json", path="/srv/trust")
    errors = exc.value.errors
    assert len(errors) == 7, errors
    text = str(exc.value)
    assert text.startswith("nothing was written to /srv/trust: ")
    for needle in ("'../x' contains a path separator", "both be written to ok.pem", "fingerprint mismatch",
                   "key junk: not a PEM public key", "key #6 is a str", "bundle 'ok.pem' is also the file name of key ok",
                   "jwks '../jwks.json' contains a path separator"):
        assert needle in text


def test_build_parse_hook_takes_other_shapes():
    calls = []

    def parse(text, provider, label):
        calls.append((provider, label))
        return _keys.parse_public_key(text).spki_der

    store = _key_store.build([{"key_id": "a:1", "public_key": K.pkcs1_b64(RSA), "provider": "obshell"}], parse=parse)
    assert store.files == {"a_1.pem": K.spki_pem(RSA).encode()}
    assert calls == [("obshell", "a:1")]


# --- plan -----------------------------------------------------------------------------------

def write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def states(plan):
    return {c.name: c.state for c in plan.changes}


def test_plan_on_a_missing_directory_creates_everything(tmp_path):
    files = _key_store.build(items()[:2]).files
    plan = _key_store.plan(str(tmp_path / "absent"), files)
    assert states(plan) == {"10.0.0.5_2886.pem": "created", "zeta.pem": "created"}
    assert plan.manifest_before is None
    assert json.loads(plan.manifest_after)["files"] == ["10.0.0.5_2886.pem", "zeta.pem"]


def test_plan_states_and_exclusive_removal_of_managed_files_only(tmp_path):
    d = str(tmp_path)
    files = _key_store.build(items()[:3]).files
    write(os.path.join(d, "zeta.pem"), files["zeta.pem"])
    write(os.path.join(d, "alpha.pem"), b"old")
    write(os.path.join(d, "gone.pem"), b"managed before")
    write(os.path.join(d, "stranger.pem"), b"not ours")
    write(os.path.join(d, _key_store.MANIFEST),
          _key_store.manifest_text(["gone.pem", "zeta.pem", "vanished.pem"]))
    plan = _key_store.plan(d, files, exclusive=False)
    assert states(plan) == {"10.0.0.5_2886.pem": "created", "alpha.pem": "updated", "zeta.pem": "unchanged"}
    # Without exclusive, a managed file no longer wanted stays managed; a vanished one is forgotten.
    assert plan.manifest_names == ["10.0.0.5_2886.pem", "alpha.pem", "gone.pem", "zeta.pem"]
    plan = _key_store.plan(d, files, exclusive=True)
    assert states(plan)["gone.pem"] == "removed"
    assert "stranger.pem" not in states(plan)
    assert plan.manifest_names == ["10.0.0.5_2886.pem", "alpha.pem", "zeta.pem"]


def test_a_tampered_manifest_cannot_reach_outside(tmp_path):
    outside = tmp_path / "outside.pem"
    outside.write_text("precious")
    d = tmp_path / "store"
    d.mkdir()
    (d / "sub").mkdir()
    (d / "sub" / "x.pem").write_text("precious")
    listed = ["../outside.pem", "sub/x.pem", "/etc/passwd", ".keyward-manifest.json", "sub"]
    (d / _key_store.MANIFEST).write_text(json.dumps({"files": listed}))
    plan = _key_store.plan(str(d), {}, exclusive=True)
    assert plan.changes == []
    assert plan.warnings == ["%s is listed in the manifest but is no longer a regular file; left alone" % (d / "sub")]


def test_a_corrupt_manifest_removes_nothing(tmp_path):
    (tmp_path / "a.pem").write_text("x")
    (tmp_path / _key_store.MANIFEST).write_text("{not json")
    plan = _key_store.plan(str(tmp_path), {}, exclusive=True)
    assert plan.changes == []
    assert "not a manifest this module wrote" in plan.warnings[0]


def test_symlinks_are_replaced_never_followed_and_directories_refused(tmp_path):
    target = tmp_path / "elsewhere.pem"
    target.write_text("precious")
    d = tmp_path / "store"
    d.mkdir()
    os.symlink(str(target), str(d / "zeta.pem"))
    files = _key_store.build(items()[:1]).files
    assert states(_key_store.plan(str(d), files)) == {"zeta.pem": "updated"}
    (d / "link.pem").symlink_to(target)
    (d / _key_store.MANIFEST).write_bytes(_key_store.manifest_text(["link.pem"]))
    plan = _key_store.plan(str(d), files, exclusive=True)
    assert "link.pem" not in states(plan)
    os.unlink(str(d / "zeta.pem"))
    (d / "zeta.pem").mkdir()
    with pytest.raises(_key_store.KeyStoreError, match="not a regular file"):
        _key_store.plan(str(d), files)


def test_write_temp_lands_in_the_same_directory(tmp_path):
    tmp = _key_store.write_temp(str(tmp_path), b"data")
    assert os.path.dirname(tmp) == str(tmp_path)
    assert os.path.basename(tmp).startswith(_key_store.TEMP_PREFIX)
    assert open(tmp, "rb").read() == b"data"
    _key_store.fsync_dir(str(tmp_path))
