# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""public_key_store's action plugin: every key, pin and name checked on the controller."""

from __future__ import annotations

import json

from ansible_collections.keyward.keys.plugins.action import public_key_store as action
from ansible_collections.keyward.keys.plugins.module_utils import _key_store, _keys
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K

RSA = K.rsa_key(2048, 0)
RSA2 = K.rsa_key(2048, 1)
ED = K.ed25519_key(0)


def test_prepare_normalises_every_shape_and_strips_record_fields():
    record = _keys.key_record("obshell", "10.0.0.5:2886", K.pkcs1_b64(RSA), {"ip": "10.0.0.5"})
    raw_only = {"key_id": "raw", "public_key_raw": K.spki_pem(RSA2).replace("\n", "\r\n")}
    jwk = dict(_keys.to_jwk(_keys.parse_public_key(K.spki_pem(ED))), use="sig")
    args, error = action.prepare({
        "path": "/srv/trust", "bundle": "b.pem", "exclusive": True, "mode": "0644",
        "keys": [record, raw_only,
                 {"name": "ssh", "public_key": K.ed25519_key(0).public_key().public_bytes(
                     _keys.serialization.Encoding.OpenSSH, _keys.serialization.PublicFormat.OpenSSH).decode(),
                  "jwk": jwk, "expected_fingerprint": _keys.fingerprint_sha256(K.spki_der(ED))}],
    })
    assert error is None
    assert {k: v for k, v in args.items() if k != "keys"} == {
        "path": "/srv/trust", "bundle": "b.pem", "exclusive": True, "mode": "0644"}
    assert args["keys"] == [
        {"name": "10.0.0.5_2886", "public_key": K.spki_pem(RSA)},
        {"name": "raw", "public_key": K.spki_pem(RSA2)},
        {"name": "ssh", "public_key": K.spki_pem(ED), "jwk": jwk,
         "expected_fingerprint": _keys.fingerprint_sha256(K.spki_der(ED))},
    ]
    # The module on the host accepts exactly what prepare() hands it.
    assert _key_store.build(args["keys"], bundle="b.pem").files["b.pem"]


def test_prepare_refuses_before_the_host_with_every_problem():
    args, error = action.prepare({"path": "/srv/trust", "keys": [
        {"name": "good", "public_key": K.spki_pem(RSA)},
        {"name": "../x", "public_key": K.spki_pem(RSA)},
        {"name": "pinned", "public_key": K.spki_pem(RSA), "expected_fingerprint": "sha256//" + "A" * 43 + "="},
        {"name": "priv", "public_key": RSA.private_bytes(
            _keys.serialization.Encoding.PEM, _keys.serialization.PrivateFormat.PKCS8,
            _keys.serialization.NoEncryption()).decode()},
        {"name": "empty"},
        {"provider": "ncloud_kms", "key_id": "tag1", "public_key": "%%%"},
    ]})
    assert args is None
    assert len(error.errors) == 5, error.errors
    text = str(error)
    assert text.startswith("nothing was written to /srv/trust: ")
    for needle in ("'../x' contains a path separator", "key pinned: fingerprint mismatch",
                   "key priv: the public key is not usable: it is a private key",
                   "key empty: no public_key (or public_key_raw) was given",
                   "ncloud_kms: key tag1: the public key is not usable"):
        assert needle in text
    assert action.prepare({"keys": "nope"})[1].errors == ["keys must be a list, not str"]


def test_prepare_takes_public_key_info_filter_results():
    from ansible_collections.keyward.keys.plugins.plugin_utils import _filter_keys

    info = _filter_keys.key_info(K.pkcs1_b64(RSA), key_id="10.0.0.5:2886")
    info["jwk"] = dict(info["jwk"], alg="RS256")
    args, error = action.prepare({"path": "/srv/trust", "jwks": "jwks.json", "keys": [info]})
    assert error is None
    assert args["keys"] == [{"name": "10.0.0.5_2886", "public_key": K.spki_pem(RSA), "jwk": info["jwk"]}]
    store = _key_store.build(args["keys"], jwks="jwks.json")
    assert json.loads(store.files["jwks.json"])["keys"] == [info["jwk"]]
