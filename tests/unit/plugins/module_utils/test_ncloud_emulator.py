# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The NAVER Cloud KMS emulator: requests signed by the official SDK's code (ncloud-server, a test
requirement) are accepted, tampered or stale ones refused in the gateway's shape, and versions and
KMS errors behave as the emulator documents."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.plugins.module_utils.providers import _ncloud
from ansible_collections.keyward.keys.plugins.module_utils.providers import _ncloud_signer as signer
from ansible_collections.keyward.keys.tests.emulators import ncloud_kms as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

TAG = emu.KEY_TAGS
NOW = 1700000000.0  # the emulator's clock in most tests
NOW_MS = str(int(NOW * 1000))


def _success_data(body):
    """The data of a SUCCESS envelope, as the transport's profile judges it."""
    assert _ncloud.PROFILE.success_failure(body) is None, body
    return body["data"]


@pytest.fixture(scope="module")
def app():
    return emu.NcloudKmsEmulator(clock=lambda: NOW)


@pytest.fixture(scope="module")
def server(app):
    srv = EmulatorServer(app).start()
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _reset(server):
    server.reset()
    yield


@pytest.fixture(scope="module")
def session():
    s = requests.Session()
    s.trust_env = False  # no proxies from the environment for loopback
    yield s
    s.close()


def send(session, server, method, target, headers=None, body=None):
    return session.request(method, server.url + target, headers=headers or {}, data=body, timeout=10)


def signed(method, target, timestamp=NOW_MS, access_key=emu.ACCESS_KEY, secret_key=emu.SECRET_KEY):
    return signer.sign_headers(method, target, access_key, secret_key, timestamp)


def get_pub_key(session, server, key_tag, version=None, headers=None, timestamp=NOW_MS, **kwargs):
    target = "/kms/v1/keys/%s/get-pub-key" % key_tag
    body = None if version is None else json.dumps({"keyVersion": version}).encode()
    hdrs = signed("POST", target, timestamp, **kwargs) if headers is None else headers
    hdrs = dict(hdrs, **({"Content-Type": "application/json"} if body else {}))
    return send(session, server, "POST", target, hdrs, body)


def spki_fingerprint(pem):
    key = serialization.load_pem_public_key(pem.encode())
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def gateway(details, code="200", message="Authentication Failed"):
    return {"error": {"errorCode": code, "message": message, "details": details}}


# --- the official SDK's signature is accepted -----------------------------------------------------

def _oracle_headers(server, method, resource, querys=(), timestamp=NOW_MS):
    pytest.importorskip("ncloud_server")
    from ncloud_server.api_client import ApiClient
    from ncloud_server.configuration import Configuration

    cfg = Configuration()
    cfg.host = server.url + "/kms/v1"
    cfg.access_key, cfg.secret_key = emu.ACCESS_KEY, emu.SECRET_KEY
    sig = ApiClient(cfg).make_signature(method, resource, list(querys), timestamp).decode("ascii")
    return {"x-ncp-apigw-timestamp": timestamp, "x-ncp-iam-access-key": emu.ACCESS_KEY,
            "x-ncp-apigw-signature-v2": sig}


def test_request_signed_by_official_sdk_is_accepted(session, server, app):
    resource = "/keys/%s/get-pub-key" % TAG["rsa"]
    resp = send(session, server, "POST", "/kms/v1" + resource, _oracle_headers(server, "POST", resource))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["code"] == "SUCCESS"
    assert set(body["data"]) == {"publicKey"}
    assert body["data"]["publicKey"] == app.public_key(TAG["rsa"], 3)
    assert spki_fingerprint(body["data"]["publicKey"]) == app.fingerprint(TAG["rsa"]) == app.fingerprint(TAG["rsa"], 3)
    assert resp.headers["x-ncp-trace-id"]


def test_official_sdk_signature_with_version_body_is_accepted(session, server, app):
    resource = "/keys/%s/get-pub-key" % TAG["doc_example"]
    headers = dict(_oracle_headers(server, "POST", resource), **{"Content-Type": "application/json"})
    resp = send(session, server, "POST", "/kms/v1" + resource, headers, b'{"keyVersion": 1}')
    assert resp.status_code == 200, resp.text
    assert spki_fingerprint(resp.json()["data"]["publicKey"]) == app.fingerprint(TAG["doc_example"], 1)


def test_the_emulator_signs_the_raw_target_with_its_query(session, server):
    # The oracle's query concatenation and the raw request-target agree (the route ignores the query).
    resource = "/keys/%s/get-pub-key" % TAG["rsa"]
    headers = _oracle_headers(server, "POST", resource, [("a", "1"), ("b", "x")])
    assert send(session, server, "POST", "/kms/v1" + resource + "?a=1&b=x", headers).status_code == 200
    # the same signature with the query dropped is refused
    resp = send(session, server, "POST", "/kms/v1" + resource, headers)
    assert resp.status_code == 401 and resp.json() == gateway("Invalid authentication information.")


