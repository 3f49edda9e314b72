# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_key_store: the host side of public_key_store (names, manifest, plans, safe reads). No keys parsed here."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _key_store
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K

RSA = K.rsa_key(2048, 0)
RSA2 = K.rsa_key(2048, 1)
ED = K.ed25519_key(0)
FileNameError = _key_store.FileNameError


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
    with pytest.raises(FileNameError) as exc:
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
    with pytest.raises(FileNameError, match="path separator"):
        _key_store.key_stem({"name": "../x", "key_id": "safe"}, 1)
    with pytest.raises(FileNameError, match="neither a name nor a key_id"):
        _key_store.key_stem({"public_key": "x"}, 3)
    with pytest.raises(FileNameError, match="no usable file name"):
        _key_store.key_stem({"key_id": ":::"}, 1)


# --- plan -----------------------------------------------------------------------------------

def wanted(count=3):
    """Rendered files as the action plugin sends them: {name: bytes}."""
    files = [("zeta.pem", K.spki_pem(RSA)), ("10.0.0.5_2886.pem", K.spki_pem(ED)), ("alpha.pem", K.spki_pem(RSA2))]
    return dict((name, text.encode()) for name, text in files[:count])


def listed(*names, **contents):
    """A current manifest listing names, each with the hash of contents[name] (default: the name's wanted bytes)."""
    files = wanted()
    return _key_store.manifest_text(dict((n, _key_store.sha256_hex(contents.get(n.replace(".", "_"), files.get(n, b"")))) for n in names))


def write(path, data):
    with open(path, "wb") as handle:
        handle.write(data)


def states(plan):
    return {c.name: c.state for c in plan.changes}


def test_plan_on_a_missing_directory_creates_everything(tmp_path):
    files = wanted(2)
    plan = _key_store.plan(str(tmp_path / "absent"), files)
    assert states(plan) == {"10.0.0.5_2886.pem": "created", "zeta.pem": "created"}
    assert plan.manifest_before is None
    assert json.loads(plan.manifest_after)["files"] == ["10.0.0.5_2886.pem", "zeta.pem"]


def test_plan_states_and_exclusive_removal_of_managed_files_only(tmp_path):
    d = str(tmp_path)
    files = wanted(3)
    write(os.path.join(d, "zeta.pem"), files["zeta.pem"])
    write(os.path.join(d, "alpha.pem"), b"old")
    write(os.path.join(d, "gone.pem"), b"managed before")
    write(os.path.join(d, "stranger.pem"), b"not ours")
    write(os.path.join(d, _key_store.MANIFEST), listed("gone.pem", "zeta.pem", "vanished.pem", gone_pem=b"managed before"))
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
    files = wanted(1)
    assert states(_key_store.plan(str(d), files)) == {"zeta.pem": "updated"}
    (d / "link.pem").symlink_to(target)
    (d / _key_store.MANIFEST).write_bytes(listed("link.pem"))
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


# --- issue 9 item 7: names, limits, a manifest that is not trusted blindly -----------------

@pytest.mark.parametrize("name", ["a\n", "a.pem\n", "a\nb", "a\r"])
def test_names_with_newlines_are_refused(name):
    with pytest.raises(FileNameError, match="may only hold"):
        _key_store.check_file_name(name)


@pytest.mark.parametrize("length", [201, 202, 203, 204])
def test_stems_over_200_are_refused_where_the_manifest_would_drop_them(length):
    with pytest.raises(FileNameError, match="longer than 200"):
        _key_store.key_stem({"name": "x" * length}, 1)
    assert len(_key_store.name_from_key_id("y" * length)) == 200


def test_every_name_the_module_writes_survives_the_manifest(tmp_path):
    longest = _key_store.key_stem({"name": "x" * 200}, 1) + _key_store.KEY_SUFFIX
    document = "d" * _key_store.MAX_FILE_NAME
    (tmp_path / longest).write_bytes(b"k")
    (tmp_path / document).write_bytes(b"d")
    (tmp_path / _key_store.MANIFEST).write_bytes(_key_store.manifest_text(
        {longest: _key_store.sha256_hex(b"k"), document: _key_store.sha256_hex(b"d")}))
    assert sorted(_key_store.read_manifest(str(tmp_path)).hashes) == sorted([longest, document])
    with pytest.raises(FileNameError, match="longer than 204"):
        _key_store.check_file_name(document + "d")


