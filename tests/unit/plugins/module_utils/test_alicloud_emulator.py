"""The Alibaba IDaaS emulator: requests signed by the official SDK (alibabacloud-eiam20211201, a
test requirement only) and by the collection's signer are accepted; tampered, replayed, stale,
unsigned and wrongly credentialed ones are refused with the service's codes; paging yields
every key once."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile

import pytest
import requests

from ansible_collections.keyward.keys.plugins.module_utils.providers import _alicloud_signer as signer
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as emu
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

PKI = make_pki(os.path.join(tempfile.gettempdir(), "keyward-alicloud-emulator-test-pki-%d" % os.getuid()))


@pytest.fixture
def app():
    return emu.AlibabaIdaasEmulator()


@pytest.fixture(scope="module")
def _plain_server():
    with EmulatorServer(None) as srv:
        yield srv


@pytest.fixture(scope="module")
def _tls_server():
    with EmulatorServer(None, tls=PKI) as srv:
        yield srv


def _serve(srv, app):
    """One server per module (stopping one takes half a second); a fresh emulator per test."""
    srv.app = app
    srv.reset()
    return srv


@pytest.fixture
def server(_plain_server, app):
    return _serve(_plain_server, app)


def prepare(server, action, params, method="POST", data=None, ak=emu.ACCESS_KEY_ID, sk=emu.ACCESS_KEY_SECRET,
            token=None, version=emu.API_VERSION, url=None):
    """A PreparedRequest signed by the collection's signer."""
    prepared = requests.Request(method, url or server.url + "/", params=params, data=data).prepare()
    signer.sign_prepared(prepared, ak, sk, action, version, security_token=token)
    return prepared


def send(prepared, verify=True):
    with requests.Session() as session:
        return session.send(prepared, timeout=10, verify=verify)


def get_params(key_id, application_id=emu.APPLICATION_ID, instance_id=emu.INSTANCE_ID):
    return {"InstanceId": instance_id, "ApplicationId": application_id, "ClientPublicKeyId": key_id}


def call(server, action="GetClientPublicKey", params=None, **kwargs):
    return send(prepare(server, action, params if params is not None else get_params(emu.KEY_IDS["primary"]), **kwargs))


def assert_error(response, status, code):
    body = response.json()
    assert (response.status_code, body.get("Code")) == (status, code), body
    assert set(body) == {"RequestId", "HostId", "Code", "Message", "Recommend"}
    assert body["RequestId"] == response.headers["x-acs-request-id"]
    assert body["HostId"] == "eiam.cn-hangzhou.aliyuncs.com"
    assert "q=%s" % code in body["Recommend"]
    return body


# --- the official SDK as a client ------------------------------------------------------------------

def sdk_client(server, ak=emu.ACCESS_KEY_ID, sk=emu.ACCESS_KEY_SECRET, token=None):
    eiam = pytest.importorskip("alibabacloud_eiam20211201.client")
    config_mod = pytest.importorskip("alibabacloud_tea_openapi.utils_models")
    config = config_mod.Config(access_key_id=ak, access_key_secret=sk, security_token=token,
                               endpoint=server.address, protocol=server.scheme, region_id=emu.REGION_ID,
                               ca=PKI["ca.pem"])
    return eiam.Client(config)


@pytest.fixture
def tls_server(_tls_server, app):
    return _serve(_tls_server, app)


@pytest.mark.parametrize("sts", [False, True])
def test_official_sdk_get_is_accepted(tls_server, app, sts):
    models = pytest.importorskip("alibabacloud_eiam20211201.models")
    creds = (emu.STS_ACCESS_KEY_ID, emu.STS_ACCESS_KEY_SECRET, emu.SECURITY_TOKEN) if sts else \
        (emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET, None)
    client = sdk_client(tls_server, *creds)
    key_id = emu.KEY_IDS["secondary_crlf"]
    answer = client.get_client_public_key(models.GetClientPublicKeyRequest(
        instance_id=emu.INSTANCE_ID, application_id=emu.APPLICATION_ID, client_public_key_id=key_id))
    item = answer.body.client_public_key
    assert item.client_public_key_id == key_id
    assert emu.fingerprint_of_pem(item.public_key) == app.fingerprint(key_id)
    assert app.calls["GetClientPublicKey"] == 1
    sent = tls_server.requests[-1]["headers"]
    assert "SignedHeaders=accept;host;user-agent;" in sent["Authorization"]  # the SDK signs every header
    assert ("x-acs-security-token" in sent) is sts


