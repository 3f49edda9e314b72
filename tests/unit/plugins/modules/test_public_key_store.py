# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""public_key_store: the module as it runs on a host (in-process). The action plugin: tests/unit/plugins/action."""

from __future__ import annotations

import contextlib
import json
import os
import stat

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _key_store
from ansible_collections.keyward.keys.plugins.modules import public_key_store
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args):
        from ansible.module_utils import basic
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved

RSA = K.rsa_key(2048, 0)
RSA2 = K.rsa_key(2048, 1)
ED = K.ed25519_key(0)


@pytest.fixture
def run(capsys):
    def run_module(check=False, diff=False, **args):
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                public_key_store.main()
        return json.loads(capsys.readouterr().out)
    return run_module


def keys(*pairs):
    return [{"name": name, "public_key": K.spki_pem(key)} for name, key in pairs]


def snapshot(directory):
    """{name: (bytes, mode, mtime_ns, inode)} of everything in the directory."""
    found = {}
    for name in sorted(os.listdir(directory)):
        info = os.lstat(os.path.join(directory, name))
        with open(os.path.join(directory, name), "rb") as handle:
            found[name] = (handle.read(), stat.S_IMODE(info.st_mode), info.st_mtime_ns, info.st_ino)
    return found


def by_name(result):
    return {os.path.basename(f["path"]): f["state"] for f in result["files"]}


def test_first_run_writes_then_nothing_changes(run, tmp_path):
    d = str(tmp_path / "trust" / "nested")
    args = dict(path=d, keys=keys(("a", RSA), ("b", ED)), bundle="all.pem", jwks="jwks.json",
                mode="0640", dir_mode="0750")
    first = run(**args)
    assert first["changed"] is True
    assert by_name(first) == {"a.pem": "created", "all.pem": "created", "b.pem": "created", "jwks.json": "created"}
    assert first["path"] == d
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o750
    files = snapshot(d)
    assert sorted(files) == [".keyward-manifest.json", "a.pem", "all.pem", "b.pem", "jwks.json"]
    assert files["a.pem"][0] == K.spki_pem(RSA).encode()
    assert files["all.pem"][0] == (K.spki_pem(RSA) + K.spki_pem(ED)).encode()
    assert {k["kty"] for k in json.loads(files["jwks.json"][0])["keys"]} == {"RSA", "OKP"}
    assert all(files[n][1] == 0o640 for n in files), {n: oct(files[n][1]) for n in files}
    assert json.loads(files[".keyward-manifest.json"][0])["files"] == ["a.pem", "all.pem", "b.pem", "jwks.json"]
    assert not [n for n in os.listdir(d) if n.startswith(_key_store.TEMP_PREFIX)]

    second = run(**args)
    assert second["changed"] is False
    assert set(by_name(second).values()) == {"unchanged"}
    assert snapshot(d) == files  # same bytes, modes, mtimes and inodes: nothing rewritten


def test_mode_change_alone_is_an_update(run, tmp_path):
    d = str(tmp_path)
    run(path=d, keys=keys(("a", RSA)), mode="0644")
    result = run(path=d, keys=keys(("a", RSA)), mode="0600", diff=True)
    assert result["changed"] is True
    assert by_name(result) == {"a.pem": "updated"}
    assert stat.S_IMODE(os.stat(os.path.join(d, "a.pem")).st_mode) == 0o600
    attribute_diffs = [x for x in result["diff"] if isinstance(x["before"], dict)]
    assert attribute_diffs[0]["before"]["mode"] == "0644"
    assert attribute_diffs[0]["after"]["mode"] == "0600"


def test_check_mode_predicts_without_touching(run, tmp_path):
    d = str(tmp_path / "store")
    absent = run(path=d, keys=keys(("a", RSA)), check=True, diff=True)
    assert absent["changed"] is True
    assert by_name(absent) == {"a.pem": "created"}
    assert not os.path.exists(d)
    assert {"path": d, "state": "directory"} in [x["after"] for x in absent["diff"]]

    run(path=d, keys=keys(("a", RSA), ("b", ED)))
    before = snapshot(d)
    result = run(path=d, keys=keys(("a", RSA2)), exclusive=True, mode="0600", check=True, diff=True)
    assert result["changed"] is True
    assert by_name(result) == {"a.pem": "updated", "b.pem": "removed"}
    assert snapshot(d) == before
    content = {x["after_header"]: x for x in result["diff"] if isinstance(x["before"], str)}
    assert content[os.path.join(d, "a.pem")]["before"] == K.spki_pem(RSA)
    assert content[os.path.join(d, "a.pem")]["after"] == K.spki_pem(RSA2)
    assert content[os.path.join(d, "b.pem")]["after"] == ""


