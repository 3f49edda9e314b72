"""keyward.keys.obshell_public_key in real ansible-playbook runs against obshell agent emulators."""

from __future__ import annotations

import json

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.integration._helpers import closed_port, save_task, saved
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent

ROOT_PW = "Lk-9q!root-Secret-Pw"
LOOKUP = "keyward.keys.obshell_public_key"


def _serve(agent, **kwargs):
    return EmulatorServer(agent, **kwargs).start()


@pytest.fixture(scope="module")
def agents():
    """Agents for the module: a:1024-bit with a root password, b:512-bit, html: a proxy page, bad: key mismatch."""
    good = ObshellAgent(password=ROOT_PW)
    bad = ObshellAgent()
    bad.served_key = ObshellAgent().private_key  # /secret serves a key the agent cannot decrypt with
    servers = {
        "a": _serve(good),
        "b": _serve(ObshellAgent(key_bits=512)),
        "html": _serve(ObshellAgent()),
        "bad": _serve(bad),
    }
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def fresh(agents):
    for server in agents.values():
        server.reset()
    return agents


def test_formats_pins_variables_and_verify(run_playbook, fresh, tmp_path):
    srv = fresh["a"]
    record = key_record("obshell", srv.address, srv.app.public_key_b64)
    fp_colons = ":".join(record["fingerprint_sha256"][i:i + 2] for i in range(0, 64, 2)).upper()
    playbook = """
- hosts: localhost
  gather_facts: false
  vars:
    term: "127.0.0.1:%(port)d"
  tasks:
    - name: formats
      ansible.builtin.set_fact:
        pem: "{{ lookup('%(lookup)s', term) }}"
        rec: "{{ lookup('%(lookup)s', term, return_format='dict') }}"
        raw: "{{ lookup('%(lookup)s', term, return_format='raw') }}"
        by_url: "{{ lookup('%(lookup)s', 'http://' ~ term) }}"
        many: "{{ query('%(lookup)s', term, 'localhost:%(port)d', return_format='dict') }}"
        pinned_hex: "{{ lookup('%(lookup)s', term, expected_fingerprint=fp_colons) }}"
        pinned_b64: "{{ lookup('%(lookup)s', term, expected_fingerprint=['sha256//' ~ ('A' * 43) ~ '=', pin]) }}"

    - name: options from keyward_obshell_* variables
      vars:
        keyward_obshell_port: %(port)d
        keyward_obshell_return_format: dict
        keyward_obshell_verify: password
        keyward_obshell_password: "{{ root_pw }}"
        keyward_obshell_expected_fingerprint: "%(fp)s"
      ansible.builtin.set_fact:
        by_vars: "{{ lookup('%(lookup)s', '127.0.0.1') }}"

    - name: verify key
      ansible.builtin.set_fact:
        verified: "{{ lookup('%(lookup)s', term, verify='key', cache=false) }}"

    - name: check
      ansible.builtin.assert:
        that:
          - pem == expected_pem
          - by_url == expected_pem
          - raw == expected_raw
          - rec.provider == 'obshell'
          - rec.key_id == term
          - rec.key_type == 'RSA' and rec.key_size == 1024 and rec.curve is none
          - rec.public_key == expected_pem
          - rec.public_key_raw == expected_raw
          - rec.fingerprint_sha256 == fingerprint
          - rec.pin_sha256 == pin
          - rec.metadata.ip == '127.0.0.1' and rec.metadata.port == 2886
          - rec.metadata.trace_id | length == 16
          - many | length == 2 and many[1].key_id == 'localhost:%(port)d'
          - pinned_hex == expected_pem and pinned_b64 == expected_pem
          - by_vars.fingerprint_sha256 == fingerprint
          - verified == expected_pem
""" % {"port": srv.port, "lookup": LOOKUP, "fp": fp_colons}
    result = run_playbook(playbook, extra_vars={
        "expected_pem": srv.app.spki_pem, "expected_raw": srv.app.public_key_b64,
        "fingerprint": record["fingerprint_sha256"], "pin": record["pin_sha256"], "fp_colons": fp_colons,
        "root_pw": ROOT_PW}, callback="default")
    assert result.rc == 0, result
    # Cached within the run, keyed by the agent and every non-secret option: one /secret request
    # for 127.0.0.1 (the URL term too), one for the 'localhost' term, one for the variables (they
    # set verify=password, another option), one for cache=false; verify=key and verify=password
    # cost their own encrypted requests.
    assert srv.count("/api/v1/secret") == 4
    assert srv.count("/api/v1/ob/info") == 1
    assert srv.app.decrypted[0]["header"]["Auth"] == ""  # the key check of verify=password
    assert srv.app.decrypted[1]["header"]["Auth"] == ROOT_PW
    assert ROOT_PW not in result.output