def test_official_sdk_pages_through_every_key_once(tls_server, app):
    models = pytest.importorskip("alibabacloud_eiam20211201.models")
    client = sdk_client(tls_server)
    seen, token, pages = [], None, 0
    while True:
        body = client.list_client_public_keys(models.ListClientPublicKeysRequest(
            instance_id=emu.INSTANCE_ID, application_id=emu.APPLICATION_ID, max_results=2, next_token=token)).body
        pages += 1
        assert body.total_count == len(emu.KEY_IDS)
        seen += [item.client_public_key_id for item in body.client_public_keys]
        token = body.next_token
        if not token:
            break
    assert pages == 4
    assert seen == list(emu.KEY_IDS.values())


def test_official_sdk_sees_the_error_code(tls_server):
    models = pytest.importorskip("alibabacloud_eiam20211201.models")
    exceptions = pytest.importorskip("alibabacloud_tea_openapi.exceptions")
    client = sdk_client(tls_server, sk="not-the-secret")
    with pytest.raises(exceptions.ClientException) as info:
        client.get_client_public_key(models.GetClientPublicKeyRequest(
            instance_id=emu.INSTANCE_ID, application_id=emu.APPLICATION_ID, client_public_key_id=emu.KEY_IDS["primary"]))
    assert info.value.code == "SignatureDoesNotMatch"


# --- the collection's signer as a client ----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(emu.KEY_IDS))
def test_get_every_key(server, app, name):
    key_id = emu.KEY_IDS[name]
    response = call(server, params=get_params(key_id))
    assert response.status_code == 200, response.text
    body = response.json()
    item = body["ClientPublicKey"]
    assert body["RequestId"] == response.headers["x-acs-request-id"]
    assert item["ClientPublicKeyId"] == key_id
    assert item["InstanceId"] == emu.INSTANCE_ID and item["ApplicationId"] == emu.APPLICATION_ID
    assert isinstance(item["CreateTime"], int) and isinstance(item["Primary"], bool)
    assert item["Status"] in ("enabled", "disabled")
    assert emu.fingerprint_of_pem(item["PublicKey"]) == app.fingerprint(key_id)
    assert ("LastUsedTime" in item) is (name != "never_used")


def test_keys_are_distinct_and_varied(app):
    fingerprints = app.fingerprints()
    assert len(set(fingerprints.values())) == len(emu.KEY_IDS)
    items = app.keys_of()
    assert sum(item["Primary"] for item in items) == 1
    assert {item["Status"] for item in items} == {"enabled", "disabled"}
    assert "\r\n" in app.key(emu.KEY_IDS["secondary_crlf"])["PublicKey"]
    with pytest.raises(ValueError):
        emu.fingerprint_of_pem(app.key(emu.DOC_EXAMPLE_KEY_ID)["PublicKey"])  # the masked doc example


def test_get_and_form_body_are_accepted(server):
    assert call(server, method="GET").status_code == 200
    response = call(server, params={}, data=get_params(emu.KEY_IDS["rsa4096"]))
    assert response.status_code == 200, response.text
    assert response.json()["ClientPublicKey"]["AlgorithmType"] == "RSA-4096"


def test_special_characters_in_the_query_are_signed_as_sent(server, app):
    response = call(server, "ListClientPublicKeys", {"InstanceId": emu.INSTANCE_ID, "ApplicationId": emu.APPLICATION_ID,
                                                     "NextToken": "a b+c*/~="})
    assert_error(response, 400, "InvalidParameter.NextToken")  # authenticated, then refused as a token
    assert app.fetched[-1][2]["NextToken"] == "a b+c*/~="


