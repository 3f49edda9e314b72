"""keyward.keys.obshell_public_key_info and keyward.keys.obshell_api in real ansible-playbook runs."""

from __future__ import annotations

import json

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.integration._helpers import closed_port, save_task, saved
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent

ROOT_PW = "Mq7-root!Pw-obshell"
AGENT_PW = "Zt4-agent!Pw-obshell"


@pytest.fixture(scope="module")
def agents():
    bad = ObshellAgent()
    bad.served_key = ObshellAgent().private_key  # /secret serves a key the agent cannot decrypt with
    servers = {
        "a": EmulatorServer(ObshellAgent(password=ROOT_PW)).start(),
        "small": EmulatorServer(ObshellAgent(key_bits=512, password=ROOT_PW)).start(),
        "html": EmulatorServer(ObshellAgent()).start(),
        "bad": EmulatorServer(bad).start(),
    }
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def fresh(agents):
    for server in agents.values():
        server.reset()
    return agents


HAPPY = """
- hosts: localhost
  gather_facts: false
  vars:
    # Every task that sends a password pins the key the first task read (the rule in INTERFACE.md).
    pin: "{{ r_none['public_keys'][0].pin_sha256 }}"
  tasks:
    - name: key only (the first /secret answer is a 503, retried)
      keyward.keys.obshell_public_key_info:
        port: %(a)d
      register: r_none

    - name: key proven
      keyward.keys.obshell_public_key_info:
        host: "127.0.0.1:%(a)d"
        verify: key
        expected_fingerprint: "{{ r_none['public_keys'][0].pin_sha256 }}"
      register: r_key

    - name: key and root password proven, password from the environment
      keyward.keys.obshell_public_key_info:
        port: %(a)d
        verify: password
        expected_fingerprint: "{{ pin }}"
      register: r_password

    - name: defaults through the action group
      module_defaults:
        group/keyward.keys.obshell:
          port: %(a)d
          verify: key
      keyward.keys.obshell_public_key_info:
      register: r_group

    - name: legacy 512-bit agent
      keyward.keys.obshell_public_key_info:
        port: %(small)d
      register: r_small

    - name: GET with the root password
      keyward.keys.obshell_api:
        port: %(a)d
        path: /api/v1/ob/info
        password: "{{ root_pw }}"
        expected_fingerprint: "{{ pin }}"
      register: r_get

    - name: GET with a query string
      keyward.keys.obshell_api:
        port: %(a)d
        path: /api/v1/agent/host-info?detail=true&name=a%%20b
        password: "{{ root_pw }}"
        expected_fingerprint: "{{ pin }}"
      register: r_query

    - name: POST in check mode is not sent
      keyward.keys.obshell_api:
        port: %(a)d
        method: POST
        path: /api/v1/agent/password
        body:
          password: "{{ agent_pw }}"
        password: "{{ root_pw }}"
        expected_fingerprint: "{{ pin }}"
      check_mode: true
      register: r_check

    - name: GET in check mode runs
      keyward.keys.obshell_api:
        port: %(a)d
        path: /api/v1/ob/info
        password: "{{ root_pw }}"
        expected_fingerprint: "{{ pin }}"
      check_mode: true
      register: r_check_get

    - name: POST with a JSON body sets the agent password
      keyward.keys.obshell_api:
        port: %(a)d
        method: POST
        path: /api/v1/agent/password
        body:
          password: "{{ agent_pw }}"
        password: "{{ root_pw }}"
        expected_fingerprint: "{{ pin }}"
        retries: 0
      register: r_post

    - name: PATCH with a string body, agent password, pinned key from the info module
      keyward.keys.obshell_api:
        port: %(a)d
        method: PATCH
        path: /api/v1/obcluster/parameters
        body: '{"params": [{"name": "syslog_level", "value": "INFO"}]}'
        agent_password: "{{ agent_pw }}"
        public_key: "{{ r_none['public_keys'][0] }}"
        expected_fingerprint: "{{ r_none['public_keys'][0].fingerprint_sha256 }}"
      register: r_patch

    - name: GET the parameters back with the agent password as a PEM pin
      keyward.keys.obshell_api:
        port: %(a)d
        path: /api/v1/obcluster/parameters
        agent_password: "{{ agent_pw }}"
        public_key: "{{ r_none['public_keys'][0].public_key }}"
      register: r_params

    - name: wrong root password (its error must not show it either)
      keyward.keys.obshell_api:
        port: %(a)d
        path: /api/v1/ob/info
        password: "{{ wrong_pw }}"
        expected_fingerprint: "{{ pin }}"
      register: r_wrong
      ignore_errors: true
%(save)s"""

