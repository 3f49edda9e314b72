"""ACS3-HMAC-SHA256 signer: Alibaba's documented V3 vector, GetClientPublicKey vectors, and the
official openapi util (PyPI alibabacloud-openapi-util, a test requirement only) as an oracle,
byte for byte."""

from __future__ import annotations

import datetime
import hashlib
import re

import pytest
import requests

from ansible_collections.keyward.keys.plugins.module_utils.providers import _alicloud_signer as signer
try:  # the oracle is in test-requirements.txt; without it only the oracle tests are skipped
    from alibabacloud_openapi_util import client as oracle
    from Tea import request as tea_request
except ImportError:  # pragma: no cover
    oracle = tea_request = None
needs_oracle = pytest.mark.skipif(oracle is None, reason="alibabacloud-openapi-util (test-requirements.txt) is not installed")

EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# --- the V3 signing guide's own example (RunInstances) -----------------------------------------

DOC_CANONICAL_HEADERS = (
    "host:ecs.cn-shanghai.aliyuncs.com\n"
    "x-acs-action:RunInstances\n"
    "x-acs-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    "x-acs-date:2023-10-26T10:22:32Z\n"
    "x-acs-signature-nonce:3156853299f313e23d1673dc12e1703d\n"
    "x-acs-version:2014-05-26\n"
)
DOC_SIGNED = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
DOC_QUERY = [("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd"), ("RegionId", "cn-shanghai")]


def _doc_headers():
    return signer.sign_headers("POST", "ecs.cn-shanghai.aliyuncs.com", "/", DOC_QUERY, {}, b"",
                               "YourAccessKeyId", "YourAccessKeySecret", "RunInstances", "2014-05-26",
                               date="2023-10-26T10:22:32Z", nonce="3156853299f313e23d1673dc12e1703d")


def test_documented_vector_steps():
    headers = _doc_headers()
    block, signed = signer.canonical_headers(headers)
    assert block == DOC_CANONICAL_HEADERS
    assert signed == DOC_SIGNED
    canonical, signed = signer.canonical_request("POST", "/", DOC_QUERY, headers, EMPTY)
    assert canonical == ("POST\n/\nImageId=win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd&RegionId=cn-shanghai\n"
                         + DOC_CANONICAL_HEADERS + "\n" + DOC_SIGNED + "\n" + EMPTY)
    assert signer.string_to_sign(canonical) == (
        "ACS3-HMAC-SHA256\n7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259")


def test_documented_vector_authorization():
    assert _doc_headers()["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=" + DOC_SIGNED
        + ",Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0")


def test_documented_vector_depends_on_method():
    # The guide's vector is for POST; GET must give another signature (so the method is signed).
    get = signer.sign_headers("GET", "ecs.cn-shanghai.aliyuncs.com", "/", DOC_QUERY, {}, b"",
                              "YourAccessKeyId", "YourAccessKeySecret", "RunInstances", "2014-05-26",
                              date="2023-10-26T10:22:32Z", nonce="3156853299f313e23d1673dc12e1703d")
    assert get["Authorization"] != _doc_headers()["Authorization"]


def test_util_repository_vector():
    # openapi-util's own unit test: duplicate header names merged "http,https", empty value "empty=".
    canonical, signed = signer.canonical_request(
        "GET", "", [("test", "ok"), ("empty", "")], {"x-acs-test": "http", "x-acs-TEST": "https"},
        "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23")
    assert signed == "x-acs-test"
    auth = signer.authorization("acesskey", signed, signer.signature("secret", signer.string_to_sign(canonical)))
    assert auth == ("ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,"
                    "Signature=d16b30a7699ae9e43875b13195b2f81bcc3ed10c14a9b5eb780e51619aa50be1")


# --- GetClientPublicKey (reference §3.5) --------------------------------------------------------

GCPK_QUERY = [("InstanceId", "idaas_ue2jvisn35ea5lmthk267xxxxx"), ("ApplicationId", "app_mkv7rgt4d7i4u7zqtzev2mxxxx"),
              ("ClientPublicKeyId", "KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx")]


def _gcpk(**kwargs):
    return signer.sign_headers("POST", "eiam.cn-hangzhou.aliyuncs.com", "/", GCPK_QUERY, {}, b"",
                               "testAccessKeyId", "testAccessKeySecret", "GetClientPublicKey", "2021-12-01",
                               date="2024-01-01T00:00:00Z", nonce="0123456789abcdef0123456789abcdef", **kwargs)


def test_get_client_public_key_vector():
    assert _gcpk()["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=testAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
        "x-acs-date;x-acs-signature-nonce;x-acs-version,"
        "Signature=311e93ced783e79692b6292c90d2e6325015b325843b9b9b1292fc18d2582454")