# --- refusals ---------------------------------------------------------------------------------------

def test_tampered_query_is_refused(server):
    prepared = prepare(server, "GetClientPublicKey", get_params(emu.KEY_IDS["primary"]))
    prepared.url = prepared.url.replace(emu.KEY_IDS["primary"], emu.KEY_IDS["disabled"])
    body = assert_error(send(prepared), 400, "SignatureDoesNotMatch")
    assert "server string to sign is:ACS3-HMAC-SHA256\n" in body["Message"]


def test_tampered_signed_header_is_refused(server):
    prepared = prepare(server, "GetClientPublicKey", get_params(emu.KEY_IDS["primary"]))
    prepared.headers["x-acs-action"] = "ListClientPublicKeys"
    assert_error(send(prepared), 400, "SignatureDoesNotMatch")


def test_tampered_body_is_refused(server):
    prepared = prepare(server, "GetClientPublicKey", {}, data=get_params(emu.KEY_IDS["primary"]))
    prepared.body = prepared.body.replace(emu.KEY_IDS["primary"], emu.KEY_IDS["disabled"])
    prepared.headers["Content-Length"] = str(len(prepared.body))
    assert_error(send(prepared), 400, "SignatureDoesNotMatch")


def test_wrong_secret_is_refused(server):
    assert_error(call(server, sk="wrong-secret"), 400, "SignatureDoesNotMatch")


def test_unknown_access_key_is_refused(server):
    assert_error(call(server, ak="LTAI5tNobodyKnowsThisKey"), 404, "InvalidAccessKeyId.NotFound")


def test_replayed_request_is_refused(server, app):
    prepared = prepare(server, "GetClientPublicKey", get_params(emu.KEY_IDS["primary"]))
    assert send(prepared).status_code == 200
    assert_error(send(prepared), 400, "SignatureNonceUsed")
    assert app.calls["GetClientPublicKey"] == 1
    # re-signing (a retry) takes a fresh nonce and passes
    signer.sign_prepared(prepared, emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET, "GetClientPublicKey", emu.API_VERSION)
    assert send(prepared).status_code == 200


def _with_date(server, when):
    prepared = requests.Request("POST", server.url + "/", params=get_params(emu.KEY_IDS["primary"])).prepare()
    headers = signer.sign_headers("POST", server.address, "/", list(get_params(emu.KEY_IDS["primary"]).items()), {},
                                  b"", emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET, "GetClientPublicKey",
                                  emu.API_VERSION, date=when)
    prepared.url = server.url + "/?" + signer.canonical_query(list(get_params(emu.KEY_IDS["primary"]).items()))
    prepared.headers.update(headers)
    return send(prepared)


def test_stale_and_future_dates_are_refused(server, app):
    now = app.now()
    assert_error(_with_date(server, now - 16 * 60), 400, "InvalidTimeStamp.Expired")
    assert_error(_with_date(server, now + 16 * 60), 400, "InvalidTimeStamp.Expired")
    assert _with_date(server, now - 14 * 60).status_code == 200
    assert_error(_with_date(server, "2024-01-01 00:00:00"), 400, "IllegalTimestamp")


def test_clock_skew_injection(server, app):
    app.skew = 20 * 60
    assert_error(call(server), 400, "InvalidTimeStamp.Expired")
    app.skew = 10 * 60
    assert call(server).status_code == 200


@pytest.mark.parametrize("header", ["x-acs-signature-nonce", "x-acs-date", "x-acs-content-sha256", "Authorization"])
def test_missing_header_is_refused(server, header):
    prepared = prepare(server, "GetClientPublicKey", get_params(emu.KEY_IDS["primary"]))
    del prepared.headers[header]
    assert_error(send(prepared), 400, "IncompleteSignature")


