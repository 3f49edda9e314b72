# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The OceanBase Cloud emulator speaks real HTTP Digest: standard clients (requests'
HTTPDigestAuth, curl --digest) get in, wrong secrets, replays, stale nonces, missing headers
and odd paging are answered the way the service documents."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
import requests
from requests.auth import HTTPDigestAuth

from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as emu
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="the curl binary is not installed, so curl --digest cannot be tried")


class FakeClock(object):
    def __init__(self, now=1767225600.0):  # 2026-01-01T00:00:00Z
        self.now = now

    def __call__(self):
        return self.now


def headers(org=emu.ORG_ID, project=emu.PROJECT_ID, request_id=True):
    out = {}
    if org is not None:
        out["X-OB-Org-Id"] = org
    if project is not None:
        out["X-OB-Project-Id"] = project
    if request_id:
        out["X-Request-Id"] = str(uuid.uuid4())
    return out


AUTH = HTTPDigestAuth(emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("obcloud-pki")))


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def app(clock):
    return emu.OceanBaseCloudEmulator(clock=clock)


@pytest.fixture
def server(app):
    with EmulatorServer(app) as srv:
        yield srv


def get(server, params=None, auth=AUTH, hdrs=None, session=None, **kwargs):
    caller = session or requests
    return caller.get(server.url + emu.PATH, params=params, auth=auth,
                      headers=headers() if hdrs is None else hdrs, timeout=10, **kwargs)


def challenge_params(response):
    value = response.headers["WWW-Authenticate"]
    scheme, _sep, rest = value.partition(" ")
    assert scheme == "Digest"
    return emu.parse_digest_params(rest)


def assert_classic_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["errorCode"] == code
    assert body["errorMessage"]
    assert body["requestId"]
    return body


# --- the challenge ---------------------------------------------------------------------------------

def test_request_without_credentials_gets_a_digest_challenge(server):
    response = get(server, auth=None)
    assert_classic_error(response, 401, "UNAUTHORIZED")
    params = challenge_params(response)
    assert params["realm"] == emu.REALM
    assert params["qop"] == "auth"
    assert params["algorithm"] == "MD5"
    assert params["nonce"] and params["opaque"]
    assert "stale" not in params
    # every challenge carries a fresh nonce
    assert challenge_params(get(server, auth=None))["nonce"] != params["nonce"]


def test_basic_credentials_are_refused_with_a_digest_challenge(server):
    response = get(server, auth=(emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET))  # requests' Basic
    assert_classic_error(response, 401, "UNAUTHORIZED")
    assert response.headers["WWW-Authenticate"].startswith("Digest ")


# --- requests' HTTPDigestAuth as the client ----------------------------------------------------------

@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-sess"])
def test_requests_digest_auth_gets_in(clock, algorithm):
    app = emu.OceanBaseCloudEmulator(clock=clock, algorithm=algorithm)
    with EmulatorServer(app) as server:
        response = get(server, params={"pageNumber": 1, "pageSize": 5})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and body["action"] == "ListAIServiceAPIKeys"
        assert len(body["data"]["list"]) == 5 and body["data"]["total"] == len(app.keys())
        assert app.challenges == 1
        assert app.calls[0]["access_key_id"] == emu.ACCESS_KEY_ID


def test_requests_session_reuses_the_nonce_with_a_growing_count(server, app):
    session = requests.Session()
    auth = HTTPDigestAuth(emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET)
    for page in (1, 2, 3):
        assert get(server, params={"pageNumber": page}, auth=auth, session=session).status_code == 200
    assert app.challenges == 1  # one 401 round trip, then the nonce is reused
    sent = [emu.parse_digest_params(r["headers"]["Authorization"][7:]) for r in server.requests
            if "Authorization" in r["headers"]]
    assert [p["nc"] for p in sent] == ["00000001", "00000002", "00000003"]
    assert len({p["nonce"] for p in sent}) == 1


def test_the_request_id_is_echoed(server):
    hdrs = headers()
    assert get(server, hdrs=hdrs).json()["requestId"] == hdrs["X-Request-Id"]


# --- curl --digest as the client ---------------------------------------------------------------------