def test_get_client_public_key_vector_with_security_token():
    headers = _gcpk(security_token="testSecurityToken")
    assert headers["x-acs-security-token"] == "testSecurityToken"
    assert headers["Authorization"] == (
        "ACS3-HMAC-SHA256 Credential=testAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;"
        "x-acs-date;x-acs-security-token;x-acs-signature-nonce;x-acs-version,"
        "Signature=bfd2ddb6b5d493b16de9bde97a1e811dceb33a91b6e1eb50c59ff705b92c1e01")


def test_returned_headers_are_complete():
    headers = _gcpk(security_token="tok")
    assert set(headers) == {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
                            "x-acs-content-sha256", "x-acs-security-token", "Authorization"}
    assert headers["host"] == "eiam.cn-hangzhou.aliyuncs.com"
    assert headers["x-acs-action"] == "GetClientPublicKey"
    assert headers["x-acs-version"] == "2021-12-01"
    assert headers["x-acs-content-sha256"] == EMPTY


def test_defaults_date_and_nonce():
    one = signer.sign_headers("POST", "h", "/", [], {}, b"", "ak", "sk", "A", "V")
    two = signer.sign_headers("POST", "h", "/", [], {}, b"", "ak", "sk", "A", "V")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", one["x-acs-date"])
    assert re.match(r"^[0-9a-f]{32}$", one["x-acs-signature-nonce"])
    assert one["x-acs-signature-nonce"] != two["x-acs-signature-nonce"]
    assert one["Authorization"] != two["Authorization"]


