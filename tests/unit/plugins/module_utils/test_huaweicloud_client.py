"""Huawei Cloud KMS client against the emulator on loopback: options, endpoints, the three
authentication methods, project discovery, error shapes, key shapes, retries."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
import yaml

from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.plugins.doc_fragments.connection import ModuleDocFragment as ConnectionDoc
from ansible_collections.keyward.keys.plugins.doc_fragments.huaweicloud import ModuleDocFragment as HuaweiDoc
from ansible_collections.keyward.keys.plugins.module_utils.providers import _huaweicloud as hw
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError
from ansible_collections.keyward.keys.plugins.module_utils._options import CONNECTION, LOOKUP
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

KEY = emu.KEY_IDS
# Generate the emulator's keys (RSA up to 4096 bits) once, at import: ansible-test units forks a
# process per test, and the forks inherit these instead of generating their own.
STANDARD_KEYS = emu.standard_keys()


@pytest.fixture(scope="module")
def server():
    app = emu.HuaweiCloudEmulator(keys=STANDARD_KEYS)
    srv = EmulatorServer(app).start()
    yield srv
    srv.stop()


@pytest.fixture
def hwsrv(server):
    server.reset()
    server.app.clock = time.time
    hw.reset_memory()
    yield server
    server.app.clock = time.time
    hw.reset_memory()


def make_client(server, transport=None, **options):
    base = dict(region=emu.REGION, endpoint=server.url, iam_endpoint=server.url)
    base.update(options)
    return hw.HuaweiKmsClient(transport or Transport(hw.NAME, profile=hw.PROFILE, timeout=5, retries=3, sleep=lambda s: None), **base)


AKSK = dict(access_key=emu.ACCESS_KEY, secret_key=emu.SECRET_KEY)
PASSWORD = dict(username=emu.USERNAME, password=emu.PASSWORD, domain_name=emu.DOMAIN_NAME)


# --- the option table, the interface and the documentation agree -------------------------------

def test_option_table_matches_interface():
    expected_env = {
        "region": ["HUAWEICLOUD_SDK_REGION", "HW_REGION_NAME"],
        "project_id": ["HUAWEICLOUD_SDK_PROJECT_ID", "HW_PROJECT_ID"],
        "endpoint": ["HUAWEICLOUD_KMS_ENDPOINT"],
        "iam_endpoint": ["HUAWEICLOUD_SDK_IAM_ENDPOINT"],
        "access_key": ["HUAWEICLOUD_SDK_AK", "HW_ACCESS_KEY"],
        "secret_key": ["HUAWEICLOUD_SDK_SK", "HW_SECRET_KEY"],
        "security_token": ["HUAWEICLOUD_SDK_SECURITY_TOKEN", "HW_SECURITY_TOKEN"],
        "auth_token": ["HUAWEICLOUD_AUTH_TOKEN"],
        "username": ["HW_USER_NAME"],
        "password": ["HW_USER_PASSWORD"],
        "domain_name": ["HW_DOMAIN_NAME"],
        "sequence": [],
    }
    assert {name: decl.get("env", []) for name, decl in hw.OPTIONS.items()} == expected_env
    secrets = {name for name, decl in hw.OPTIONS.items() if decl.get("no_log")}
    assert secrets == {"secret_key", "security_token", "auth_token", "password"}
    # sanity: names with key/token/pass that are not secret say so explicitly
    for name, decl in hw.OPTIONS.items():
        if any(word in name for word in ("key", "secret", "token", "pass")):
            assert "no_log" in decl, name


def test_doc_fragment_matches_option_table():
    doc = yaml.safe_load(HuaweiDoc.DOCUMENTATION)["options"]
    plugins = yaml.safe_load(HuaweiDoc.PLUGINS)["options"]
    assert set(doc) == set(hw.OPTIONS)
    for name, decl in hw.OPTIONS.items():
        assert doc[name]["type"] == decl["type"], name
        assert doc[name].get("default") == decl.get("default"), name
        # listed in the table's order; the lookup base makes the first one set win
        assert [e["name"] for e in plugins[name].get("env", [])] == list(decl.get("env", [])), name
        for env_name in decl.get("env", []):
            assert "E(%s)" % env_name in " ".join(doc[name]["description"]), (name, env_name)
    connection_env = yaml.safe_load(ConnectionDoc.PLUGINS)["options"]
    for name in list(hw.OPTIONS) + list(CONNECTION) + list(LOOKUP):
        assert plugins[name]["vars"] == [{"name": "keyward_huaweicloud_%s" % name}], name
        if name in CONNECTION:
            assert "env" not in plugins[name] or plugins[name]["env"] == connection_env.get(name, {}).get("env")


# --- endpoints --------------------------------------------------------------------------------

def test_endpoints_from_region():
    assert hw.default_kms_endpoint("cn-north-4") == "https://kms.cn-north-4.myhuaweicloud.com"
    assert hw.default_kms_endpoint("eu-west-101") == "https://kms.eu-west-101.myhuaweicloud.eu"
    assert hw.default_iam_endpoint("ap-southeast-1") == "https://iam.ap-southeast-1.myhuaweicloud.com"
    assert hw.default_iam_endpoint("eu-west-101") == "https://iam.eu-west-101.myhuaweicloud.eu"
    client = hw.HuaweiKmsClient(Transport(hw.NAME, profile=hw.PROFILE), region="eu-west-101", project_id="p" * 32, **AKSK)
    assert client.kms_url == "https://kms.eu-west-101.myhuaweicloud.eu"


def test_endpoint_overrides():
    client = hw.HuaweiKmsClient(Transport(hw.NAME, profile=hw.PROFILE), region="cn-north-4", endpoint="kms.internal.example",
                                iam_endpoint="https://iam.internal.example:8443/v3/", **AKSK)
    assert client.kms_url == "https://kms.internal.example"
    assert client.iam_url == "https://iam.internal.example:8443"


# --- options are refused before any request -----------------------------------------------------

@pytest.mark.parametrize("options, fragment", [
    (dict(), "no credentials"),
    (dict(access_key=emu.ACCESS_KEY), "secret_key is missing"),
    (dict(secret_key=emu.SECRET_KEY), "access_key is missing"),
    (dict(username=emu.USERNAME, password=emu.PASSWORD), "domain_name missing"),
    (dict(AKSK, region=None, endpoint=None), "set region"),
    (dict(AKSK, region=None), "project_id is needed"),
    (dict(AKSK, region="cn north"), "not a region name"),
    (dict(AKSK, project_id="a/b"), "not a project ID"),
    (dict(AKSK, sequence="short"), "sequence must be 36"),
    (dict(AKSK, endpoint="ftp://x"), "only http and https"),
])
def test_option_errors(hwsrv, options, fragment):
    with pytest.raises(OptionError) as info:
        make_client(hwsrv, **options)
    assert fragment in str(info.value)
    assert hwsrv.count() == 0


@pytest.mark.parametrize("key_id", ["0D0466B0-E727-4D9C-B35D-F84BB474A37F", "alias/mykey", "", "../../etc",
                                    "0d0466b0-e727-4d9c-b35d-f84bb474a37f-extra", None])
def test_key_id_checked_before_any_request(hwsrv, key_id):
    client = make_client(hwsrv, **AKSK)
    with pytest.raises(OptionError) as info:
        client.fetch(key_id)
    assert "not a KMS key ID" in str(info.value) and "huaweicloud_kms" in str(info.value)
    assert hwsrv.count() == 0 and client.transport.attempts == 0


# --- authentication -----------------------------------------------------------------------------

def _last(server, path):
    return [r for r in server.requests if path in r["path"]][-1]


def test_aksk_with_project_discovery(hwsrv):
    client = make_client(hwsrv, **AKSK)
    records = [client.fetch(KEY["rsa2048"]), client.fetch(KEY["ec_p256"])]
    assert [r["key_type"] for r in records] == ["RSA", "EC"]
    assert hwsrv.count("^/v3/projects$", "GET") == 1
    assert hwsrv.count("/kms/get-publickey$", "POST") == 2
    sent = _last(hwsrv, "get-publickey")
    assert sent["path"] == "/v1.0/%s/kms/get-publickey" % emu.PROJECT_ID
    assert sent["headers"]["X-Project-Id"] == emu.PROJECT_ID
    auth = sent["headers"]["Authorization"]
    assert auth.startswith("SDK-HMAC-SHA256 Access=%s, SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
                           "Signature=" % emu.ACCESS_KEY)
    assert sent["headers"]["Host"] == hwsrv.address
    assert records[0]["metadata"] == {"project_id": emu.PROJECT_ID, "region": emu.REGION}
    # the project id is remembered per process: a second client does not ask again
    make_client(hwsrv, **AKSK).fetch(KEY["rsa2048"])
    assert hwsrv.count("^/v3/projects$", "GET") == 1


def test_aksk_with_project_id_given_makes_one_request(hwsrv):
    client = make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK)
    client.fetch(KEY["rsa2048"])
    assert hwsrv.count() == 1


def test_temporary_aksk_signs_security_token(hwsrv):
    client = make_client(hwsrv, access_key=emu.TEMP_ACCESS_KEY, secret_key=emu.TEMP_SECRET_KEY,
                         security_token=emu.TEMP_SECURITY_TOKEN)
    assert client.fetch(KEY["rsa2048"])["key_type"] == "RSA"
    sent = _last(hwsrv, "get-publickey")
    assert "x-security-token" in sent["headers"]["Authorization"]
    assert sent["headers"]["X-Security-Token"] == emu.TEMP_SECURITY_TOKEN
    projects = _last(hwsrv, "/v3/projects")
    assert "x-security-token" in projects["headers"]["Authorization"]


def test_temporary_aksk_without_security_token_is_refused(hwsrv):
    client = make_client(hwsrv, project_id=emu.PROJECT_ID, access_key=emu.TEMP_ACCESS_KEY,
                         secret_key=emu.TEMP_SECRET_KEY)
    with pytest.raises(ProviderError) as info:
        client.fetch(KEY["rsa2048"])
    assert info.value.status == 401 and info.value.code == "APIGW.0301"


def test_auth_token_wins_over_aksk_and_password(hwsrv):
    token = hwsrv.app.issue_token()
    client = make_client(hwsrv, project_id=emu.PROJECT_ID, auth_token=token, **dict(AKSK, **PASSWORD))
    assert client.auth_method == "token"
    client.fetch(KEY["rsa2048"])
    sent = _last(hwsrv, "get-publickey")
    assert sent["headers"]["X-Auth-Token"] == token
    assert "Authorization" not in sent["headers"]
    assert hwsrv.app.logins == 0


def test_auth_token_project_discovery(hwsrv):
    client = make_client(hwsrv, auth_token=hwsrv.app.issue_token())
    client.fetch(KEY["rsa2048"])
    assert _last(hwsrv, "/v3/projects")["target"] == "/v3/projects?name=%s" % emu.REGION


def test_aksk_wins_over_password(hwsrv):
    client = make_client(hwsrv, **dict(AKSK, **PASSWORD))
    assert client.auth_method == "aksk"
    client.fetch(KEY["rsa2048"])
    assert hwsrv.app.logins == 0


def test_password_token_obtained_once_for_every_key(hwsrv):
    from ansible_collections.keyward.keys.plugins.module_utils._concurrency import map_bounded
    client = make_client(hwsrv, **PASSWORD)
    ids = [KEY["rsa2048"], KEY["ec_p256"], KEY["ec_p384"], KEY["sm2"], KEY["rsa3072_pkcs1"]]
    records = map_bounded(client.fetch, ids)
    assert [r["key_id"] for r in records] == ids
    assert hwsrv.app.logins == 1
    assert hwsrv.count("^/v3/projects$") == 0  # the project comes from the token's scope
    login = _last(hwsrv, "/v3/auth/tokens")
    assert login["target"] == "/v3/auth/tokens?nocatalog=true"
    sent = _last(hwsrv, "get-publickey")
    assert sent["path"] == "/v1.0/%s/kms/get-publickey" % emu.PROJECT_ID
    assert sent["headers"]["X-Auth-Token"].startswith("MIIT")
    # same process, new client (another lookup call in the same worker): no second login
    make_client(hwsrv, **PASSWORD).fetch(KEY["rsa2048"])
    assert hwsrv.app.logins == 1


def test_password_login_is_scoped_by_project_id_when_given(hwsrv):
    client = make_client(hwsrv, project_id=emu.PROJECT_ID, **PASSWORD)
    client.fetch(KEY["rsa2048"])
    assert hwsrv.app.logins == 1  # the emulator accepted the scope {"project": {"id": ...}}
    assert client._token[1] == emu.PROJECT_ID


def test_password_token_revoked_midway_logs_in_once_more(hwsrv):
    client = make_client(hwsrv, **PASSWORD)
    client.fetch(KEY["rsa2048"])
    hwsrv.app.expire_tokens()
    client.fetch(KEY["ec_p256"])
    assert hwsrv.app.logins == 2


def test_wrong_password(hwsrv):
    options = dict(PASSWORD)
    options["password"] = "wrong-password-123"
    client = make_client(hwsrv, **options)
    with pytest.raises(ProviderError) as info:
        client.fetch(KEY["rsa2048"])
    text = str(info.value)
    assert text.startswith("huaweicloud_kms: key %s: IAM login of %s@%s failed: The username or password is wrong."
                           % (KEY["rsa2048"], emu.USERNAME, emu.DOMAIN_NAME))
    assert "HTTP 401" in text and "request id " in text and "wrong-password-123" not in text
    assert info.value.code is None  # Keystone's "code": 401 only repeats the status


# --- failures: one line with provider, key, status, code, request id ------------------------------

def _fail(client, key_id):
    with pytest.raises(ProviderError) as info:
        client.fetch(key_id)
    exc = info.value
    assert "\n" not in str(exc)
    assert str(exc).startswith("huaweicloud_kms: key %s: " % key_id)
    assert "HTTP %d" % exc.status in str(exc)
    assert exc.code and "code %s" % exc.code in str(exc)
    assert exc.request_id and "request id %s" % exc.request_id in str(exc)
    return exc


def test_unknown_key(hwsrv):
    exc = _fail(make_client(hwsrv, **AKSK), emu.UNKNOWN_KEY_ID)
    assert (exc.status, exc.code) == (404, "KMS.0207")
    assert "The key does not exist." in str(exc)


def test_disabled_pending_deletion_and_symmetric_keys(hwsrv):
    client = make_client(hwsrv, **AKSK)
    assert (_fail(client, KEY["disabled"]).code, _fail(client, KEY["pending_deletion"]).code,
            _fail(client, KEY["symmetric"]).code) == ("KMS.0209", "KMS.0210", "KMS.0308")


def test_bad_signature_is_the_gateways_flat_error(hwsrv):
    exc = _fail(make_client(hwsrv, project_id=emu.PROJECT_ID, access_key=emu.ACCESS_KEY,
                            secret_key="not-the-secret-key"), KEY["rsa2048"])
    assert (exc.status, exc.code) == (401, "APIGW.0301")
    assert "verify aksk signature fail" in str(exc)
    assert "not-the-secret-key" not in str(exc)
    assert len(exc.request_id) == 32  # the emulator's X-Request-Id (also in the flat body)


def test_clock_skew_over_15_minutes_is_refused(hwsrv):
    hwsrv.app.clock = lambda: time.time() + 16 * 60
    exc = _fail(make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK), KEY["rsa2048"])
    assert "signature expired" in str(exc)
    hwsrv.app.clock = lambda: time.time() + 14 * 60
    make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK).fetch(KEY["rsa2048"])


def test_expired_auth_token(hwsrv):
    token = hwsrv.app.issue_token(ttl=-60)
    exc = _fail(make_client(hwsrv, project_id=emu.PROJECT_ID, auth_token=token), KEY["rsa2048"])
    assert (exc.status, exc.code) == (401, "APIGW.0301")
    assert "token expires" in str(exc) and token not in str(exc)


def test_token_for_another_project(hwsrv):
    token = hwsrv.app.issue_token(project_id="f" * 32)
    exc = _fail(make_client(hwsrv, project_id=emu.PROJECT_ID, auth_token=token), KEY["rsa2048"])
    assert (exc.status, exc.code) == (403, "KMS.0321")


def test_unknown_access_key(hwsrv):
    exc = _fail(make_client(hwsrv, project_id=emu.PROJECT_ID, access_key="NOSUCHAK", secret_key="x"), KEY["rsa2048"])
    assert "ak not exist" in str(exc)


def test_5xx_then_success(hwsrv):
    hwsrv.faults.add("/kms/get-publickey$", [
        {"status": 503, "body": {"error_msg": "Service Unavailable", "error_code": "APIGW.0203", "request_id": "r1"}},
        {"status": 500, "body": {"error": {"error_code": "KMS.0101", "error_msg": "kms error."}}},
    ])
    client = make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK)
    assert client.fetch(KEY["rsa2048"])["key_type"] == "RSA"
    assert client.transport.attempts == 3
    # the emulator answered the first two (faults) and verified the signature of the third
    assert hwsrv.count("/kms/get-publickey$") == 3


def test_5xx_until_retries_run_out(hwsrv):
    hwsrv.faults.add("/kms/get-publickey$", [
        {"status": 500, "body": {"error": {"error_code": "KMS.0101", "error_msg": "kms error."}},
         "headers": {"X-Request-Id": "req-500"}}] * 4)
    exc = _fail(make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK), KEY["rsa2048"])
    assert (exc.status, exc.code, exc.request_id) == (500, "KMS.0101", "req-500")


def test_html_error_page(hwsrv):
    hwsrv.faults.add("/kms/get-publickey$", [{"html": True, "status": 403}])
    with pytest.raises(ProviderError) as info:
        make_client(hwsrv, Transport(hw.NAME, profile=hw.PROFILE, retries=0), project_id=emu.PROJECT_ID, **AKSK).fetch(KEY["rsa2048"])
    assert "HTML page" in str(info.value) and "HTTP 403" in str(info.value)


def test_answer_without_public_key(hwsrv):
    hwsrv.faults.add("/kms/get-publickey$", [{"status": 200, "body": {"key_id": KEY["rsa2048"]}}])
    with pytest.raises(ProviderError) as info:
        make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK).fetch(KEY["rsa2048"])
    assert "without a public_key" in str(info.value)


@pytest.mark.parametrize("body, expected", [
    ({"error": {"error_code": "KMS.0207", "error_msg": "The key does not exist."}},
     ("The key does not exist.", "KMS.0207", None)),
    ({"error_msg": "Incorrect IAM authentication information: verify aksk signature fail",
      "error_code": "APIGW.0301", "request_id": "body-rid"},
     ("Incorrect IAM authentication information: verify aksk signature fail", "APIGW.0301", "body-rid")),
    ({"errorCode": "X.1", "errorMsg": "camel"}, ("camel", "X.1", None)),
    ({"error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}},
     ("The username or password is wrong.", None, None)),
    ({"error": {"code": 401, "title": "Unauthorized"}}, ("Unauthorized", None, None)),
])
def test_error_body_shapes(body, expected):
    code, message, request_id = hw.PROFILE.error_fields(body)
    assert (message, code, request_id) == expected


# --- key shapes -------------------------------------------------------------------------------

@pytest.mark.parametrize("name, key_type, size, curve", [
    ("rsa2048", "RSA", 2048, None),
    ("rsa3072_pkcs1", "RSA", 3072, None),
    ("rsa4096_crlf", "RSA", 4096, None),
    ("doc_example", "RSA", 4096, None),
    ("ec_p256", "EC", 256, "secp256r1"),
    ("ec_p384", "EC", 384, "secp384r1"),
    ("sm2", "SM2", 256, "sm2p256v1"),
])
def test_every_key_shape(hwsrv, name, key_type, size, curve):
    record = make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK).fetch(KEY[name])
    assert (record["key_type"], record["key_size"], record["curve"]) == (key_type, size, curve)
    assert record["provider"] == "huaweicloud_kms" and record["key_id"] == KEY[name]
    assert record["public_key_raw"] == hwsrv.app.keys[KEY[name]]["public_key"]
    pem = record["public_key"]
    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and pem.endswith("-----END PUBLIC KEY-----\n")
    assert "\r" not in pem
    if key_type != "SM2":
        der = serialization.load_pem_public_key(pem.encode()).public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert record["fingerprint_sha256"] == hashlib.sha256(der).hexdigest()


def test_documentation_example_is_pkcs1_under_public_key_label(hwsrv):
    record = make_client(hwsrv, project_id=emu.PROJECT_ID, **AKSK).fetch(emu.DOC_EXAMPLE_KEY_ID)
    assert "\r\n" in record["public_key_raw"]
    key = serialization.load_pem_public_key(record["public_key"].encode())
    assert key.public_numbers().e == 65537 and key.key_size == 4096


def test_sequence_is_sent(hwsrv):
    client = make_client(hwsrv, project_id=emu.PROJECT_ID, sequence="919c82d4-8046-4722-9094-35c3c6524cff", **AKSK)
    assert json.loads(client.request_body(KEY["rsa2048"])) == {
        "key_id": KEY["rsa2048"], "sequence": "919c82d4-8046-4722-9094-35c3c6524cff"}
    client.fetch(KEY["rsa2048"])


def test_emulator_accepts_a_go_sdk_style_signature_without_host(hwsrv):
    """What the real gateway accepts: SignedHeaders=x-sdk-date only, as the official Go SDK sends."""
    import requests

    from ansible_collections.keyward.keys.plugins.module_utils.providers import _huaweicloud_signer as signer
    path = "/v1.0/%s/kms/get-publickey" % emu.PROJECT_ID
    body = json.dumps({"key_id": KEY["rsa2048"]}).encode()
    date = signer.sdk_date()
    headers = {"X-Sdk-Date": date, "Content-Type": "application/json"}
    canonical = signer.canonical_request("POST", path, [], headers, ["x-sdk-date"], body)
    sig = signer.signature(emu.SECRET_KEY, signer.string_to_sign(date, canonical))
    headers["Authorization"] = signer.authorization(emu.ACCESS_KEY, ["x-sdk-date"], sig)
    answer = requests.post(hwsrv.url + path, data=body, headers=headers, timeout=5)
    assert answer.status_code == 200, answer.text
    headers["Authorization"] = signer.authorization(emu.ACCESS_KEY, ["x-sdk-date"], "0" * 64)
    assert requests.post(hwsrv.url + path, data=body, headers=headers, timeout=5).status_code == 401