def curl(url, user, cafile, hdrs=None, extra=()):
    cmd = [CURL, "--silent", "--show-error", "--digest", "--user", user, "--cacert", cafile,
           "--write-out", "\n%{http_code}", "--max-time", "20"]
    for name, value in (headers() if hdrs is None else hdrs).items():
        cmd += ["--header", "%s: %s" % (name, value)]
    cmd += list(extra) + [url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    body, _sep, status = proc.stdout.rpartition("\n")
    return int(status), json.loads(body)


@needs_curl
@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_curl_digest_gets_in_over_https(clock, pki, algorithm):
    app = emu.OceanBaseCloudEmulator(clock=clock, algorithm=algorithm)
    with EmulatorServer(app, tls=pki) as server:
        url = server.url + emu.PATH + "?pageNumber=2&pageSize=100"
        status, body = curl(url, "%s:%s" % (emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET), pki["ca.pem"])
        assert status == 200, body
        assert body["data"]["total"] == len(app.keys())
        assert [item["id"] for item in body["data"]["list"]] == [item["id"] for item in app.keys()[100:200]]
        assert app.challenges == 1
        sent = emu.parse_digest_params(server.requests[-1]["headers"]["Authorization"][7:])
        assert sent["uri"] == emu.PATH + "?pageNumber=2&pageSize=100"
        assert sent["qop"] == "auth" and sent["nc"] == "00000001"


@needs_curl
def test_curl_with_a_wrong_secret_is_refused(server, pki, clock):
    app = emu.OceanBaseCloudEmulator(clock=clock)
    with EmulatorServer(app, tls=pki) as tls_server:
        status, body = curl(tls_server.url + emu.PATH, "%s:not-the-secret" % emu.ACCESS_KEY_ID, pki["ca.pem"])
    assert status == 401
    assert body["success"] is False and body["errorCode"] == "UNAUTHORIZED"
    assert app.calls == []


# --- refusals -----------------------------------------------------------------------------------------

def test_a_wrong_secret_is_refused(server, app):
    response = get(server, auth=HTTPDigestAuth(emu.ACCESS_KEY_ID, "wrong-secret"))
    body = assert_classic_error(response, 401, "UNAUTHORIZED")
    assert "wrong" in body["errorMessage"]
    assert "stale" not in challenge_params(response)
    assert app.calls == []


def test_an_unknown_access_key_id_is_refused(server, app):
    assert_classic_error(get(server, auth=HTTPDigestAuth("OBNOSUCHKEY", emu.ACCESS_KEY_SECRET)), 401, "UNAUTHORIZED")
    assert app.calls == []


def test_a_second_access_key_works(server, app):
    assert get(server, auth=HTTPDigestAuth(emu.OTHER_ACCESS_KEY_ID, emu.OTHER_ACCESS_KEY_SECRET)).status_code == 200
    assert app.calls[0]["access_key_id"] == emu.OTHER_ACCESS_KEY_ID


def _sent_authorization(server):
    return [r["headers"]["Authorization"] for r in server.requests if "Authorization" in r["headers"]][-1]


def test_a_replayed_nonce_count_is_refused(server, app):
    hdrs = headers()
    assert get(server, params={"pageNumber": 1}, hdrs=hdrs).status_code == 200
    replay = dict(hdrs, Authorization=_sent_authorization(server))
    url = server.url + emu.PATH + "?pageNumber=1"
    response = requests.get(url, headers=replay, timeout=10)
    body = assert_classic_error(response, 401, "UNAUTHORIZED")
    assert "replay" in body["errorMessage"]
    assert len(app.calls) == 1


def test_a_lower_nonce_count_is_refused(server, app):
    session = requests.Session()
    auth = HTTPDigestAuth(emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET)
    assert get(server, params={"pageNumber": 1}, auth=auth, session=session).status_code == 200
    first = _sent_authorization(server)
    assert get(server, params={"pageNumber": 1}, auth=auth, session=session).status_code == 200
    response = requests.get(server.url + emu.PATH + "?pageNumber=1", headers=dict(headers(), Authorization=first),
                            timeout=10)
    assert_classic_error(response, 401, "UNAUTHORIZED")
    assert len(app.calls) == 2


def test_credentials_for_another_uri_are_refused(server, app):
    assert get(server, params={"pageNumber": 1}).status_code == 200
    moved = dict(headers(), Authorization=_sent_authorization(server))
    response = requests.get(server.url + emu.PATH + "?pageNumber=2", headers=moved, timeout=10)
    body = assert_classic_error(response, 401, "UNAUTHORIZED")
    assert "uri" in body["errorMessage"]


def test_an_expired_nonce_gets_a_stale_challenge_and_requests_recovers(server, app, clock):
    session = requests.Session()
    auth = HTTPDigestAuth(emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET)
    assert get(server, auth=auth, session=session).status_code == 200
    clock.now += emu.NONCE_TTL + 1
    # requests sends the old nonce first (right hash, dead nonce), is told stale=true, and
    # answers the new challenge with the same credentials
    response = get(server, auth=auth, session=session)
    assert response.status_code == 200
    assert [r.status_code for r in response.history] == [401]
    assert challenge_params(response.history[0])["stale"] == "true"
    assert app.stale_challenges == 1
    assert len(app.calls) == 2


def test_expire_nonces_makes_every_nonce_stale(server, app):
    session = requests.Session()
    auth = HTTPDigestAuth(emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET)
    assert get(server, auth=auth, session=session).status_code == 200
    assert requests.post(server.url + "/__emulator__/oceanbase_cloud/expire-nonces", timeout=10).status_code == 200
    assert get(server, auth=auth, session=session).status_code == 200
    assert app.stale_challenges == 1


def test_an_expired_nonce_with_a_wrong_secret_is_not_stale(server, clock):
    challenge = challenge_params(get(server, auth=None))
    clock.now += emu.NONCE_TTL + 1
    response_hash = emu.digest_response("MD5", emu.ACCESS_KEY_ID, emu.REALM, "wrong", "GET", emu.PATH,
                                        challenge["nonce"], "00000001", "abc", "auth")
    value = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", opaque="%s", '
             'qop=auth, nc=00000001, cnonce="abc", algorithm=MD5' % (
                 emu.ACCESS_KEY_ID, emu.REALM, challenge["nonce"], emu.PATH, response_hash, challenge["opaque"]))
    response = requests.get(server.url + emu.PATH, headers=dict(headers(), Authorization=value), timeout=10)
    assert response.status_code == 401
    assert "stale" not in challenge_params(response)


