# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the transport promises (INTERFACE.md) and the contract's auth strategies and profiles,
over real HTTP on loopback: whole-attempt deadlines, the body cap, no .netrc, proxies, TLS
warnings, Digest, token refresh, provider error codes, envelopes and secret masking."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import warnings

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._api_profile import ApiProfile
from ansible_collections.keyward.keys.plugins.module_utils._auth import Digest, TokenLogin, parse_challenge
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError, TimedOutError
from ansible_collections.keyward.keys.plugins.module_utils._pager import number_pages, token_pages
from ansible_collections.keyward.keys.plugins.module_utils._transport import MAX_BODY, Transport
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer, Response


class RawServer(object):
    """A loopback TCP server whose every connection is answered by handler(conn)."""

    def __init__(self, handler):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.connections = 0
        self._stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self._stop:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            conn.recv(65536)
            self.handler(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self._stop = True
        self.sock.close()


def trickle(conn):
    """Headers at once, then one byte of body every 0.2 s, for a minute."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 300\r\n\r\n")
    for _byte in range(300):
        conn.sendall(b" ")
        time.sleep(0.2)


def trickle_headers(conn):
    """The status line and headers, one byte every 0.2 s."""
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 300:
        conn.sendall(bytes([byte]))
        time.sleep(0.2)


def huge(conn):
    """A 100 MB answer without a Content-Length (chunked), as fast as the socket takes it."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b" " * 65536
    for _chunk in range(1600):
        conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def huge_announced(conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{")


def make(retries=0, timeout=1.0, **kwargs):
    return Transport("test_provider", timeout=timeout, retries=retries, sleep=lambda s: None, **kwargs)


# --- whole-attempt deadline ---------------------------------------------------------------------

@pytest.mark.parametrize("handler", [trickle, trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_cannot_hold_an_attempt(handler):
    server = RawServer(handler)
    try:
        started = time.monotonic()
        with pytest.raises(TimedOutError) as info:
            make(timeout=1.0).request("GET", "http://127.0.0.1:%d/key" % server.port, key="k1")
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert elapsed < 3.0, elapsed  # one 1 s attempt, not 60 s of trickle
    assert "timed out" in str(info.value) and "\n" not in str(info.value)


def test_each_retry_gets_its_own_deadline():
    server = RawServer(trickle)
    try:
        started = time.monotonic()
        with pytest.raises(TimedOutError) as info:
            make(retries=1, timeout=0.5).request("GET", "http://127.0.0.1:%d/key" % server.port, key="k1")
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert server.connections == 2 and elapsed < 3.0
    assert "(after 2 attempts)" in str(info.value)


# --- the body cap -------------------------------------------------------------------------------

@pytest.mark.parametrize("handler", [huge, huge_announced], ids=["streamed", "announced"])
def test_answers_over_4_mib_are_refused_early(handler):
    server = RawServer(handler)
    try:
        with pytest.raises(ProviderError) as info:
            make(timeout=10).request("GET", "http://127.0.0.1:%d/key" % server.port, key="k1")
    finally:
        server.close()
    assert "too large" in str(info.value) and "4 MiB" in str(info.value)


def test_the_cap_is_4_mib():
    assert MAX_BODY == 4 * 1024 * 1024


# --- environment: no .netrc, proxies honoured ---------------------------------------------------

class Echo(object):
    def handle(self, request):
        return Response.json(200, {"authorization": request.header("Authorization"), "target": request.target})


@pytest.fixture(scope="module")
def echo():
    with EmulatorServer(Echo()) as srv:
        yield srv


def test_netrc_credentials_are_never_sent(echo, tmp_path, monkeypatch):
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login stolen password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    reply = make().request("GET", echo.url + "/key")
    assert reply.json()["authorization"] is None
    assert echo.requests[-1]["headers"].get("Authorization") is None


def test_proxy_variables_are_honoured(echo, monkeypatch):
    # The "proxy" is the echo server itself: a request through a proxy carries the absolute URL.
    monkeypatch.setenv("HTTP_PROXY", echo.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    reply = make().request("GET", "http://keys.example.invalid/key")
    assert reply.json()["target"] == "http://keys.example.invalid/key"
    monkeypatch.setenv("NO_PROXY", "keys.example.invalid")
    with pytest.raises(ProviderError):
        make().request("GET", "http://keys.example.invalid/key")


# --- TLS settings -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_echo(tmp_path_factory):
    pki = make_pki(str(tmp_path_factory.mktemp("pki")))
    with EmulatorServer(Echo(), tls=pki) as srv:
        yield srv


def test_validate_certs_false_warns_once_per_endpoint_and_silences_only_that_host(tls_echo):
    seen = []
    transport = make(validate_certs=False, warn=seen.append)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _request in range(3):
            transport.request("GET", tls_echo.url + "/key")
    assert len(seen) == 1 and "127.0.0.1" in seen[0] and "not checked" in seen[0]
    assert not [w for w in caught if "Unverified HTTPS request" in str(w.message)]
    # urllib3's warning is silenced for that host only, not for the whole process.
    import urllib3

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.filterwarnings("ignore", message=r"Unverified HTTPS request is being made to host '127\.0\.0\.1'")
        warnings.warn("Unverified HTTPS request is being made to host 'other.example'", urllib3.exceptions.InsecureRequestWarning)
    assert len(caught) == 1


def test_missing_ca_path_is_a_one_line_option_error():
    with pytest.raises(OptionError) as info:
        make(ca_path="/nonexistent/ca.pem")
    assert "ca_path /nonexistent/ca.pem" in str(info.value)


# --- Digest -------------------------------------------------------------------------------------

class DigestApp(object):
    """RFC 7616 Digest, qop=auth, MD5 or SHA-256; a new nonce after `nonce_uses` requests."""

    def __init__(self, user, password, algorithm="MD5", nonce_uses=100):
        self.user, self.password, self.algorithm, self.nonce_uses = user, password, algorithm, nonce_uses
        self.nonce, self.uses, self.last_nc = None, 0, 0

    def _new_nonce(self, stale=False):
        self.nonce, self.uses, self.last_nc = os.urandom(8).hex(), 0, 0
        return Response.json(401, {"error": "unauthorized"}, {"WWW-Authenticate": 'Digest realm="keys", nonce="%s", '
                             'opaque="op", qop="auth", algorithm=%s%s' % (self.nonce, self.algorithm,
                                                                          ", stale=true" if stale else "")})

    def handle(self, request):
        params = parse_challenge(request.header("Authorization"))
        if params is None or self.nonce is None:
            return self._new_nonce()

        def h(text):
            return hashlib.new(self.algorithm.replace("-", "").lower(), text.encode()).hexdigest()

        ha1 = h("%s:keys:%s" % (self.user, self.password))
        ha2 = h("%s:%s" % (request.method, request.target))
        expected = h("%s:%s:%s:%s:auth:%s" % (ha1, params["nonce"], params["nc"], params["cnonce"], ha2))
        if params.get("response") != expected or params.get("uri") != request.target:
            return Response.json(401, {"error": "bad digest"}, {"WWW-Authenticate": 'Digest realm="keys", nonce="%s", '
                                 'qop="auth", algorithm=%s' % (self.nonce, self.algorithm)})
        if params["nonce"] != self.nonce or self.uses >= self.nonce_uses:
            return self._new_nonce(stale=True)
        if int(params["nc"], 16) <= self.last_nc:
            return Response.json(401, {"error": "replayed nc"})
        self.last_nc = int(params["nc"], 16)
        self.uses += 1
        return Response.json(200, {"ok": True, "path": request.path})


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_challenge_is_one_counted_attempt(algorithm):
    app = DigestApp("ak", "sk#1", algorithm=algorithm, nonce_uses=2)
    debug = []
    with EmulatorServer(app) as server:
        transport = make(retries=0, debug=debug.append)
        auth = Digest("ak", "sk#1")
        for page in range(1, 5):
            reply = transport.request("GET", server.url + "/api/v2/maas/apikeys?pageNumber=%d" % page, auth=auth)
            assert reply.json()["ok"] is True
        # 4 logical requests = 4 attempts, although the first and the third (stale nonce) each
        # took a challenge round trip
        assert transport.attempts == 4
        assert server.count("/api/v2/maas/apikeys") == 6
    assert len([line for line in debug if "digest challenge, answered" in line]) == 2
    assert not [line for line in debug if "sk#1" in line]


def test_digest_wrong_password_fails_once_without_looping():
    app = DigestApp("ak", "right")
    with EmulatorServer(app) as server:
        with pytest.raises(ProviderError) as info:
            make(retries=3).request("GET", server.url + "/x", auth=Digest("ak", "wrong-secret"))
        assert server.count("/x") == 2  # challenge, one answer, no more
    assert info.value.status == 401 and "wrong-secret" not in str(info.value)


# --- token login: one refresh on 401 ------------------------------------------------------------

class TokenApp(object):
    def __init__(self):
        self.valid = set()

    def handle(self, request):
        if request.path == "/login":
            token = os.urandom(4).hex()
            self.valid = {token}
            return Response.json(200, {"token": token})
        if request.header("X-Auth-Token") in self.valid:
            return Response.json(200, {"ok": True})
        return Response.json(401, {"code": "Token.Expired", "message": "token expired"})


def test_token_login_is_refreshed_once_on_401():
    app = TokenApp()
    with EmulatorServer(app) as server:
        transport = make(retries=2)
        logins = []

        def login(stale):
            logins.append(stale)
            return transport.request("POST", server.url + "/login").json()["token"]

        auth = TokenLogin(login)
        assert transport.request("GET", server.url + "/key", auth=auth).json()["ok"]
        app.valid = set()  # revoked behind our back
        assert transport.request("GET", server.url + "/key", auth=auth).json()["ok"]
        assert len(logins) == 2 and logins[0] is None and logins[1] is not None
        app.valid = set()
        app.handle = lambda request: Response.json(401, {"code": "Token.Expired", "message": "no"})
        with pytest.raises(ProviderError) as info:
            transport.request("GET", server.url + "/key", auth=auth)
        assert info.value.status == 401 and len(logins) == 2  # refreshed once, never again


# --- API profiles ---------------------------------------------------------------------------------

class Profile(ApiProfile):
    request_id_headers = ("x-test-request-id",)
    retryable_codes = ("Throttling*",)
    hints = {"SignatureDoesNotMatch": "check the secret and this machine's clock"}

    def success_failure(self, body):
        if body.get("code") not in (None, "SUCCESS"):
            return body.get("code"), body.get("msg")
        return None

    def retry_after(self, headers):
        value = headers.get("x-test-retry-after-ms")
        return float(value) / 1000.0 if value else super(Profile, self).retry_after(headers)


class ProfileApp(object):
    def __init__(self):
        self.answers = []

    def handle(self, request):
        return self.answers.pop(0) if self.answers else Response.json(200, {"code": "SUCCESS", "data": 1})


@pytest.fixture
def profiled():
    app = ProfileApp()
    with EmulatorServer(app) as server:
        yield app, server


def test_provider_throttling_code_is_retried_with_its_own_retry_after(profiled):
    app, server = profiled
    app.answers = [Response.json(400, {"Code": "Throttling.User", "Message": "slow down"},
                                 {"x-test-retry-after-ms": "1500", "x-test-request-id": "r1"})]
    sleeps = []
    transport = Transport("test_provider", retries=2, sleep=sleeps.append, profile=Profile())
    assert transport.request("GET", server.url + "/k").json()["data"] == 1
    assert sleeps == [1.5]


def test_an_envelope_failure_on_200_is_an_error_with_code_and_request_id(profiled):
    app, server = profiled
    app.answers = [Response.json(200, {"code": "KMS_ERROR", "msg": "no public key", "requestId": "body-rid"})]
    with pytest.raises(ProviderError) as info:
        Transport("test_provider", retries=0, profile=Profile()).request("GET", server.url + "/k", key="tag1")
    error = info.value
    assert (error.status, error.code, error.request_id) == (200, "KMS_ERROR", "body-rid")
    assert str(error) == "test_provider: key tag1: no public key (HTTP 200, code KMS_ERROR, request id body-rid)"


def test_hints_are_appended_and_echoed_secrets_masked(profiled):
    app, server = profiled
    app.answers = [Response.json(403, {"Code": "SignatureDoesNotMatch",
                                       "Message": "string to sign was GET&sk=TopSecret-9"},
                                 {"x-test-request-id": "hdr-rid"})]
    transport = Transport("test_provider", retries=0, profile=Profile(), secrets=["TopSecret-9"])
    with pytest.raises(ProviderError) as info:
        transport.request("GET", server.url + "/k", key="k")
    text = str(info.value)
    assert "TopSecret-9" not in text and "********" in text
    assert "check the secret and this machine's clock" in text and "request id hdr-rid" in text


# --- the pager ------------------------------------------------------------------------------------

def test_token_pages_yield_each_item_once_and_refuse_a_loop():
    pages = {None: ([1, 2], "t1"), "t1": ([3], "t2"), "t2": ([4], "")}
    assert list(token_pages(lambda token: pages[token])) == [1, 2, 3, 4]
    looping = {None: ([1], "t1"), "t1": ([2], "t1")}
    with pytest.raises(ProviderError):
        list(token_pages(lambda token: looping[token]))


@pytest.mark.parametrize("served_size", [20, 7, 100])
def test_number_pages_survive_a_server_that_clamps_the_page_size(served_size):
    items = list(range(137))
    asked = []

    def fetch(number, size):
        asked.append((number, size))
        start = (number - 1) * served_size
        return items[start:start + served_size], len(items)

    assert list(number_pages(fetch, 100, item_id=lambda i: i)) == items
    assert all(size == 100 for _n, size in asked)


def test_number_pages_without_total_stop_on_an_empty_or_repeated_page():
    pages = {1: [1, 2], 2: [3], 3: []}
    assert list(number_pages(lambda n, s: (pages[n], None), 2, item_id=lambda i: i)) == [1, 2, 3]
    repeating = {1: [1, 2], 2: [1, 2]}
    assert list(number_pages(lambda n, s: (repeating[n], None), 2, item_id=lambda i: i)) == [1, 2]
