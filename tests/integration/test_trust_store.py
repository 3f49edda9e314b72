# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role keyward.keys.trust_store (and module public_key_store) on several local hosts.

One scenario, run in order, each host with its own directory under tmp_path:
first run writes -> second run changes nothing -> check mode changes nothing -> the change
with diff -> exclusive removal -> invalid key / pin mismatch / ../x leave every file untouched.
Host h3 runs the module with a Python that has nothing but the standard library.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat
import venv

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.plugins.module_utils import _keys
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K
from ansible_collections.keyward.keys.tests.integration._helpers import TRUST_STORE_PLAY
from ansible_collections.keyward.keys.tests.integration.conftest import write_inventory

HOSTS = ("h1", "h2", "h3")

# The role as users apply it, with a user's handler on the role's notification topic.
PLAYBOOK = TRUST_STORE_PLAY + """  handlers:
    - name: User hook on the role's topic
      listen: keyward.keys.trust_store changed
      ansible.builtin.command:
        argv: [sh, -c, "echo hook >> {{ trust_store_dir }}.hook"]
      changed_when: true
"""

RSA_A = K.rsa_key(2048, 0)
RSA_B = K.rsa_key(2048, 1)
RSA_C = K.rsa_key(2048, 2)
ED = K.ed25519_key(0)
EC = K.ec_key("secp384r1", 0)
ED2 = K.ed25519_key(1)

KEY_VARS = {
    "pem_a": K.spki_pem(RSA_A),
    "pkcs1_b": K.pkcs1_b64(RSA_B),                      # obshell's shape: bare base64 of PKCS#1 DER
    "crlf_ed": K.spki_pem(ED).replace("\n", "\r\n"),    # CRLF line endings
    "pem_c": K.spki_pem(RSA_C),
    "openssh_ed2": ED2.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                 serialization.PublicFormat.OpenSSH).decode(),
    "record_ec": _keys.key_record("obshell", "10.0.0.5:2886", K.spki_pem(EC), {"ip": "10.0.0.5"}),
    "fp_a": ":".join("%02X" % b for b in bytes.fromhex(_keys.fingerprint_sha256(K.spki_der(RSA_A)))),
    "pin_ed": _keys.pin_sha256(K.spki_der(ED)),
}
FIRST_KEYS = [
    {"name": "alpha", "public_key": "{{ pem_a }}", "expected_fingerprint": "{{ fp_a }}"},
    {"name": "beta", "public_key": "{{ pkcs1_b }}"},
    {"name": "ed", "public_key": "{{ crlf_ed }}", "expected_fingerprint": ["{{ '00' * 32 }}", "{{ pin_ed }}"]},
    "{{ record_ec }}",
    # A public_key_info filter result whose JWK carries a use member into the JWKS document.
    "{{ openssh_ed2 | keyward.keys.public_key_info(key_id='filtered') | combine({'jwk': "
    "(openssh_ed2 | keyward.keys.public_key_info).jwk | combine({'use': 'sig'})}) }}",
]
# The rotation step: beta is retired, gamma arrives, the rest stays.
SECOND_KEYS = [FIRST_KEYS[0], {"name": "gamma", "public_key": "{{ pem_c }}"}] + FIRST_KEYS[2:]


@pytest.fixture(scope="module")
def stdlib_python(tmp_path_factory):
    """A Python with nothing but the standard library, for host h3."""
    path = tmp_path_factory.mktemp("stdlib-venv")
    venv.create(str(path), with_pip=False)
    return str(path / "bin" / "python")


def snapshot(directory):
    found = {}
    for name in sorted(os.listdir(directory)):
        info = os.lstat(os.path.join(directory, name))
        with open(os.path.join(directory, name), "rb") as handle:
            found[name] = (handle.read(), stat.S_IMODE(info.st_mode), info.st_mtime_ns, info.st_ino)
    return found


def lines(path):
    return open(path).read().split() if os.path.exists(path) else []


def states(result):
    return {os.path.basename(f["path"]): f["state"] for f in result["files"]}


