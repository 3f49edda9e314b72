# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAVER Cloud API Gateway signature v2: the reference's vectors, and the official Python SDK
(PyPI ncloud-server, ApiClient.make_signature; a test requirement only) as an oracle, byte for byte."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
import requests

from ansible_collections.keyward.keys.plugins.module_utils.providers import _ncloud_signer as signer
DOC_KEY_TAG = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6"  # the API page's example keyTag
TS = "1700000000000"
AK = "testAccessKey"
SK = "testSecretKey"

# --- vectors of the reference (shared/reference/ncloud_kms.md section 2.3, made with ncloud-server 1.1.3) ---

VECTORS = [
    (AK, SK, "POST", "/kms/v1/keys/%s/get-pub-key" % DOC_KEY_TAG, "x4PO2JeWjmG3SQHho/cmkCa3iFscdgNsGH+8NDnXVtE="),
    (AK, SK, "GET", "/kms/v1/keys?pageNo=1&pageSize=1", "UsTGmHSXAhBj2LPfCwblRFrUdM1Td7OK1zQKmCMHDdo="),
    ("ACCESSKEY", "SECRETKEY", "POST", "/kms/v1/keys/abc123/get-pub-key", "NkiKZOCK7qdcJ5WmoXRbsIcQ6ET9uC9vhB2flqe11I8="),
]


@pytest.mark.parametrize("access_key, secret_key, method, target, expected", VECTORS)
def test_reference_vectors(access_key, secret_key, method, target, expected):
    headers = signer.sign_headers(method, target, access_key, secret_key, timestamp_ms=int(TS))
    assert headers == {
        "x-ncp-apigw-timestamp": TS,
        "x-ncp-iam-access-key": access_key,
        "x-ncp-apigw-signature-v2": expected,
    }


def test_message_layout():
    message = signer.string_to_sign("post", "/kms/v1/keys/%s/get-pub-key" % DOC_KEY_TAG, TS, AK)
    assert message == "POST /kms/v1/keys/%s/get-pub-key\n1700000000000\ntestAccessKey" % DOC_KEY_TAG
    # computed here by hand, independently of the module
    by_hand = base64.b64encode(hmac.new(SK.encode(), message.encode(), hashlib.sha256).digest()).decode()
    assert signer.signature(SK, message) == by_hand == VECTORS[0][4]


def test_the_kms_prefix_is_signed():
    with_prefix = signer.sign_headers("POST", "/kms/v1/keys/abc/get-pub-key", AK, SK, TS)
    without = signer.sign_headers("POST", "/keys/abc/get-pub-key", AK, SK, TS)
    assert with_prefix["x-ncp-apigw-signature-v2"] != without["x-ncp-apigw-signature-v2"]


def test_every_input_changes_the_signature():
    base = signer.sign_headers("POST", "/kms/v1/keys/abc/get-pub-key", AK, SK, TS)["x-ncp-apigw-signature-v2"]
    variants = [
        ("GET", "/kms/v1/keys/abc/get-pub-key", AK, SK, TS),
        ("POST", "/kms/v1/keys/abd/get-pub-key", AK, SK, TS),
        ("POST", "/kms/v1/keys/abc/get-pub-key?x=1", AK, SK, TS),
        ("POST", "/kms/v1/keys/abc/get-pub-key", AK + "x", SK, TS),
        ("POST", "/kms/v1/keys/abc/get-pub-key", AK, SK + "x", TS),
        ("POST", "/kms/v1/keys/abc/get-pub-key", AK, SK, "1700000000001"),
    ]
    for args in variants:
        assert signer.sign_headers(*args)["x-ncp-apigw-signature-v2"] != base, args


def test_timestamp_is_milliseconds_now(monkeypatch):
    monkeypatch.setattr(signer.time, "time", lambda: 1700000000.1234)
    assert signer.timestamp_ms() == "1700000000123"
    assert signer.sign_headers("GET", "/kms/v1/keys", AK, SK)["x-ncp-apigw-timestamp"] == "1700000000123"
    assert signer.timestamp_ms(1.5) == "1500"


