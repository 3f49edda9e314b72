"""A password is only ever encrypted to a key the user trusts (INTERFACE.md, obshell; issue 9 item 1).

Every test puts a key-swapping relay (tests/emulators/obshell_relay.py) between the plugins and a
real agent emulator, as a man in the middle on obshell's default plain HTTP would sit: it serves
its own key at /api/v1/secret, decrypts X-OCS-Header with its private key, re-encrypts it to the
agent's key and relays. Before the rule, `verify: key`, `verify: password` and obshell_api all
succeeded through it and it read the root password.
"""

from __future__ import annotations

import socket

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent
from ansible_collections.keyward.keys.tests.emulators.obshell_relay import KeySwappingRelay
from ansible_collections.keyward.keys.tests.integration._helpers import save_task, saved

ROOT_PW = "Relay-Root!Pw-4242"
LOOKUP = "keyward.keys.obshell_public_key"


@pytest.fixture(scope="module")
def path():
    """The real agent and the relay in front of it, each on its own loopback port."""
    agent = EmulatorServer(ObshellAgent(password=ROOT_PW)).start()
    relay = EmulatorServer(KeySwappingRelay(agent.url)).start()
    yield {"agent": agent, "relay": relay}
    relay.stop()
    agent.stop()


@pytest.fixture
def fresh(path):
    for server in path.values():
        server.reset()
    return path


def _pins(server, key_b64):
    record = key_record("obshell", server.address, key_b64)
    return record["fingerprint_sha256"], record["pin_sha256"]


def _run(run_playbook, tasks, names, tmp_path, **extra):
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
%s%s""" % (tasks, save_task(names))
    extra_vars = dict(extra, root_pw=ROOT_PW, out_dir=str(tmp_path))
    result = run_playbook(playbook, extra_vars=extra_vars, callback="default", verbosity=3)
    assert result.rc == 0, result
    assert "Traceback" not in result.output, result
    assert ROOT_PW not in result.output
    return result, saved(tmp_path, result)


PASSWORD_TASKS = """
    - name: lookup verify=password
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(port)d', verify='password', password=root_pw%(extra_lookup)s) }}"
      register: r_lookup
      ignore_errors: true

    - name: obshell_public_key_info verify=password
      keyward.keys.obshell_public_key_info:
        port: %(port)d
        verify: password
        password: "{{ root_pw }}"%(extra_module)s
      register: r_info
      ignore_errors: true

    - name: obshell_api
      keyward.keys.obshell_api:
        port: %(port)d
        path: /api/v1/ob/info
        password: "{{ root_pw }}"%(extra_module)s
      register: r_api
      ignore_errors: true
"""
PASSWORD_NAMES = ["r_lookup", "r_info", "r_api"]


def _password_tasks(port, lookup_option="", module_option=""):
    return PASSWORD_TASKS % {"lookup": LOOKUP, "port": port,
                             "extra_lookup": ", " + lookup_option if lookup_option else "",
                             "extra_module": "\n        " + module_option if module_option else ""}


def test_unpinned_password_is_refused_before_anything_is_encrypted(run_playbook, fresh, tmp_path):
    relay, agent = fresh["relay"], fresh["agent"]
    _result, found = _run(run_playbook, _password_tasks(relay.port), PASSWORD_NAMES, tmp_path)
    for name in PASSWORD_NAMES:
        outcome = found[name]
        assert outcome.get("failed") is True, (name, outcome)
        message = outcome["msg"]
        assert "refusing to encrypt the password" in message, (name, message)
        assert "expected_fingerprint" in message and "known_keys" in message, (name, message)
        assert "\n" not in message, (name, message)
    # Decided before the first encrypted request: the relay never saw an encrypted header, so it
    # had nothing to decrypt, and nothing reached the agent encrypted either.
    assert relay.app.encrypted == [] and relay.app.stolen == []
    assert agent.app.decrypted == []
    # The modules decide before any request at all; only the lookup fetched the key first.
    assert relay.count("/api/v1/secret") == 1 and relay.count("/api/v1/info") == 0


def test_verify_key_without_a_pin_proves_only_the_answering_key(run_playbook, fresh, tmp_path):
    relay, agent = fresh["relay"], fresh["agent"]
    tasks = """
    - name: lookup verify=key through the relay
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(port)d', verify='key', return_format='dict') }}"
      register: r_lookup

    - name: module verify=key through the relay
      keyward.keys.obshell_public_key_info:
        port: %(port)d
        verify: key
      register: r_info
""" % {"lookup": LOOKUP, "port": relay.port}
    _result, found = _run(run_playbook, tasks, ["r_lookup", "r_info"], tmp_path)
    relay_fp = _pins(relay, relay.app.public_key_b64)[0]
    agent_fp = _pins(agent, agent.app.public_key_b64)[0]
    # Both "verified" the key, and the key is the relay's: verify=key shows that whoever answered
    # holds the key it served, not that it is the agent's key (which is what the docs now say).
    assert found["r_lookup"]["ansible_facts"]["k"]["fingerprint_sha256"] == relay_fp != agent_fp
    assert found["r_info"]["verified"] == "key"
    assert found["r_info"]["public_keys"][0]["fingerprint_sha256"] == relay_fp
    # The relay read both key checks (no password in them) and relayed them to the agent.
    assert len(relay.app.encrypted) == 2 and all(e["readable"] for e in relay.app.encrypted)
    assert relay.app.stolen_passwords() == []
    assert [d["target"] for d in agent.app.decrypted] == ["/api/v1/info", "/api/v1/info"]


def test_a_pin_for_the_real_key_detects_the_relay(run_playbook, fresh, tmp_path):
    relay, agent = fresh["relay"], fresh["agent"]
    agent_fp, agent_pin = _pins(agent, agent.app.public_key_b64)
    tasks = _password_tasks(relay.port, "expected_fingerprint=pin", 'expected_fingerprint: "{{ fp }}"') + """
    - name: obshell_api with the agent's key pinned as public_key (no /api/v1/secret at all)
      keyward.keys.obshell_api:
        port: %(port)d
        path: /api/v1/ob/info
        password: "{{ root_pw }}"
        public_key: "{{ agent_pem }}"
      register: r_pinned_key
