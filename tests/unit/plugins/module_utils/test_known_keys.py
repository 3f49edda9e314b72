"""Trust on first use (module_utils/_known_keys.py)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _known_keys as kk

FP_A = "a" * 64
FP_B = "b" * 64


def test_first_use_records_and_same_key_passes(tmp_path):
    path = str(tmp_path / "pins" / "known.json")
    store = kk.load(path)
    assert store == {}
    updated, results, refusal = kk.reconcile(store, [{"id": "10.0.0.1:2886", "fingerprint_sha256": FP_A.upper(), "key_size": 1024}],
                                             now="2026-01-01T00:00:00Z")
    assert refusal is None
    assert results == [{"id": "10.0.0.1:2886", "state": "new", "fingerprint_sha256": FP_A}]
    kk.save(path, updated)
    assert json.load(open(path)) == {"10.0.0.1:2886": {"fingerprint_sha256": FP_A, "first_seen": "2026-01-01T00:00:00Z", "key_size": 1024}}
    again, results, refusal = kk.reconcile(kk.load(path), [{"id": "10.0.0.1:2886", "fingerprint_sha256": FP_A}])
    assert refusal is None and again == kk.load(path)
    assert results[0]["state"] == "unchanged" and results[0]["first_seen"] == "2026-01-01T00:00:00Z"


def test_changed_key_is_refused_naming_agent_and_both_fingerprints():
    store = {"h:1": {"fingerprint_sha256": FP_A, "first_seen": "2026-01-01T00:00:00Z"}}
    updated, results, refusal = kk.reconcile(
        store, [{"id": "h:1", "fingerprint_sha256": FP_B}, {"id": "h:2", "fingerprint_sha256": FP_A}],
        label="obshell agent", hint="accept with X")
    assert refusal == ("obshell agent h:1: key changed: pinned sha256 %s (first seen 2026-01-01T00:00:00Z), "
                       "now sha256 %s; accept with X" % (FP_A, FP_B))
    assert [r["state"] for r in results] == ["refused", "new"]


def test_accepted_change_repins():
    store = {"h:1": {"fingerprint_sha256": FP_A, "first_seen": "2026-01-01T00:00:00Z"}}
    updated, results, refusal = kk.reconcile(store, [{"id": "h:1", "fingerprint_sha256": FP_B}], accept_changes=True,
                                             now="2026-02-02T00:00:00Z")
    assert refusal is None
    assert updated["h:1"] == {"fingerprint_sha256": FP_B, "first_seen": "2026-02-02T00:00:00Z",
                              "replaced_fingerprint_sha256": FP_A}
    assert results[0]["state"] == "changed" and results[0]["previous_fingerprint_sha256"] == FP_A


@pytest.mark.parametrize("keys, message", [
    ([{"id": "", "fingerprint_sha256": FP_A}], "every key needs an id"),
    ([{"id": "x", "fingerprint_sha256": "abc"}], "must be 64 hex digits"),
    ([{"id": "x", "fingerprint_sha256": FP_A}, {"id": "x", "fingerprint_sha256": FP_A}], "listed twice"),
])
def test_bad_input(keys, message):
    with pytest.raises(kk.KnownKeysError, match=message):
        kk.reconcile({}, keys)


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "known.json"
    path.write_text("{not json")
    with pytest.raises(kk.KnownKeysError, match="not valid JSON"):
        kk.load(str(path))
    path.write_text(json.dumps({"h:1": "abc"}))
    with pytest.raises(kk.KnownKeysError, match="does not map ids"):
        kk.load(str(path))


def test_save_is_atomic_and_keeps_mode(tmp_path):
    path = tmp_path / "known.json"
    path.write_text("{}\n")
    os.chmod(str(path), 0o600)
    kk.save(str(path), {"h:1": {"fingerprint_sha256": FP_A, "first_seen": "t"}})
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert os.listdir(str(tmp_path)) == ["known.json"]  # no temp file left behind
    assert path.read_text().endswith("}\n")


def test_size_findings():
    keys = [{"id": "a", "key_size": 512}, {"id": "b", "key_size": 1024}, {"id": "c"}]
    found = kk.size_findings(keys, min_key_size=None, warn_key_size=1024, label="obshell agent", hint="upgrade")
    assert found == {"refuse": [], "warn": ["obshell agent a serves a 512-bit key, weaker than 1024 bits; upgrade"]}
    found = kk.size_findings(keys, min_key_size=1024, warn_key_size=1024)
    assert found["refuse"] == ["key a: its 512-bit key is smaller than the minimum of 1024 bits"] and found["warn"] == []