def test_cache_one_request_for_100_hosts(run_playbook, fresh, tmp_path):
    a, b = fresh["a"], fresh["b"]
    hosts = ["node%03d" % i for i in range(100)]
    playbook = """
- hosts: all
  gather_facts: false
  tasks:
    - name: keys
      ansible.builtin.set_fact:
        key_a: "{{ lookup('%(lookup)s', '127.0.0.1:%(a)d') }}"
        key_b: "{{ lookup('%(lookup)s', '127.0.0.1:%(b)d', return_format='dict') }}"
        key_a_again: "{{ lookup('%(lookup)s', '127.0.0.1', port=%(a)d) }}"

    - name: save results
      run_once: true
      ansible.builtin.copy:
        content: "{{ ansible_play_hosts | map('extract', hostvars, 'key_a') | list | to_json }}"
        dest: "{{ out_dir }}/a.json"
        mode: "0600"
    - name: save b
      run_once: true
      ansible.builtin.copy:
        content: "{{ ansible_play_hosts | map('extract', hostvars, 'key_b') | map(attribute='key_size') | list | to_json }}"
        dest: "{{ out_dir }}/b.json"
        mode: "0600"
""" % {"lookup": LOOKUP, "a": a.port, "b": b.port}
    result = run_playbook(playbook, hosts=hosts, forks=20, extra_vars={"out_dir": str(tmp_path)}, callback="default")
    assert result.rc == 0, result
    keys_a = json.loads((tmp_path / "a.json").read_text())
    sizes_b = json.loads((tmp_path / "b.json").read_text())
    assert len(keys_a) == 100 and set(keys_a) == {a.app.spki_pem}
    assert sizes_b == [512] * 100
    # The acceptance criterion: one request per agent for the whole run; ports are separate entries.
    assert a.count("/api/v1/secret") == 1
    assert b.count("/api/v1/secret") == 1
    # The 512-bit key warns (on cached evaluations too), naming the upgrade.
    assert "512-bit RSA key" in result.output and "4.4.2.0" in result.output


FAILURES = {
    "r_html": "answered an HTML page where JSON was expected",
    "r_unreachable": "cannot connect to 127.0.0.1",
    "r_pin": "fingerprint mismatch",
    "r_decrypt": "the agent cannot decrypt a header encrypted with the key it serves",
    "r_small": "smaller than min_key_size 1024",
    "r_term": "port must be a number",
    "r_nopw": "verify=password needs password",
}


def test_failures_are_one_line(run_playbook, fresh, tmp_path):
    fresh["html"].faults.add("/api/v1/secret", [{"html": True, "status": 200}] * 3)
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: html
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(html)d') }}"
      register: r_html
      ignore_errors: true
    - name: unreachable
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(closed)d', retries=0, timeout=3) }}"
      register: r_unreachable
      ignore_errors: true
    - name: pin mismatch
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(a)d', expected_fingerprint='00' * 32) }}"
      register: r_pin
      ignore_errors: true
    - name: decrypt failure persists
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(bad)d', verify='key') }}"
      register: r_decrypt
      ignore_errors: true
    - name: too small
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(b)d', min_key_size=1024) }}"
      register: r_small
      ignore_errors: true
    - name: bad term
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', 'host:notaport') }}"
      register: r_term
      ignore_errors: true
    - name: verify password without one
      ansible.builtin.set_fact:
        k: "{{ lookup('%(lookup)s', '127.0.0.1:%(a)d', verify='password') }}"
      register: r_nopw
      ignore_errors: true
