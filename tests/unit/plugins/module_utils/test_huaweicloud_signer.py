"""SDK-HMAC-SHA256 signer: the official documentation vector, KMS vectors, and the official
Python SDK (huaweicloudsdkcore, a test requirement only) as an oracle, byte for byte."""

from __future__ import annotations

import hashlib

import pytest
import requests

from ansible_collections.keyward.keys.plugins.module_utils.providers import _huaweicloud_signer as signer
# --- the signing guide's own example (API Request Signing Guide, api-sign-algorithm-002..005) ---

DOC_AK = "QTWAOYTTINDUT2QVKYUC"
DOC_SK = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc"
DOC_CANONICAL = (
    "GET\n"
    "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n"
    "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n"
    "content-type:application/json\n"
    "host:service.region.example.com\n"
    "x-sdk-date:20191115T033655Z\n"
    "\n"
    "content-type;host;x-sdk-date\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)


def test_official_documentation_vector():
    signed = signer.sign(
        "GET", "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
        [("limit", "2"), ("marker", "13551d6b-755d-4757-b956-536f674975c0")],
        {"Content-Type": "application/json", "X-Sdk-Date": "20191115T033655Z"}, b"",
        DOC_AK, DOC_SK, host="service.region.example.com")
    assert signed.canonical_request == DOC_CANONICAL
    assert hashlib.sha256(DOC_CANONICAL.encode()).hexdigest() == \
        "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
    assert signed.string_to_sign == (
        "SDK-HMAC-SHA256\n20191115T033655Z\nb25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a")
    assert signed.headers["Authorization"] == (
        "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, "
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe")
    assert signed.uri == ("/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs"
                          "?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0")


# --- KMS get-publickey vectors (reference §3.6, reproduced there with huaweicloudsdkcore 3.1.219) ---

AK = "AKTESTEXAMPLE0000001"
SK = "SKtestExampleSecretKey00000000000000000001"
PID = "0123456789abcdef0123456789abcdef"
KMS_HOST = "kms.cn-north-4.myhuaweicloud.com"
KMS_PATH = "/v1.0/%s/kms/get-publickey" % PID
KMS_BODY = b'{"key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f"}'


def _kms(extra):
    headers = {"Content-Type": "application/json;charset=UTF-8", "X-Sdk-Date": "20240101T000000Z"}
    headers.update(extra)
    return signer.sign("POST", KMS_PATH, [], headers, KMS_BODY, AK, SK, host=KMS_HOST)


def test_kms_vector_a_bare():
    signed = _kms({})
    assert len(KMS_BODY) == 50
    assert hashlib.sha256(KMS_BODY).hexdigest() == "a53cf1735740c07f57f84ca42c122ec503677b4ddde8d1726011b2edb25af8a1"
    assert signed.canonical_request == (
        "POST\n/v1.0/0123456789abcdef0123456789abcdef/kms/get-publickey/\n\n"
        "content-type:application/json;charset=UTF-8\nhost:kms.cn-north-4.myhuaweicloud.com\n"
        "x-sdk-date:20240101T000000Z\n\ncontent-type;host;x-sdk-date\n"
        "a53cf1735740c07f57f84ca42c122ec503677b4ddde8d1726011b2edb25af8a1")
    assert signed.string_to_sign == (
        "SDK-HMAC-SHA256\n20240101T000000Z\n7ba0b55e14faf52821cf869bce3e1a8023d35e52e8a847506bed8dea99c64993")
    assert signed.signed_headers == "content-type;host;x-sdk-date"
    assert signed.signature == "1eb7504e031bd69b1af52b5b55a02f6d548c64c7b944ab91281a57bc014b025e"
    assert signed.uri == KMS_PATH


def test_kms_vector_b_project_id():
    signed = _kms({"X-Project-Id": PID})
    assert signed.signed_headers == "content-type;host;x-project-id;x-sdk-date"
    assert signed.signature == "7533000d5800fed52ae979108ed75a3d6b4cf03454e0e280f8433f24371ee915"
    assert "\nx-project-id:%s\n" % PID in signed.canonical_request


def test_kms_vector_c_security_token():
    signed = _kms({"X-Project-Id": PID, "X-Security-Token": "TOKENXYZ"})
    assert signed.signed_headers == "content-type;host;x-project-id;x-sdk-date;x-security-token"
    assert signed.signature == "9a71f7fcad438da5999ce10d51453b018ab1781be6f67518aeafb7835c5b7a04"


def test_query_encoding_vector():
    signed = signer.sign("GET", "/v3/projects", [("name", "cn-north-4"), ("a b", "x/y~z")],
                         {"X-Sdk-Date": "20240101T000000Z"}, b"", AK, SK, host="iam.myhuaweicloud.com")
    assert signed.query == "a%20b=x%2Fy~z&name=cn-north-4"
    assert signed.signed_headers == "host;x-sdk-date"
    assert signed.signature == "cea6e660cc66edf1d06af3c7608245d0cef6b44835b8c7d57d67d137e588d6f1"
    assert signed.uri == "/v3/projects?a%20b=x%2Fy~z&name=cn-north-4"


# --- the rules, one by one ---------------------------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    ("/v1/p/vpcs", "/v1/p/vpcs/"),
    ("/v1/p/vpcs/", "/v1/p/vpcs/"),
    ("/", "/"),
    ("", "/"),
    ("/a b/c:d@e+f=g", "/a%20b/c%3Ad%40e%2Bf%3Dg/"),
    ("/a%20b/x", "/a%20b/x/"),            # decoded first, so an encoded path signs the same
    ("/caf\u00e9/~._-", "/caf%C3%A9/~._-/"),
])
def test_canonical_uri(path, expected):
    assert signer.canonical_uri(path) == expected


