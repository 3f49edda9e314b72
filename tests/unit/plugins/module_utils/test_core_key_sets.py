# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one key-set comparison (module_utils/_key_sets.py)."""

from __future__ import annotations

from ansible_collections.keyward.keys.plugins.module_utils._key_sets import compare, expiring, index_by


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
