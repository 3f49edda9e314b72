# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP transport (_transport.py) over real HTTP(S) against the loopback emulator server.

Attempts are counted at the server, not in the client. Sleeps are recorded, never slept.
"""

from __future__ import annotations

import email.utils
import os
import random
import re
import socket
import time

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _retry_timing
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer, Response

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))


class EchoApp(object):
    """A tiny API: /key answers JSON describing the request; /redirect redirects."""

    def handle(self, request):
        if request.path == "/redirect":
            return Response(302, b"", {"Location": "https://elsewhere.example/key"})
        if request.path == "/empty":
            return Response(200, b"", {"Content-Type": "application/json"})
        if request.path == "/text":
            return Response(200, b"plain words", {"Content-Type": "text/plain"})
        return Response.json(200, {"ok": True, "path": request.path, "signature": request.header("X-Signature")},
                             {"X-Request-Id": "req-%d" % len(request.path)})


class Sleeps(object):
    def __init__(self):
        self.delays = []

    def __call__(self, seconds):
        self.delays.append(seconds)


# One server per module (stopping one takes half a second), reset before each test.
@pytest.fixture(scope="module")
def plain_server():
    with EmulatorServer(EchoApp()) as srv:
        yield srv


@pytest.fixture
def server(plain_server):
    plain_server.reset()
    return plain_server


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def tls_server_once(pki):
    with EmulatorServer(EchoApp(), tls=pki) as srv:
        yield srv


@pytest.fixture
def tls_server(tls_server_once):
    tls_server_once.reset()
    return tls_server_once


def make(retries=3, timeout=5, **kwargs):
    sleeps = Sleeps()
    debug = []
    transport = Transport("obshell", timeout=timeout, retries=retries, sleep=sleeps, debug=debug.append, **kwargs)
    return transport, sleeps, debug


# --- retries on transient statuses ----------------------------------------------------------

@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_status_is_retried_then_succeeds(server, status):
    server.faults.add("^/key$", [{"status": status, "body": {"message": "busy"}}] * 2)
    transport, sleeps, _debug = make(retries=3)
    response = transport.request("GET", server.url + "/key", key="k1")
    assert response.status_code == 200 and response.json()["ok"] is True
    assert server.count("^/key$") == 3
    assert len(sleeps.delays) == 2
    assert transport.attempts == 3


@pytest.mark.parametrize("retries", [0, 1, 2, 5])
def test_retries_n_means_n_plus_one_attempts(server, retries):
    server.faults.add("^/key$", [{"status": 503, "body": {"error": {"code": "Busy", "message": "try later"}}}] * 10)
    transport, sleeps, _debug = make(retries=retries)
    with pytest.raises(ProviderError) as info:
        transport.request("GET", server.url + "/key", key="k1")
    assert server.count("^/key$") == retries + 1
    assert len(sleeps.delays) == retries
    assert info.value.status == 503 and info.value.code == "Busy"
    assert str(info.value) == "obshell: key k1: try later (HTTP 503, code Busy)"


def test_retry_after_is_honoured(server):
    server.faults.add("^/key$", [
        {"status": 503, "headers": {"Retry-After": "1"}, "body": {}},
        {"status": 429, "headers": {"Retry-After": "0"}, "body": {}},
    ])
    transport, sleeps, _debug = make(retries=3)
    assert transport.request("GET", server.url + "/key").status_code == 200
    assert sleeps.delays == [1.0, 0.0]
    assert server.count("^/key$") == 3


def test_retry_after_http_date_and_cap(server):
    when = email.utils.formatdate(time.time() + 3600, usegmt=True)
    server.faults.add("^/key$", [{"status": 503, "headers": {"Retry-After": when}, "body": {}},
                                 {"status": 503, "headers": {"Retry-After": "garbage"}, "body": {}}])
    transport, sleeps, _debug = make(retries=3)
    transport.request("GET", server.url + "/key")
    assert sleeps.delays[0] == _retry_timing.RETRY_AFTER_MAX == 60.0
    # An unusable Retry-After falls back to the jittered backoff of the second retry.
    assert 0.5 <= sleeps.delays[1] <= 1.0


def test_retry_after_seconds_parsing():
    now = 1_700_000_000.0
    assert _retry_timing.retry_after_seconds(email.utils.formatdate(now + 7, usegmt=True), now=now) == pytest.approx(7.0)
    assert _retry_timing.retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert _retry_timing.retry_after_seconds(" 2 ") == 2.0
    assert _retry_timing.retry_after_seconds("-5") == 0.0
    assert _retry_timing.retry_after_seconds("100000") == 60.0
    assert _retry_timing.retry_after_seconds(None) is None
    assert _retry_timing.retry_after_seconds("soon") is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_not_retried(server, status):
    server.faults.add("^/key$", [{"status": status, "body": {"error_code": "KMS.%d" % status, "error_msg": "refused"},
                                  "headers": {"X-Request-Id": "rid-9"}}] * 5)
    transport, sleeps, _debug = make(retries=3)
    with pytest.raises(ProviderError) as info:
        transport.request("POST", server.url + "/key", key="k1", json_body={"key_id": "k1"})
    assert server.count("^/key$") == 1
    assert sleeps.delays == []
    assert str(info.value) == "obshell: key k1: refused (HTTP %d, code KMS.%d, request id rid-9)" % (status, status)


def test_parse_error_callback_builds_the_error(server):
    server.faults.add("^/key$", [{"status": 403, "body": {"errCode": "Denied"}}])
    seen = []

    def parse_error(response, provider, key):
        seen.append((response.status_code, provider, key))
        return ProviderError("custom", provider=provider, key=key, status=response.status_code)

    transport, _sleeps, _debug = make()
    with pytest.raises(ProviderError, match="custom"):
        transport.request("GET", server.url + "/key", key="k2", parse_error=parse_error)
    assert seen == [(403, "obshell", "k2")]


def test_accept_statuses_hands_the_response_back(server):
    server.faults.add("^/key$", [{"status": 404, "body": {"message": "no such key"}}])
    transport, _sleeps, _debug = make()
    response = transport.request("GET", server.url + "/key", accept_statuses=(404,))
    assert response.status_code == 404


def test_redirect_is_an_error_not_followed(server):
    transport, _sleeps, _debug = make()
    with pytest.raises(ProviderError, match="redirected to https://elsewhere.example/key") as info:
        transport.request("GET", server.url + "/redirect")
    assert info.value.status == 302
    assert server.count("^/key$") == 0


# --- connection failures ----------------------------------------------------------------------

def test_dropped_connections_are_retried_then_succeed(server):
    server.faults.add("^/key$", [{"drop": True}, {"drop": True}])
    transport, sleeps, _debug = make(retries=3)
    assert transport.request("GET", server.url + "/key").json()["ok"] is True
    assert server.count("^/key$") == 3
    assert len(sleeps.delays) == 2


def test_dropped_connections_give_a_one_line_error(server):
    server.faults.add("^/key$", [{"drop": True}] * 5)
    transport, sleeps, _debug = make(retries=2)
    with pytest.raises(ProviderError) as info:
        transport.request("GET", server.url + "/key", key="k1")
    text = str(info.value)
    assert server.count("^/key$") == 3
    assert "\n" not in text
    assert re.search(r"closed the connection|cannot connect", text), text
    assert text.startswith("obshell: key k1: ") and text.endswith("(after 3 attempts)")
    assert "object at 0x" not in text and "urllib3" not in text


def _free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_unreachable_port_gives_a_one_line_error():
    port = _free_port()
    transport, sleeps, _debug = make(retries=1)
    with pytest.raises(ProviderError) as info:
        transport.request("GET", "http://127.0.0.1:%d/key" % port, key="k1")
    assert str(info.value) == "obshell: key k1: cannot connect to 127.0.0.1:%d: connection refused (after 2 attempts)" % port
    assert len(sleeps.delays) == 1


def test_timeout_error_mentions_the_timeout(server):
    server.faults.add("^/key$", [{"delay": 1.0}, {"delay": 1.0}])
    transport, _sleeps, _debug = make(retries=1, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        transport.request("GET", server.url + "/key", key="k1")
    assert time.monotonic() - started < 3
    text = str(info.value)
    assert "0.3s" in text and "\n" not in text
    assert text.startswith("obshell: key k1: timed out: no complete answer from 127.0.0.1:%d within 0.3s" % server.port)
    assert server.count("^/key$") == 2


def test_slow_answer_within_timeout_is_fine(server):
    server.faults.add("^/key$", [{"delay": 0.2}])
    transport, sleeps, _debug = make(retries=0, timeout=2)
    assert transport.request("GET", server.url + "/key").status_code == 200


# --- bodies -------------------------------------------------------------------------------------

def test_html_body_is_a_clear_error(server):
    server.faults.add("^/key$", [{"html": True, "status": 200}])
    transport, _sleeps, _debug = make()
    response = transport.request("GET", server.url + "/key", key="k1")
    with pytest.raises(ProviderError) as info:
        transport.json(response, "k1")
    assert "an HTML page where JSON was expected" in str(info.value)
    assert info.value.status == 200


def test_html_error_page_after_retries(server):
    server.faults.add("^/key$", [{"html": True, "status": 502}] * 3)
    transport, _sleeps, _debug = make(retries=2)
    with pytest.raises(ProviderError) as info:
        transport.request("GET", server.url + "/key", key="k1")
    assert str(info.value) == "obshell: key k1: request failed with an HTML page (HTTP 502)"
    assert server.count("^/key$") == 3


@pytest.mark.parametrize("path,fault,fragment", [
    ("/key", {"malformed": True}, "a body that is not JSON (application/json)"),
    ("/empty", None, "an empty body"),
    ("/text", None, "a body that is not JSON (text/plain)"),
])
def test_json_names_what_came_instead(server, path, fault, fragment):
    if fault:
        server.faults.add("^%s$" % path, [fault])
    transport, _sleeps, _debug = make()
    response = transport.request("GET", server.url + path)
    with pytest.raises(ProviderError, match=re.escape(fragment)):
        transport.json(response, "k")


def test_json_returns_the_body(server):
    transport, _sleeps, _debug = make()
    assert transport.json(transport.request("GET", server.url + "/key"))["path"] == "/key"


# --- TLS ------------------------------------------------------------------------------------------

def test_tls_without_ca_fails_with_one_line(tls_server, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    transport, sleeps, _debug = make(retries=3)
    with pytest.raises(ProviderError) as info:
        transport.request("GET", tls_server.url + "/key", key="k1")
    text = str(info.value)
    assert text.startswith("obshell: key k1: TLS handshake with %s failed" % tls_server.address)
    assert "certificate verify failed" in text and "ca_path" in text and "\n" not in text
    assert text.count("(") == text.count(")") and "_ssl.c" not in text, text
    assert sleeps.delays == []  # certificate problems are not retried


def test_tls_with_ca_path_succeeds(tls_server, pki):
    transport, _sleeps, _debug = make(ca_path=pki["ca.pem"])
    assert transport.request("GET", tls_server.url + "/key").json()["ok"] is True


def test_tls_without_validation_succeeds(tls_server):
    transport, _sleeps, _debug = make(validate_certs=False)
    assert transport.request("GET", tls_server.url + "/key").status_code == 200


def test_ca_path_wins_over_env_bundles(tls_server, pki, tmp_path, monkeypatch):
    wrong = make_pki(str(tmp_path / "other"))["ca.pem"]
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, wrong)
    # The environment really is wrong: without ca_path the handshake fails ...
    transport, _sleeps, _debug = make()
    with pytest.raises(ProviderError, match="certificate verify failed"):
        transport.request("GET", tls_server.url + "/key")
    # ... and ca_path overrides it.
    transport, _sleeps, _debug = make(ca_path=pki["ca.pem"])
    assert transport.request("GET", tls_server.url + "/key").status_code == 200


def test_env_bundle_is_used_without_ca_path(tls_server, pki, monkeypatch):
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki["ca.pem"])
    transport, _sleeps, _debug = make()
    assert transport.request("GET", tls_server.url + "/key").status_code == 200


# --- signing, headers, logging ------------------------------------------------------------------

def test_sign_runs_before_every_attempt(server):
    server.faults.add("^/key$", [{"status": 503, "body": {}}, {"status": 502, "body": {}}])
    calls = []

    def sign(prepared):
        calls.append(prepared)
        prepared.headers["X-Signature"] = "sig-%d-%f" % (len(calls), time.time())

    transport, _sleeps, _debug = make(retries=3)
    response = transport.request("POST", server.url + "/key", json_body={"a": 1}, sign=sign)
    sent = [r["headers"].get("X-Signature") for r in server.requests if r["path"] == "/key"]
    assert len(calls) == 3 and len(sent) == 3
    assert len(set(sent)) == 3 and all(s.startswith("sig-%d-" % (i + 1)) for i, s in enumerate(sent))
    assert response.json()["signature"] == sent[-1]
    # Each attempt is a fresh PreparedRequest, so a signature cannot leak into the next attempt's canonical form.
    assert len({id(p) for p in calls}) == 3


def _galaxy_version():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return re.search(r"^version:\s*['\"]?([^'\"\s]+)", handle.read(), re.M).group(1)


def test_user_agent_names_the_collection_and_version(server):
    transport, _sleeps, _debug = make()
    transport.request("GET", server.url + "/key")
    agent = server.requests[-1]["headers"]["User-Agent"]
    assert agent.startswith("keyward.keys/%s " % _galaxy_version())
    assert "python-requests/" in agent


def test_debug_lines_carry_no_headers_bodies_or_query(server):
    server.faults.add("^/key$", [{"status": 503, "body": {}}])
    transport, _sleeps, debug = make()

    def sign(prepared):
        prepared.headers["Authorization"] = "SECRET-SIGNATURE-VALUE"

    transport.request("POST", server.url + "/key?token=QUERY-SECRET", json_body={"password": "BODY-SECRET"}, sign=sign)
    assert debug, "expected debug lines"
    joined = "\n".join(debug)
    for secret in ("SECRET-SIGNATURE-VALUE", "QUERY-SECRET", "BODY-SECRET"):
        assert secret not in joined
    assert "HTTP 503" in joined and "HTTP 200" in joined


# --- backoff and options ------------------------------------------------------------------------

def test_backoff_grows_and_is_jittered_within_bounds(monkeypatch):
    for attempt in range(8):
        step = min(_retry_timing.BACKOFF_MAX, _retry_timing.BACKOFF_BASE * 2 ** attempt)
        monkeypatch.setattr(random, "uniform", lambda a, b: a)
        low = _retry_timing.backoff_seconds(attempt)
        monkeypatch.setattr(random, "uniform", lambda a, b: b)
        high = _retry_timing.backoff_seconds(attempt)
        assert low == pytest.approx(step / 2) and high == pytest.approx(step)
    monkeypatch.undo()
    samples = {attempt: [_retry_timing.backoff_seconds(attempt) for dummy in range(200)] for attempt in range(4)}
    for attempt, values in samples.items():
        step = _retry_timing.BACKOFF_BASE * 2 ** attempt
        assert all(step / 2 <= v <= step for v in values)
        assert len(set(values)) > 100  # jittered, not constant
    assert min(samples[3]) > max(samples[1])  # grows
    assert max(_retry_timing.backoff_seconds(50) for dummy in range(50)) <= _retry_timing.BACKOFF_MAX


@pytest.mark.parametrize("kwargs,fragment", [
    ({"timeout": 0}, "greater than 0"),
    ({"timeout": "soon"}, "number of seconds"),
    ({"retries": -1}, "0 or more"),
    ({"retries": "many"}, "whole number"),
])
def test_invalid_options_are_option_errors(kwargs, fragment):
    with pytest.raises(OptionError, match=fragment):
        Transport("obshell", **kwargs)


def test_verify_setting(pki):
    assert Transport("p", ca_path=pki["ca.pem"]).verify == pki["ca.pem"]
    assert Transport("p", validate_certs=False, ca_path="/x/ca.pem").verify is False
    assert Transport("p").verify is True


def test_missing_ca_path_is_a_one_line_option_error():
    with pytest.raises(OptionError) as info:
        Transport("p", ca_path="/nonexistent/ca.pem")
    assert str(info.value) == ("ca_path /nonexistent/ca.pem is not a readable file (a PEM bundle of CA "
                               "certificates)")


# --- requests that must not run twice (idempotent=False) -------------------------------------

@pytest.mark.parametrize("status", [500, 502, 504])
def test_non_idempotent_request_is_not_retried_after_the_server_may_have_acted(server, status):
    server.faults.add("^/write$", [{"status": status, "body": {"message": "failed"}}])
    transport, sleeps, _debug = make(retries=3)
    with pytest.raises(ProviderError) as info:
        transport.request("POST", server.url + "/write", key="k1", json_body={"a": 1}, idempotent=False)
    assert info.value.status == status
    assert server.count("^/write$") == 1 and sleeps.delays == []


@pytest.mark.parametrize("status", [429, 503])
def test_non_idempotent_request_is_retried_when_the_server_did_not_act(server, status):
    server.faults.add("^/write$", [{"status": status, "body": {"message": "busy"}}])
    transport, sleeps, _debug = make(retries=3)
    response = transport.request("POST", server.url + "/write", json_body={"a": 1}, idempotent=False)
    assert response.status_code == 200
    assert server.count("^/write$") == 2 and len(sleeps.delays) == 1


def test_non_idempotent_request_is_not_resent_after_a_dropped_connection(server):
    server.faults.add("^/write$", [{"drop": True}])
    transport, sleeps, _debug = make(retries=3)
    with pytest.raises(ProviderError):
        transport.request("POST", server.url + "/write", json_body={"a": 1}, idempotent=False)
    assert server.count("^/write$") == 1 and sleeps.delays == []


def test_non_idempotent_request_is_retried_when_no_connection_was_made():
    port = _free_port()
    transport, sleeps, _debug = make(retries=2)
    with pytest.raises(ProviderError) as info:
        transport.request("POST", "http://127.0.0.1:%d/write" % port, json_body={}, idempotent=False)
    assert transport.attempts == 3 and len(sleeps.delays) == 2
    assert str(info.value).endswith("connection refused (after 3 attempts)")