def test_a_hand_made_digest_matches_the_emulator(server, app):
    """The RFC 7616 computation written out, as a second client next to requests and curl."""
    challenge = challenge_params(get(server, auth=None))
    uri = emu.PATH + "?pageNumber=1&pageSize=3"
    response_hash = emu.digest_response("MD5", emu.ACCESS_KEY_ID, emu.REALM, emu.ACCESS_KEY_SECRET, "GET", uri,
                                        challenge["nonce"], "00000001", "0a4f113b", "auth")
    value = ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", opaque="%s", '
             'qop=auth, nc=00000001, cnonce="0a4f113b"' % (
                 emu.ACCESS_KEY_ID, emu.REALM, challenge["nonce"], uri, response_hash, challenge["opaque"]))
    response = requests.get(server.url + uri, headers=dict(headers(), Authorization=value), timeout=10)
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]["list"]) == 3


@pytest.mark.parametrize("missing", ["org", "project"])
def test_missing_headers_are_refused(server, app, missing):
    hdrs = headers(org=None if missing == "org" else emu.ORG_ID,
                   project=None if missing == "project" else emu.PROJECT_ID)
    body = assert_classic_error(get(server, hdrs=hdrs), 400, "INVALID_PARAMETER")
    name = {"org": "X-OB-Org-Id", "project": "X-OB-Project-Id"}[missing]
    assert name in body["errorMessage"]
    assert app.calls == []


def test_request_id_is_optional(server, app):
    """The API documents X-Request-Id as optional: a request without it is answered, with an id."""
    response = get(server, hdrs=headers(request_id=False))
    assert response.status_code == 200, response.text
    assert response.json()["requestId"] and len(response.json()["data"]["list"]) > 0


def test_errors_in_the_successful_message_shape(server, app):
    app.error_style = "successful"
    response = get(server, hdrs=headers(org=None))
    assert response.status_code == 400
    body = response.json()
    assert body["successful"] is False and "X-OB-Org-Id" in body["message"]
    assert "errorCode" not in body and "success" not in body
    unauthorized = get(server, auth=None)
    assert unauthorized.status_code == 401 and unauthorized.json()["successful"] is False


def test_unknown_org_and_project(server):
    assert_classic_error(get(server, hdrs=headers(org="org-nope")), 403, "PERMISSION_DENIED")
    assert_classic_error(get(server, hdrs=headers(project="proj-nope")), 404, "NOT_FOUND")