@pytest.mark.parametrize("kwargs, words", [
    (dict(path_and_query="kms/v1/keys"), "start with '/'"),
    (dict(path_and_query=""), "non-empty"),
    (dict(access_key=""), "non-empty"),
    (dict(access_key="AK\nInjected: 1"), "line breaks"),
    (dict(secret_key=""), "non-empty"),
    (dict(timestamp_ms="17e11"), "milliseconds"),
    (dict(timestamp_ms=True), "milliseconds"),
    (dict(timestamp_ms="-1"), "milliseconds"),
])
def test_bad_inputs_are_refused(kwargs, words):
    args = dict(method="GET", path_and_query="/kms/v1/keys", access_key=AK, secret_key=SK, timestamp_ms=TS)
    args.update(kwargs)
    with pytest.raises(ValueError, match=words):
        signer.sign_headers(**args)


def test_secret_never_in_headers():
    headers = signer.sign_headers("POST", "/kms/v1/keys/abc/get-pub-key", AK, "Very-Secret-Key-123", TS)
    assert all("Very-Secret-Key-123" not in value for value in headers.values())


# --- PreparedRequest signing ---------------------------------------------------------------------

def _prepared(method, url, **kwargs):
    return requests.Request(method, url, **kwargs).prepare()


def test_sign_prepared_uses_the_path_as_sent(monkeypatch):
    monkeypatch.setattr(signer.time, "time", lambda: 1700000000.0)
    prepared = _prepared("POST", "https://ocapi.ncloud.com/kms/v1/keys/%s/get-pub-key" % DOC_KEY_TAG,
                         data=b'{"keyVersion":2}', headers={"Content-Type": "application/json"})
    returned = signer.sign_prepared(prepared, AK, SK)
    assert prepared.headers["x-ncp-apigw-signature-v2"] == VECTORS[0][4]  # the body is not signed
    assert prepared.headers["x-ncp-apigw-timestamp"] == TS
    assert prepared.headers["x-ncp-iam-access-key"] == AK
    assert prepared.headers["Content-Type"] == "application/json"
    assert returned == {k: prepared.headers[k] for k in returned}


def test_sign_prepared_with_query_and_port(monkeypatch):
    monkeypatch.setattr(signer.time, "time", lambda: 1700000000.0)
    prepared = _prepared("GET", "https://127.0.0.1:8443/kms/v1/keys", params={"pageNo": 1, "pageSize": 1})
    signer.sign_prepared(prepared, AK, SK)
    assert prepared.path_url == "/kms/v1/keys?pageNo=1&pageSize=1"
    assert prepared.headers["x-ncp-apigw-signature-v2"] == VECTORS[1][4]


def test_each_attempt_gets_a_fresh_timestamp(monkeypatch):
    now = [1700000000.0]
    monkeypatch.setattr(signer.time, "time", lambda: now[0])
    prepared = _prepared("POST", "https://ocapi.ncloud.com/kms/v1/keys/abc/get-pub-key")
    first = dict(signer.sign_prepared(prepared, AK, SK))
    now[0] += 2.5
    second = dict(signer.sign_prepared(prepared, AK, SK))
    assert int(second["x-ncp-apigw-timestamp"]) - int(first["x-ncp-apigw-timestamp"]) == 2500
    assert first["x-ncp-apigw-signature-v2"] != second["x-ncp-apigw-signature-v2"]
    assert prepared.headers["x-ncp-apigw-timestamp"] == second["x-ncp-apigw-timestamp"]
    assert list(prepared.headers).count("x-ncp-apigw-timestamp") == 1


# --- the official SDK as an oracle -------------------------------------------------------------------

def _oracle(host, access_key, secret_key):
    pytest.importorskip("ncloud_server")
    from ncloud_server.api_client import ApiClient
    from ncloud_server.configuration import Configuration

    cfg = Configuration()
    cfg.host = host  # make_signature prepends the path part of host (here /kms/v1) to the resource path
    cfg.access_key, cfg.secret_key = access_key, secret_key
    client = ApiClient(cfg)

    def sign(method, resource, querys, timestamp):
        return client.make_signature(method, resource, querys, timestamp).decode("ascii")

    return sign


