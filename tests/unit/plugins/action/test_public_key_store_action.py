# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""public_key_store's action plugin: every key parsed, every pin and name checked, every file rendered."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.plugins.action import public_key_store as action
from ansible_collections.keyward.keys.plugins.module_utils import _key_bundle, _key_store, _keys
from ansible_collections.keyward.keys.plugins.module_utils._errors import KeyFormatError
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K

RSA = K.rsa_key(2048, 0)
RSA2 = K.rsa_key(2048, 1)
ED = K.ed25519_key(0)


def sm2_pem():
    """An SM2 SPKI whose point is the SM2 generator (on the curve)."""
    gx = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
    gy = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d")
    bits = b"\x03\x42\x00\x04" + bytes.fromhex(gx + gy)
    body = algorithm + bits
    return _keys.pem_encode(b"\x30" + bytes([len(body)]) + body)


def files_of(module_args):
    """{name: text} of the files the module gets, the bundle and JWKS assembled as the host does."""
    keys = [_key_bundle.KeyFile(f["name"], f["content"], f.get("jwk")) for f in module_args["_files"] if f["kind"] == "key"]
    assemble = {"bundle": _key_bundle.bundle_text, "jwks": _key_bundle.jwks_text}
    return dict((f["name"], assemble[f["kind"]](keys) if f["kind"] in assemble else f["content"])
                for f in module_args["_files"])


def jwk_of(key):
    return _keys.to_jwk(_keys.parse_public_key(K.spki_pem(key)))


def test_prepare_renders_every_file_and_sends_no_key_to_parse():
    record = _keys.key_record("obshell", "10.0.0.5:2886", K.pkcs1_b64(RSA), {"ip": "10.0.0.5"})
    raw_only = {"key_id": "raw", "public_key_raw": K.spki_pem(RSA2).replace("\n", "\r\n")}
    jwk = dict(jwk_of(ED), use="sig")
    ssh = ED.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    args, warnings, error = action.prepare({
        "path": "/srv/trust", "bundle": "b.pem", "jwks": "jwks.json", "exclusive": True, "mode": "0644",
        "documents": [{"name": "index.json", "content": {"z": 1, "a": [2]}}],
        "keys": [record, raw_only,
                 {"name": "ssh", "public_key": ssh, "jwk": jwk,
                  "expected_fingerprint": _keys.fingerprint_sha256(K.spki_der(ED))}],
    })
    assert error is None and warnings == []
    assert {k: v for k, v in args.items() if k != "_files"} == {"path": "/srv/trust", "exclusive": True, "mode": "0644"}
    assert [(f["name"], f["kind"]) for f in args["_files"]] == [
        ("10.0.0.5_2886.pem", "key"), ("b.pem", "bundle"), ("index.json", "document"), ("jwks.json", "jwks"),
        ("raw.pem", "key"), ("ssh.pem", "key")]
    # The host assembles the bundle and the JWKS (retiring keys stay in them): they travel empty.
    assert [f["content"] for f in args["_files"] if f["kind"] in ("bundle", "jwks")] == ["", ""]
    assert [f["jwk"] for f in args["_files"] if f["name"] == "ssh.pem"] == [jwk]
    files = files_of(args)
    assert list(files) == ["10.0.0.5_2886.pem", "b.pem", "index.json", "jwks.json", "raw.pem", "ssh.pem"]
    assert files["10.0.0.5_2886.pem"] == K.spki_pem(RSA)
    assert files["raw.pem"] == K.spki_pem(RSA2)
    assert files["ssh.pem"] == K.spki_pem(ED)
    assert files["b.pem"] == K.spki_pem(RSA) + K.spki_pem(RSA2) + K.spki_pem(ED)
    assert json.loads(files["jwks.json"]) == {"keys": [jwk_of(RSA), jwk_of(RSA2), jwk]}
    assert files["jwks.json"] == json.dumps(json.loads(files["jwks.json"]), sort_keys=True, indent=2) + "\n"
    assert files["index.json"] == '{\n  "a": [\n    2\n  ],\n  "z": 1\n}\n'


