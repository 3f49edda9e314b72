# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""public_key_store: the module as it runs on a host (in-process), given files the controller rendered.

The action plugin (keys, pins, rendering): tests/unit/plugins/action.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _key_store
from ansible_collections.keyward.keys.plugins.modules import public_key_store
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K
from ansible_collections.keyward.keys.tests.unit.plugins.modules._module_process import run_concurrently, run_module as call

RSA = K.rsa_key(2048, 0)
RSA2 = K.rsa_key(2048, 1)
ED = K.ed25519_key(0)


def render(keys=None, bundle=None, jwks=None, documents=None):
    """What the action plugin sends as _files, for PEM keys given as {name, public_key}."""
    files = {}
    for item in keys or []:
        files[item["name"] + ".pem"] = item["public_key"]
    distinct = []
    for name in sorted(files):
        if files[name] not in distinct:
            distinct.append(files[name])
    if bundle:
        files[bundle] = "".join(distinct)
    if jwks:
        files[jwks] = json.dumps({"keys": [{"kty": "stand-in", "n": i} for i in range(len(distinct))]}) + "\n"
    for doc in documents or []:
        files[doc["name"]] = doc["content"]
    return [{"name": name, "content": files[name]} for name in sorted(files)]


def module_args(args):
    args = dict(args)
    if "_files" not in args:
        args["_files"] = render(args.pop("keys", None), args.pop("bundle", None), args.pop("jwks", None),
                                args.pop("documents", None))
    return args


@pytest.fixture
def run(capsys):
    def run_module(check=False, diff=False, **args):
        return call(public_key_store, capsys, **dict(module_args(args), _ansible_check_mode=check, _ansible_diff=diff))
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
    assert len(json.loads(files["jwks.json"][0])["keys"]) == 2
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
    ({"name": "../x.pem", "content": "x"}, "'../x.pem' contains a path separator"),
    ({"name": ".x", "content": "x"}, "starts with a dot"),
    ({"name": "x.pem\n", "content": "x"}, "may only hold"),
    ({"name": "a.pem", "content": "again"}, "given twice"),
])
def test_the_host_rechecks_names_and_writes_nothing(run, tmp_path, bad, needle):
    d = str(tmp_path)
    run(path=d, keys=keys(("a", RSA)))
    before = snapshot(d)
    result = run(path=d, _files=render(keys(("a", RSA2))) + [bad], exclusive=True)
    assert result["failed"] is True
    assert needle in result["msg"]
    assert result["msg"].startswith("nothing was written to %s" % d)
    assert snapshot(d) == before


def test_the_host_parses_no_keys_it_writes_what_it_is_given(run, tmp_path):
    # Rendering and validation are the controller's job; the module writes the bytes it gets.
    result = run(path=str(tmp_path), _files=[{"name": "doc.txt", "content": "any text \u00e9\n"}])
    assert result["changed"] is True
    assert (tmp_path / "doc.txt").read_bytes() == "any text \u00e9\n".encode("utf-8")


def test_without_the_action_plugin_the_module_refuses(capsys, tmp_path):
    result = call(public_key_store, capsys, path=str(tmp_path), keys=keys(("a", RSA)))
    assert result["failed"] is True and "runs only through its action plugin" in result["msg"]
    assert os.listdir(str(tmp_path)) == []


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


# --- issue 9 item 7 -----------------------------------------------------------------------------

@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("mode, expected", [(None, 0o644), ("0640", 0o640)])
def test_a_planted_symlink_never_lends_its_target_attributes(run, tmp_path, umask_022, mode, expected):
    target = tmp_path / "setuid-target"
    target.write_text("precious")
    os.chmod(str(target), 0o4755)
    d = tmp_path / "store"
    d.mkdir()
    os.symlink(str(target), str(d / "a.pem"))
    args = dict(path=str(d), keys=keys(("a", RSA)), diff=True)
    if mode:
        args["mode"] = mode
    result = run(**args)
    assert by_name(result) == {"a.pem": "updated"}
    info = os.lstat(str(d / "a.pem"))
    assert stat.S_ISREG(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == expected, oct(info.st_mode)
    assert (info.st_uid, info.st_gid) == (os.geteuid(), os.getegid())
    assert target.read_text() == "precious" and stat.S_IMODE(os.stat(str(target)).st_mode) == 0o4755
    assert [x["before"] for x in result["diff"] if x.get("after_header") == str(d / "a.pem")] == [""]


def test_an_update_keeps_the_file_own_mode_when_none_is_asked(run, tmp_path, umask_022):
    run(path=str(tmp_path), keys=keys(("a", RSA)))
    os.chmod(str(tmp_path / "a.pem"), 0o600)
    run(path=str(tmp_path), keys=keys(("a", RSA2)))
    assert stat.S_IMODE(os.lstat(str(tmp_path / "a.pem")).st_mode) == 0o600


def test_a_symlinked_directory_lends_nothing(run, tmp_path):
    # Issue 18 item 10: the directory a link points to keeps its own mode.
    real = tmp_path / "real"
    real.mkdir(mode=0o755)
    os.chmod(str(real), 0o755)
    link = tmp_path / "link"
    os.symlink(str(real), str(link))
    result = run(path=str(link), keys=keys(("a", RSA)), dir_mode="0750")
    assert result["changed"] is True and (real / "a.pem").exists()
    assert stat.S_IMODE(os.stat(str(real)).st_mode) == 0o755
    assert os.path.islink(str(link))
    assert run(path=str(link), keys=keys(("a", RSA)), dir_mode="0750")["changed"] is False


def test_concurrent_runs_on_one_directory_lose_no_manifest_entries(tmp_path):
    # Each run's manifest read is slow, so that the runs overlap for sure.
    d = str(tmp_path)
    runs = [module_args(dict(path=d, keys=[{"name": "k%d" % index, "public_key": K.spki_pem(RSA)}])) for index in range(4)]
    for out, err in run_concurrently(public_key_store, _key_store, "read_manifest", runs):
        assert json.loads(out.decode())["changed"] is True, (out, err)
    manifest = json.loads((tmp_path / _key_store.MANIFEST).read_text())
    assert manifest["files"] == ["k0.pem", "k1.pem", "k2.pem", "k3.pem"]
    assert sorted(os.listdir(d)) == [_key_store.MANIFEST, "k0.pem", "k1.pem", "k2.pem", "k3.pem"]
