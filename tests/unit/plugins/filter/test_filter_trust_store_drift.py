# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyward.keys.trust_store_drift filter, called directly with trust_store_info results
shaped as INTERFACE.md describes them. Fingerprints are computed here with cryptography, not
by the collection."""

from __future__ import annotations

import hashlib

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.plugins.filter.trust_store_drift import FilterModule, trust_store_drift
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as tk

OLD = tk.rsa_key(2048, slot=40)
NEW = tk.ec_key("secp256r1", slot=40)
ROGUE = tk.ed25519_key(slot=40)


def pem(key):
    return tk.spki_pem(key)


def fp(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def entry(key, name, state="active", intact=True):
    return {"name": name, "path": "/etc/keyward/trust/" + name, "fingerprint_sha256": fp(key), "state": state,
            "written_at": "2026-12-01T00:00:00Z", "retiring_since": None if state == "active" else "2026-12-02T00:00:00Z",
            "retire_at": None if state == "active" else "2026-12-09T00:00:00Z", "intact": intact}


def info(*entries, **extra):
    result = {"changed": False, "exists": True, "keys": list(entries), "unmanaged": [], "bundle": None, "jwks": None}
    result.update(extra)
    return result


def test_registered_in_the_filter_module():
    assert FilterModule().filters()["trust_store_drift"] is trust_store_drift


def test_every_state_and_the_exact_shape():
    desired = [{"name": "app-new", "public_key": pem(NEW)}, pem(OLD)]
    infos = {
        "synced": info(entry(NEW, "app-new.pem"), entry(OLD, "whatever.pem")),
        "missed_run": info(entry(OLD, "old.pem")),
        "rogue": info(entry(NEW, "app-new.pem"), entry(OLD, "old.pem"), entry(ROGUE, "rogue.pem")),
        "edited": info(entry(NEW, "app-new.pem", intact=False), entry(OLD, "old.pem")),
        "none": None,
        "empty": {},
        "not_there": {"changed": False, "exists": False, "keys": [], "unmanaged": [], "bundle": None, "jwks": None},
    }
    result = trust_store_drift(desired, infos)
    assert result["summary"] == {"hosts": 7, "in_sync": 1, "drifted": 3, "absent": 3}
    assert result["hosts"]["synced"] == {"status": "in_sync", "missing": [], "extra": [], "tampered": [], "retiring": []}
    assert result["hosts"]["missed_run"] == {"status": "drifted", "missing": [fp(NEW)], "extra": [], "tampered": [],
                                             "retiring": []}
    assert result["hosts"]["rogue"]["extra"] == [fp(ROGUE)]
    assert result["hosts"]["edited"] == {"status": "drifted", "missing": [], "extra": [], "tampered": [fp(NEW)],
                                         "retiring": []}
    for host in ("none", "empty", "not_there"):
        assert result["hosts"][host] == {"status": "absent", "missing": [fp(NEW), fp(OLD)], "extra": [], "tampered": [],
                                         "retiring": []}
    assert list(result["keys"]) == [fp(NEW), fp(OLD)]
    assert result["keys"][fp(NEW)] == {"name": "app-new", "held_by": ["synced", "rogue"],
                                       "missing_on": ["missed_run", "edited", "none", "empty", "not_there"]}
    # a PEM string is named after its fingerprint, as trust_store names its file
    assert result["keys"][fp(OLD)]["name"] == "sha256-" + fp(OLD)[:16]
    assert result["keys"][fp(OLD)]["held_by"] == ["synced", "missed_run", "rogue", "edited"]


def test_rotation_window_retiring_old_key_is_in_sync():
    desired = [{"name": "app-new", "public_key": pem(NEW)}]
    infos = {"web1": info(entry(NEW, "app-new.pem"), entry(OLD, "app-old.pem", state="retiring")),
             "web2": info(entry(OLD, "app-old.pem"))}
    result = trust_store_drift(desired, infos)
    assert result["hosts"]["web1"] == {"status": "in_sync", "missing": [], "extra": [], "tampered": [],
                                       "retiring": [fp(OLD)]}
    assert result["hosts"]["web2"] == {"status": "drifted", "missing": [fp(NEW)], "extra": [fp(OLD)], "tampered": [],
                                       "retiring": []}
    assert result["keys"] == {fp(NEW): {"name": "app-new", "held_by": ["web1"], "missing_on": ["web2"]}}


def test_key_records_named_by_safe_key_id_and_repeats_once():
    record = {"provider": "obshell", "key_id": "10.0.0.5:2886", "public_key": pem(OLD), "fingerprint_sha256": "ignored"}
    result = trust_store_drift([record, pem(OLD), {"name": "again", "public_key": pem(OLD)}], {"h": info(entry(OLD, "x.pem"))})
    assert result["keys"] == {fp(OLD): {"name": "10.0.0.5_2886", "held_by": ["h"], "missing_on": []}}
    assert result["summary"] == {"hosts": 1, "in_sync": 1, "drifted": 0, "absent": 0}


def test_a_record_fingerprint_is_never_trusted_the_key_is():
    # a record claiming another key's fingerprint is matched by the key it really holds
    lying = {"name": "liar", "public_key": pem(ROGUE), "fingerprint_sha256": fp(NEW)}
    result = trust_store_drift([lying], {"h": info(entry(NEW, "n.pem"))})
    assert list(result["keys"]) == [fp(ROGUE)]
    assert result["hosts"]["h"]["status"] == "drifted"
    assert result["hosts"]["h"]["missing"] == [fp(ROGUE)] and result["hosts"]["h"]["extra"] == [fp(NEW)]


def test_failed_unreachable_and_skipped_results_are_absent():
    infos = {"failed": {"failed": True, "msg": "Permission denied"}, "down": {"unreachable": True, "msg": "ssh"},
             "skipped": {"skipped": True, "changed": False},
             "failed_when_false": {"failed": False, "msg": "Permission denied", "failed_when_result": False}}
    result = trust_store_drift([pem(NEW)], infos)
    assert {h: v["status"] for h, v in result["hosts"].items()} == dict.fromkeys(infos, "absent")
    assert result["keys"][fp(NEW)]["missing_on"] == list(infos)


def test_no_desired_keys_take_every_active_intact_key_as_reference():
    infos = {"a": info(entry(NEW, "new.pem"), entry(OLD, "old.pem", state="retiring")),
             "b": info(entry(NEW, "new.pem"), entry(ROGUE, "rogue.pem", intact=False)),
             "c": info(entry(NEW, "new.pem"), entry(OLD, "old.pem"))}
    result = trust_store_drift(None, infos)
    assert result["keys"] == {fp(NEW): {"name": "new", "held_by": ["a", "b", "c"], "missing_on": []},
                              fp(OLD): {"name": "old", "held_by": ["a", "c"], "missing_on": ["b"]}}
    assert result["hosts"]["a"]["status"] == "in_sync"
    assert result["hosts"]["b"] == {"status": "drifted", "missing": [fp(OLD)], "extra": [], "tampered": [fp(ROGUE)],
                                    "retiring": []}


def test_empty_desired_list_makes_every_active_key_extra():
    result = trust_store_drift([], {"a": info(entry(NEW, "new.pem")), "b": info()})
    assert result["hosts"]["a"]["extra"] == [fp(NEW)] and result["hosts"]["a"]["status"] == "drifted"
    assert result["hosts"]["b"]["status"] == "in_sync"
    assert result["keys"] == {}


@pytest.mark.parametrize("desired, infos, message", [
    (["not a key"], {}, "#1"),
    ([{"name": "broken", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}], {}, "broken"),
    ([{"name": "nokey"}], {}, "nokey: a dict given as a key needs a public_key"),
    (42, {}, "expects a list of keys"),
    ([], ["web1"], "infos must map host names"),
    ([], {"web1": "exists"}, "the result for host web1 is a str"),
    ([], {"web1": {"exists": True, "keys": "x"}}, "the keys of host web1 are not a list"),
])
def test_bad_input_is_one_line(desired, infos, message):
    with pytest.raises(AnsibleFilterError) as caught:
        trust_store_drift(desired, infos)
    text = str(caught.value)
    assert message in text and "\n" not in text and "Traceback" not in text
