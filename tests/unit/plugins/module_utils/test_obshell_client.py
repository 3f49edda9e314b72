"""ObshellClient against the obshell agent emulator (and the emulator against the documented behaviour)."""

from __future__ import annotations

import base64
import json
import socket

import pytest
import requests
import yaml

from ansible_collections.keyward.keys.plugins.doc_fragments.obshell import ModuleDocFragment
from ansible_collections.keyward.keys.plugins.module_utils.providers import _obshell, _obshell_crypto, _obshell_rules
from ansible_collections.keyward.keys.plugins.module_utils._errors import (
    FingerprintMismatchError, KeyFormatError, OptionError, ProviderError,
)
from ansible_collections.keyward.keys.plugins.module_utils._pins import normalize_pins
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent, generate_rsa_key

ROOT_PW = "Root#Pw-8731"
AGENT_PW = "Agent#Pw-4412"


@pytest.fixture(scope="module")
def keys():
    return {"k1024": generate_rsa_key(1024), "k512": generate_rsa_key(512), "other": generate_rsa_key(1024)}


@pytest.fixture
def agent(keys):
    return ObshellAgent(private_key=keys["k1024"], password=ROOT_PW)


@pytest.fixture(scope="module")
def shared_server(keys):
    # One server for the module (stopping one takes half a second); each test gets a fresh agent.
    with EmulatorServer(ObshellAgent(private_key=keys["k1024"])) as srv:
        yield srv


@pytest.fixture
def server(shared_server, agent):
    shared_server.app = agent
    shared_server.reset()
    yield shared_server
    shared_server.reset()


def make_transport(retries=2):
    return Transport("obshell", timeout=5, retries=retries, sleep=lambda s: None, profile=_obshell.PROFILE,
                     secrets=(ROOT_PW, AGENT_PW))


def make_client(server, warnings=None, **kwargs):
    """A client; passwords go to the agent's key without a pin here (the pin rule has its own tests)."""
    kwargs.setdefault("transport", make_transport())
    kwargs.setdefault("allow_unpinned_password", True)
    return _obshell.ObshellClient(
        "127.0.0.1", server.port, warn=(warnings.append if warnings is not None else None), **kwargs)


def sent_header(server, index=-1):
    return server.requests[index]["headers"]


# --- the key ----------------------------------------------------------------------------------

def test_fetch_secret_record(server, agent):
    record = make_client(server).fetch_secret()
    assert record["provider"] == "obshell"
    assert record["key_id"] == "127.0.0.1:%d" % server.port
    assert record["public_key"] == agent.spki_pem
    assert record["public_key_raw"] == agent.public_key_b64
    assert record["public_key_raw"].startswith("MIGJAoGBA")
    assert (record["key_type"], record["key_size"], record["curve"]) == ("RSA", 1024, None)
    assert record["pin_sha256"].startswith("sha256//")
    trace = sent_header(server)["X-OBSHELL-Trace-ID"]
    assert record["metadata"] == {"ip": "127.0.0.1", "port": 2886, "trace_id": trace}
    assert server.count("/api/v1/secret") == 1
    assert _obshell_rules.weak_key_warning(record) is None


def test_legacy_512_bit_key(keys, server):
    server.app = ObshellAgent(private_key=keys["k512"], key_bits=512)
    record = make_client(server).fetch_secret()
    assert record["key_size"] == 512 and record["public_key_raw"].startswith("MEgCQQ")
    warning = _obshell_rules.weak_key_warning(record)
    assert "512-bit" in warning and "4.4.1.1" in warning and "4.4.2.0" in warning and "min_key_size" in warning
    _obshell_rules.check_key_size(record, 512)
    with pytest.raises(KeyFormatError, match="smaller than min_key_size 1024"):
        _obshell_rules.check_key_size(record, 1024)
    # The client refuses it before sending anything encrypted.
    client = make_client(server, min_key_size=1024)
    with pytest.raises(KeyFormatError):
        client.verify_key()
    assert server.count("/api/v1/info") == 0
    # Encrypted requests work with 512-bit keys (64-byte blocks).
    assert make_client(server).verify_key()["identity"] == "CLUSTER AGENT"


def test_ipv6_key_id_and_url():
    client = _obshell.ObshellClient("::1", 2886, transport=make_transport())
    assert client.key_id == "[::1]:2886" and client.base_url == "http://[::1]:2886"
    assert _obshell.ObshellClient("[fd00::3]", 1, scheme="https", transport=make_transport()).base_url == "https://[fd00::3]:1"


