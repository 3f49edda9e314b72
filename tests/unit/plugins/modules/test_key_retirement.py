# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""public_key_store's retire_after and trust_store_info, in-process, on real directories.

The host clock is the real one: windows of a second or two and short sleeps (no clock is faked).
Real ansible-playbook runs of the same: tests/integration/test_trust_store_rotation.py.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _key_bundle, _key_lifetime, _key_store
from ansible_collections.keyward.keys.plugins.modules import public_key_store, trust_store_info
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K
from ansible_collections.keyward.keys.tests.unit.plugins.modules._module_process import run_module

RSA = K.rsa_key(2048, 0)
RSA2 = K.rsa_key(2048, 1)
ED = K.ed25519_key(0)
PEMS = {"a": K.spki_pem(RSA), "b": K.spki_pem(RSA2), "c": K.spki_pem(ED)}
FPS = dict((name, _key_bundle.pem_fingerprint(pem)) for name, pem in PEMS.items())


def wire(names, bundle="bundle.pem", jwks="jwks.json"):
    """The _files the action plugin sends for keys a, b, c (JWK stand-ins carry the name as kid)."""
    files = [{"name": n + ".pem", "content": PEMS[n], "kind": "key", "jwk": {"kty": "OKP", "kid": n}} for n in names]
    if bundle:
        files.append({"name": bundle, "content": "", "kind": "bundle"})
    if jwks:
        files.append({"name": jwks, "content": "", "kind": "jwks"})
    return files


def call(module, capsys, check=False, diff=False, **args):
    return run_module(module, capsys, **dict(args, _ansible_check_mode=check, _ansible_diff=diff))


@pytest.fixture
def store(capsys, tmp_path):
    def run(names, check=False, diff=False, **args):
        return call(public_key_store, capsys, check=check, diff=diff, path=str(tmp_path), _files=wire(names), **args)
    return run


@pytest.fixture
def info(capsys, tmp_path):
    def read(path=None, check=False):
        return call(trust_store_info, capsys, check=check, path=path or str(tmp_path))
    return read


def states(result):
    return {os.path.basename(f["path"]): f["state"] for f in result["files"]}


def bundle(d):
    return open(os.path.join(d, "bundle.pem")).read()


def kids(d):
    return [k["kid"] for k in json.load(open(os.path.join(d, "jwks.json")))["keys"]]


def snapshot(d):
    return dict((n, open(os.path.join(d, n), "rb").read()) for n in sorted(os.listdir(d)))


def test_an_unlisted_key_stays_retiring_in_its_file_bundle_and_jwks_until_its_grace_is_over(store, info, tmp_path):
    d = str(tmp_path)
    store(["a", "b"])
    started = time.time()
    result = store(["b"], retire_after=2, diff=True)
    assert result["changed"] is True
    assert states(result) == {"a.pem": "retiring", "b.pem": "unchanged", "bundle.pem": "unchanged",
                              "jwks.json": "unchanged"}
    [entry] = result["retiring"]
    assert entry["name"] == "a" and entry["fingerprint_sha256"] == FPS["a"]
    since = _key_lifetime.parse_utc(entry["retiring_since"])
    assert started <= since <= started + 2
    assert _key_lifetime.parse_utc(entry["retire_at"]) == since + 2
    assert [x for x in result["diff"] if x["after_header"].endswith("a.pem (state)")][0]["after"].startswith("retiring")
    assert open(os.path.join(d, "a.pem")).read() == PEMS["a"]
    assert bundle(d) == PEMS["a"] + PEMS["b"] and kids(d) == ["a", "b"]

    # Within the grace: same states, nothing changes, the clock is not restarted.
    again = store(["b"], retire_after="2s")
    assert again["changed"] is False and again["retiring"] == result["retiring"]
    held = info()
    assert [(k["name"], k["state"], k["intact"]) for k in held["keys"]] == [("a", "retiring", True), ("b", "active", True)]
    assert held["keys"][0]["retire_at"] == entry["retire_at"]

    time.sleep(max(0.0, since + 2 - time.time()) + 0.1)
    # Check mode predicts the removal, without it.
    predicted = store(["b"], retire_after=2, check=True)
    assert states(predicted)["a.pem"] == "removed" and states(predicted)["bundle.pem"] == "updated"
    assert os.path.exists(os.path.join(d, "a.pem"))
    gone = store(["b"], retire_after=2)
    assert gone["changed"] is True and gone["retiring"] == []
    assert states(gone) == {"a.pem": "removed", "b.pem": "unchanged", "bundle.pem": "updated", "jwks.json": "updated"}
    assert bundle(d) == PEMS["b"] and kids(d) == ["b"]
    assert [k["name"] for k in info()["keys"]] == ["b"]