def test_collection_signer_through_prepared_request(session, server, app, monkeypatch):
    monkeypatch.setattr(signer.time, "time", lambda: NOW + 1.0)
    url = "%s/kms/v1/keys/%s/get-pub-key" % (server.url, TAG["ecdsa"])
    prepared = requests.Request("POST", url, data=_ncloud.request_body(1),
                                headers={"Content-Type": "application/json"}).prepare()
    signer.sign_prepared(prepared, emu.ACCESS_KEY, emu.SECRET_KEY)
    resp = session.send(prepared, timeout=10)
    assert resp.status_code == 200, resp.text
    record = _ncloud.record_from_data(TAG["ecdsa"], _success_data(resp.json()), requested_version=1)
    assert record["fingerprint_sha256"] == app.fingerprint(TAG["ecdsa"], 1)
    assert (record["key_type"], record["curve"], record["key_size"]) == ("EC", "secp256r1", 256)
    assert record["metadata"] == {"key_version": 1, "latest": False}


# --- the gateway refuses --------------------------------------------------------------------------

def _tamper(value):
    return ("A" if value[0] != "A" else "B") + value[1:]


def test_tampered_signature(session, server):
    headers = signed("POST", "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"])
    headers["x-ncp-apigw-signature-v2"] = _tamper(headers["x-ncp-apigw-signature-v2"])
    resp = get_pub_key(session, server, TAG["rsa"], headers=headers)
    assert resp.status_code == 401
    assert resp.json() == gateway("Invalid authentication information.")
    assert resp.headers["x-ncp-trace-id"]
    assert server.app.fetched == []


def test_signature_without_the_kms_prefix_is_refused(session, server):
    headers = signed("POST", "/keys/%s/get-pub-key" % TAG["rsa"])
    assert get_pub_key(session, server, TAG["rsa"], headers=headers).status_code == 401


def test_signature_for_another_key_is_refused(session, server):
    headers = signed("POST", "/kms/v1/keys/%s/get-pub-key" % TAG["ecdsa"])
    assert get_pub_key(session, server, TAG["rsa"], headers=headers).status_code == 401


def test_signature_for_another_method_is_refused(session, server):
    headers = signed("GET", "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"])
    assert get_pub_key(session, server, TAG["rsa"], headers=headers).status_code == 401


def test_timestamp_header_must_be_the_signed_one(session, server):
    headers = signed("POST", "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"])
    headers["x-ncp-apigw-timestamp"] = str(int(NOW_MS) + 1)
    assert get_pub_key(session, server, TAG["rsa"], headers=headers).status_code == 401


def test_wrong_secret_key(session, server):
    resp = get_pub_key(session, server, TAG["rsa"], secret_key=emu.SECRET_KEY + "x")
    assert resp.status_code == 401 and resp.json() == gateway("Invalid authentication information.")


def test_unknown_access_key(session, server):
    resp = get_pub_key(session, server, TAG["rsa"], access_key="ncp_iam_UNKNOWN", secret_key=emu.SECRET_KEY)
    assert resp.status_code == 401 and resp.json() == gateway("Invalid authentication information.")


def test_access_key_without_kms_permission(session, server):
    resp = get_pub_key(session, server, TAG["rsa"], access_key=emu.DENIED_ACCESS_KEY,
                       secret_key=emu.DENIED_SECRET_KEY)
    assert resp.status_code == 401
    assert resp.json()["error"]["errorCode"] == "210"
    assert resp.json()["error"]["message"] == "Permission Denied"


@pytest.mark.parametrize("offset_ms, accepted", [
    (0, True), (-299999, True), (299999, True), (-300000, False), (300000, False), (-3600000, False),
])
def test_five_minute_window(session, server, offset_ms, accepted):
    resp = get_pub_key(session, server, TAG["rsa"], timestamp=str(int(NOW_MS) + offset_ms))
    if accepted:
        assert resp.status_code == 200, resp.text
    else:
        assert resp.status_code == 401
        assert resp.json() == gateway("Invalid timestamp.")


def test_timestamp_in_seconds_is_stale(session, server):
    resp = get_pub_key(session, server, TAG["rsa"], timestamp=str(int(NOW)))
    assert resp.status_code == 401


def test_non_numeric_timestamp(session, server):
    headers = signed("POST", "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"])
    headers["x-ncp-apigw-timestamp"] = "now"
    resp = get_pub_key(session, server, TAG["rsa"], headers=headers)
    assert resp.status_code == 401 and resp.json()["error"]["errorCode"] == "200"


