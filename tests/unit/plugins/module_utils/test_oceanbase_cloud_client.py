# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OceanBase Cloud client on the provider contract, against the emulator on loopback: HTTP
Digest inside the transport (MD5 and SHA-256, one challenge per listing, stale nonces), the
required headers, paging (each key once, never more than 100 a page, a server that pages by
its own size), both error shapes, a 2xx that says it failed, the cache and the clock, and that
no API key value ever gets out."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.keyward.keys.plugins.module_utils.providers import _oceanbase_cloud as ob
from ansible_collections.keyward.keys.plugins.module_utils.providers import _oceanbase_cloud_expiry as expiry
from ansible_collections.keyward.keys.plugins.module_utils import _registry
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError
from ansible_collections.keyward.keys.plugins.module_utils._options import TRANSPORT
from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_list
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
from ansible_collections.keyward.keys.plugins.plugin_utils._record_cache import RecordCache
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

TOTAL = len(emu.KEY_IDS) + emu.FILLER_KEYS  # 137
WRONG_SECRET = "obWrongSecretThatMustNeverLeak-77"


@pytest.fixture(scope="module")
def md5_server():
    srv = EmulatorServer(emu.OceanBaseCloudEmulator()).start()
    yield srv
    srv.stop()


@pytest.fixture
def server(md5_server):
    md5_server.reset()
    md5_server.app.reset()
    md5_server.app.error_style = "errorCode"
    md5_server.app.force_page_size = None
    return md5_server


def options(server, **changes):
    values = dict(timeout=5.0, retries=0, validate_certs=True, ca_path=None, org_id=emu.ORG_ID,
                  project_id=emu.PROJECT_ID, access_key_id=emu.ACCESS_KEY_ID,
                  access_key_secret=emu.ACCESS_KEY_SECRET, site="global", endpoint=server.url, page_size=100)
    values.update(changes)
    return values


def client(server, **changes):
    opts = options(server, **changes)
    return ob.OceanBaseCloudClient.from_options(opts, Transport(ob.NAME, timeout=5, retries=opts["retries"],
                                                                profile=ob.PROFILE, sleep=lambda s: None,
                                                                secrets=[opts["access_key_secret"]]))


def _ids(records):
    return [r["id"] for r in records]


# --- the declaration -------------------------------------------------------------------------------

def test_provider_declaration():
    provider = _registry.load("oceanbase_cloud")
    assert provider is ob.PROVIDER
    assert provider.name == ob.NAME == "oceanbase_cloud" and provider.var_prefix == "oceanbase_cloud"
    assert provider.records is False and provider.finish is not None
    assert provider.tables() == (TRANSPORT, ob.OPTIONS)
    assert provider.secrets(dict(access_key_secret="s3", access_key_id="AK")) == ["s3"]


# --- Digest ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", emu.ALGORITHMS)
def test_digest_one_challenge_for_a_whole_listing(algorithm):
    """-sess included: the emulator keys the session on the first answer's cnonce (RFC 7616
    3.4.2), so 14 pages under one challenge pass only if the client keeps that session key."""
    app = emu.OceanBaseCloudEmulator(algorithm=algorithm)
    with EmulatorServer(app) as srv:
        c = client(srv, page_size=10)
        records = c.list()
        assert len(records) == TOTAL and len(set(_ids(records))) == TOTAL
        assert app.challenges == 1  # only the first request is challenged; later pages reuse it
        assert len(app.calls) == 14 and srv.count() == 15
        assert c.transport.attempts == 14  # the challenge and its answer are one attempt


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-sess", "SHA-256"])
def test_the_emulator_accepts_requests_own_digest(algorithm):
    """requests.auth.HTTPDigestAuth as an oracle of the emulator's Digest (its -sess included)."""
    import requests

    with EmulatorServer(emu.OceanBaseCloudEmulator(algorithm=algorithm)) as srv:
        answer = requests.get(srv.url + ob.PATH, params={"pageNumber": 1, "pageSize": 10},
                              headers=ob.request_headers(emu.ORG_ID, emu.PROJECT_ID, "rid-1"),
                              auth=requests.auth.HTTPDigestAuth(emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET), timeout=5)
        assert answer.status_code == 200, answer.text
        wrong = requests.get(srv.url + ob.PATH, headers=ob.request_headers(emu.ORG_ID, emu.PROJECT_ID, "rid-2"),
                             auth=requests.auth.HTTPDigestAuth(emu.ACCESS_KEY_ID, WRONG_SECRET), timeout=5)
        assert wrong.status_code == 401