def test_retire_after_zero_keeps_the_key_through_the_unlisting_run_and_removes_it_in_the_next(store):
    store(["a", "b"])
    assert states(store(["b"], retire_after=0))["a.pem"] == "retiring"
    assert states(store(["b"], retire_after=0))["a.pem"] == "removed"


def test_a_retiring_key_listed_again_is_active_again(store, info, tmp_path):
    store(["a", "b"])
    store(["b"], retire_after="1m")
    back = store(["a", "b"], retire_after="1m", diff=True)
    assert back["changed"] is True and back["retiring"] == []
    assert states(back)["a.pem"] == "unchanged"
    assert [x["after"] for x in back["diff"] if x["after_header"].endswith("a.pem (state)")] == ["active\n"]
    assert [(k["name"], k["state"], k["retiring_since"]) for k in info()["keys"]] == [("a", "active", None),
                                                                                      ("b", "active", None)]
    # Unlisted again later: a fresh grace from that run on.
    assert store(["b"], retire_after=0)["retiring"][0]["name"] == "a"


def test_check_mode_reports_the_same_states_and_writes_nothing(store, tmp_path):
    d = str(tmp_path)
    store(["a", "b"])
    before = snapshot(d)
    predicted = store(["b", "c"], retire_after="12h", check=True, diff=True)
    assert states(predicted) == {"a.pem": "retiring", "b.pem": "unchanged", "bundle.pem": "updated",
                                 "c.pem": "created", "jwks.json": "updated"}
    assert predicted["retiring"][0]["name"] == "a"
    assert snapshot(d) == before
    real = store(["b", "c"], retire_after="12h")
    assert states(real) == states(predicted)
    assert bundle(d) == PEMS["a"] + PEMS["b"] + PEMS["c"]
    assert real["retiring"][0]["retire_at"] == _key_lifetime.utc_text(
        _key_lifetime.parse_utc(real["retiring"][0]["retiring_since"]) + 12 * 3600)


def test_without_retire_after_exclusive_still_removes_at_once(store):
    store(["a", "b"])
    store(["b"], retire_after=60)
    assert states(store(["b"], exclusive=True))["a.pem"] == "removed"


def test_an_edited_retiring_key_is_left_alone_and_leaves_the_bundle(store, info, tmp_path):
    d = str(tmp_path)
    store(["a", "b"])
    store(["b"], retire_after=60)
    with open(os.path.join(d, "a.pem"), "a") as handle:
        handle.write("# edited\n")
    assert [k["intact"] for k in info()["keys"]] == [False, True]
    # (Warnings are checked on the plan: in-process, ansible-core 2.19+ sends them to the display.)
    plan = _key_store.plan(d, {"b.pem": _key_store.Wanted(PEMS["b"].encode(), "key")}, retire_after=60)
    assert any("a.pem is listed in the manifest but no longer holds" in w for w in plan.warnings)
    store(["b"], retire_after=60)
    assert bundle(d) == PEMS["b"]
    assert os.path.exists(os.path.join(d, "a.pem"))
    assert info()["unmanaged"] == ["a.pem"]


@pytest.mark.parametrize("value", ["soon", "-5", "5w", True, "1.5h"])
def test_a_bad_retire_after_is_one_line_and_writes_nothing(store, tmp_path, value):
    result = store(["a"], retire_after=value)
    assert result["failed"] is True
    assert "retire_after must be" in result["msg"] and "\n" not in result["msg"]
    assert os.listdir(str(tmp_path)) == []