def test_acs_date_forms():
    assert signer.acs_date(0) == "1970-01-01T00:00:00Z"
    aware = datetime.datetime(2024, 1, 1, 8, 0, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    assert signer.acs_date(aware) == "2024-01-01T00:00:00Z"
    with pytest.raises(ValueError):
        signer.acs_date(datetime.datetime(2024, 1, 1))


def test_body_is_hashed_and_content_type_signed():
    body = b"InstanceId=idaas_x&ApplicationId=app_y"
    form_headers = {"content-type": "application/x-www-form-urlencoded", "User-Agent": "x"}
    headers = signer.sign_headers("POST", "h", "/", [], form_headers, body, "ak", "sk", "A", "V",
                                  date="2024-01-01T00:00:00Z", nonce="n")
    assert headers["x-acs-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert "SignedHeaders=content-type;host;" in headers["Authorization"]
    assert headers["User-Agent"] == "x"  # passed through, not signed
    assert "user-agent" not in headers["Authorization"]


@pytest.mark.parametrize("ak,sk", [("", "sk"), ("ak", ""), (None, "sk"), ("a,b", "sk"), ("a b", "sk")])
def test_bad_credentials_are_refused(ak, sk):
    with pytest.raises(ValueError):
        signer.sign_headers("POST", "h", "/", [], {}, b"", ak, sk, "A", "V")


def test_non_bytes_body_is_refused():
    with pytest.raises(ValueError):
        signer.payload_hash(iter([b"x"]))


def test_canonical_uri():
    assert signer.canonical_uri("") == "/"
    assert signer.canonical_uri("/") == "/"
    assert signer.canonical_uri("/a b/c*d") == "/a%20b/c%2Ad"


# --- the official code as an oracle -------------------------------------------------------------

def oracle_authorization(method, query, headers, body, ak, sk):
    """Authorization computed by alibabacloud_openapi_util's get_authorization.

    Its Python version signs every header it is given and does not encode query names, so it
    gets exactly the headers our signer signs, and ASCII-alphanumeric query names.
    """
    request = tea_request.TeaRequest()
    request.method = method
    request.pathname = "/"
    request.query = dict(query)
    request.headers = {k: v for k, v in headers.items() if signer.is_signed_header(k)}
    payload = hashlib.sha256(body).hexdigest()
    return oracle.Client.get_authorization(request, "ACS3-HMAC-SHA256", payload, ak, sk)


ORACLE_CASES = [
    # (method, query, extra headers, body, security token)
    ("POST", GCPK_QUERY, {}, b"", None),
    ("POST", GCPK_QUERY, {}, b"", "CAIS+token/with=padding=="),
    ("GET", [("InstanceId", "idaas_x"), ("ApplicationId", "app_y"), ("MaxResults", "2")], {}, b"", None),
    ("POST", [("NextToken", "a b+c/d=e&f*g~h%i"), ("Name", "héllo wörld"), ("Empty", "")], {}, b"", None),
    ("POST", [("Filter", "!'()*;:@$,?#[]")], {"content-type": "application/x-www-form-urlencoded"},
     b"InstanceId=idaas_x&ApplicationId=app%20y", "sts-token"),
    ("POST", [], {"content-type": "application/json"}, '{"k": "välue"}'.encode("utf-8"), None),
    ("PUT", [("A", "1"), ("a", "2"), ("B", "3")], {"x-acs-extra": "  padded  "}, b"\x00\x01binary", None),
]


@needs_oracle
@pytest.mark.parametrize("case", range(len(ORACLE_CASES)))
def test_matches_official_oracle(case):
    method, query, extra, body, token = ORACLE_CASES[case]
    ak, sk = "LTAI5tOracleTestKeyId01", "OracleTestSecret+/=0123456789abcdef"
    headers = signer.sign_headers(method, "eiam.cn-hangzhou.aliyuncs.com", "/", query, extra, body, ak, sk,
                                  "ListClientPublicKeys", "2021-12-01", security_token=token)
    sent = {k: v for k, v in headers.items() if k != "Authorization"}
    assert headers["Authorization"] == oracle_authorization(method, query, sent, body, ak, sk)


@needs_oracle
def test_oracle_disagrees_when_a_signed_value_changes():
    # The comparison can fail: a different query value, header or body gives another signature.
    method, query, extra, body, token = ORACLE_CASES[3]
    headers = signer.sign_headers(method, "h", "/", query, extra, body, "ak", "sk", "A", "V")
    sent = {k: v for k, v in headers.items() if k != "Authorization"}
    changed_query = [(n, v + "x") for n, v in query]
    assert headers["Authorization"] != oracle_authorization(method, changed_query, sent, body, "ak", "sk")
    assert headers["Authorization"] != oracle_authorization(method, query, dict(sent, host="other"), body, "ak", "sk")
    assert headers["Authorization"] != oracle_authorization(method, query, sent, b"x", "ak", "sk")
    assert headers["Authorization"] != oracle_authorization(method, query, sent, body, "ak", "sk2")


# --- PreparedRequest signing ----------------------------------------------------------------------

def _prepared(url, params=None, data=None, headers=None, method="POST"):
    return requests.Request(method, url, params=params, data=data, headers=headers).prepare()


def _check_prepared_against_oracle(prepared, ak, sk, token=None):
    from urllib.parse import urlsplit
    parts = urlsplit(prepared.url)
    pairs = signer.wire_query_pairs(parts.query)
    headers = {k: v for k, v in prepared.headers.items() if k != "Authorization"}
    body = signer._body_bytes(prepared.body)
    assert prepared.headers["Authorization"] == oracle_authorization(prepared.method, pairs, headers, body, ak, sk)


@needs_oracle
def test_sign_prepared_rewrites_the_query_canonically_and_signs_it():
    prepared = _prepared("https://eiam.cn-hangzhou.aliyuncs.com/",
                         params={"InstanceId": "idaas_x", "NextToken": "a b+c*", "ApplicationId": "app_y"})
    assert "a+b%2Bc%2A" in prepared.url  # requests' form encoding: space as '+'
    signer.sign_prepared(prepared, "ak", "sk", "ListClientPublicKeys", "2021-12-01")
    assert prepared.url == ("https://eiam.cn-hangzhou.aliyuncs.com/"
                            "?ApplicationId=app_y&InstanceId=idaas_x&NextToken=a%20b%2Bc%2A")
    assert prepared.headers["host"] == "eiam.cn-hangzhou.aliyuncs.com"
    assert prepared.headers["x-acs-action"] == "ListClientPublicKeys"
    _check_prepared_against_oracle(prepared, "ak", "sk")


@needs_oracle
def test_sign_prepared_with_port_body_and_token():
    prepared = _prepared("https://127.0.0.1:8443/?A=1", data={"InstanceId": "idaas x"})
    signer.sign_prepared(prepared, "ak", "sk", "GetClientPublicKey", "2021-12-01", security_token="tok")
    assert prepared.headers["host"] == "127.0.0.1:8443"
    assert prepared.headers["x-acs-security-token"] == "tok"
    assert "content-type;host;" in prepared.headers["Authorization"]
    assert prepared.headers["x-acs-content-sha256"] == hashlib.sha256(b"InstanceId=idaas+x").hexdigest()
    _check_prepared_against_oracle(prepared, "ak", "sk")


@needs_oracle
def test_sign_prepared_signs_each_attempt_afresh():
    prepared = _prepared("https://eiam.cn-hangzhou.aliyuncs.com/?InstanceId=idaas_x")
    first = dict(signer.sign_prepared(prepared, "ak", "sk", "GetClientPublicKey", "2021-12-01"))
    url = prepared.url
    second = dict(signer.sign_prepared(prepared, "ak", "sk", "GetClientPublicKey", "2021-12-01"))
    assert prepared.url == url  # idempotent rewrite
    assert first["x-acs-signature-nonce"] != second["x-acs-signature-nonce"]
    assert first["Authorization"] != second["Authorization"]
    assert prepared.headers["Authorization"] == second["Authorization"]
    _check_prepared_against_oracle(prepared, "ak", "sk")