def test_output_is_deterministic_and_distinct_keys_appear_once():
    keys = [{"name": "zeta", "public_key": K.spki_pem(RSA)}, {"name": "alpha", "public_key": K.spki_pem(RSA2)},
            {"name": "zeta-copy", "public_key": K.spki_pem(RSA)}]
    files, _warnings = action.render(keys, bundle="bundle.pem", jwks="jwks.json")
    assert files["bundle.pem"] == K.spki_pem(RSA2) + K.spki_pem(RSA)
    assert [k["kid"] for k in json.loads(files["jwks.json"])["keys"]] == [jwk_of(RSA2)["kid"], jwk_of(RSA)["kid"]]
    assert action.render(list(reversed(keys)), bundle="bundle.pem", jwks="jwks.json")[0] == files


def test_sm2_keys_are_written_but_left_out_of_the_jwks_with_a_warning():
    files, warnings = action.render([{"name": "sm2", "public_key": sm2_pem()},
                                     {"name": "ed", "public_key": K.spki_pem(ED)}], jwks="jwks.json")
    assert files["sm2.pem"] == sm2_pem()
    assert len(json.loads(files["jwks.json"])["keys"]) == 1
    assert warnings == ["key sm2 has no JWK form (an SM2 key); it is left out of jwks.json"]


def test_a_given_jwk_must_be_the_same_public_key():
    parsed = _keys.parse_public_key(K.spki_pem(RSA))
    derived = _keys.to_jwk(parsed)
    extra = dict(derived, use="sig", alg="RS256")
    del extra["kid"]
    assert action.key_jwk(parsed, extra) == dict(derived, use="sig", alg="RS256")
    with pytest.raises(KeyFormatError, match="different key"):
        action.key_jwk(parsed, jwk_of(RSA2))
    with pytest.raises(KeyFormatError, match="private key members"):
        action.key_jwk(parsed, dict(derived, d="secret"))
    with pytest.raises(KeyFormatError, match="lacks the members"):
        action.key_jwk(parsed, {"kty": "RSA", "n": derived["n"]})


def test_prepare_refuses_before_the_host_with_every_problem():
    args, _warnings, error = action.prepare({"path": "/srv/trust", "bundle": "good.pem", "jwks": "../j.json", "keys": [
        {"name": "good", "public_key": K.spki_pem(RSA)},
        {"name": "../x", "public_key": K.spki_pem(RSA)},
        {"name": "pinned", "public_key": K.spki_pem(RSA), "expected_fingerprint": "sha256//" + "A" * 43 + "="},
        {"name": "priv", "public_key": RSA.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()},
        {"name": "empty"},
        {"provider": "ncloud_kms", "key_id": "tag1", "public_key": "%%%"},
        {"name": "good", "public_key": K.spki_pem(RSA2)},
        "a string",
    ]})
    assert args is None
    assert len(error.errors) == 9, error.errors
    text = str(error)
    assert text.startswith("nothing was written to /srv/trust: ")
    for needle in ("'../x' contains a path separator", "key pinned: fingerprint mismatch",
                   "key priv: the public key is not usable: it is a private key",
                   "keys entry #5 (index 4) is a dict (empty) with no public_key (or public_key_raw)",
                   "ncloud_kms: key tag1: the public key is not usable", "both be written to good.pem",
                   "keys entry #8 (index 7) is a string but not a public key", "bundle 'good.pem' is also the file name of key good",
                   "jwks '../j.json' contains a path separator"):
        assert needle in text
    assert action.prepare({"keys": "nope"})[2].errors == ["keys must be a list, not str"]


@pytest.mark.parametrize("name, needle", [
    ("a\n", "may only hold"),
    ("x" * 201, "longer than 200"),
    ("x" * 204, "longer than 200"),
])
def test_names_the_manifest_could_not_keep_are_refused(name, needle):
    _args, _warnings, error = action.prepare({"path": "/t", "keys": [{"name": name, "public_key": K.spki_pem(RSA)}]})
    assert needle in str(error)


def test_a_200_character_stem_is_fine():
    args, _warnings, error = action.prepare({"path": "/t", "keys": [{"name": "x" * 200, "public_key": K.spki_pem(RSA)}]})
    assert error is None and list(files_of(args)) == ["x" * 200 + ".pem"]