def test_exclusive_removes_only_files_that_still_hold_what_was_written(tmp_path):
    d = str(tmp_path)
    pem = K.spki_pem(RSA).encode()
    for name in ("ours.pem", "edited.pem", "hand-added.pem"):
        write(os.path.join(d, name), pem)
    write(os.path.join(d, "edited.pem"), pem + b"# edited\n")
    manifest = json.loads(_key_store.manifest_text({"ours.pem": _key_store.sha256_hex(pem),
                                                    "edited.pem": _key_store.sha256_hex(pem)}))
    manifest["files"].append("hand-added.pem")  # an operator's edit: listed, no hash
    write(os.path.join(d, _key_store.MANIFEST), json.dumps(manifest).encode())
    plan = _key_store.plan(d, {}, exclusive=True)
    assert states(plan) == {"ours.pem": "removed"}
    assert any("edited.pem is listed in the manifest but no longer holds" in w for w in plan.warnings)
    assert any("hand-added.pem is listed in the manifest but no longer holds" in w for w in plan.warnings)


def test_a_version_1_manifest_removes_only_pem_and_jwks_shaped_files(tmp_path):
    d = str(tmp_path)
    write(os.path.join(d, "key.pem"), K.spki_pem(RSA).encode())
    write(os.path.join(d, "bundle.pem"), (K.spki_pem(RSA) + K.spki_pem(ED)).encode())
    write(os.path.join(d, "jwks.json"), b'{\n  "keys": []\n}\n')
    write(os.path.join(d, "passwd"), b"root:x:0:0::/root:/bin/sh\n")
    write(os.path.join(d, "priv.pem"), b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    names = ["key.pem", "bundle.pem", "jwks.json", "passwd", "priv.pem"]
    write(os.path.join(d, _key_store.MANIFEST), json.dumps({"files": names, "version": 1}).encode())
    plan = _key_store.plan(d, {}, exclusive=True)
    assert states(plan) == {"key.pem": "removed", "bundle.pem": "removed", "jwks.json": "removed"}
    # Rewritten as the current version with hashes for what it keeps managing.
    assert json.loads(plan.manifest_after)["version"] == _key_store.MANIFEST_VERSION


def test_read_existing_never_reads_through_a_symlink_swapped_in_after_lstat(tmp_path, monkeypatch):
    secret = tmp_path / "secret"
    secret.write_text("root's secret")
    victim = tmp_path / "a.pem"
    victim.write_text("ours")
    real_lstat = os.lstat
    swapped = []

    def lstat_then_swap(path, *args, **kwargs):
        info = real_lstat(path, *args, **kwargs)
        if str(path) == str(victim) and not swapped:
            swapped.append(True)
            os.unlink(str(victim))
            os.symlink(str(secret), str(victim))
        return info

    monkeypatch.setattr(_key_store.os, "lstat", lstat_then_swap)
    kind, data = _key_store.read_existing(str(victim))
    assert kind == "link" and data is None
    monkeypatch.undo()
    os.unlink(str(victim))
    victim.write_text("ours")
    swapped.clear()
    monkeypatch.setattr(_key_store.os, "lstat", lstat_then_swap)
    plan = _key_store.plan(str(tmp_path), {"a.pem": b"new"})
    assert plan.changes[0].before in (b"", None)  # what --diff shows: never the link target's content


def test_fifos_and_devices_are_never_opened(tmp_path):
    fifo = tmp_path / "f.pem"
    os.mkfifo(str(fifo))
    assert _key_store.read_existing(str(fifo)) == ("other", None)  # would block if opened


def test_the_directory_lock_is_exclusive(tmp_path):
    fd = _key_store.locked(str(tmp_path))
    try:
        probe = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDONLY)\n"
                 "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept OSError:\n    sys.exit(3)\n")
        assert subprocess.run([sys.executable, "-c", probe, str(tmp_path)], check=False).returncode == 3
    finally:
        os.close(fd)
    assert subprocess.run([sys.executable, "-c", probe, str(tmp_path)], check=False).returncode == 0