""" % {"port": relay.port}
    _result, found = _run(run_playbook, tasks, PASSWORD_NAMES + ["r_pinned_key"], tmp_path,
                          pin=agent_pin, fp=agent_fp, agent_pem=agent.app.spki_pem)
    for name in PASSWORD_NAMES:
        outcome = found[name]
        assert outcome.get("failed") is True, (name, outcome)
        assert "fingerprint mismatch" in outcome["msg"], (name, outcome["msg"])
        assert "\n" not in outcome["msg"]
    # The relay's key was caught at /api/v1/secret: it never got one encrypted request from those.
    assert relay.count("/api/v1/secret") == 3
    # With the real key pinned, the request went through the relay encrypted to the agent's key:
    # the relay could not read it and could only pass it on unchanged.
    pinned = found["r_pinned_key"]
    assert pinned["status"] == 200 and pinned["key"]["fingerprint_sha256"] == agent_fp
    assert relay.app.encrypted == [{"method": "GET", "target": "/api/v1/ob/info", "header_name": "X-OCS-Header",
                                    "readable": False}]
    assert relay.app.stolen == []
    assert [d["header"]["Auth"] for d in agent.app.decrypted] == [ROOT_PW]


def test_allow_unpinned_password_leaks_the_password_to_the_relay(run_playbook, fresh, tmp_path):
    """Why allow_unpinned_password is documented as unsafe on plain HTTP: every call succeeds and
    the man in the middle reads the root password of each one."""
    relay, agent = fresh["relay"], fresh["agent"]
    tasks = _password_tasks(relay.port, "allow_unpinned_password=true", "allow_unpinned_password: true")
    _result, found = _run(run_playbook, tasks, PASSWORD_NAMES, tmp_path)
    for name in PASSWORD_NAMES:
        assert not found[name].get("failed"), (name, found[name])
    assert found["r_api"]["status"] == 200 and found["r_api"]["data"]["obcluster_info"]["name"] == "obcluster"
    # Three password requests (lookup, module, obshell_api), each read by the relay.
    assert relay.app.stolen_passwords() == [ROOT_PW] * 3
    assert all(e["readable"] for e in relay.app.encrypted)
    # ...and relayed, so the agent saw nothing wrong.
    assert [d["header"]["Auth"] for d in agent.app.decrypted if d["header"]["Auth"]] == [ROOT_PW] * 3


ROLE_PLAYBOOK = """
- hosts: observers
  gather_facts: false
  roles:
    - role: keyward.keys.obshell_hybrid_encryption
"""


def _bindable(address, port):
    try:
        with socket.socket() as sock:
            sock.bind((address, port))
        return True
    except OSError:
        return False


def test_role_pins_over_loopback_so_a_relay_on_the_network_learns_nothing(run_playbook, tmp_path):
    """The role reads the key on the node's loopback, pins it, then verifies from the controller
    with that pin; a relay on the controller's path sees only headers it cannot decrypt."""
    import json
    import sys

    agent = EmulatorServer(ObshellAgent(password=ROOT_PW)).start()
    try:
        # The relay answers for the node's network address (127.0.0.2) on the agent's port.
        if not _bindable("127.0.0.2", agent.port):
            pytest.skip("127.0.0.2 is not usable on this machine")
        relay = EmulatorServer(KeySwappingRelay(agent.url), host="127.0.0.2", port=agent.port).start()
    except BaseException:
        agent.stop()
        raise
    try:
        inventory = {"all": {"children": {"observers": {"hosts": {"node1": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "obshell_hybrid_encryption_port": agent.port,
            "obshell_hybrid_encryption_loopback_address": "127.0.0.1",
            "obshell_hybrid_encryption_node_address": "127.0.0.2"}}}}}}
        inv_path = tmp_path / "inventory.json"
        inv_path.write_text(json.dumps(inventory))
        result = run_playbook(ROLE_PLAYBOOK, inventory=str(inv_path), verbosity=3, extra_vars={
            "obshell_hybrid_encryption_known_keys_file": str(tmp_path / "known.json"),
            "obshell_hybrid_encryption_verify": "password",
            "obshell_hybrid_encryption_root_password": ROOT_PW})
        assert result.rc == 0, result
        assert ROOT_PW not in result.output
        known = json.load(open(str(tmp_path / "known.json")))
        assert known["127.0.0.2:%d" % agent.port]["fingerprint_sha256"] == _pins(agent, agent.app.public_key_b64)[0]
        # The verification crossed the relay, encrypted to the pinned (real) key: unreadable to it.
        assert relay.app.encrypted and not any(e["readable"] for e in relay.app.encrypted)
        assert relay.app.stolen == [] and relay.count("/api/v1/secret") == 0
        assert [d["header"]["Auth"] for d in agent.app.decrypted] == [ROOT_PW]
    finally:
        relay.stop()
        agent.stop()