@pytest.mark.parametrize("kwargs", [dict(port=0), dict(port="x"), dict(scheme="ftp"), dict(host="")])
def test_bad_options(kwargs):
    args = dict(host="h", port=2886, scheme="http", transport=make_transport())
    args.update(kwargs)
    with pytest.raises(OptionError):
        _obshell.ObshellClient(**args)


# --- encrypted requests -----------------------------------------------------------------------

def test_verify_key_sends_an_empty_auth(server, agent):
    info = make_client(server, password=ROOT_PW).verify_key()
    assert info["identity"] == "CLUSTER AGENT" and info["supportedAuth"] == ["v2"]
    seen = agent.decrypted[-1]
    assert seen["header_name"] == "X-OCS-Header"
    assert seen["header"]["Auth"] == "" and seen["header"]["Uri"] == "/api/v1/info"
    assert len(seen["header"]["Keys"]) == 32


def test_verify_password(server, agent):
    warnings = []
    info, ob_info = make_client(server, warnings, password=ROOT_PW).verify_password()
    assert ob_info["obcluster_info"]["name"] == "obcluster"
    assert agent.decrypted[-1]["header"]["Auth"] == ROOT_PW
    assert warnings == []
    with pytest.raises(OptionError):
        make_client(server).verify_password()


def test_wrong_password_is_reported_without_it(server):
    with pytest.raises(ProviderError) as info:
        make_client(server, password="wrong-" + ROOT_PW).verify_password()
    error = info.value
    assert (error.status, error.code) == (401, "Security.Authentication.IncorrectOceanbasePassword")
    assert "OceanBase password is incorrect" in str(error) and "check the password option" in str(error)
    assert ROOT_PW not in str(error)
    assert error.body["error"]["code"] == 10008
    assert error.request_id == error.body["traceId"]


def test_single_agent_without_agent_password_warns(keys, server):
    server.app = ObshellAgent(private_key=keys["k1024"], identity="SINGLE")
    warnings = []
    make_client(server, warnings, password="anything").verify_password()
    assert len(warnings) == 1 and "SINGLE" in warnings[0] and "anything" not in warnings[0]


def test_agent_password_header_and_selection(server, agent):
    # Set the agent password with the root password (a POST with an encrypted body).
    status, envelope = make_client(server, password=ROOT_PW).request(
        "POST", "/api/v1/agent/password", body={"password": AGENT_PW})
    assert status == 200 and envelope["successful"] is True and "data" not in envelope
    assert json.loads(agent.decrypted[-1]["body"]) == {"password": AGENT_PW}
    assert agent.agent_password == AGENT_PW
    # Only the agent password: X-OCS-Agent-Header.
    make_client(server, agent_password=AGENT_PW).request("GET", "/api/v1/agent/host-info")
    assert agent.decrypted[-1]["header_name"] == "X-OCS-Agent-Header"
    assert agent.decrypted[-1]["header"]["Auth"] == AGENT_PW
    # Both: the agent reports security=true, so the agent password is used (like the SDK).
    make_client(server, password=ROOT_PW, agent_password=AGENT_PW).request("GET", "/api/v1/ob/info")
    assert agent.decrypted[-1]["header_name"] == "X-OCS-Agent-Header"
    # Wrong agent password.
    with pytest.raises(ProviderError) as info:
        make_client(server, agent_password="nope-" + AGENT_PW).request("GET", "/api/v1/ob/info")
    assert info.value.code == "Security.Authentication.IncorrectAgentPassword"
    assert AGENT_PW not in str(info.value)


def test_both_passwords_before_an_agent_password_is_set(server, agent):
    make_client(server, password=ROOT_PW, agent_password=AGENT_PW).request("GET", "/api/v1/ob/info")
    assert agent.decrypted[-1]["header_name"] == "X-OCS-Header"
    assert agent.decrypted[-1]["header"]["Auth"] == ROOT_PW


def test_uri_with_query_is_signed_as_sent(server, agent):
    path = "/api/v1/agent/host-info?filter=ob_%25&b=1%202"
    status = make_client(server, password=ROOT_PW).request("GET", path)[0]
    assert status == 200
    assert agent.decrypted[-1]["header"]["Uri"] == path == server.requests[-1]["target"]


def test_patch_with_body_and_string_body(server, agent):
    client = make_client(server, password=ROOT_PW)
    client.request("PATCH", "/api/v1/obcluster/parameters", body={"params": [{"name": "syslog_level", "value": "INFO"}]})
    assert agent.parameters["syslog_level"] == "INFO"
    client.request("PATCH", "/api/v1/obcluster/parameters", body='{"params": [{"name": "memory_limit", "value": "8G"}]}')
    assert agent.parameters["memory_limit"] == "8G"
    assert sent_header(server)["Content-Type"] == "application/json"
    _status, envelope = client.request("GET", "/api/v1/obcluster/parameters")
    assert {p["name"] for p in envelope["data"]["contents"]} == {"syslog_level", "memory_limit"}


