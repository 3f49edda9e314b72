# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one key-set comparison (module_utils/_key_sets.py)."""

from __future__ import annotations

from ansible_collections.keyward.keys.plugins.module_utils._key_sets import compare, expiring, index_by, store_drift


def _k(fp, **extra):
    return dict(fingerprint_sha256=fp, **extra)


def test_added_removed_changed_unchanged_by_key_id():
    before = {"a": _k("1"), "b": _k("2"), "c": _k("3")}
    after = {"a": _k("1"), "c": _k("9"), "d": _k("4")}
    changes = compare(before, after)
    assert changes.as_dict() == {"added": ["d"], "removed": ["b"], "changed": ["c"], "unchanged": ["a"]}
    assert changes


def test_no_change_is_falsy():
    same = {"a": _k("1")}
    changes = compare(same, dict(same))
    assert not changes and changes.unchanged == ["a"]


def test_records_without_fingerprint_compare_expiry_and_name():
    before = {"k1": {"expires_at": "2027-01-01T00:00:00Z", "name": "ci"}, "k2": {"expires_at": None, "name": "x"}}
    after = {"k1": {"expires_at": "2028-01-01T00:00:00Z", "name": "ci"}, "k2": {"expires_at": None, "name": "y"}}
    assert compare(before, after).changed == ["k1", "k2"]
    assert not compare(before, before)


def test_a_fingerprint_on_one_side_only_is_a_change():
    assert compare({"a": {"name": "n"}}, {"a": _k("1", name="n")}).changed == ["a"]


def test_keyed_by_fingerprint_gives_missing_and_extra():
    wanted = index_by([_k("1", name="a"), _k("2", name="b")], "fingerprint_sha256")
    held = index_by([_k("2", name="renamed"), _k("3", name="c")], "fingerprint_sha256")
    changes = compare(wanted, held)
    assert changes.removed == ["1"]  # missing on the host
    assert changes.added == ["3"]  # extra on the host
    assert changes.unchanged == ["2"]  # a new file name is not a change: matched by fingerprint


def test_index_by_keeps_the_first_and_skips_blank():
    entries = [_k("1", name="first"), _k("1", name="second"), {"name": "none"}, _k("", name="blank")]
    assert index_by(entries, "fingerprint_sha256") == {"1": _k("1", name="first")}


def test_expiring():
    keys = {"gone": {"expires_in_days": -3}, "soon": {"expires_in_days": 2}, "edge": {"expires_in_days": 7},
            "later": {"expires_in_days": 8}, "never": {"expires_in_days": None}, "plain": {}}
    assert sorted(expiring(keys, 7)) == ["edge", "gone", "soon"]
    assert expiring(keys, None) == []
    assert expiring(keys, -5) == []


def _file(fp, name=None, state="active", intact=True):
    return {"name": name or "k%s.pem" % fp, "fingerprint_sha256": fp, "state": state, "intact": intact}


def _wanted(*fps):
    return index_by([_k(fp) for fp in fps], "fingerprint_sha256")


def test_store_drift_in_sync_and_matched_by_fingerprint_not_name():
    found = store_drift(_wanted("1", "2"), [_file("2", name="renamed.pem"), _file("1")])
    assert found.as_dict() == {"held": ["1", "2"], "missing": [], "extra": [], "tampered": [], "retiring": []}
    assert found.in_sync


def test_store_drift_missing_extra_and_a_retiring_extra_is_no_drift():
    found = store_drift(_wanted("1", "2"), [_file("2"), _file("3"), _file("4", state="retiring")])
    assert found.missing == ["1"] and found.extra == ["3"] and found.retiring == ["4"]
    assert not found.in_sync
    only_retiring = store_drift(_wanted("2"), [_file("2"), _file("4", state="retiring")])
    assert only_retiring.in_sync and only_retiring.retiring == ["4"] and only_retiring.extra == []


def test_store_drift_a_tampered_file_holds_nothing():
    found = store_drift(_wanted("1", "2"), [_file("1", intact=False), _file("2"), _file("5", intact=False)])
    assert found.tampered == ["1", "5"]
    assert found.held == ["2"] and found.missing == [] and found.extra == []
    assert not found.in_sync
    # intact must be exactly True: a missing or odd flag is not trusted
    assert store_drift(_wanted("1"), [{"name": "k1.pem", "fingerprint_sha256": "1", "state": "active",
                                       "intact": "yes"}]).tampered == ["1"]


def test_store_drift_a_changed_file_without_fingerprint_still_shows():
    found = store_drift(_wanted("1"), [_file("1"), {"name": "odd.pem", "fingerprint_sha256": None, "intact": False}])
    assert found.tampered == ["file:odd.pem"] and not found.in_sync


def test_store_drift_one_key_twice_active_wins_over_retiring():
    found = store_drift(_wanted("1"), [_file("1", name="old.pem", state="retiring"), _file("1", name="new.pem")])
    assert found.in_sync and found.retiring == [] and found.held == ["1"]
    kept = store_drift(_wanted("1"), [_file("1", state="retiring")])
    assert kept.held == ["1"] and kept.retiring == ["1"] and kept.in_sync