def test_trust_store_role(run_playbook, tmp_path, stdlib_python):
    dirs = {h: str(tmp_path / "hosts" / h / "trust") for h in HOSTS}
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name

    def inventory(keys, **overrides):
        common = {"trust_store_keys": keys}
        host_vars = {
            "h1": dict(common, trust_store_dir=dirs["h1"], trust_store_bundle="bundle.pem",
                       trust_store_jwks="jwks.json", trust_store_mode="0640", trust_store_dir_mode="0750",
                       trust_store_owner=user, trust_store_group=group,
                       trust_store_notify_command="sh -c 'echo notified >> %s.notified'" % dirs["h1"]),
            "h2": dict(common, trust_store_dir=dirs["h2"],
                       trust_store_notify_command=["sh", "-c", "echo notified >> %s.notified" % dirs["h2"]]),
            "h3": dict(common, trust_store_dir=dirs["h3"], trust_store_jwks="keys.jwks",
                       ansible_python_interpreter=stdlib_python),
        }
        for host, extra in overrides.items():
            host_vars[host].update(extra)
        return write_inventory(str(tmp_path / "inventory.json"), HOSTS, host_vars=host_vars)

    results_dir = tmp_path / "results"
    results_dir.mkdir()

    def execute(inventory_path, check=False, diff=False):
        for old in results_dir.iterdir():
            old.unlink()
        result = run_playbook(PLAYBOOK, inventory=inventory_path, extra_vars=dict(KEY_VARS, results_dir=str(results_dir)),
                              check=check, diff=diff, callback="default")
        assert result.rc == 0, result
        return result, {p.stem: json.loads(p.read_text()) for p in results_dir.iterdir()}

    def play(keys, check=False, diff=False, **overrides):
        return execute(inventory(keys, **overrides), check=check, diff=diff)

    # 1. First run writes every shape as canonical SPKI PEM, with modes, bundle, JWKS, handlers.
    result, tasks = play(FIRST_KEYS, diff=True)
    assert sorted(tasks) == list(HOSTS)
    assert all(tasks[h]["changed"] for h in HOSTS), tasks
    expected_pems = {"alpha.pem": K.spki_pem(RSA_A), "beta.pem": K.spki_pem(RSA_B), "ed.pem": K.spki_pem(ED),
                     "10.0.0.5_2886.pem": K.spki_pem(EC), "filtered.pem": K.spki_pem(ED2)}
    for host in HOSTS:
        files = snapshot(dirs[host])
        for name, pem in expected_pems.items():
            assert files[name][0] == pem.encode(), (host, name)
        assert set(states(tasks[host]).values()) == {"created"}
    h1 = snapshot(dirs["h1"])
    assert sorted(h1) == [".keyward-manifest.json", "10.0.0.5_2886.pem", "alpha.pem", "beta.pem", "bundle.pem",
                          "ed.pem", "filtered.pem", "jwks.json"]
    assert {entry[1] for entry in h1.values()} == {0o640}
    assert stat.S_IMODE(os.stat(dirs["h1"]).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(dirs["h2"]).st_mode) == 0o755
    assert {entry[1] for entry in snapshot(dirs["h2"]).values()} == {0o644}
    assert h1["bundle.pem"][0] == "".join(expected_pems[n] for n in sorted(expected_pems)).encode()
    jwks = json.loads(h1["jwks.json"][0])
    expected_jwks = [_keys.to_jwk(_keys.parse_public_key(expected_pems[n])) for n in sorted(expected_pems)]
    expected_jwks[-1]["use"] = "sig"
    assert jwks == {"keys": expected_jwks}
    # h3 (a stdlib-only Python) got the same JWKS: every file is rendered on the controller.
    assert json.loads(open(os.path.join(dirs["h3"], "keys.jwks")).read()) == jwks
    diff_text = json.dumps(tasks["h2"]["diff"])
    assert json.dumps(K.spki_pem(RSA_B)) in diff_text
    for host in ("h1", "h2"):
        assert lines(dirs[host] + ".notified") == ["notified"]
    assert all(lines(dirs[h] + ".hook") == ["hook"] for h in HOSTS)
    (tmp_path / "hosts" / "h1" / "trust" / "stranger.pem").write_text("not written by the role")
    before = {h: snapshot(dirs[h]) for h in HOSTS}

    # 2. Second run: no change, nothing rewritten (same mtimes and inodes), no handler.
    result, tasks = play(FIRST_KEYS)
    assert not any(tasks[h]["changed"] for h in HOSTS)
    assert all(set(states(tasks[h]).values()) == {"unchanged"} for h in HOSTS)
    assert {h: snapshot(dirs[h]) for h in HOSTS} == before
    assert lines(dirs["h1"] + ".notified") == ["notified"]
    assert all(lines(dirs[h] + ".hook") == ["hook"] for h in HOSTS)

    # 3. Check mode with diff predicts the rotation (exclusive) and changes nothing.
    result, tasks = play(SECOND_KEYS, check=True, diff=True, h1={"trust_store_exclusive": True},
                         h2={"trust_store_exclusive": True})
    assert states(tasks["h1"]) == {"10.0.0.5_2886.pem": "unchanged", "alpha.pem": "unchanged", "beta.pem": "removed",
                                   "bundle.pem": "updated", "ed.pem": "unchanged", "filtered.pem": "unchanged",
                                   "gamma.pem": "created", "jwks.json": "updated"}
    assert states(tasks["h3"])["gamma.pem"] == "created" and "beta.pem" not in states(tasks["h3"])
    diffs = {d["after_header"]: d for d in tasks["h2"]["diff"]}
    assert diffs[os.path.join(dirs["h2"], "gamma.pem")]["after"] == K.spki_pem(RSA_C)
    assert diffs[os.path.join(dirs["h2"], "beta.pem")]["before"] == K.spki_pem(RSA_B)
    assert {h: snapshot(dirs[h]) for h in HOSTS} == before
    assert lines(dirs["h1"] + ".notified") == ["notified"]

    # 4. The rotation for real: exclusive removes beta on h1 and h2 (never the stranger); h3 keeps it.
    result, tasks = play(SECOND_KEYS, h1={"trust_store_exclusive": True}, h2={"trust_store_exclusive": True})
    assert sorted(os.listdir(dirs["h1"])) == [".keyward-manifest.json", "10.0.0.5_2886.pem", "alpha.pem", "bundle.pem",
                                              "ed.pem", "filtered.pem", "gamma.pem", "jwks.json", "stranger.pem"]
    assert open(os.path.join(dirs["h1"], "stranger.pem")).read() == "not written by the role"
    assert "beta.pem" not in os.listdir(dirs["h2"])
    assert "beta.pem" in os.listdir(dirs["h3"])
    after = snapshot(dirs["h1"])
    assert after["alpha.pem"] == before["h1"]["alpha.pem"]   # untouched keys are not rewritten
    assert after["gamma.pem"][0] == K.spki_pem(RSA_C).encode()
    assert lines(dirs["h1"] + ".notified") == ["notified", "notified"]
    assert lines(dirs["h3"] + ".hook") == ["hook", "hook"]
    before = {h: snapshot(dirs[h]) for h in HOSTS}

    # 5. Refusals, decided on the controller: an invalid key (h1), a pin mismatch (h2), a name like
    #    ../x (h3), and a host that cannot even be reached (h4) -- it fails on its key, not on ssh.
    bad_key = SECOND_KEYS + [{"name": "delta", "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"}]
    bad_pin = [dict(SECOND_KEYS[1], expected_fingerprint="{{ fp_a }}")] + SECOND_KEYS[2:]
    escape = SECOND_KEYS + [{"name": "../x", "public_key": "{{ pem_c }}"}]
    inv = inventory([], h1={"trust_store_keys": bad_key, "trust_store_exclusive": True},
                    h2={"trust_store_keys": bad_pin, "trust_store_exclusive": True},
                    h3={"trust_store_keys": escape})
    data = json.load(open(inv))
    data["all"]["hosts"]["h4"] = {"ansible_connection": "ssh", "ansible_host": "192.0.2.1", "ansible_timeout": 3,
                                  "trust_store_dir": "/nonexistent/trust", "trust_store_keys": bad_key}
    with open(inv, "w") as handle:
        json.dump(data, handle)
    result, tasks = execute(inv)
    assert sorted(tasks) == ["h1", "h2", "h3", "h4"], result
    assert {h: snapshot(dirs[h]) for h in HOSTS} == before
    assert not os.path.exists(os.path.join(os.path.dirname(dirs["h3"]), "x.pem"))
    for host, needle in (("h1", "key delta: the public key is not usable"), ("h2", "key gamma: fingerprint mismatch"),
                         ("h3", "name '../x' contains a path separator"), ("h4", "key delta")):
        assert tasks[host]["failed"] is True, (host, tasks[host])
        assert not tasks[host].get("unreachable"), (host, tasks[host])
        assert needle in tasks[host]["msg"], (host, tasks[host]["msg"])
        assert tasks[host]["msg"].startswith("nothing was written"), tasks[host]["msg"]
    assert lines(dirs["h1"] + ".notified") == ["notified", "notified"]