def test_unsigned_acs_header_is_refused(server):
    prepared = prepare(server, "GetClientPublicKey", get_params(emu.KEY_IDS["primary"]))
    prepared.headers["x-acs-extra"] = "not signed"
    assert_error(send(prepared), 400, "IncompleteSignature")


def test_nonce_can_be_optional(server, app):
    app.require_nonce = False
    prepared = prepare(server, "GetClientPublicKey", get_params(emu.KEY_IDS["primary"]))
    headers = signer.sign_headers("POST", server.address, "/", signer.wire_query_pairs(prepared.url.split("?")[1]), {},
                                  b"", emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET, "GetClientPublicKey", emu.API_VERSION)
    del headers["x-acs-signature-nonce"]
    # re-sign without the nonce header
    canonical, names = signer.canonical_request("POST", "/", signer.wire_query_pairs(prepared.url.split("?")[1]),
                                                headers, signer.EMPTY_SHA256)
    headers["Authorization"] = signer.authorization(
        emu.ACCESS_KEY_ID, names, signer.signature(emu.ACCESS_KEY_SECRET, signer.string_to_sign(canonical)))
    del prepared.headers["x-acs-signature-nonce"]
    prepared.headers.update(headers)
    assert send(prepared).status_code == 200


def test_security_token_checks(server, app):
    sts = dict(ak=emu.STS_ACCESS_KEY_ID, sk=emu.STS_ACCESS_KEY_SECRET)
    assert call(server, token=emu.SECURITY_TOKEN, **sts).status_code == 200
    assert_error(call(server, **sts), 400, "MissingSecurityToken")
    assert_error(call(server, token="CAISsomeoneElsesToken", **sts), 400, "InvalidSecurityToken.MismatchWithAccessKey")
    assert_error(call(server, token=emu.SECURITY_TOKEN), 400, "InvalidSecurityToken.MismatchWithAccessKey")
    app.expire_security_tokens()
    assert_error(call(server, token=emu.SECURITY_TOKEN, **sts), 400, "InvalidSecurityToken.Expired")


def test_version_action_and_path(server):
    assert_error(call(server, version="2022-02-25"), 400, "InvalidVersion")
    assert_error(call(server, action="ExportClientPrivateKey"), 404, "InvalidAction.NotFound")
    assert_error(call(server, url=server.url + "/v1/keys"), 404, "InvalidAction.NotFound")


def test_not_found_and_missing_parameters(server):
    assert_error(call(server, params=get_params(emu.UNKNOWN_KEY_ID)), 404, "EntityNotExists.ClientPublicKey")
    assert_error(call(server, params=get_params(emu.KEY_IDS["primary"], application_id="app_nope")), 404,
                 "EntityNotExists.Application")
    assert_error(call(server, params=get_params(emu.KEY_IDS["primary"], instance_id="idaas_nope")), 404,
                 "EntityNotExists.Instance")
    # a key of another application is not found through this one
    assert_error(call(server, params=get_params(emu.DOC_EXAMPLE_KEY_ID)), 404, "EntityNotExists.ClientPublicKey")
    params = get_params("")
    body = assert_error(call(server, params=params), 400, "MissingParameter.ClientPublicKeyId")
    assert "ClientPublicKeyId" in body["Message"]


def test_throttling_injection(server, app):
    app.throttle(2, retry_after_ms=1500)
    first = call(server)
    assert_error(first, 400, "Throttling.User")
    assert first.headers["x-acs-retry-after"] == "1500"
    assert_error(call(server), 400, "Throttling.User")
    assert call(server).status_code == 200
    app.throttle(1, code="Throttling.Api", status=503)
    response = call(server)
    assert_error(response, 503, "Throttling.Api")
    assert "x-acs-retry-after" not in response.headers


# --- paging -----------------------------------------------------------------------------------------