@pytest.mark.parametrize("missing", ["x-ncp-apigw-timestamp", "x-ncp-iam-access-key", "x-ncp-apigw-signature-v2"])
def test_missing_header(session, server, missing):
    headers = signed("POST", "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"])
    del headers[missing]
    resp = get_pub_key(session, server, TAG["rsa"], headers=headers)
    assert resp.status_code == 401
    assert resp.json() == gateway("Authentication information are missing.")


def test_unknown_route_and_method(session, server):
    for method, target in [("GET", "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"]),
                           ("POST", "/keys/%s/get-pub-key" % TAG["rsa"]),
                           ("POST", "/kms/v1/keys/%s/get-public-key" % TAG["rsa"])]:
        resp = send(session, server, method, target, signed(method, target))
        assert resp.status_code == 404, target
        assert resp.json() == gateway("Not Found", code="300", message="Not Found Exception")


# --- versions -------------------------------------------------------------------------------------

def _fp(resp):
    assert resp.status_code == 200, resp.text
    return spki_fingerprint(resp.json()["data"]["publicKey"])


def test_latest_version_without_body(session, server, app):
    assert _fp(get_pub_key(session, server, TAG["rsa"])) == app.fingerprint(TAG["rsa"], 3)
    assert _fp(get_pub_key(session, server, TAG["ecdsa"])) == app.fingerprint(TAG["ecdsa"], 2)
    assert app.latest_version(TAG["rsa"]) == 3
    assert server.app.fetched == [(TAG["rsa"], None, emu.ACCESS_KEY), (TAG["ecdsa"], None, emu.ACCESS_KEY)]


def test_empty_object_body_means_latest(session, server, app):
    target = "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"]
    resp = send(session, server, "POST", target, signed("POST", target), b"{}")
    assert _fp(resp) == app.fingerprint(TAG["rsa"], 3)


def test_each_version(session, server, app):
    fps = {v: _fp(get_pub_key(session, server, TAG["rsa"], version=v)) for v in (1, 3)}
    assert fps == {1: app.fingerprint(TAG["rsa"], 1), 3: app.fingerprint(TAG["rsa"], 3)}
    assert fps[1] != fps[3]
    ec = [_fp(get_pub_key(session, server, TAG["ecdsa"], version=v)) for v in (1, 2)]
    assert ec[0] != ec[1]
    assert app.fingerprints()[TAG["ecdsa"]] == {1: ec[0], 2: ec[1]}


def _kms_error(resp, status, code):
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["code"] == code and body["msg"]
    assert "data" not in body
    return body


def test_disabled_version(session, server):
    _kms_error(get_pub_key(session, server, TAG["rsa"], version=2), 422, "UNPROCESSABLE_ENTITY")


def test_latest_version_disabled(session, server, app):
    _kms_error(get_pub_key(session, server, TAG["latest_disabled"]), 422, "UNPROCESSABLE_ENTITY")
    assert _fp(get_pub_key(session, server, TAG["latest_disabled"], version=1)) == \
        app.fingerprint(TAG["latest_disabled"], 1)


def test_version_that_does_not_exist(session, server):
    _kms_error(get_pub_key(session, server, TAG["rsa"], version=4), 404, "NOT_FOUND")
    _kms_error(get_pub_key(session, server, TAG["rsa"], version=100), 404, "NOT_FOUND")


@pytest.mark.parametrize("version", [0, 101, -1, "2", True, 1.5, None])
def test_version_out_of_range_or_wrong_type(session, server, version):
    target = "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"]
    body = json.dumps({"keyVersion": version}).encode()
    resp = send(session, server, "POST", target, signed("POST", target), body)
    if version is None:  # an explicit null is "not entered"
        assert resp.status_code == 200
    else:
        _kms_error(resp, 400, "INVALID_REQUEST")


@pytest.mark.parametrize("body", [b"{not json", b"[1]", b'"x"'])
def test_body_that_is_not_an_object(session, server, body):
    target = "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"]
    _kms_error(send(session, server, "POST", target, signed("POST", target), body), 400, "INVALID_REQUEST")


# --- KMS errors -----------------------------------------------------------------------------------

def test_unknown_key_tag(session, server):
    _kms_error(get_pub_key(session, server, emu.UNKNOWN_KEY_TAG), 404, "NOT_FOUND")


def test_symmetric_key_has_no_public_key(session, server):
    _kms_error(get_pub_key(session, server, TAG["aes"]), 400, "INVALID_REQUEST")


@pytest.mark.parametrize("name", ["disabled", "revoked"])
def test_key_not_enabled(session, server, name):
    _kms_error(get_pub_key(session, server, TAG[name]), 422, "UNPROCESSABLE_ENTITY")