def test_other_paths_and_methods(server):
    assert_classic_error(requests.get(server.url + "/api/v2/nothing", timeout=10), 404, "NOT_FOUND")
    response = requests.post(server.url + emu.PATH, auth=AUTH, headers=headers(), json={}, timeout=10)
    assert_classic_error(response, 405, "METHOD_NOT_ALLOWED")


# --- paging ---------------------------------------------------------------------------------------------

def page(server, **params):
    response = get(server, params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_paging_defaults_and_clamps(server, app):
    total = len(app.keys())
    assert total > 100
    assert len(page(server)["list"]) == emu.DEFAULT_PAGE_SIZE
    assert len(page(server, pageSize=100)["list"]) == 100
    for asked in (101, 500, 100000):
        data = page(server, pageSize=asked)
        assert len(data["list"]) == 20, asked  # "above 100 it silently uses 20"
        assert data["total"] == total
    # the clamp also moves page boundaries: page 2 of "500 per page" is items 20..39
    assert [i["id"] for i in page(server, pageNumber=2, pageSize=500)["list"]] == [i["id"] for i in app.keys()[20:40]]
    assert [c["page_size"] for c in app.calls][-1] == 20


def test_every_page_of_100_gives_every_key_once(server, app):
    seen = []
    number = 1
    while True:
        data = page(server, pageNumber=number, pageSize=100)
        assert data["total"] == len(app.keys())
        if not data["list"]:
            break
        seen += [item["id"] for item in data["list"]]
        number += 1
    assert number == 3  # 137 keys: 100 + 37, then an empty page
    assert seen == [item["id"] for item in app.keys()]
    assert len(set(seen)) == len(seen)


def test_a_page_past_the_end_is_empty(server, app):
    assert page(server, pageNumber=99, pageSize=100) == {"list": [], "total": len(app.keys())}


@pytest.mark.parametrize("params", [{"pageSize": 0}, {"pageNumber": 0}, {"pageSize": "ten"}, {"pageNumber": "-1"}])
def test_invalid_paging_is_refused(server, params):
    assert_classic_error(get(server, params=params), 400, "INVALID_PARAMETER")


def test_an_empty_project(server):
    assert page_for(server, emu.EMPTY_PROJECT_ID) == {"list": [], "total": 0}


def page_for(server, project):
    response = get(server, hdrs=headers(project=project))
    assert response.status_code == 200
    return response.json()["data"]


# --- the keys themselves ----------------------------------------------------------------------------------

def test_items_have_the_documented_fields_and_a_secret(server, app):
    items = page(server, pageSize=100)["list"]
    for item in items:
        assert {"id", "name", "createdAt", "updatedAt", "apiKey"} <= set(item)
        assert item["apiKey"].startswith("sk-ob-")
    values = app.api_key_values()
    assert len(values) == len(app.keys()) and len(set(values)) == len(values)
    by_id = {item["id"]: item for item in items}
    shapes = {name: by_id[key_id].get("expiresAt", "<absent>") for name, key_id in emu.KEY_IDS.items()}
    assert shapes["expired"].endswith("Z")
    assert shapes["expiring_2d"].endswith("+08:00")
    assert isinstance(shapes["expiring_10d"], int)
    assert shapes["long_lived"].endswith(".250Z")
    assert shapes["never_null"] is None
    assert shapes["never_missing"] == "<absent>"
    assert shapes["never_empty"] == ""


def test_expiry_is_relative_to_the_injected_clock():
    clock = FakeClock(now=2000000000.0)
    app = emu.OceanBaseCloudEmulator(clock=clock)
    expired = next(i for i in app.keys() if i["id"] == emu.KEY_IDS["expired"])
    assert expired["expiresAt"] == emu.time_z(2000000000.0 - 3 * emu.DAY)


# --- the demo runner ------------------------------------------------------------------------------------

def test_main_serves_https_and_prints_what_a_demo_needs(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([p for p in sys.path if p] + [env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.keyward.keys.tests.emulators.oceanbase_cloud",
                             "--tls", str(tmp_path / "pki")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["url"].startswith("https://127.0.0.1:")
        response = requests.get(info["url"] + emu.PATH, params={"pageSize": 100},
                                auth=HTTPDigestAuth(info["access_key_id"], info["access_key_secret"]),
                                headers=headers(info["org_id"], info["project_id"]), verify=info["ca_path"],
                                timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["total"] == info["total"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