def test_agent_errors_with_hints(server):
    client = make_client(server, password=ROOT_PW)
    with pytest.raises(ProviderError) as info:
        client.request("POST", "/api/v1/agent/password", body={"nothing": 1})
    assert (info.value.status, info.value.code) == (400, "Common.BindJsonFailed")
    with pytest.raises(ProviderError) as info:
        client.request("GET", "/api/v1/no/such/route")
    assert (info.value.status, info.value.code) == (404, "Common.NotFound")
    assert str(info.value).startswith("obshell: key 127.0.0.1:%d: GET /api/v1/no/such/route: " % server.port)


def test_expired_request(server, agent):
    agent.clock = lambda: __import__("time").time() + 3600  # the agent's clock is an hour ahead
    with pytest.raises(ProviderError) as info:
        make_client(server, password=ROOT_PW).request("GET", "/api/v1/ob/info")
    assert info.value.code == "Security.Authentication.Expired" and "clocks" in str(info.value)


@pytest.mark.parametrize("method, path", [("GET", "api/v1/info"), ("HEAD", "/api/v1/info"), ("GET", None)])
def test_bad_method_and_path(server, method, path):
    with pytest.raises(OptionError):
        make_client(server).request(method, path)
    assert server.count() == 0


# --- key changes and pinned keys --------------------------------------------------------------

def test_rotated_key_is_fetched_again_once(server, agent):
    warnings = []
    client = make_client(server, warnings, password=ROOT_PW)
    old = client.record
    agent.rotate_key()
    status = client.request("GET", "/api/v1/ob/info")[0]
    assert status == 200
    assert server.count("/api/v1/secret") == 2 and server.count("/api/v1/ob/info") == 2
    assert client.record["fingerprint_sha256"] != old["fingerprint_sha256"]
    assert len(warnings) == 1 and "changed" in warnings[0]


def test_rotated_key_must_still_match_the_pins(server, agent):
    client = make_client(server, password=ROOT_PW, pins=normalize_pins(None))
    pins = normalize_pins(client.record["fingerprint_sha256"])
    client = make_client(server, password=ROOT_PW, pins=pins)
    client.record
    agent.rotate_key()
    with pytest.raises(FingerprintMismatchError):
        client.request("GET", "/api/v1/ob/info")


def test_persistent_decrypt_failure(server, agent, keys):
    agent.served_key = keys["other"]  # /secret serves a key the agent cannot decrypt with
    with pytest.raises(ProviderError) as info:
        make_client(server).verify_key()
    error = info.value
    assert (error.status, error.code) == (401, "Security.Authentication.Header.DecryptFailed")
    assert "even after fetching it again" in str(error)
    assert server.count("/api/v1/secret") == 2 and server.count("/api/v1/info") == 2
    # The agent gives no trace id for header failures; ours is reported instead.
    assert error.body["traceId"] == "" and error.request_id == sent_header(server)["X-OBSHELL-Trace-ID"]


@pytest.mark.parametrize("shape", ["pem", "raw", "record"])
def test_pinned_key_skips_the_secret_request(server, agent, shape):
    record = make_client(server).fetch_secret()
    server.reset()
    key = {"pem": record["public_key"], "raw": record["public_key_raw"], "record": record}[shape]
    client = make_client(server, password=ROOT_PW, public_key=key)
    assert client.request("GET", "/api/v1/ob/info")[0] == 200
    assert server.count("/api/v1/secret") == 0


def test_wrong_pinned_key_is_not_replaced(server, keys):
    pem = ObshellAgent(private_key=keys["other"]).spki_pem
    client = make_client(server, password=ROOT_PW, public_key=pem)
    with pytest.raises(ProviderError) as info:
        client.request("GET", "/api/v1/ob/info")
    assert "pinned public_key" in str(info.value) and "is not this agent's key" in str(info.value)
    assert server.count("/api/v1/secret") == 0 and server.count("/api/v1/ob/info") == 1


def test_pinned_key_checked_against_pins_before_any_request(server, keys):
    pem = ObshellAgent(private_key=keys["other"]).spki_pem
    with pytest.raises(FingerprintMismatchError):
        make_client(server, public_key=pem, pins=normalize_pins("00" * 32))
    assert server.count() == 0


