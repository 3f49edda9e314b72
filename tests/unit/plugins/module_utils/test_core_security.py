# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The transport's security promises (issue 18), over real HTTP(S) against hostile servers on
loopback: credentials with line breaks, masking before shortening, linear header parsing, the
listing budget, Digest negotiation, and bearer secrets over plain http://."""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _registry
from ansible_collections.keyward.keys.plugins.module_utils._auth import Digest, Signer, TokenLogin
from ansible_collections.keyward.keys.plugins.module_utils._errors import (
    MASK, OptionError, ProviderError, TimedOutError,
)
from ansible_collections.keyward.keys.plugins.module_utils._options import TRANSPORT, secret_names
from ansible_collections.keyward.keys.plugins.module_utils._pager import token_pages
from ansible_collections.keyward.keys.plugins.module_utils._provider import Provider, fetch_list, fetch_records
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
from ansible_collections.keyward.keys.plugins.plugin_utils._record_cache import RecordCache
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer, Response


class App(object):
    """An emulator app answering every request with answer(request) -> Response."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []

    def handle(self, request):
        self.requests.append(request)
        return self.answer(request)


@pytest.fixture
def serve():
    servers = []

    def start(answer, tls=None):
        server = EmulatorServer(App(answer), tls=tls).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def transport(secrets=(), **kwargs):
    kwargs.setdefault("timeout", 2.0)
    return Transport("test_provider", retries=0, sleep=lambda s: None, secrets=secrets, **kwargs)


# --- 1. a credential with a line break is refused before any request, never shown -------------

LINE_BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x85", "\u2028", "\u2029", "\x00"]


def _every_secret_option():
    for name in sorted(_registry.PROVIDERS):
        provider = _registry.load(name)
        for option in sorted(secret_names(*provider.tables())):
            yield name, option


@pytest.mark.parametrize("provider_name,option", list(_every_secret_option()))
@pytest.mark.parametrize("brk", ["\n", "\r\n", "\u2028"], ids=["lf", "crlf", "u2028"])
def test_every_secret_option_with_a_line_break_is_refused_before_any_request(serve, provider_name, option, brk):
    server = serve(lambda request: Response.json(200, {}))
    provider = _registry.load(provider_name)
    options = {name: None for table in provider.tables() for name in table}
    options.update({name: decl.get("default") for name, decl in TRANSPORT.items()})
    # Every endpoint-like option points at the server, which must see nothing.
    options.update({name: server.url for name in options if "endpoint" in name})
    head, tail = "first-part-of-%s" % option, "Injected-Header: evil-%s" % option
    options[option] = head + brk + tail
    for call in (lambda: fetch_records(provider, options, ["some-key"]),
                 lambda: fetch_list(provider, options),
                 lambda: provider.client(options)):
        with pytest.raises(OptionError) as info:
            call()
        message = str(info.value)
        assert option in message and "line break" in message and provider.name in message, message
        assert head not in message and "evil" not in message, message
    assert server.count() == 0


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_check_credentials_knows_every_line_break(brk):
    provider = _registry.load("huaweicloud_kms")
    with pytest.raises(OptionError):
        provider.check_credentials({"auth_token": "tok" + brk + "en"})
    provider.check_credentials({"auth_token": "tok\ten with a tab"})  # a tab is no line break


# --- 2. mask first, then shorten -----------------------------------------------------------------

STS_TOKEN = "STS." + "".join("%04x" % i for i in range(150))  # 604 characters
PASSWORD = "correct  horse\tbattery"


@pytest.mark.parametrize("secret", [STS_TOKEN, PASSWORD, "pass\nword-on-two-lines"], ids=["long", "tabs", "newline"])
@pytest.mark.parametrize("where", ["message", "code", "json_escaped"])
def test_an_echoed_secret_leaves_no_part_in_any_message(serve, secret, where):
    if where == "message":
        body = {"code": "Denied", "message": "token %s is not valid" % secret}
    elif where == "code":
        body = {"code": "Bad:" + secret, "message": "denied"}
    else:
        body = None

    def answer(request):
        if body is None:  # the request echoed as JSON text inside the message: the secret escaped
            return Response.json(400, {"message": "request was %s" % json.dumps({"token": secret})})
        return Response.json(400, body)

    server = serve(answer)
    with pytest.raises(ProviderError) as info:
        transport(secrets={"security_token": secret}).request("GET", server.url + "/k", key="k1")
    _assert_no_part(str(info.value), secret)


def test_an_error_shortened_before_it_is_scrubbed_is_still_masked(tmp_path):
    """A client's own error with the whole echo, masked by fetch_records' scrub and in the cache."""
    error = TimedOutError("cannot connect: proxy said " + STS_TOKEN, provider="p", key="k")
    _assert_no_part(str(error.scrubbed([STS_TOKEN])), STS_TOKEN)
    error = ProviderError("denied: " + PASSWORD, provider="p", status=403)
    _assert_no_part(str(error.scrubbed([PASSWORD])), PASSWORD)
    cache = RecordCache(directory=str(tmp_path / "c"))

    def failing():
        raise TimedOutError("timed out; the proxy echoed " + STS_TOKEN, provider="p", key="k")

    with pytest.raises(TimedOutError) as info:
        cache.get_or_fetch({"m": 1}, failing, secrets=[STS_TOKEN])
    _assert_no_part(str(info.value), STS_TOKEN)
    entries = list((tmp_path / "c").glob("*.json"))
    assert entries
    for path in entries:
        _assert_no_part(path.read_text(), STS_TOKEN)


def _assert_no_part(text, secret):
    assert MASK in text, text
    # No 16-character run of the secret survives, re-spaced or not.
    folded = " ".join(secret.split())
    for candidate in (secret, folded):
        for start in range(0, max(1, len(candidate) - 15)):
            assert candidate[start:start + 16] not in text, text
    assert folded not in text


# --- 3. linear parsing of what a server sends -----------------------------------------------------

HOSTILE_CHALLENGES = [
    "Digest " + "a" * 30000,
    "Digest realm=" + "a" * 30000,
    "Digest " + "a=" * 15000,
    "Digest " + "a " * 15000,
    'Digest realm="' + "\\a" * 15000,
    "Digest " + ", " * 15000,
]


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("challenge", HOSTILE_CHALLENGES, ids=range(len(HOSTILE_CHALLENGES)))
def test_a_huge_www_authenticate_header_costs_milliseconds(serve, challenge, count):
    server = serve(lambda request: Response.json(401, {"error": "no"}, {"WWW-Authenticate": [challenge] * count}))
    started = time.process_time()
    with pytest.raises(ProviderError):
        transport(timeout=2).request("GET", server.url + "/k", key="k1", auth=Digest("user", "pw"))
    assert time.process_time() - started < 1.0


def test_a_huge_alibaba_error_message_costs_milliseconds(serve):
    server = serve(lambda request: Response.json(400, {"Code": "X", "Message": " " * 100000 + "x",
                                                       "RequestId": "r"}))
    provider = _registry.load("alicloud_idaas")
    started = time.process_time()
    with pytest.raises(ProviderError):
        Transport("alicloud_idaas", retries=0, profile=provider.profile).request("GET", server.url + "/k", key="k")
    assert time.process_time() - started < 1.0


# --- 4. a budget for a whole listing --------------------------------------------------------------

def _listing_provider(page_bytes):
    class Client(object):
        def __init__(self, options, transport_):
            self.url, self.transport = options["endpoint"], transport_

        def list(self):
            def page(token):
                reply = self.transport.request("GET", self.url + "/list", params={"token": token or ""})
                body = reply.json()
                return body["items"], body["next"]

            return token_pages(page, provider="listing_test")

    return Provider("listing_test", "listing_test", {"endpoint": dict(type="str")}, Client, records=False)


def _endless_pages(page_bytes, last=None):
    """Pages of one item padded to page_bytes, each naming the next, up to page number `last`."""
    def answer(request):
        number = int(request.query.get("token") or 0)
        following = "" if last is not None and number >= last else str(number + 1)
        return Response.json(200, {"items": [{"n": number, "pad": "x" * page_bytes}], "next": following})
    return answer


def _options(server):
    options = {name: decl.get("default") for name, decl in TRANSPORT.items()}
    options.update(endpoint=server.url, retries=0, timeout=5.0)
    return options


def test_a_listing_has_a_byte_budget_in_all(serve):
    # 12 pages of 3 MiB: each under the 4 MiB page cap, 36 MiB in all.
    server = serve(_endless_pages(3 * 1024 * 1024, last=11))
    with pytest.raises(ProviderError) as info:
        fetch_list(_listing_provider(0), _options(server))
    assert "16 MiB" in str(info.value) and "\n" not in str(info.value)
    assert server.count() <= 6  # 5 pages fit, the sixth is refused while it is read


def test_a_listing_has_a_page_budget(serve):
    server = serve(_endless_pages(1))
    with pytest.raises(ProviderError) as info:
        fetch_list(_listing_provider(0), _options(server))
    assert "1,000 pages" in str(info.value) and server.count() == 1000


# --- 6. Digest negotiation --------------------------------------------------------------------------

def _digest_server(serve, challenges):
    """401 with the given WWW-Authenticate headers; 200 for an answer that is right for one of them."""

    def answer(request):
        sent = request.header("Authorization")
        if not sent:
            return Response.json(401, {"error": "auth"}, {"WWW-Authenticate": challenges})
        return Response.json(200, {"authorization": sent})

    return serve(answer)


def _answered(server):
    sent = server.app.requests[-1].header("Authorization")
    from ansible_collections.keyward.keys.plugins.module_utils._auth import parse_challenges

    return parse_challenges(sent)[0][1]


def _check_response(params, password, challenge_nonce, algorithm):
    name = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}[algorithm]

    def h(text):
        return hashlib.new(name, text.encode()).hexdigest()

    ha1 = h("%s:%s:%s" % (params["username"], params["realm"], password))
    ha2 = h("GET:%s" % params["uri"])
    assert params["nonce"] == challenge_nonce
    assert params["response"] == h("%s:%s:%s:%s:auth:%s" % (ha1, challenge_nonce, params["nc"], params["cnonce"], ha2))


@pytest.mark.parametrize("challenges,nonce,algorithm", [
    # Basic first in one joined header: the Digest one is still found and answered.
    (['Basic realm="k", Digest realm="k", nonce="n1", qop="auth", algorithm=SHA-256'], "n1", "SHA-256"),
    (['Basic realm="k"', 'Digest realm="k", nonce="n1", qop="auth", algorithm=SHA-256'], "n1", "SHA-256"),
    # Two Digest headers, the weaker last: the stronger wins, not the last one.
    (['Digest realm="k", nonce="n256", qop="auth", algorithm=SHA-256',
      'Digest realm="k", nonce="n5", qop="auth", algorithm=MD5'], "n256", "SHA-256"),
    (['DIGEST realm="k", nonce="n5", qop="auth", algorithm=md5',
      'digest realm="k", nonce="n512", qop="auth", algorithm=sha-512-256',
      'Digest realm="k", nonce="n256", qop="auth", algorithm=SHA-256'], "n512", "SHA-512-256"),
    (['Digest realm="k", nonce="n5", qop="auth", Digest realm="k", nonce="n256", qop="auth", algorithm=SHA-256'],
     "n256", "SHA-256"),
])
def test_digest_answers_the_strongest_challenge(serve, challenges, nonce, algorithm):
    server = _digest_server(serve, challenges)
    warnings = []
    reply = transport(warn=warnings.append).request("GET", server.url + "/k", auth=Digest("user", "pw"))
    assert reply.status_code == 200
    params = _answered(server)
    assert params.get("algorithm", "MD5").upper() == algorithm
    _check_response(params, "pw", nonce, algorithm)
    assert not any("MD5" in w or "qop" in w for w in warnings), warnings


@pytest.mark.parametrize("challenges,needle", [
    (['Digest realm="k", nonce="n", qop="auth", algorithm=MD5'], "MD5"),
    (['Digest realm="k", nonce="n", qop="auth"'], "MD5"),
    (['Digest realm="k", nonce="n", algorithm=SHA-256'], "qop"),
])
def test_digest_warns_about_weak_challenges_once(serve, challenges, needle):
    server = _digest_server(serve, challenges)
    warnings = []
    client = transport(warn=warnings.append)
    auth = Digest("user", "pw")
    for _dummy in range(2):
        assert client.request("GET", server.url + "/k", auth=auth).status_code == 200
        auth._challenge = None  # challenged again on the next request
    matching = [w for w in warnings if needle in w]
    assert len(matching) == 1 and server.address in matching[0], warnings


def test_only_basic_is_never_answered(serve):
    server = _digest_server(serve, ['Basic realm="k"'])
    with pytest.raises(ProviderError) as info:
        transport().request("GET", server.url + "/k", auth=Digest("user", "pw"))
    assert info.value.status == 401 and server.count() == 1
    assert not server.app.requests[-1].header("Authorization")


# --- 7. bearer secrets over plain http:// warn ---------------------------------------------------

TOKEN = "bearer-token-value-7q1"


@pytest.mark.parametrize("how", ["token_header", "json_body", "sts_header", "form_body"])
def test_a_bearer_secret_over_plain_http_warns_naming_the_endpoint(serve, how):
    server = serve(lambda request: Response.json(200, {"ok": True}))
    warnings = []
    # A form body encodes the space: the secret is found in its encoded spelling.
    secret = TOKEN + " with space" if how == "form_body" else TOKEN
    client = transport(secrets={"auth_token": secret}, warn=warnings.append)
    url = server.url + "/k"
    for _dummy in range(2):
        if how == "token_header":
            client.request("GET", url, auth=TokenLogin(lambda stale: TOKEN))
        elif how == "json_body":
            client.request("POST", url, json_body={"auth": {"password": TOKEN}})
        elif how == "sts_header":
            client.request("GET", url, headers={"x-acs-security-token": TOKEN})
        else:
            client.request("POST", url, data={"token": secret})
    assert len([w for w in warnings if "auth_token" in w]) == 1, warnings
    assert "http://%s" % server.address in warnings[0] and TOKEN not in warnings[0]


def test_no_warning_over_https_or_for_a_signature(serve, tmp_path):
    pki = make_pki(str(tmp_path / "pki"))
    tls = serve(lambda request: Response.json(200, {"ok": True}), tls=pki)
    plain = serve(lambda request: Response.json(200, {"ok": True}))
    warnings = []
    client = transport(secrets={"auth_token": TOKEN, "secret_key": "sk-value-1234"}, warn=warnings.append,
                       ca_path=pki["ca.pem"])
    client.request("GET", tls.url + "/k", auth=TokenLogin(lambda stale: TOKEN))
    signed = Signer(lambda prepared: prepared.headers.__setitem__(
        "Authorization", "HMAC " + hashlib.sha256(b"sk-value-1234").hexdigest()))
    client.request("GET", plain.url + "/k", auth=signed)
    client.request("GET", plain.url + "/k", auth=Digest("user", "sk-value-1234"))
    assert warnings == []