HAPPY_NAMES = ["r_none", "r_key", "r_password", "r_group", "r_small", "r_get", "r_query", "r_check", "r_check_get",
               "r_post", "r_patch", "r_params", "r_wrong"]


def test_modules_happy_paths(run_playbook, fresh, tmp_path):
    a, small = fresh["a"], fresh["small"]
    a.faults.add("/api/v1/secret", [{"status": 503, "body": {"successful": False}, "headers": {"Retry-After": "0"}}])
    playbook = HAPPY % {"a": a.port, "small": small.port, "save": save_task(HAPPY_NAMES)}
    wrong = "Wrong-" + ROOT_PW[::-1]
    # -vvvv: module arguments, results and errors are all printed; no password may be among them.
    result = run_playbook(playbook, extra_vars={"root_pw": ROOT_PW, "agent_pw": AGENT_PW, "wrong_pw": wrong,
                                                "out_dir": str(tmp_path)},
                          env={"OB_ROOT_PASSWORD": ROOT_PW}, callback="default", verbosity=4)
    assert result.rc == 0, result
    found = saved(tmp_path, result)
    expected = key_record("obshell", "127.0.0.1:%d" % a.port, a.app.public_key_b64)

    # The retry: the first two requests of the run were both /api/v1/secret.
    assert [r["path"] for r in a.requests[:2]] == ["/api/v1/secret", "/api/v1/secret"]

    none = found["r_none"]
    assert none["changed"] is False and none["verified"] == "none" and "agent" not in none
    assert none["public_keys"] == [dict(expected, metadata=dict(none["public_keys"][0]["metadata"]))]
    assert none["public_keys"][0]["metadata"]["ip"] == "127.0.0.1" and none["public_keys"][0]["metadata"]["port"] == 2886
    assert found["r_key"]["verified"] == "key" and found["r_key"]["agent"]["identity"] == "CLUSTER AGENT"
    assert found["r_password"]["verified"] == "password"
    assert found["r_group"]["verified"] == "key" and found["r_group"]["public_keys"][0]["key_id"] == expected["key_id"]
    small_result = found["r_small"]
    assert small_result["public_keys"][0]["key_size"] == 512
    assert any("512-bit" in w and "4.4.2.0" in w for w in small_result.get("warnings", []))

    get = found["r_get"]
    assert get["changed"] is False and get["status"] == 200
    assert get["json"]["successful"] is True and get["data"] == get["json"]["data"]
    assert get["data"]["obcluster_info"]["name"] == "obcluster"
    assert get["key"]["fingerprint_sha256"] == expected["fingerprint_sha256"]
    assert found["r_query"]["status"] == 200
    check = found["r_check"]
    assert check.get("skipped") is True and check["changed"] is False
    assert found["r_check_get"]["status"] == 200
    assert found["r_post"]["changed"] is True and found["r_post"]["data"] is None
    assert a.app.agent_password == AGENT_PW
    assert found["r_patch"]["changed"] is True
    assert a.app.parameters["syslog_level"] == "INFO"
    params = {p["name"]: p["values"] for p in found["r_params"]["data"]["contents"]}
    assert params["syslog_level"] == ["INFO"]

    # What the agent saw: the exact request-targets signed, the right header per password.
    seen = {(d["method"], d["target"]): d for d in a.app.decrypted}
    assert ("GET", "/api/v1/agent/host-info?detail=true&name=a%20b") in seen
    assert seen[("POST", "/api/v1/agent/password")]["header_name"] == "X-OCS-Header"
    assert json.loads(seen[("POST", "/api/v1/agent/password")]["body"]) == {"password": AGENT_PW}
    assert seen[("PATCH", "/api/v1/obcluster/parameters")]["header_name"] == "X-OCS-Agent-Header"
    assert a.count("/api/v1/agent/password") == 1  # not sent in check mode
    assert found["r_wrong"]["failed"] is True and "OceanBase password is incorrect" in found["r_wrong"]["msg"]
    for secret in (ROOT_PW, AGENT_PW, wrong):
        assert secret not in result.output
        assert secret not in json.dumps(found)


