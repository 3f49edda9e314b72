# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keys over time: the role's trust_store_retire_after and module trust_store_info, real runs.

Three local hosts, each with its own directory, rotate from keys {old, kept} to {kept, new}:
h1 with a grace of a few seconds (kept, then removed by the first run after it), h2 with 0 (kept
through the unlisting run, removed by the next), h3 with an hour (and old listed again: active
again). The host clock is the real one: short windows and a short sleep, nothing faked.
"""

from __future__ import annotations

import calendar
import json
import os
import time

from ansible_collections.keyward.keys.plugins.module_utils import _keys
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K
from ansible_collections.keyward.keys.tests.integration.conftest import write_inventory

HOSTS = ("h1", "h2", "h3")
# Long enough for a loaded machine to run the rest of a play well within it.
GRACE = 15

# The role, trust_store_info after it, then (when `again`) the role once more at once; each
# step's results are saved per host, failures included.
PLAYBOOK = """
- hosts: all
  gather_facts: false
  roles:
    - role: keyward.keys.trust_store
  post_tasks:
    - name: Read the store
      keyward.keys.trust_store_info:
        path: "{{ trust_store_dir }}"
      register: info_1
    - name: Record the first application
      ansible.builtin.copy:
        content: "{{ {'store': trust_store_result, 'info': info_1} | to_json }}"
        dest: "{{ results_dir }}/{{ inventory_hostname }}-1.json"
        mode: "0600"
      delegate_to: localhost
      check_mode: false
      diff: false
    - name: Apply the role again at once
      ansible.builtin.include_role:
        name: keyward.keys.trust_store
      when: again | default(false)
    - name: Read the store again
      keyward.keys.trust_store_info:
        path: "{{ trust_store_dir }}"
      register: info_2
      when: again | default(false)
    - name: Record the second application
      ansible.builtin.copy:
        content: "{{ {'store': trust_store_result, 'info': info_2} | to_json }}"
        dest: "{{ results_dir }}/{{ inventory_hostname }}-2.json"
        mode: "0600"
      delegate_to: localhost
      check_mode: false
      diff: false
      when: again | default(false)