def test_canonical_query_sorting_lists_bools_and_empty_values():
    query = signer.canonical_query([("b", "2"), ("a", ["z", "y"]), ("flag", True), ("empty", ""), ("a", "x")])
    assert query == "a=x&a=y&a=z&b=2&empty=&flag=true"


def test_query_pairs_round_trip():
    pairs = [("name", "cn-north-4"), ("a b", "x/y~z"), ("e", "")]
    assert sorted(signer.query_pairs(signer.canonical_query(pairs))) == sorted(pairs)


def test_header_names_with_underscore_are_not_signed_and_values_are_stripped():
    signed = signer.sign("GET", "/x", [], {"X_Custom": "v", "X-Trim": "  spaced  ", "X-Sdk-Date": "20240101T000000Z"},
                         b"", AK, SK, host="h")
    assert signed.signed_headers == "host;x-sdk-date;x-trim"
    assert "\nx-trim:spaced\n" in signed.canonical_request


def test_non_json_body_is_unsigned_payload():
    signed = signer.sign("PUT", "/o", [], {"Content-Type": "application/octet-stream",
                                           "X-Sdk-Date": "20240101T000000Z"}, b"\x00\x01", AK, SK, host="h")
    assert signed.headers[signer.CONTENT_HASH_HEADER] == "UNSIGNED-PAYLOAD"
    assert signed.canonical_request.endswith("\nUNSIGNED-PAYLOAD")
    assert "x-sdk-content-sha256" in signed.signed_headers.split(";")


def test_sdk_date_format():
    assert signer.sdk_date(0) == "19700101T000000Z"
    assert signer.sdk_date(1573788915) == "20191115T033515Z"
    signed = signer.sign("GET", "/", [], {}, b"", AK, SK, host="h")
    assert len(signed.headers["X-Sdk-Date"]) == 16 and signed.headers["X-Sdk-Date"].endswith("Z")


def test_missing_credentials_refused():
    with pytest.raises(ValueError):
        signer.sign("GET", "/", [], {}, b"", "", SK, host="h")