# --- transport-level failures -----------------------------------------------------------------

def test_html_answer_is_a_clear_error(server):
    server.faults.add("/api/v1/secret", [{"html": True}])
    with pytest.raises(ProviderError) as info:
        make_client(server).fetch_secret()
    assert "HTML page" in str(info.value) and "\n" not in str(info.value)


def test_json_that_is_not_an_envelope(server):
    server.faults.add("/api/v1/secret", [{"status": 200, "body": {"hello": "world"}}])
    with pytest.raises(ProviderError, match="not an obshell response"):
        make_client(server).fetch_secret()


def test_successful_false_on_200_is_an_error(server):
    server.faults.add("/api/v1/info", [{"status": 200, "body": {
        "successful": False, "status": 200, "traceId": "abc",
        "error": {"errCode": "Some.Code", "message": "nope"}}}])
    with pytest.raises(ProviderError) as info:
        make_client(server).verify_key()
    assert info.value.code == "Some.Code" and info.value.request_id == "abc" and "successful: false" in str(info.value)


def test_legacy_numeric_code_only(server):
    server.faults.add("/api/v1/ob/info", [{"status": 401, "body": {
        "successful": False, "status": 401, "traceId": "t", "error": {"code": 10008, "message": "unauthorized"}}}])
    with pytest.raises(ProviderError) as info:
        make_client(server, password=ROOT_PW).request("GET", "/api/v1/ob/info")
    assert info.value.code == 10008


def test_legacy_decrypt_code_triggers_the_refetch(server):
    server.faults.add("/api/v1/info", [{"status": 401, "body": {
        "successful": False, "status": 401, "traceId": "", "error": {"code": 1, "message": "decrypt failed"}}}])
    assert make_client(server).verify_key()["identity"] == "CLUSTER AGENT"
    assert server.count("/api/v1/secret") == 2


def test_message_never_repeats_a_password(server):
    server.faults.add("/api/v1/ob/info", [{"status": 401, "body": {
        "successful": False, "status": 401, "traceId": "t",
        "error": {"errCode": "X", "message": "bad password %s" % ROOT_PW}}}])
    with pytest.raises(ProviderError) as info:
        make_client(server, password=ROOT_PW).request("GET", "/api/v1/ob/info")
    assert ROOT_PW not in str(info.value) and "********" in str(info.value)


def test_503_then_success_is_retried(server):
    server.faults.add("/api/v1/secret", [{"status": 503, "body": "busy"}])
    assert make_client(server).fetch_secret()["key_size"] == 1024
    assert server.count("/api/v1/secret") == 2


def test_no_content_answer(server):
    server.faults.add("/api/v1/agent/host-info", [{"status": 204, "body": ""}])
    assert make_client(server, password=ROOT_PW).request("GET", "/api/v1/agent/host-info") == (204, {})


def test_unreachable_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = _obshell.ObshellClient("127.0.0.1", port, transport=make_transport(retries=1))
    with pytest.raises(ProviderError) as info:
        client.fetch_secret()
    assert "cannot connect" in str(info.value) and "(after 2 attempts)" in str(info.value)


# --- the emulator follows the agent -----------------------------------------------------------

def raw_request(server, agent, method, target, fields=None, body=None, header="X-OCS-Header", trace=None):
    headers = {}
    if trace:
        headers["X-OBSHELL-Trace-ID"] = trace
    if fields is not None:
        plain = json.dumps(fields).encode() if isinstance(fields, dict) else fields
        value = base64.b64encode(_obshell_crypto.rsa_encrypt(agent.private_key.public_key(), plain)).decode()
        headers[header] = value
    return requests.request(method, server.url + target, headers=headers, data=body, timeout=5)


def fields_for(target, auth=ROOT_PW, ts=None, keys=b"k" * 32):
    import time as _time
    return {"auth": auth, "ts": str(int(_time.time()) + 60) if ts is None else ts, "uri": target,
            "keys": base64.b64encode(keys).decode()}


def test_emulator_envelope_and_trace_id(server, agent):
    answer = raw_request(server, agent, "GET", "/api/v1/secret", trace="mytrace123")
    body = answer.json()
    assert list(body) == ["successful", "timestamp", "duration", "status", "traceId", "data"]
    assert body["traceId"] == "mytrace123" and body["status"] == 200 == answer.status_code
    assert set(body["data"]) == {"ip", "port", "public_key"}
    assert answer.headers["Content-Type"].startswith("application/json")
    assert len(raw_request(server, agent, "GET", "/api/v1/time").json()["traceId"]) == 16