def test_an_unsupported_digest_algorithm_is_named():
    app = emu.OceanBaseCloudEmulator()
    app.algorithm = "SHA-1"  # not an RFC 7616 algorithm
    with EmulatorServer(app) as srv:
        with pytest.raises(ProviderError) as caught:
            client(srv).list()
        message = str(caught.value)
        assert "algorithm SHA-1, which this client does not support" in message
        assert message.startswith("oceanbase_cloud: ListAIServiceAPIKeys page 1: the server asks")
        assert "HTTP 401" in message and "\n" not in message
        assert len(app.calls) == 0 and srv.count() == 1  # nothing was answered


def test_a_stale_nonce_is_answered_again(server):
    c = client(server, page_size=50)
    assert len(c.list()) == TOTAL
    server.app.expire_nonces()
    server.app.reset()
    assert len(c.list()) == TOTAL
    assert server.app.stale_challenges == 1 and server.app.challenges == 1


def test_wrong_secret_is_one_attempt_and_one_line_without_the_secret(server):
    c = client(server, access_key_secret=WRONG_SECRET, retries=3)
    with pytest.raises(ProviderError) as info:
        c.list()
    exc = info.value
    assert exc.status == 401 and exc.code == "UNAUTHORIZED" and exc.request_id
    assert str(exc).startswith("oceanbase_cloud: ")
    assert "(HTTP 401, code UNAUTHORIZED, request id %s)" % exc.request_id in str(exc)
    assert "\n" not in str(exc) and WRONG_SECRET not in str(exc)
    assert c.transport.attempts == 1 and server.app.calls == []


def test_unknown_access_key_id(server):
    with pytest.raises(ProviderError) as info:
        client(server, access_key_id="OBNOSUCHKEY").list()
    assert info.value.status == 401


# --- headers and paging ----------------------------------------------------------------------------

def test_headers_and_a_fresh_request_id_per_request(server):
    client(server, page_size=7).list()
    calls = server.app.calls
    assert len(calls) == 20
    assert {(c["org_id"], c["project_id"], c["access_key_id"]) for c in calls} == {
        (emu.ORG_ID, emu.PROJECT_ID, emu.ACCESS_KEY_ID)}
    assert len({c["request_id"] for c in calls}) == len(calls)


@pytest.mark.parametrize("page_size", [1, 7, 10, 20, 99, 100])
def test_each_key_exactly_once_in_service_order(server, page_size):
    records = client(server, page_size=page_size).list()
    assert _ids(records) == [item["id"] for item in server.app.keys()]
    assert all(call["page_size"] <= 100 for call in server.app.calls)


def test_a_server_that_pages_by_its_own_size(server):
    server.app.force_page_size = 20
    records = client(server, page_size=100).list()
    assert _ids(records) == [item["id"] for item in server.app.keys()]
    assert [c["page_number"] for c in server.app.calls] == list(range(1, 8))


def test_the_service_clamps_above_100_so_the_client_never_asks(server):
    c = client(server)
    with pytest.raises(OptionError):
        c.page(1, 101)
    assert server.count() == 0
    with pytest.raises(OptionError, match="page_size 101 is out of range"):
        client(server, page_size=101)
    # What the client avoids: the service answers 20 keys to a request for 101.
    records, total = client(server).page(1, 100)
    assert len(records) == 100 and total == TOTAL


def test_an_empty_project(server):
    assert client(server, project_id=emu.EMPTY_PROJECT_ID).list() == []


# --- options -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["org_id", "project_id", "access_key_id", "access_key_secret"])
def test_missing_options_fail_before_any_request(server, missing):
    with pytest.raises(OptionError) as info:
        client(server, **{missing: None})
    assert missing in str(info.value)
    with pytest.raises(OptionError):
        client(server, **{missing: "  "})
    assert server.count() == 0


def test_blank_endpoint_means_the_site(server):
    c = client(server, endpoint="", site="china")
    assert c.url == "https://api-cloud-cn.oceanbase.com/api/v2/maas/apikeys"
    assert client(server, endpoint=None, site=None).url == "https://api-cloud.oceanbase.com/api/v2/maas/apikeys"