def test_sign_prepared_signs_what_is_sent():
    prepared = requests.Request("POST", "https://kms.cn-north-4.myhuaweicloud.com:8443" + KMS_PATH,
                                headers={"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": PID},
                                data=KMS_BODY).prepare()
    signed = signer.sign_prepared(prepared, AK, SK, sign_headers=("Content-Type", "X-Project-Id", "X-Security-Token"),
                                  date="20240101T000000Z")
    assert prepared.headers["Host"] == "kms.cn-north-4.myhuaweicloud.com:8443"
    assert prepared.headers["X-Sdk-Date"] == "20240101T000000Z"
    assert prepared.headers["Authorization"] == signed.authorization
    # Content-Length, User-Agent & co. are not signed; proxies may change them.
    assert signed.signed_headers == "content-type;host;x-project-id;x-sdk-date"
    again = signer.sign("POST", KMS_PATH, [], {"Content-Type": "application/json;charset=UTF-8", "X-Project-Id": PID,
                                               "X-Sdk-Date": "20240101T000000Z"},
                        KMS_BODY, AK, SK, host="kms.cn-north-4.myhuaweicloud.com:8443")
    assert again.authorization == signed.authorization


# --- huaweicloudsdkcore as an oracle ---------------------------------------------------------------

ORACLE_CASES = [
    # method, host, path, query pairs, headers, body
    ("POST", KMS_HOST, KMS_PATH, [], {"Content-Type": "application/json;charset=UTF-8"}, KMS_BODY),
    ("GET", "iam.cn-north-4.myhuaweicloud.com", "/v3/projects", [("name", "cn-north-4")], {}, b""),
    ("GET", "iam.myhuaweicloud.com", "/v3/projects", [("name", "cn-north-4"), ("a b", "x/y~z")], {}, b""),
    ("GET", "svc.example.com:8443", "/v1/p/items", [("tags", ["b", "a"]), ("on", True), ("q", "caf\u00e9 & co")],
     {"Content-Type": "application/json"}, b""),
    ("DELETE", "svc.example.com", "/v1/p/it%20em/x:y", [("empty", "")], {"X-Custom": "  v  ", "X_Skip": "1"}, b""),
    ("PUT", "obs.example.com", "/bucket/obj", [], {"Content-Type": "application/octet-stream"}, b"\x00\xffbinary"),
    ("POST", "[::1]:9443", "/v1.0/%s/kms/get-publickey" % PID, [],
     {"Content-Type": "application/json;charset=utf-8", "User-Agent": "keyward/0.1"},
     b'{"key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f", "sequence": "919c82d4-8046-4722-9094-35c3c6524cff"}'),
]


def _sdk():
    pytest.importorskip("huaweicloudsdkcore")
    from huaweicloudsdkcore.auth.credentials import BasicCredentials
    from huaweicloudsdkcore.sdk_request import SdkRequest
    from huaweicloudsdkcore.signer.signer import Signer
    return BasicCredentials, SdkRequest, Signer


def _sdk_request(SdkRequest, method, host, path, query, headers, body, date):
    header_params = dict(headers)
    header_params["X-Sdk-Date"] = date
    return SdkRequest(method=method, schema="https", host=host, resource_path=path,
                      query_params=[(k, list(v) if isinstance(v, list) else v) for k, v in query],
                      header_params=header_params, body=body)


@pytest.mark.parametrize("case", ORACLE_CASES, ids=lambda c: "%s %s" % (c[0], c[2]))
def test_matches_sdk_signer(case):
    BasicCredentials, SdkRequest, Signer = _sdk()
    method, host, path, query, headers, body = case
    date = "20240229T235959Z"
    request = _sdk_request(SdkRequest, method, host, path, query, headers, body, date)
    Signer(BasicCredentials(AK, SK)).sign(request)
    ours = signer.sign(method, path, query, dict(headers, **{"X-Sdk-Date": date}), body, AK, SK, host=host)
    assert ours.headers["Authorization"] == request.header_params["Authorization"]
    assert ours.uri == request.uri