@pytest.mark.parametrize("fields, status, code, legacy", [
    (None, 400, "Request.Header.NotFound", None),
    ("wrong-uri", 401, "Security.Authentication.Header.UriMismatch", 10008),
    ("numeric-ts", 401, "Security.Authentication.Header.DecryptFailed", 1),
    ("bad-ts", 401, "Security.Authentication.Timestamp.Invalid", 10008),
    ("expired", 401, "Security.Authentication.Expired", 10008),
    ("garbage", 401, "Security.Authentication.Header.DecryptFailed", 1),
])
def test_emulator_verification_errors(server, agent, fields, status, code, legacy):
    target = "/api/v1/ob/info"
    spec = {
        None: None,
        "wrong-uri": fields_for("/api/v1/ob/info?x=1"),
        "numeric-ts": json.dumps({"auth": ROOT_PW, "ts": 9999999999, "uri": target, "keys": ""}).encode(),
        "bad-ts": fields_for(target, ts="soon"),
        "expired": fields_for(target, ts="1000"),
        "garbage": b"\x00not json",
    }[fields]
    answer = raw_request(server, agent, "GET", target, spec)
    body = answer.json()
    assert answer.status_code == status == body["status"]
    assert body["successful"] is False and body["error"]["errCode"] == code
    assert body["error"].get("code") == legacy
    if code.endswith("DecryptFailed"):
        assert body["traceId"] == "" and body["error"]["message"].startswith("Decrypt http header failed: ")


def test_emulator_decrypts_headers_on_unauthenticated_routes(server, agent, keys):
    answer = raw_request(server, agent, "GET", "/api/v1/info", fields_for("/anything", auth=""))
    assert answer.status_code == 200  # uri/ts/auth are not checked there, only decryption
    other = ObshellAgent(private_key=keys["other"])
    answer = raw_request(server, other, "GET", "/api/v1/info", fields_for("/api/v1/info", auth=""))
    assert answer.status_code == 401 and answer.json()["error"]["code"] == 1


def test_emulator_agent_header_wins(server, agent):
    agent.agent_password = AGENT_PW
    headers = {}
    for name, auth in (("X-OCS-Header", ROOT_PW), ("X-OCS-Agent-Header", AGENT_PW)):
        value = base64.b64encode(_obshell_crypto.rsa_encrypt(
            agent.private_key.public_key(), json.dumps(fields_for("/api/v1/ob/info", auth=auth)).encode())).decode()
        headers[name] = value
    answer = requests.get(server.url + "/api/v1/ob/info", headers=headers, timeout=5)
    assert answer.status_code == 200 and agent.decrypted[-1]["header_name"] == "X-OCS-Agent-Header"


def test_emulator_body_length_error(server, agent):
    answer = raw_request(server, agent, "POST", "/api/v1/agent/password", fields_for("/api/v1/agent/password"),
                         body=base64.b64encode(b"x" * 10))
    body = answer.json()
    assert answer.status_code == 500 and body["error"]["errCode"] == "Request.Body.Decrypt.AES.ContentLength.Invalid"
    assert body["error"]["message"].startswith("Unauthorized: ")


# --- options and documentation agree ----------------------------------------------------------

def test_doc_fragment_matches_the_option_table():
    docs = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    plugins = yaml.safe_load(ModuleDocFragment.PLUGINS)["options"]
    verify = yaml.safe_load(ModuleDocFragment.VERIFY)["options"]
    for table, documented in ((_obshell.OPTIONS, docs), (_obshell.VERIFY_OPTIONS, verify)):
        assert set(table) == set(documented)
        for name, decl in table.items():
            doc = documented[name]
            assert doc["type"] == decl["type"], name
            assert doc.get("default") == decl.get("default"), name
            assert doc.get("choices") == decl.get("choices"), name
            assert [e["name"] for e in plugins[name].get("env", [])] == decl.get("env", []), name
    for name in list(_obshell.OPTIONS) + list(_obshell.VERIFY_OPTIONS) + [
            "timeout", "retries", "validate_certs", "ca_path", "expected_fingerprint", "return_format", "cache"]:
        assert plugins[name]["vars"] == [{"name": "keyward_obshell_%s" % name}], name


@pytest.mark.parametrize("term", ["http://[::1", "https://[]:2886", "http://[::1]]:2886"])
def test_a_malformed_agent_url_is_an_option_error(term):
    """urlsplit's own ValueError never escapes as a traceback: one line naming the provider."""
    with pytest.raises(OptionError, match=r"^obshell:? term .*(not a valid URL|expected .:port. after)"):
        _obshell_rules.parse_term(term)