FAILURES = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: agent answers HTML
      keyward.keys.obshell_public_key_info:
        port: %(html)d
      register: r_html
      ignore_errors: true

    - name: header decryption keeps failing
      keyward.keys.obshell_public_key_info:
        port: %(bad)d
        verify: key
      register: r_decrypt
      ignore_errors: true

    - name: unreachable port
      keyward.keys.obshell_public_key_info:
        port: %(closed)d
        retries: 0
        timeout: 3
      register: r_unreachable
      ignore_errors: true

    - name: fingerprint mismatch
      keyward.keys.obshell_public_key_info:
        port: %(a)d
        expected_fingerprint: "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
      register: r_pin
      ignore_errors: true

    - name: wrong root password
      keyward.keys.obshell_api:
        port: %(a)d
        path: /api/v1/ob/info
        password: "{{ wrong_pw }}"
        expected_fingerprint: "{{ a_pin }}"
      register: r_wrong
      ignore_errors: true

    - name: pinned key that is not the agent's
      keyward.keys.obshell_api:
        port: %(a)d
        path: /api/v1/ob/info
        password: "{{ root_pw }}"
        public_key: "{{ other_pem }}"
      register: r_pinned
      ignore_errors: true

    - name: key too small
      keyward.keys.obshell_public_key_info:
        port: %(small)d
        min_key_size: 1024
      register: r_small
      ignore_errors: true

    - name: verify password without a password
      keyward.keys.obshell_public_key_info:
        port: %(a)d
        verify: password
      register: r_nopw
      ignore_errors: true

    - name: agent error on a 404 route
      keyward.keys.obshell_api:
        port: %(a)d
        method: DELETE
        path: /api/v1/no/such/thing
        password: "{{ root_pw }}"
        expected_fingerprint: "{{ a_pin }}"
      register: r_404
      ignore_errors: true