def test_errors_read_by_the_helpers(session, server):
    resp = get_pub_key(session, server, emu.UNKNOWN_KEY_TAG)
    assert _ncloud.error_fields(resp.content) == ("NOT_FOUND", "Key not found", None)
    resp = get_pub_key(session, server, TAG["rsa"], secret_key="wrong")
    code, message, _rid = _ncloud.error_fields(resp.json())
    assert code == "200" and message == "Authentication Failed: Invalid authentication information."
    assert _ncloud.CLOCK_SKEW_HINT in _ncloud.PROFILE.hint(code, message)


# --- the 2xx-but-not-SUCCESS hook -----------------------------------------------------------------

def test_envelope_fault(session, server, app):
    app.fail_next("INTERNAL_SERVER_ERROR", "Server internal error")
    resp = get_pub_key(session, server, TAG["rsa"])
    assert resp.status_code == 200
    assert resp.json() == {"code": "INTERNAL_SERVER_ERROR", "msg": "Server internal error"}
    assert _ncloud.PROFILE.success_failure(resp.json()) == ("INTERNAL_SERVER_ERROR", "Server internal error")
    assert _fp(get_pub_key(session, server, TAG["rsa"])) == app.fingerprint(TAG["rsa"])  # consumed


def test_envelope_fault_needs_authentication_first(session, server, app):
    app.fail_next()
    assert get_pub_key(session, server, TAG["rsa"], secret_key="wrong").status_code == 401
    assert get_pub_key(session, server, TAG["rsa"]).json()["code"] == "FAILURE"


def test_envelope_fault_over_http_control(session, server):
    resp = session.post(server.url + "/__emulator__/ncloud/envelope-fault",
                        json={"code": "FORBIDDEN", "msg": "Forbidden", "status": 202, "count": 2}, timeout=10)
    assert resp.json() == {"ok": True}
    for _attempt in range(2):
        resp = get_pub_key(session, server, TAG["ecdsa"])
        assert (resp.status_code, resp.json()["code"]) == (202, "FORBIDDEN")
    assert get_pub_key(session, server, TAG["ecdsa"]).json()["code"] == "SUCCESS"
    stats = session.get(server.url + "/__emulator__/ncloud/stats", timeout=10).json()
    assert stats["kms_calls"] == 3


# --- the demo runner: HTTPS with the test PKI ---------------------------------------------------

def _collections_root():
    # .../ansible_collections/keyward/keys/tests/emulators/ncloud_kms.py -> the directory above ansible_collections
    path = os.path.abspath(emu.__file__)
    for _attempt in range(6):
        path = os.path.dirname(path)
    return path


def test_main_serves_https_with_the_test_ca(tmp_path):
    env = dict(os.environ, PYTHONPATH=_collections_root() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "ansible_collections.keyward.keys.tests.emulators.ncloud_kms",
                             "--tls", str(tmp_path / "pki")], stdout=subprocess.PIPE, env=env, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["url"].startswith("https://127.0.0.1:")
        assert info["endpoint"] == info["url"] + "/kms/v1"
        assert info["key_tags"] == emu.KEY_TAGS
        url = _ncloud.public_key_url(_ncloud.endpoint_for(endpoint=info["url"]), info["key_tags"]["rsa"])
        prepared = requests.Request("POST", url).prepare()
        signer.sign_prepared(prepared, info["access_key"], info["secret_key"])
        with requests.Session() as s:
            s.trust_env = False
            resp = s.send(prepared, verify=info["ca_path"], timeout=10)
        assert resp.status_code == 200, resp.text
        record = _ncloud.record_from_data(info["key_tags"]["rsa"], _success_data(resp.json()))
        assert record["fingerprint_sha256"] == info["fingerprints"][info["key_tags"]["rsa"]]["3"]
        assert record["metadata"] == {"key_version": None, "latest": True}
        # what the demo passes to ansible-playbook, used by the provider's own client
        demo = info["vars"]
        assert demo["keyward_ncloud_endpoint"] == info["endpoint"] and demo["keyward_ncloud_ca_path"] == info["ca_path"]
        from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
        client = _ncloud.NcloudKmsClient(
            Transport(_ncloud.NAME, profile=_ncloud.PROFILE, ca_path=demo["keyward_ncloud_ca_path"], timeout=10),
            endpoint=demo["keyward_ncloud_endpoint"], access_key=demo["keyward_ncloud_access_key"],
            secret_key=demo["keyward_ncloud_secret_key"], key_version=1)
        tag = demo["ncloud_key_tags"]["ecdsa"]
        assert client.fetch(tag)["fingerprint_sha256"] == demo["ncloud_fingerprints"][tag]["1"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()


def test_real_clock_by_default():
    app = emu.NcloudKmsEmulator(keys={})
    assert abs(app.clock() - time.time()) < 5