# --- Python 3.6 hosts (issue 13 item 5) ------------------------------------------------------------

PYTHON36 = os.path.expanduser("~/.pyenv/versions/3.6.15/bin/python")

PY36_PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Write keys
      keyward.keys.public_key_store:
        path: "{{ store_dir }}"
        keys: "{{ store_keys }}"
        bundle: bundle.pem
        jwks: jwks.json
        mode: "0640"
        dir_mode: "0750"
        exclusive: true
      register: first
    - name: Write them again
      keyward.keys.public_key_store:
        path: "{{ store_dir }}"
        keys: "{{ store_keys }}"
        bundle: bundle.pem
        jwks: jwks.json
        mode: "0640"
        dir_mode: "0750"
        exclusive: true
      register: second
    - name: Drop a key, keeping it retiring (issue 19)
      keyward.keys.public_key_store:
        path: "{{ store_dir }}"
        keys: "{{ store_keys[1:] }}"
        bundle: bundle.pem
        jwks: jwks.json
        retire_after: 1h
      register: rotated
    - name: Read the store
      keyward.keys.trust_store_info:
        path: "{{ store_dir }}"
      register: info
    - name: Pin the keys
      keyward.keys.known_keys:
        path: "{{ pins_file }}"
        keys: "{{ pins }}"
        min_key_size: 1024
        warn_key_size: 2048
      register: pinned
    - name: The Python that ran the modules
      ansible.builtin.command: "{{ ansible_python_interpreter }} -c 'import sys; print(sys.version_info[:2])'"
      register: python
      changed_when: false
    - name: Record the results
      ansible.builtin.copy:
        content: "{{ {'first': first, 'second': second, 'rotated': rotated, 'info': info, 'pinned': pinned,
                      'python': python.stdout} | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