# --- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["errorCode", "successful"])
def test_unknown_project_and_org_in_both_error_shapes(server, style):
    server.app.error_style = style
    with pytest.raises(ProviderError) as info:
        client(server, project_id="proj-nope").list()
    exc = info.value
    assert exc.status == 404 and exc.request_id and "project proj-nope does not exist" in str(exc)
    assert exc.code == ("NOT_FOUND" if style == "errorCode" else None)
    with pytest.raises(ProviderError) as info:
        client(server, org_id="org-nope").list()
    assert info.value.status == 403 and "org-nope" in str(info.value)


@pytest.mark.parametrize("body, code, message", [
    ({"success": False, "errorCode": "E001R000", "errorMessage": "Unknown Error", "requestId": "rid-200-a"},
     "E001R000", "Unknown Error"),
    ({"successful": False, "message": "quota exceeded", "requestId": "rid-200-a"}, None, "quota exceeded"),
])
def test_a_2xx_that_says_it_failed(server, body, code, message):
    server.faults.add(ob.PATH, [{"status": 200, "body": body}])
    with pytest.raises(ProviderError) as info:
        client(server).list()
    exc = info.value
    assert (exc.status, exc.code, exc.request_id) == (200, code, "rid-200-a")
    assert message in str(exc)


def test_an_answer_without_data_list(server):
    server.faults.add(ob.PATH, [{"status": 200, "body": {"success": True, "requestId": "rid-x"}}])
    with pytest.raises(ProviderError, match="no data object.*request id rid-x"):
        client(server).list()


def test_transient_errors_are_retried(server):
    server.faults.add(ob.PATH, [{"status": 503, "body": {"success": False, "errorCode": "BUSY",
                                                         "errorMessage": "busy", "requestId": "r"}}])
    assert len(client(server, retries=2).list()) == TOTAL


def test_a_provider_echoing_the_secret_is_masked(server):
    server.faults.add(ob.PATH, [{"status": 400, "body": {"success": False, "errorCode": "INVALID_PARAMETER",
                                                         "errorMessage": "bad secret " + emu.ACCESS_KEY_SECRET,
                                                         "requestId": "r1"}}])
    with pytest.raises(ProviderError) as info:
        fetch_list(ob.PROVIDER, options(server))
    assert emu.ACCESS_KEY_SECRET not in str(info.value)


# --- no secret, the cache and the clock ---------------------------------------------------------------

def test_no_api_key_value_is_ever_returned(server):
    records = fetch_list(ob.PROVIDER, options(server))
    dumped = json.dumps(records)
    assert all(value not in dumped for value in server.app.api_key_values())
    assert all(set(r) == set(expiry.ENTRY_FIELDS) for r in records)


def test_the_cache_holds_clock_free_records_and_expiry_is_computed_per_call(server, tmp_path):
    cache = RecordCache(directory=str(tmp_path / "cache"))

    def key(term):
        return {"provider": ob.NAME, "term": term}

    first = fetch_list(ob.PROVIDER, options(server), cache=cache, cache_key=key)
    second = fetch_list(ob.PROVIDER, options(server), cache=cache, cache_key=key)
    assert len(server.app.calls) == 2  # one listing (two pages of 100) for both calls
    assert first == second and len(first) == TOTAL
    stored = json.dumps([json.load(open(str(p))) for p in (tmp_path / "cache").glob("*.json")])
    assert "expires_in_days" not in stored and '"expired"' not in stored
    assert all(value not in stored for value in server.app.api_key_values())
    assert emu.ACCESS_KEY_SECRET not in stored
    # Later, the same cached records give other countdowns.
    records = cache.get_or_fetch(key(""), lambda: pytest.fail("refetched"))
    later = ob.finish(records, None, now=time.time() + 5 * 86400)
    by_id = {r["id"]: r for r in later}
    soon = by_id[emu.KEY_IDS["expiring_10d"]]
    assert soon["expires_in_days"] == 5 and not soon["expired"]
    assert by_id[emu.KEY_IDS["expiring_2d"]]["expired"] is True
    assert by_id[emu.KEY_IDS["never_null"]]["expires_in_days"] is None


def test_expiring_within_days_on_listed_records(server):
    records = fetch_list(ob.PROVIDER, options(server))
    assert _ids(ob.expiring_within(records, 14)) == [emu.KEY_IDS["expired"], emu.KEY_IDS["expiring_2d"],
                                                     emu.KEY_IDS["expiring_10d"]]
    assert _ids(ob.expiring_within(records, 0)) == [emu.KEY_IDS["expired"]]