%(save)s""" % {"lookup": LOOKUP, "html": fresh["html"].port, "closed": closed_port(), "a": fresh["a"].port,
               "bad": fresh["bad"].port, "b": fresh["b"].port, "save": save_task(FAILURES)}
    result = run_playbook(playbook, extra_vars={"out_dir": str(tmp_path)}, callback="default")
    assert result.rc == 0, result
    assert "Traceback" not in result.output, result
    found = saved(tmp_path, result)
    for name, text in FAILURES.items():
        message = found[name]["msg"]
        assert found[name]["failed"] is True
        assert text in message, (name, message)
        assert "\n" not in message, (name, message)
        assert "obshell" in message, (name, message)
    # /secret was asked again once after the decryption failure, and the encrypted check retried once.
    assert fresh["bad"].count("/api/v1/secret") == 2 and fresh["bad"].count("/api/v1/info") == 2
    assert fresh["html"].count("/api/v1/secret") == 1


def test_https_with_ca_path_and_ipv6(run_playbook, pki, tmp_path):
    agent = ObshellAgent()
    tls = EmulatorServer(agent, tls=pki).start()
    try:
        v6 = EmulatorServer(agent, host="::1").start()
    except OSError:
        v6 = None  # no IPv6 on this machine: that part is skipped below
    try:
        v6_task = ""
        names = ["r_https", "r_nope"]
        if v6 is not None:
            names.append("r_v6")
            v6_task = """
    - name: ipv6
      ansible.builtin.set_fact:
        v6: "{{ lookup('%s', '[::1]:%d', return_format='dict') }}"
      register: r_v6
""" % (LOOKUP, v6.port)
        playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: https
      ansible.builtin.set_fact:
        tls_pem: "{{ lookup('%(lookup)s', '127.0.0.1:%(port)d', scheme='https', ca_path=ca, verify='key') }}"
        tls_url: "{{ lookup('%(lookup)s', 'https://localhost:%(port)d', ca_path=ca) }}"
      register: r_https
    - name: https without the CA
      ansible.builtin.set_fact:
        nope: "{{ lookup('%(lookup)s', '127.0.0.1:%(port)d', scheme='https', cache=false) }}"
      register: r_nope
      ignore_errors: true
%(v6)s%(save)s""" % {"lookup": LOOKUP, "port": tls.port, "v6": v6_task, "save": save_task(names)}
        result = run_playbook(playbook, extra_vars={"ca": pki["ca.pem"], "out_dir": str(tmp_path)}, callback="default")
        assert result.rc == 0, result
        found = saved(tmp_path, result)
        facts = found["r_https"]["ansible_facts"]
        assert facts["tls_pem"] == facts["tls_url"] == agent.spki_pem
        failure = found["r_nope"]["msg"]
        assert "TLS handshake" in failure and "ca_path" in failure and "\n" not in failure
        if v6 is None:
            pytest.skip("IPv6 loopback is not available; the https part passed")
        record = found["r_v6"]["ansible_facts"]["v6"]
        assert record["key_id"] == "[::1]:%d" % v6.port and record["public_key"] == agent.spki_pem
    finally:
        for server in (tls, v6):
            if server is not None:
                server.stop()


def test_password_never_printed_even_with_vvvv(run_playbook, fresh):
    srv = fresh["a"]
    pin = key_record("obshell", srv.address, srv.app.public_key_b64)["pin_sha256"]
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: verified with the password from a variable (pinned, so the password may be sent)
      vars:
        keyward_obshell_password: "{{ root_pw }}"
      ansible.builtin.debug:
        msg: "{{ lookup('%(lookup)s', '127.0.0.1:%(port)d', verify='password', expected_fingerprint=pin) }}"
    - name: wrong password from the environment
      ansible.builtin.debug:
        msg: "{{ lookup('%(lookup)s', '127.0.0.1:%(port)d', verify='password', cache=false, expected_fingerprint=pin) }}"
      ignore_errors: true
""" % {"lookup": LOOKUP, "port": srv.port}
    wrong = "Wrong-" + ROOT_PW[::-1]
    result = run_playbook(playbook, extra_vars={"root_pw": ROOT_PW, "pin": pin}, env={"OB_ROOT_PASSWORD": wrong},
                          verbosity=4, callback="default")
    assert "IncorrectOceanbasePassword" in result.output, result
    assert srv.app.decrypted[-1]["header"]["Auth"] == wrong  # the environment variable was used
    assert ROOT_PW not in result.output
    assert wrong not in result.output
