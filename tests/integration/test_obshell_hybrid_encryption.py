"""Role keyward.keys.obshell_hybrid_encryption against several emulated obshell agents.

Nodes and clients are local-connection hosts; each node reads "its own" agent over loopback
(its emulator's port), like a real OBServer reading 127.0.0.1:2886.
"""

from __future__ import annotations

import json
import os
import re
import socket

import pytest

from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent

PASSWORD = "Root#Secret-4711"
RECAP = re.compile(r"^(\S+)\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

PLAYBOOK = """
- hosts: observers:obshell_clients
  gather_facts: false
  roles:
    - role: keyward.keys.obshell_hybrid_encryption
"""


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def recap(result):
    return {host: {"changed": int(c), "failed": int(f), "unreachable": int(u)}
            for host, _ok, c, u, f in RECAP.findall(result.stdout)}


@pytest.fixture
def cluster(tmp_path):
    """Three agents (one 512-bit, one on ::1 when the machine has IPv6) and an inventory."""
    specs = [("node1", "127.0.0.1", 1024), ("node2", "127.0.0.1", 512)]
    if _ipv6_loopback():
        specs.append(("node3", "::1", 1024))
    servers = {}
    for name, address, bits in specs:
        agent = ObshellAgent(key_bits=bits, password=PASSWORD, ip=address)
        server = EmulatorServer(agent, host=address).start()
        agent.port = server.port
        servers[name] = server
    host_vars = {}
    for name, server in servers.items():
        host_vars[name] = {"obshell_hybrid_encryption_port": server.port,
                           "obshell_hybrid_encryption_node_address": server.host,
                           "obshell_hybrid_encryption_loopback_address": server.host}
    clients = {"client1": str(tmp_path / "client1" / "keys"), "client2": str(tmp_path / "client2" / "keys")}
    for name, path in clients.items():
        host_vars[name] = {"obshell_hybrid_encryption_keys_dir": path}
    inventory = {"all": {"children": {
        "observers": {"hosts": {n: _local(host_vars[n]) for n in servers}},
        "obshell_clients": {"hosts": {n: _local(host_vars[n]) for n in clients}},
    }}}
    inv_path = tmp_path / "inventory.json"
    inv_path.write_text(json.dumps(inventory))
    yield {"servers": servers, "clients": clients, "inventory": str(inv_path),
           "known": str(tmp_path / "obshell_known_keys.json")}
    for server in servers.values():
        server.stop()


def _local(extra):
    import sys
    data = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    data.update(extra)
    return data


def agent_id(server):
    return "%s:%d" % ("[%s]" % server.host if ":" in server.host else server.host, server.port)


def snapshot(paths):
    """{file path: (bytes, mtime_ns)} for everything under the given directories."""
    found = {}
    for top in paths:
        for root, _dirs, files in os.walk(top):
            for name in files:
                full = os.path.join(root, name)
                with open(full, "rb") as handle:
                    found[full] = (handle.read(), os.stat(full).st_mtime_ns)
    return found


def test_pin_distribute_verify_rotate(cluster, run_playbook):
    servers, clients = cluster["servers"], cluster["clients"]
    base_vars = {"obshell_hybrid_encryption_known_keys_file": cluster["known"],
                 "obshell_hybrid_encryption_verify": "password",
                 "obshell_hybrid_encryption_root_password": PASSWORD}

    # 1. First run: pins every agent, verifies key and password, writes every client.
    first = run_playbook(PLAYBOOK, inventory=cluster["inventory"], extra_vars=base_vars)
    assert first.rc == 0, first
    known = json.load(open(cluster["known"]))
    assert sorted(known) == sorted(agent_id(s) for s in servers.values())
    for name, server in servers.items():
        entry = known[agent_id(server)]
        assert entry["key_size"] == server.app.key_bits
        assert len(entry["fingerprint_sha256"]) == 64 and entry["first_seen"].endswith("Z")
    # The 512-bit agent is warned about, naming the upgrade that fixes it.
    assert re.search(r"WARNING\]: obshell agent 127\.0\.0\.1:%d serves a 512-bit key.*4\.4\.2\.0" % servers["node2"].port,
                     first.output.replace("\n", " ")), first
    for client_dir in clients.values():
        index = json.load(open(os.path.join(client_dir, "agents.json")))
        assert sorted(index) == sorted(known)
        for name, server in servers.items():
            entry = index[agent_id(server)]
            assert entry["public_key"] == server.app.public_key_b64  # as obshell serves it
            assert entry["public_key_pem"] == server.app.spki_pem
            assert entry["fingerprint_sha256"] == known[agent_id(server)]["fingerprint_sha256"]
            pem_name = "%s_%d.pem" % (server.host.replace(":", "_"), server.port)
            assert open(os.path.join(client_dir, pem_name)).read() == server.app.spki_pem
    # Verification reached every agent with an encrypted, password-checked request.
    for server in servers.values():
        assert server.count(r"^/api/v1/ob/info$") >= 1
    assert PASSWORD not in first.output
    assert all(recap(first)[c]["changed"] == 1 for c in clients)

    # 2. Second run: nothing changes anywhere.
    before = snapshot(clients.values())
    known_before = open(cluster["known"]).read()
    second = run_playbook(PLAYBOOK, inventory=cluster["inventory"], extra_vars=base_vars)
    assert second.rc == 0, second
    assert all(v["changed"] == 0 for v in recap(second).values()), second
    assert snapshot(clients.values()) == before
    assert open(cluster["known"]).read() == known_before

    # 3. A rotated agent key fails the run, names the agent and both fingerprints, touches nothing.
    old_fp = known[agent_id(servers["node1"])]["fingerprint_sha256"]
    servers["node1"].app.rotate_key()
    rotated = run_playbook(PLAYBOOK, inventory=cluster["inventory"], extra_vars=base_vars, check=False)
    assert rotated.rc != 0, rotated
    flat = rotated.output.replace("\n", " ")
    assert "obshell agent %s: key changed" % agent_id(servers["node1"]) in flat, rotated
    assert old_fp in flat
    assert "re-run with obshell_hybrid_encryption_accept_key_changes=true" in flat and "accept_changes" in flat, rotated
    new_fp = re.search(r"now sha256 ([0-9a-f]{64})", flat).group(1)
    assert new_fp != old_fp
    assert "Traceback" not in rotated.output
    assert snapshot(clients.values()) == before
    assert open(cluster["known"]).read() == known_before

    # 4. Check mode with the change accepted predicts but writes nothing.
    accept = dict(base_vars, obshell_hybrid_encryption_accept_key_changes=True)
    checked = run_playbook(PLAYBOOK, inventory=cluster["inventory"], extra_vars=accept, check=True, diff=True)
    assert checked.rc == 0, checked
    assert snapshot(clients.values()) == before
    assert open(cluster["known"]).read() == known_before

    # 5. Accepting the change re-pins and updates the clients.
    accepted = run_playbook(PLAYBOOK, inventory=cluster["inventory"], extra_vars=accept)
    assert accepted.rc == 0, accepted
    known_after = json.load(open(cluster["known"]))
    assert known_after[agent_id(servers["node1"])]["fingerprint_sha256"] == new_fp
    assert known_after[agent_id(servers["node1"])]["replaced_fingerprint_sha256"] == old_fp
    for client_dir in clients.values():
        index = json.load(open(os.path.join(client_dir, "agents.json")))
        assert index[agent_id(servers["node1"])]["public_key"] == servers["node1"].app.public_key_b64
    assert any(v["changed"] > 0 for h, v in recap(accepted).items() if h.startswith("client"))


def test_wrong_password_fails_without_printing_it(cluster, run_playbook):
    wrong = "Wrong#Password-0815"
    result = run_playbook(PLAYBOOK, inventory=cluster["inventory"], verbosity=4, extra_vars={
        "obshell_hybrid_encryption_known_keys_file": cluster["known"],
        "obshell_hybrid_encryption_verify": "password",
        "obshell_hybrid_encryption_root_password": wrong})
    assert result.rc != 0, result
    assert "IncorrectOceanbasePassword" in result.output, result
    assert wrong not in result.output
    assert PASSWORD not in result.output
    # Verification failed before any client was touched.
    for client_dir in cluster["clients"].values():
        assert not os.path.exists(os.path.join(client_dir, "agents.json"))


def test_strict_key_size_refuses_512_bit_agents(cluster, run_playbook):
    result = run_playbook(PLAYBOOK, inventory=cluster["inventory"], extra_vars={
        "obshell_hybrid_encryption_known_keys_file": cluster["known"],
        "obshell_hybrid_encryption_verify": "key",
        "obshell_hybrid_encryption_strict_key_size": True})
    assert result.rc != 0, result
    assert "512-bit key is smaller than the minimum of 1024 bits" in result.output.replace("\n", " "), result
    assert not os.path.exists(cluster["known"])