def list_all(server, application_id=emu.APPLICATION_ID, max_results=None):
    seen, token, pages = [], None, []
    while True:
        params = {"InstanceId": emu.INSTANCE_ID, "ApplicationId": application_id}
        if max_results is not None:
            params["MaxResults"] = max_results
        if token:
            params["NextToken"] = token
        response = call(server, "ListClientPublicKeys", params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        seen += [item["ClientPublicKeyId"] for item in body["ClientPublicKeys"]]
        token = body.get("NextToken")
        if not token:
            return seen, pages


@pytest.mark.parametrize("max_results,pages", [(1, 7), (2, 4), (3, 3), (7, 1), (None, 1), (100, 1)])
def test_paging_yields_every_key_once(server, max_results, pages):
    seen, answers = list_all(server, max_results=max_results)
    assert seen == list(emu.KEY_IDS.values())
    assert len(answers) == pages
    assert all(a["TotalCount"] == 7 for a in answers)
    assert answers[-1]["NextToken"] == ""
    assert answers[0]["MaxResults"] == (max_results or 20)


def test_paging_many_keys(server, app):
    ec = [app.add_key("app_kwbulk", emu._spki_pem(emu.testkeys.ec_key("secp256r1", slot=100 + i)),
                      AlgorithmType="EC-P256") for i in range(45)]
    seen, answers = list_all(server, "app_kwbulk", max_results=10)
    assert seen == ec and len(set(seen)) == 45 and len(answers) == 5


def test_empty_application_and_omitted_last_token(server, app):
    seen, answers = list_all(server, emu.EMPTY_APPLICATION_ID)
    assert seen == [] and answers[0]["TotalCount"] == 0 and answers[0]["NextToken"] == ""
    app.last_page_token = None
    _seen, answers = list_all(server, max_results=5)
    assert "NextToken" in answers[0] and "NextToken" not in answers[-1]


def test_bad_paging_parameters(server):
    base = {"InstanceId": emu.INSTANCE_ID, "ApplicationId": emu.APPLICATION_ID}
    for bad in ("0", "101", "abc", "-1"):
        assert_error(call(server, "ListClientPublicKeys", dict(base, MaxResults=bad)), 400, "InvalidParameter.MaxResults")
    _seen, answers = list_all(server, max_results=2)
    token = answers[0]["NextToken"]
    assert_error(call(server, "ListClientPublicKeys", dict(base, NextToken=token + "x")), 400, "InvalidParameter.NextToken")
    other = dict(base, ApplicationId=emu.EMPTY_APPLICATION_ID, NextToken=token)
    assert_error(call(server, "ListClientPublicKeys", other), 400, "InvalidParameter.NextToken")
    assert_error(call(server, "ListClientPublicKeys", {"InstanceId": emu.INSTANCE_ID}), 400,
                 "MissingParameter.ApplicationId")


# --- the demo runner ----------------------------------------------------------------------------------

def test_main_serves_https_and_prints_its_facts(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.keyward.keys.tests.emulators.alicloud_idaas",
                             "--tls", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        facts = json.loads(proc.stdout.readline())
        assert facts["url"].startswith("https://127.0.0.1:")
        assert facts["key_ids"] == emu.KEY_IDS
        prepared = requests.Request("POST", facts["url"] + "/", params=get_params(emu.KEY_IDS["ec_p256"])).prepare()
        signer.sign_prepared(prepared, facts["access_key_id"], facts["access_key_secret"], "GetClientPublicKey",
                             emu.API_VERSION)
        response = send(prepared, verify=facts["ca_path"])
        assert response.status_code == 200, response.text
        pem = response.json()["ClientPublicKey"]["PublicKey"]
        assert emu.fingerprint_of_pem(pem) == facts["fingerprints"][emu.KEY_IDS["ec_p256"]]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_key_ids_have_the_documented_shape():
    for key_id in list(emu.KEY_IDS.values()) + [emu.DOC_EXAMPLE_KEY_ID, emu.UNKNOWN_KEY_ID]:
        assert len(key_id) == len("KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx") and key_id.startswith("KEY")
    assert hashlib.sha256(b"").hexdigest() == signer.EMPTY_SHA256