%(save)s"""

EXPECTED_FAILURES = {
    # A 502 proxy page (retried, then reported as the transport's failure of that status).
    "r_html": "GET /api/v1/secret: request failed with an HTML page (HTTP 502",
    "r_decrypt": "the agent cannot decrypt a header encrypted with the key it serves at /api/v1/secret",
    "r_unreachable": "cannot connect to 127.0.0.1",
    "r_pin": "fingerprint mismatch",
    "r_wrong": "OceanBase password is incorrect",
    "r_pinned": "the pinned public_key",
    "r_small": "smaller than min_key_size 1024",
    "r_nopw": "verify=password needs password",
    "r_404": "Element not found",
}


def test_module_failures_are_one_line(run_playbook, fresh, tmp_path):
    fresh["html"].faults.add("/api/v1/secret", [{"html": True, "status": 502}] * 4)
    other_pem = ObshellAgent().spki_pem
    a_pin = key_record("obshell", fresh["a"].address, fresh["a"].app.public_key_b64)["fingerprint_sha256"]
    wrong = "Wrong-" + ROOT_PW[::-1]
    playbook = FAILURES % {"html": fresh["html"].port, "bad": fresh["bad"].port, "closed": closed_port(),
                           "a": fresh["a"].port, "small": fresh["small"].port,
                           "save": save_task(EXPECTED_FAILURES)}
    result = run_playbook(playbook, callback="default", extra_vars={
        "root_pw": ROOT_PW, "wrong_pw": wrong, "other_pem": other_pem, "a_pin": a_pin, "out_dir": str(tmp_path)})
    assert result.rc == 0, result
    assert "Traceback" not in result.output and "MODULE FAILURE" not in result.output, result
    found = saved(tmp_path, result)
    for name, text in EXPECTED_FAILURES.items():
        outcome = found[name]
        assert outcome["failed"] is True, (name, outcome)
        assert text in outcome["msg"], (name, outcome["msg"])
        assert "\n" not in outcome["msg"], (name, outcome["msg"])
        # No Python traceback (ansible-core 2.19+ records a placeholder "(traceback unavailable)").
        assert 'File "' not in str(outcome.get("exception", "")), (name, outcome)
    assert found["r_wrong"]["error"]["code"] == "Security.Authentication.IncorrectOceanbasePassword"
    assert found["r_wrong"]["error"]["status"] == 401 and found["r_wrong"]["status"] == 401
    assert found["r_wrong"]["json"]["error"]["code"] == 10008
    assert found["r_decrypt"]["error"]["code"] == "Security.Authentication.Header.DecryptFailed"
    assert found["r_404"]["error"]["status"] == 404 and found["r_404"]["error"]["code"] == "Common.NotFound"
    assert found["r_html"]["error"]["status"] == 502
    # Each agent was asked exactly as often as the error handling says.
    assert fresh["bad"].count("/api/v1/secret") == 2 and fresh["bad"].count("/api/v1/info") == 2
    assert fresh["a"].count("/api/v1/ob/info") == 2  # wrong password once, pinned key once, no re-fetch
    assert ROOT_PW not in result.output and wrong not in result.output


def test_https_and_ipv6_modules(run_playbook, pki, tmp_path):
    agent = ObshellAgent(password=ROOT_PW)
    tls = EmulatorServer(agent, tls=pki).start()
    try:
        v6 = EmulatorServer(agent, host="::1").start()
    except OSError:
        v6 = None
    try:
        names = ["r_tls"]
        v6_task = ""
        if v6 is not None:
            names.append("r_v6")
            v6_task = """
    - name: ipv6
      keyward.keys.obshell_api:
        host: "::1"
        port: %d
        path: /api/v1/ob/info
        password: "{{ root_pw }}"
        expected_fingerprint: "{{ pin }}"
      register: r_v6
""" % v6.port
        playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: https with a verified certificate (trusted without a pin)
      keyward.keys.obshell_public_key_info:
        port: %(port)d
        scheme: https
        ca_path: "{{ ca }}"
        verify: password
        password: "{{ root_pw }}"
      register: r_tls
%(v6)s%(save)s""" % {"port": tls.port, "v6": v6_task, "save": save_task(names)}
        result = run_playbook(playbook, callback="default",
                              extra_vars={"ca": pki["ca.pem"], "root_pw": ROOT_PW, "out_dir": str(tmp_path),
                                          "pin": key_record("obshell", "x", agent.public_key_b64)["pin_sha256"]})
        assert result.rc == 0, result
        found = saved(tmp_path, result)
        assert found["r_tls"]["public_keys"][0]["public_key"] == agent.spki_pem
        if v6 is None:
            pytest.skip("IPv6 loopback is not available; the https part passed")
        assert found["r_v6"]["status"] == 200 and found["r_v6"]["key"]["key_id"] == "[::1]:%d" % v6.port
    finally:
        for server in (tls, v6):
            if server is not None:
                server.stop()