def test_prepare_takes_public_key_info_filter_results():
    from ansible_collections.keyward.keys.plugins.plugin_utils import _filter_keys

    info = _filter_keys.key_info(K.pkcs1_b64(RSA), key_id="10.0.0.5:2886")
    info["jwk"] = dict(info["jwk"], alg="RS256")
    args, _warnings, error = action.prepare({"path": "/srv/trust", "jwks": "jwks.json", "keys": [info]})
    assert error is None
    files = files_of(args)
    assert files["10.0.0.5_2886.pem"] == K.spki_pem(RSA)
    assert json.loads(files["jwks.json"])["keys"] == [info["jwk"]]


def test_repeated_begin_lines_are_refused_quickly():
    # 136 KB of BEGIN lines took 13 s with the old regular expression; linear parsing takes ms.
    text = "-----BEGIN PUBLIC KEY-----\n" * 5000
    assert len(text) > 130000
    started = time.process_time()
    _args, _warnings, error = action.prepare({"path": "/t", "keys": [{"name": "k", "public_key": text}]})
    assert time.process_time() - started < 1.0
    assert "BEGIN line inside" in str(error)


def test_the_module_gets_no_key_shaped_option():
    args, _warnings, _error = action.prepare({"path": "/t", "keys": [{"name": "k", "public_key": K.pkcs1_b64(RSA)}]})
    assert set(args) == {"path", "_files"}
    assert _key_store.check_file_name(args["_files"][0]["name"]) == "k.pem"


SHAPES = "an entry is a key record, a dict {name, public_key, expected_fingerprint?} or a PEM string"


def test_pem_strings_are_keys_named_after_their_fingerprint():
    crlf = K.spki_pem(ED).replace("\n", "\r\n")
    args, warnings, error = action.prepare({"path": "/t", "bundle": "b.pem", "jwks": "jwks.json",
                                            "keys": [K.spki_pem(RSA), crlf, K.pkcs1_b64(RSA2), {"name": "named", "public_key": K.spki_pem(RSA)}]})
    assert error is None and warnings == []
    names = dict((key, "sha256-%s.pem" % _keys.fingerprint_sha256(K.spki_der(key))[:16]) for key in (RSA, RSA2, ED))
    files = files_of(args)
    assert sorted(files) == sorted(["b.pem", "jwks.json", "named.pem"] + list(names.values()))
    for key, name in names.items():
        assert files[name] == K.spki_pem(key)
    assert [f["jwk"] for f in args["_files"] if f["name"] == names[ED]] == [jwk_of(ED)]
    # Listed twice (as a string and by name): one file each, the key once in the bundle.
    assert files["b.pem"].count(K.spki_pem(RSA)) == 1


@pytest.mark.parametrize("entry, problem", [
    (42, "keys entry #2 (index 1) is a number"),
    (None, "keys entry #2 (index 1) is null"),
    (["x"], "keys entry #2 (index 1) is a list"),
    ({"fingerprint": "ab"}, "keys entry #2 (index 1) is a dict with no public_key (or public_key_raw)"),
    ({"public_key": "-"}, "keys entry #2 (index 1) has a public_key but no name (or key_id)"),
    ("signer-2025", "keys entry #2 (index 1) is a string but not a public key"),
])
def test_an_entry_of_the_wrong_shape_is_one_line_naming_it_and_the_shapes(entry, problem):
    _args, _warnings, error = action.prepare({"path": "/t", "keys": [K.spki_pem(RSA), entry]})
    assert len(error.errors) == 1
    assert error.errors[0].startswith(problem) and error.errors[0].endswith(SHAPES)
    assert "\n" not in str(error) and str(error).startswith("nothing was written to /t: ")


def test_a_bad_retire_after_fails_on_the_controller():
    _args, _warnings, error = action.prepare({"path": "/t", "retire_after": "a week", "keys": []})
    assert error.errors == ["retire_after must be seconds or a duration like 90s, 15m, 12h or 7d, not 'a week'"]
    args, _warnings, error = action.prepare({"path": "/t", "retire_after": "7d", "keys": []})
    assert error is None and args["retire_after"] == "7d"