def test_exclusive_removes_only_what_it_wrote(run, tmp_path):
    d = str(tmp_path)
    run(path=d, keys=keys(("a", RSA), ("b", ED), ("c", RSA2)), bundle="bundle.pem")
    (tmp_path / "mine.pem").write_text("someone else's")
    (tmp_path / "notes.txt").write_text("hello")
    # Not exclusive: dropped keys stay (and are not reported: files lists what was asked for).
    kept = run(path=d, keys=keys(("a", RSA)), bundle="bundle.pem")
    assert by_name(kept) == {"a.pem": "unchanged", "bundle.pem": "updated"}
    assert (tmp_path / "b.pem").read_text() == K.spki_pem(ED)
    result = run(path=d, keys=keys(("a", RSA)), exclusive=True)
    assert result["changed"] is True
    assert by_name(result) == {"a.pem": "unchanged", "b.pem": "removed", "bundle.pem": "removed", "c.pem": "removed"}
    assert sorted(os.listdir(d)) == [".keyward-manifest.json", "a.pem", "mine.pem", "notes.txt"]
    assert (tmp_path / "mine.pem").read_text() == "someone else's"
    empty = run(path=d, keys=[], exclusive=True)
    assert by_name(empty) == {"a.pem": "removed"}
    assert sorted(os.listdir(d)) == [".keyward-manifest.json", "mine.pem", "notes.txt"]


def test_adopting_an_identical_file_is_not_a_change(run, tmp_path):
    (tmp_path / "a.pem").write_text(K.spki_pem(RSA))
    result = run(path=str(tmp_path), keys=keys(("a", RSA)))
    assert result["changed"] is False
    assert json.loads((tmp_path / _key_store.MANIFEST).read_text())["files"] == ["a.pem"]


@pytest.mark.parametrize("bad, needle", [
    ({"name": "../x", "public_key": K.spki_pem(RSA)}, "'../x' contains a path separator"),
    ({"name": ".x", "public_key": K.spki_pem(RSA)}, "starts with a dot"),
    ({"name": "x", "public_key": K.pkcs1_b64(RSA)}, "not a PEM public key"),
    ({"name": "x", "public_key": K.spki_pem(RSA), "expected_fingerprint": ["00" * 32]}, "fingerprint mismatch"),
])
def test_the_host_refuses_on_its_own_and_writes_nothing(run, tmp_path, bad, needle):
    d = str(tmp_path)
    run(path=d, keys=keys(("a", RSA)))
    before = snapshot(d)
    result = run(path=d, keys=keys(("a", RSA2)) + [bad], exclusive=True)
    assert result["failed"] is True
    assert needle in result["msg"]
    assert result["msg"].startswith("nothing was written to %s" % d)
    assert snapshot(d) == before


def test_relative_paths_and_files_in_the_way_are_refused(run, tmp_path):
    assert "must be absolute" in run(path="relative/dir", keys=[])["msg"]
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in run(path=str(tmp_path / "file"), keys=[])["msg"]


def test_a_run_that_fails_half_way_still_knows_its_files(run, tmp_path, monkeypatch):
    d = str(tmp_path)
    real_write = public_key_store.StoreRun.write

    def failing_write(self, name, data):
        if name == "b.pem":
            raise OSError(28, "No space left on device", os.path.join(d, name))
        return real_write(self, name, data)

    monkeypatch.setattr(public_key_store.StoreRun, "write", failing_write)
    failed = run(path=d, keys=keys(("a", RSA), ("b", ED)))
    assert failed["failed"] is True
    assert "No space left on device" in failed["msg"]
    assert json.loads((tmp_path / _key_store.MANIFEST).read_text())["files"] == ["a.pem", "b.pem"]
    assert (tmp_path / "a.pem").read_text() == K.spki_pem(RSA)
    monkeypatch.undo()
    assert by_name(run(path=d, keys=[], exclusive=True)) == {"a.pem": "removed"}
    assert os.listdir(d) == [_key_store.MANIFEST]