"""

OLD, KEPT, NEW = K.rsa_key(2048, 10), K.ed25519_key(10), K.ec_key("secp256r1", 10)
PEM = {"old": K.spki_pem(OLD), "kept": K.spki_pem(KEPT), "new": K.spki_pem(NEW)}
FP = {name: _keys.fingerprint_sha256(_keys.parse_public_key(pem).spki_der) for name, pem in PEM.items()}
JWK = {name: _keys.to_jwk(_keys.parse_public_key(pem)) for name, pem in PEM.items()}


def keys(*names):
    return [{"name": name, "public_key": PEM[name]} for name in names]


def epoch(text):
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def states(store):
    return {os.path.basename(f["path"]): f["state"] for f in store["files"]}


def held(info):
    return {k["name"]: (k["fingerprint_sha256"], k["state"], k["intact"]) for k in info["keys"]}


def read(directory, name):
    with open(os.path.join(directory, name)) as handle:
        return handle.read()


def test_rotation_windows_with_the_role_and_trust_store_info(run_playbook, tmp_path):
    dirs = {h: str(tmp_path / h / "trust") for h in HOSTS}
    results = tmp_path / "results"
    results.mkdir()
    grace = {"h1": "%ds" % GRACE, "h2": 0, "h3": "1h"}

    def play(host_keys, check=False, diff=False, again=False):
        host_vars = {}
        for host in HOSTS:
            host_vars[host] = {"trust_store_dir": dirs[host], "trust_store_keys": host_keys[host],
                               "trust_store_bundle": "bundle.pem", "trust_store_jwks": "jwks.json",
                               "trust_store_retire_after": grace[host],
                               "trust_store_notify_command": ["sh", "-c", "echo x >> %s.notified" % dirs[host]]}
        inventory = write_inventory(str(tmp_path / "inventory.json"), HOSTS, host_vars=host_vars)
        for old in results.iterdir():
            old.unlink()
        result = run_playbook(PLAYBOOK, inventory=inventory, check=check, diff=diff,
                              extra_vars={"results_dir": str(results), "again": again})
        assert result.rc == 0, result
        return {p.stem: json.loads(p.read_text()) for p in results.iterdir()}

    def notified(host):
        path = dirs[host] + ".notified"
        return len(open(path).read().split()) if os.path.exists(path) else 0

    before_keys = dict((h, keys("old", "kept")) for h in HOSTS)
    after_keys = dict((h, keys("kept", "new")) for h in HOSTS)

    # 1. Both keys; trust_store_info sees them active and intact, bundle and JWKS named.
    out = play(before_keys)
    for host in HOSTS:
        info = out[host + "-1"]["info"]
        assert info["exists"] is True and info["bundle"] == "bundle.pem" and info["jwks"] == "jwks.json"
        assert held(info) == {"old": (FP["old"], "active", True), "kept": (FP["kept"], "active", True)}
        assert info["unmanaged"] == []
        assert all(k["written_at"] and k["retiring_since"] is None and k["retire_at"] is None for k in info["keys"])
        assert out[host + "-1"]["store"]["retiring"] == []
    snapshot = {h: sorted(os.listdir(dirs[h])) for h in HOSTS}
    bundles = {h: read(dirs[h], "bundle.pem") for h in HOSTS}

    # 2. Check mode with diff predicts the rotation: old retiring, new created; nothing written.
    out = play(after_keys, check=True, diff=True)
    for host in HOSTS:
        store = out[host + "-1"]["store"]
        assert store["changed"] is True
        assert states(store) == {"old.pem": "retiring", "kept.pem": "unchanged", "new.pem": "created",
                                 "bundle.pem": "updated", "jwks.json": "updated"}, (host, store)
        assert [(r["name"], r["fingerprint_sha256"]) for r in store["retiring"]] == [("old", FP["old"])]
        assert any(d["after_header"].endswith("old.pem (state)") for d in store["diff"])
        assert held(out[host + "-1"]["info"])["old"][1] == "active"   # still as on disk
        assert sorted(os.listdir(dirs[host])) == snapshot[host]
        assert read(dirs[host], "bundle.pem") == bundles[host]
    assert notified("h1") == 1   # the first run's handler only

    # 3. The rotation; the role applied twice in one play (seconds apart).
    started = time.time()
    out = play(after_keys, diff=True, again=True)
    for host in HOSTS:
        store = out[host + "-1"]["store"]
        assert states(store)["old.pem"] == "retiring", (host, store)
        [retiring] = store["retiring"]
        assert retiring["name"] == "old" and retiring["fingerprint_sha256"] == FP["old"]
        assert started - 1 <= epoch(retiring["retiring_since"]) <= time.time() + 1
        info = out[host + "-1"]["info"]
        assert held(info) == {"old": (FP["old"], "retiring", True), "kept": (FP["kept"], "active", True),
                              "new": (FP["new"], "active", True)}
        old_entry = [k for k in info["keys"] if k["name"] == "old"][0]
        assert (old_entry["retiring_since"], old_entry["retire_at"]) == (retiring["retiring_since"], retiring["retire_at"])
    h1_retiring = out["h1-1"]["store"]["retiring"][0]
    assert epoch(h1_retiring["retire_at"]) == epoch(h1_retiring["retiring_since"]) + GRACE
    # Within the grace (h1, h3) the second application changes nothing and keeps the same times.
    for host in ("h1", "h3"):
        second = out[host + "-2"]["store"]
        assert second["changed"] is False and second["retiring"] == out[host + "-1"]["store"]["retiring"]
        # The retiring key stays in the bundle and the JWKS (file-name order: kept, new, old).
        assert read(dirs[host], "bundle.pem") == PEM["kept"] + PEM["new"] + PEM["old"]
        jwks = json.loads(read(dirs[host], "jwks.json"))["keys"]
        assert sorted(j["kid"] for j in jwks) == sorted(JWK[n]["kid"] for n in PEM)
    # Grace 0 (h2): kept through the unlisting run, removed by the next one.
    assert states(out["h2-2"]["store"])["old.pem"] == "removed" and out["h2-2"]["store"]["changed"] is True
    assert "old.pem" not in os.listdir(dirs["h2"])
    assert held(out["h2-2"]["info"]) == {"kept": (FP["kept"], "active", True), "new": (FP["new"], "active", True)}
    assert sorted(j["kid"] for j in json.loads(read(dirs["h2"], "jwks.json"))["keys"]) == sorted(
        JWK[n]["kid"] for n in ("kept", "new"))

    # 4. After h1's grace: the next run removes old there; h3 lists old again: active again.
    time.sleep(max(0.0, epoch(h1_retiring["retire_at"]) - time.time()) + 0.5)
    relisted = dict(after_keys, h3=keys("old", "kept", "new"))
    out = play(relisted, diff=True)
    h1 = out["h1-1"]["store"]
    assert h1["changed"] is True and h1["retiring"] == []
    assert states(h1)["old.pem"] == "removed" and states(h1)["bundle.pem"] == "updated"
    assert "old.pem" not in os.listdir(dirs["h1"])
    assert PEM["old"] not in read(dirs["h1"], "bundle.pem")
    assert held(out["h1-1"]["info"]) == {"kept": (FP["kept"], "active", True), "new": (FP["new"], "active", True)}
    h3 = out["h3-1"]["store"]
    assert h3["changed"] is True and h3["retiring"] == [] and states(h3)["old.pem"] == "unchanged"
    assert held(out["h3-1"]["info"])["old"] == (FP["old"], "active", True)
    assert out["h2-1"]["store"]["changed"] is False
    # The handler ran once per role application that changed something on the host (in run 3, h2
    # changed in both applications, and an included role brings its own copy of the handler).
    assert (notified("h1"), notified("h2"), notified("h3")) == (3, 3, 3)


def test_trust_store_info_on_a_missing_directory_and_a_tampered_store(run_playbook, tmp_path):
    store = tmp_path / "store"
    playbook = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Write two keys
      keyward.keys.public_key_store:
        path: "{{ store }}"
        keys: "{{ store_keys }}"
    - name: Tamper with one and drop a stranger
      ansible.builtin.shell: "printf '# edited\\\\n' >> {{ store }}/old.pem; echo hi > {{ store }}/README"
      changed_when: true
    - name: Read the store
      keyward.keys.trust_store_info:
        path: "{{ store }}"
      register: info
    - name: Read a store that is not there
      keyward.keys.trust_store_info:
        path: "{{ store }}/nowhere"
      register: missing
    - name: Record
      ansible.builtin.copy:
        content: "{{ {'info': info, 'missing': missing} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""
    out = tmp_path / "out.json"
    result = run_playbook(playbook, extra_vars={"store": str(store), "out": str(out), "store_keys": keys("old", "kept")})
    assert result.rc == 0, result
    data = json.loads(out.read_text())
    info = data["info"]
    assert info["changed"] is False
    assert held(info) == {"kept": (FP["kept"], "active", True), "old": (FP["old"], "active", False)}
    assert info["unmanaged"] == ["README"] and info["bundle"] is None and info["jwks"] is None
    missing = data["missing"]
    assert {k: missing[k] for k in ("exists", "keys", "unmanaged", "bundle", "jwks")} == {
        "exists": False, "keys": [], "unmanaged": [], "bundle": None, "jwks": None}