"""


def test_public_key_store_trust_store_info_and_known_keys_on_python_3_6(run_playbook, tmp_path):
    import ansible

    if not ansible.__version__.startswith("2.16."):
        pytest.skip("ansible-core %s no longer supports Python 3.6 targets; run under ansible-core 2.16"
                    % ansible.__version__)
    if not os.path.exists(PYTHON36):
        pytest.skip("no Python 3.6 interpreter at %s" % PYTHON36)
    store_dir = tmp_path / "store"
    results = tmp_path / "results.json"
    inventory = write_inventory(str(tmp_path / "inventory.json"), ["py36"],
                                host_vars={"py36": {"ansible_python_interpreter": PYTHON36}})
    records = [_keys.key_record("obshell", "10.0.0.5:2886", K.pkcs1_b64(RSA_A), {}),
               _keys.key_record("p", "ed", K.spki_pem(ED), {})]
    extra_vars = {
        "store_dir": str(store_dir), "results_file": str(results), "pins_file": str(tmp_path / "pins.json"),
        "store_keys": [dict(records[0]), {"name": "ed", "public_key": K.spki_pem(ED).replace("\n", "\r\n")}],
        "pins": [{"id": r["key_id"], "fingerprint_sha256": r["fingerprint_sha256"], "key_type": r["key_type"],
                  "key_size": r["key_size"]} for r in records],
    }
    result = run_playbook(PY36_PLAYBOOK, inventory=inventory, extra_vars=extra_vars)
    assert result.rc == 0, result
    data = json.loads(results.read_text())
    assert data["python"] == "(3, 6)"
    assert data["first"]["changed"] is True and data["second"]["changed"] is False
    assert sorted(os.listdir(str(store_dir))) == [".keyward-manifest.json", "10.0.0.5_2886.pem", "bundle.pem",
                                                  "ed.pem", "jwks.json"]
    assert (store_dir / "10.0.0.5_2886.pem").read_text() == K.spki_pem(RSA_A)
    assert stat.S_IMODE(os.stat(str(store_dir)).st_mode) == 0o750
    assert stat.S_IMODE(os.stat(str(store_dir / "ed.pem")).st_mode) == 0o640
    assert [(r["name"], r["fingerprint_sha256"]) for r in data["rotated"]["retiring"]] == [
        ("10.0.0.5_2886", records[0]["fingerprint_sha256"])]
    assert (store_dir / "bundle.pem").read_text() == K.spki_pem(RSA_A) + K.spki_pem(ED)
    assert [(k["name"], k["state"], k["intact"], k["fingerprint_sha256"]) for k in data["info"]["keys"]] == [
        ("10.0.0.5_2886", "retiring", True, records[0]["fingerprint_sha256"]),
        ("ed", "active", True, records[1]["fingerprint_sha256"])]
    assert (data["info"]["bundle"], data["info"]["jwks"], data["info"]["unmanaged"]) == ("bundle.pem", "jwks.json", [])
    assert [p["state"] for p in data["pinned"]["pins"]] == ["new", "new"]
    # The 2048-bit RSA key is not below warn_key_size; the Ed25519 key's 256 bits are not comparable.
    assert not data["pinned"].get("warnings")