def test_a_version_2_store_is_taken_over_without_losing_a_file(store, info, tmp_path):
    d = str(tmp_path)
    # What release 0.1.0 wrote: the files and a version 2 manifest of their hashes.
    files = {"a.pem": PEMS["a"], "b.pem": PEMS["b"], "bundle.pem": PEMS["a"] + PEMS["b"], "jwks.json": '{"keys": []}\n'}
    for name, text in files.items():
        with open(os.path.join(d, name), "w") as handle:
            handle.write(text)
    with open(os.path.join(d, _key_store.MANIFEST), "w") as handle:
        json.dump({"files": sorted(files), "version": 2,
                   "sha256": dict((n, _key_store.sha256_hex(t.encode())) for n, t in files.items())}, handle)
    held = info()
    assert held["bundle"] == "bundle.pem" and held["jwks"] == "jwks.json"
    assert [(k["name"], k["fingerprint_sha256"], k["state"], k["intact"]) for k in held["keys"]] == [
        ("a", FPS["a"], "active", True), ("b", FPS["b"], "active", True)]
    assert all(k["written_at"] for k in held["keys"])

    plan = _key_store.plan(d, {"b.pem": _key_store.Wanted(PEMS["b"].encode(), "key"),
                               "jwks.json": _key_store.Wanted(None, "jwks")}, retire_after=60)
    assert any("a.pem is retiring but its JWK was never recorded" in w for w in plan.warnings)
    result = store(["b"], retire_after=60)
    assert states(result)["a.pem"] == "retiring"
    assert result["retiring"][0]["fingerprint_sha256"] == FPS["a"]
    assert bundle(d) == PEMS["a"] + PEMS["b"]
    manifest = json.load(open(os.path.join(d, _key_store.MANIFEST)))
    assert manifest["version"] == 3 and manifest["files"] == ["a.pem", "b.pem", "bundle.pem", "jwks.json"]


def test_info_reports_unmanaged_files_and_a_missing_directory(store, info, tmp_path):
    d = str(tmp_path)
    store(["a"])
    with open(os.path.join(d, "README"), "w") as handle:
        handle.write("hand-made")
    os.symlink("/etc/passwd", os.path.join(d, "link.pem"))
    os.unlink(os.path.join(d, "a.pem"))
    os.symlink("/etc/hostname", os.path.join(d, "a.pem"))
    held = info(check=True)
    assert held["changed"] is False and held["exists"] is True
    assert held["unmanaged"] == ["README", "link.pem"]
    assert set(held) >= {"exists", "keys", "unmanaged", "bundle", "jwks"}
    [key] = held["keys"]
    assert key == {"name": "a", "path": os.path.join(d, "a.pem"), "fingerprint_sha256": FPS["a"], "state": "active",
                   "written_at": key["written_at"], "retiring_since": None, "retire_at": None, "intact": False}
    assert _key_lifetime.parse_utc(key["written_at"]) is not None
    missing = info(path=os.path.join(d, "nowhere"))
    assert {k: missing[k] for k in ("exists", "keys", "unmanaged", "bundle", "jwks")} == {
        "exists": False, "keys": [], "unmanaged": [], "bundle": None, "jwks": None}


def test_the_host_takes_as_key_only_one_canonical_pem_block(capsys, tmp_path):
    files = wire(["a"]) + [{"name": "fake.pem", "content": "not a key\n", "kind": "key"}]
    result = call(public_key_store, capsys, path=str(tmp_path), _files=files)
    assert result["failed"] is True
    assert "fake.pem is given as a key but is not one canonical PUBLIC KEY PEM block" in result["msg"]
    assert os.listdir(str(tmp_path)) == []


def test_a_manifest_that_calls_a_document_a_key_cannot_put_it_in_the_bundle(store, capsys, tmp_path):
    d = str(tmp_path)
    call(public_key_store, capsys, path=d, _files=wire(["b"]) + [{"name": "notes.txt", "content": "hello\n"}])
    path = os.path.join(d, _key_store.MANIFEST)
    manifest = json.load(open(path))
    manifest["records"]["notes.txt"]["kind"] = "key"   # a hand edit
    with open(path, "w") as handle:
        json.dump(manifest, handle)
    result = store(["b"], retire_after=60)
    assert states(result)["notes.txt"] == "removed" and result["retiring"] == []
    assert bundle(d) == PEMS["b"]