@pytest.mark.parametrize("security_token", [None, "TEMPTOKEN-" + "x" * 40])
def test_matches_sdk_credentials_with_project_and_security_token(security_token):
    BasicCredentials, SdkRequest, _Signer = _sdk()
    date = "20240101T120000Z"
    headers = {"Content-Type": "application/json;charset=utf-8"}
    request = _sdk_request(SdkRequest, "POST", KMS_HOST, KMS_PATH, [], headers, KMS_BODY, date)
    credentials = BasicCredentials(AK, SK, PID)
    if security_token:
        credentials = credentials.with_security_token(security_token)
    credentials.sign_request(request)
    ours_headers = dict(headers, **{"X-Sdk-Date": date, "X-Project-Id": PID})
    if security_token:
        ours_headers["X-Security-Token"] = security_token
    ours = signer.sign("POST", KMS_PATH, [], ours_headers, KMS_BODY, AK, SK, host=KMS_HOST)
    assert ours.headers["Authorization"] == request.header_params["Authorization"]


def test_sign_prepared_matches_sdk():
    """What the client really sends (a requests PreparedRequest) signs like the SDK would sign it."""
    BasicCredentials, SdkRequest, Signer = _sdk()
    date = "20240101T000000Z"
    url = "https://127.0.0.1:8443/v3/projects?" + signer.canonical_query([("name", "cn-north-4")])
    prepared = requests.Request("GET", url, headers={"Content-Type": "application/json;charset=utf-8",
                                                     "X-Security-Token": "tok"}).prepare()
    signer.sign_prepared(prepared, AK, SK, sign_headers=("Content-Type", "X-Project-Id", "X-Security-Token"),
                         date=date)
    request = _sdk_request(SdkRequest, "GET", "127.0.0.1:8443", "/v3/projects", [("name", "cn-north-4")],
                           {"Content-Type": "application/json;charset=utf-8", "X-Security-Token": "tok"}, "", date)
    Signer(BasicCredentials(AK, SK)).sign(request)
    assert prepared.headers["Authorization"] == request.header_params["Authorization"]
    assert prepared.path_url == request.uri


# --- the official Go SDK's published vectors (huaweicloud-sdk-go-v3 core/auth/signer/signer_test.go) --------
# The Go SDK signs only X-Sdk-Date (never Host or Content-Type), and the real gateway accepts it.

@pytest.mark.parametrize("method, params, body, expected", [
    ("GET", [("limit", 1)], b"", "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624"),
    # The Go SDK serialises the body with json.Encoder, which ends it with a newline.
    ("POST", [("key", "value")], b'{"Name":"test","Id":1}\n',
     "cecc2af119b18ab70b4d094c0750f3b42c02f254903179a0fc2cc72fc9db4f59"),
])
def test_go_sdk_vectors_signing_only_x_sdk_date(method, params, body, expected):
    headers = {"X-Sdk-Date": "20060102T150405Z", "Content-Type": "application/json"}
    canonical = signer.canonical_request(method, "/path", params, headers, ["x-sdk-date"], body)
    sig = signer.signature("SecretKey", signer.string_to_sign("20060102T150405Z", canonical))
    assert sig == expected
    assert signer.authorization("AccessKey", ["x-sdk-date"], sig) == (
        "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, Signature=%s" % expected)


def test_go_sdk_canonical_query_vector():
    pairs = [("limit", 1), ("enable", True), ("test", "一 (&=?!#%.*)"), ("path", "/tmp/123"), ("multi", [1, 2, 3])]
    assert signer.canonical_query(pairs) == (
        "enable=true&limit=1&multi=1&multi=2&multi=3&path=%2Ftmp%2F123&test=%E4%B8%80%20%28%26%3D%3F%21%23%25.%2A%29")