ORACLE_CASES = [
    # (method, resource path under the base, query pairs, access key, secret key, timestamp)
    ("POST", "/keys/%s/get-pub-key" % DOC_KEY_TAG, [], AK, SK, TS),
    ("POST", "/keys/abc123/get-pub-key", [], "ACCESSKEY", "SECRETKEY", TS),
    ("POST", "/keys/Key_Tag-With-dash_01/get-pub-key", [], "ncp_iam_BPAMKR4xxxxxxx", "ncp_iam_BPKMKRxSecret/+=", "1999999999999"),
    ("GET", "/keys", [("pageNo", "1"), ("pageSize", "1")], AK, SK, TS),
    ("GET", "/keys", [("pageNo", "3"), ("pageSize", "200")], "AK2", "s\u00e9cr\u00e8t-utf8", "1700000123456"),
    ("GET", "/keys/%s" % DOC_KEY_TAG, [], AK, SK, "1"),
    ("GET", "/keys/%s/versions" % DOC_KEY_TAG, [], AK, SK, "1712345678901"),
    ("POST", "/keys/%s/rotate" % DOC_KEY_TAG, [], AK, SK, "1712345678901"),
]


def _target(base_path, resource, querys):
    target = base_path + resource
    if querys:
        target += "?" + "&".join("%s=%s" % pair for pair in querys)
    return target


@pytest.mark.parametrize("method, resource, querys, access_key, secret_key, timestamp", ORACLE_CASES)
def test_matches_official_sdk(method, resource, querys, access_key, secret_key, timestamp):
    oracle = _oracle("https://ocapi.ncloud.com/kms/v1", access_key, secret_key)
    ours = signer.sign_headers(method, _target("/kms/v1", resource, querys), access_key, secret_key, timestamp)
    assert ours["x-ncp-apigw-signature-v2"] == oracle(method, resource, querys, timestamp)


@pytest.mark.parametrize("host, base_path", [
    ("https://ocapi.gov-ncloud.com/kms/v1", "/kms/v1"),
    ("https://127.0.0.1:8443/kms/v1", "/kms/v1"),
    ("https://proxy.example.com/ncp/kms/v1", "/ncp/kms/v1"),
])
def test_matches_official_sdk_on_other_bases(host, base_path):
    oracle = _oracle(host, AK, SK)
    resource = "/keys/%s/get-pub-key" % DOC_KEY_TAG
    ours = signer.sign_headers("POST", base_path + resource, AK, SK, TS)
    assert ours["x-ncp-apigw-signature-v2"] == oracle("POST", resource, [], TS)


def test_sign_prepared_matches_official_sdk():
    oracle = _oracle("https://ocapi.ncloud.com/kms/v1", AK, SK)
    for method, resource, querys, body in [
        ("POST", "/keys/%s/get-pub-key" % DOC_KEY_TAG, [], b'{"keyVersion": 2}'),
        ("POST", "/keys/%s/get-pub-key" % DOC_KEY_TAG, [], None),
        ("GET", "/keys", [("pageNo", "2"), ("pageSize", "50")], None),
    ]:
        prepared = _prepared(method, "https://ocapi.ncloud.com/kms/v1" + resource, params=querys or None, data=body)
        headers = signer.sign_prepared(prepared, AK, SK)
        expected = oracle(method, resource, querys, headers["x-ncp-apigw-timestamp"])
        assert headers["x-ncp-apigw-signature-v2"] == expected


def test_oracle_disagrees_without_the_prefix():
    # the check above can fail: signing the resource path alone does not match the SDK
    oracle = _oracle("https://ocapi.ncloud.com/kms/v1", AK, SK)
    resource = "/keys/%s/get-pub-key" % DOC_KEY_TAG
    ours = signer.sign_headers("POST", resource, AK, SK, TS)
    assert ours["x-ncp-apigw-signature-v2"] != oracle("POST", resource, [], TS)
