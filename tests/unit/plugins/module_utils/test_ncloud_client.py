# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAVER Cloud KMS provider on the contract: NcloudProfile, NcloudKmsClient and fetch_records
against the emulator on loopback (versions, errors, the envelope, retries re-signed, secrets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.keyward.keys.plugins.module_utils.providers import _ncloud as nc
from ansible_collections.keyward.keys.plugins.module_utils.providers import _ncloud_signer as signer
from ansible_collections.keyward.keys.plugins.module_utils import _registry
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError
from ansible_collections.keyward.keys.plugins.module_utils._options import CONNECTION
from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_records
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
from ansible_collections.keyward.keys.tests.emulators import ncloud_kms as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

TAG = emu.KEY_TAGS
STANDARD_KEYS = emu.standard_keys()
CREDS = dict(access_key=emu.ACCESS_KEY, secret_key=emu.SECRET_KEY)
BAD_SECRET = "ncp_iam_BPKMKRwrongSecretThatMustNeverLeak000009"


@pytest.fixture(scope="module")
def server():
    srv = EmulatorServer(emu.NcloudKmsEmulator(keys=STANDARD_KEYS)).start()
    yield srv
    srv.stop()


@pytest.fixture
def kms(server):
    server.reset()
    server.app.clock = time.time
    yield server
    server.app.clock = time.time


def transport(retries=3):
    # A real (if short) pause between attempts, so every attempt has its own millisecond timestamp.
    return Transport(nc.NAME, profile=nc.PROFILE, timeout=5, retries=retries, sleep=lambda s: time.sleep(0.005),
                     secrets=[emu.SECRET_KEY, BAD_SECRET])


def client(server, **options):
    values = dict(CREDS, endpoint=server.url)
    values.update(options)
    return nc.NcloudKmsClient(transport(), **values)


def options(server, **extra):
    values = {name: decl.get("default") for name, decl in CONNECTION.items()}
    values.update({name: decl.get("default") for name, decl in nc.OPTIONS.items()})
    values.update(CREDS, endpoint=server.url, timeout=5, retries=2)
    values.update(extra)
    return values


def kms_requests(server):
    return [r for r in server.requests if r["path"].endswith("/get-pub-key")]


# --- the provider declaration ------------------------------------------------------------------

def test_provider_declaration():
    provider = _registry.load("ncloud_kms")
    assert provider is nc.PROVIDER
    assert (provider.name, provider.var_prefix, provider.options) == ("ncloud_kms", "ncloud", nc.OPTIONS)
    assert provider.profile is nc.PROFILE and provider.records
    assert provider.check_term(" %s " % TAG["rsa"]) == TAG["rsa"]
    with pytest.raises(OptionError, match="not a KMS keyTag"):
        provider.check_term("../keys")
    assert provider.secrets(dict(secret_key="s3cret", access_key="AK")) == ["s3cret"]


def test_importing_the_provider_does_not_import_cryptography():
    code = ("import sys; sys.path.insert(0, %r)\n"
            "import ansible_collections.keyward.keys.plugins.module_utils.providers._ncloud\n"
            "bad = [m for m in sys.modules if m.startswith('cryptography') or m.endswith('._keys') or m == 'requests']\n"
            "print(bad)" % _collections_root())
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _collections_root():
    path = os.path.dirname(os.path.abspath(nc.__file__))
    while os.path.basename(path) != "ansible_collections":
        path = os.path.dirname(path)
    return os.path.dirname(path)


# --- the profile -------------------------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    ({"code": "SUCCESS", "data": {"publicKey": "x"}}, None),
    ({"code": "SUCCESS", "msg": "", "data": {}}, None),
    ({"code": "FAILURE", "msg": "broken"}, ("FAILURE", "broken")),
    ({"code": "success", "data": {}}, ("success", "KMS did not report success")),
    ({"data": {"publicKey": "x"}}, ("(none)", "KMS did not report success")),
    ({"code": "SUCCESS", "error": {"errorCode": "900", "message": "Unexpected Error"}}, ("900", "Unexpected Error")),
    ([1], (None, "KMS answered with something other than a JSON object")),
])
def test_profile_envelope(body, expected):
    assert nc.PROFILE.success_failure(body) == expected


def test_profile_errors_and_hints():
    body = {"error": {"errorCode": 200, "message": "Authentication Failed", "details": "Invalid timestamp."}}
    assert nc.PROFILE.error_fields(body) == ("200", "Authentication Failed: Invalid timestamp.", None)
    assert "5 minutes" in nc.PROFILE.hint("200", "Authentication Failed")
    assert "KMS permission" in nc.PROFILE.hint("210", "Permission Denied")
    assert nc.PROFILE.hint("NOT_FOUND", "Key not found") == "Key not found"

    class Headers(dict):
        def get(self, name, default=None):
            return {k.lower(): v for k, v in self.items()}.get(name.lower(), default)

    assert nc.PROFILE.header_request_id(Headers({"X-NCP-TRACE-ID": "abc"})) == "abc"


# --- options, before any request ---------------------------------------------------------------

@pytest.mark.parametrize("values, words", [
    (dict(key_version=0), "key_version must be a whole number from 1 to 100"),
    (dict(key_version="latest"), "key_version must be a whole number"),
    (dict(site="fin", endpoint=None), "site must be one of gov, public"),
    (dict(endpoint="ftp://x"), "only http and https"),
    (dict(secret_key=None), "secret_key is missing"),
    (dict(access_key="", secret_key=""), "no credentials"),
    (dict(access_key="AK\nX-Evil: 1"), "access_key must not contain line breaks"),
    (dict(access_key="AK\u00e9"), "printable ASCII"),
    (dict(secret_key="line\nbreak" + BAD_SECRET), "secret_key must not contain line breaks"),
])
def test_option_errors_before_any_request(kms, values, words):
    with pytest.raises(OptionError, match=words) as caught:
        client(kms, **values)
    assert BAD_SECRET not in str(caught.value) and "\n" not in str(caught.value)
    assert kms.requests == []


def test_blank_options_mean_unset():
    made = nc.NcloudKmsClient(transport(), key_version="", site="", endpoint="  ", **CREDS)
    assert made.endpoint == "https://ocapi.ncloud.com/kms/v1" and made.key_version is None and made.body is None
    assert nc.NcloudKmsClient(transport(), site="GOV", **CREDS).endpoint == "https://ocapi.gov-ncloud.com/kms/v1"


# --- fetching ----------------------------------------------------------------------------------

def test_rsa_latest_without_body(kms):
    record = client(kms).fetch(TAG["rsa"])
    assert (record["provider"], record["key_id"], record["key_type"], record["key_size"], record["curve"]) == \
        ("ncloud_kms", TAG["rsa"], "RSA", 2048, None)
    assert record["public_key"] == kms.app.public_key(TAG["rsa"], 3)
    assert record["fingerprint_sha256"] == kms.app.fingerprint(TAG["rsa"], 3)
    assert record["metadata"] == {"key_version": None, "latest": True}
    assert kms.app.fetched == [(TAG["rsa"], None, emu.ACCESS_KEY)]
    sent = kms_requests(kms)[0]
    assert sent["target"] == "/kms/v1/keys/%s/get-pub-key" % TAG["rsa"]
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert "content-type" not in headers and headers.get("content-length", "0") == "0"
    assert headers[signer.ACCESS_KEY_HEADER] == emu.ACCESS_KEY
    message = signer.string_to_sign("POST", sent["target"], headers[signer.TIMESTAMP_HEADER], emu.ACCESS_KEY)
    assert headers[signer.SIGNATURE_HEADER] == signer.signature(emu.SECRET_KEY, message)


def test_ecdsa_with_version(kms):
    record = client(kms, key_version=1).fetch(TAG["ecdsa"])
    assert (record["key_type"], record["key_size"], record["curve"]) == ("EC", 256, "secp256r1")
    assert record["fingerprint_sha256"] == kms.app.fingerprint(TAG["ecdsa"], 1)
    assert record["metadata"] == {"key_version": 1, "latest": False}
    assert kms.app.fetched == [(TAG["ecdsa"], 1, emu.ACCESS_KEY)]
    headers = {k.lower(): v for k, v in kms_requests(kms)[0]["headers"].items()}
    assert headers["content-type"] == "application/json"


def test_version_the_service_names_is_kept(kms):
    kms.faults.add("/get-pub-key$", [{"status": 200, "body": {"code": "SUCCESS", "data": {
        "publicKey": kms.app.public_key(TAG["ecdsa"], 2), "keyVersion": 2}}}])
    assert client(kms).fetch(TAG["ecdsa"])["metadata"] == {"key_version": 2, "latest": True}


def _error(kms, tag, **values):
    with pytest.raises(ProviderError) as caught:
        client(kms, **values).fetch(tag)
    err = caught.value
    assert "\n" not in str(err) and BAD_SECRET not in str(err) and emu.SECRET_KEY not in str(err)
    assert err.provider == "ncloud_kms" and err.key == tag
    return err


@pytest.mark.parametrize("name, version, status, code, words", [
    ("rsa", 2, 422, "UNPROCESSABLE_ENTITY", "Invalid status"),          # a disabled version
    ("rsa", 9, 404, "NOT_FOUND", "Key version not found"),
    ("latest_disabled", None, 422, "UNPROCESSABLE_ENTITY", "Invalid status"),
    ("aes", None, 400, "INVALID_REQUEST", "Invalid request"),           # no public key
    ("disabled", None, 422, "UNPROCESSABLE_ENTITY", "Invalid status"),
])
def test_kms_errors(kms, name, version, status, code, words):
    err = _error(kms, TAG[name], key_version=version)
    assert (err.status, err.code) == (status, code) and words in str(err)
    assert len(err.request_id) == 32  # x-ncp-trace-id
    assert len(kms_requests(kms)) == 1  # 4xx are not retried


def test_unknown_key(kms):
    err = _error(kms, emu.UNKNOWN_KEY_TAG)
    assert (err.status, err.code) == (404, "NOT_FOUND")
    assert str(err).startswith("ncloud_kms: key %s: Key not found" % emu.UNKNOWN_KEY_TAG)


def test_bad_signature_names_the_clock(kms):
    err = _error(kms, TAG["rsa"], secret_key=BAD_SECRET)
    assert (err.status, err.code) == (401, "200")
    assert "Authentication Failed: Invalid authentication information." in str(err)
    assert "5 minutes" in str(err) and "clock" in str(err)
    assert "request id %s" % err.request_id in str(err)


def test_stale_clock(kms):
    kms.app.clock = lambda: time.time() + 301
    err = _error(kms, TAG["ecdsa"])
    assert (err.status, err.code) == (401, "200") and "Invalid timestamp" in str(err) and "NTP" in str(err)
    kms.app.clock = lambda: time.time() - 290  # inside the window
    assert client(kms).fetch(TAG["ecdsa"])["curve"] == "secp256r1"


def test_permission_denied(kms):
    err = _error(kms, TAG["rsa"], access_key=emu.DENIED_ACCESS_KEY, secret_key=emu.DENIED_SECRET_KEY)
    assert (err.status, err.code) == (401, "210") and "KMS permission" in str(err)


def test_wrong_endpoint_path(kms):
    err = _error(kms, TAG["rsa"], endpoint=kms.url + "/kms/v2")
    assert (err.status, err.code) == (404, "300") and "end in /kms/v1" in str(err)


@pytest.mark.parametrize("fault, code, words", [
    (dict(code="FAILURE", msg="The request could not be processed."), "FAILURE", "could not be processed"),
    (dict(code="UNPROCESSABLE_ENTITY", msg="Invalid status", data={"publicKey": "x"}), "UNPROCESSABLE_ENTITY",
     "Invalid status"),
])
def test_envelope_checked_on_2xx(kms, fault, code, words):
    kms.app.fail_next(**fault)
    err = _error(kms, TAG["rsa"])
    assert (err.status, err.code) == (200, code) and words in str(err) and err.request_id
    assert len(kms_requests(kms)) == 1


@pytest.mark.parametrize("action, words", [
    ({"status": 200, "body": {"code": "SUCCESS"}}, "without a data object"),
    ({"status": 200, "body": {"code": "SUCCESS", "data": {}}}, "without a publicKey"),
    ({"status": 200, "body": {"code": "SUCCESS", "data": {"publicKey": "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"}}}, ""),
    ({"status": 200, "body": [1, 2]}, "other than a JSON object"),
    ({"html": True, "status": 200}, "HTML page"),
    ({"status": 201, "body": {"code": "SUCCESS", "data": {"publicKey": None}}}, "only RSA2048 and ECDSA"),
])
def test_unusable_success_answers(kms, action, words):
    kms.faults.add("/get-pub-key$", [action])
    err = _error(kms, TAG["rsa"])
    assert words in str(err) and err.status in (200, 201)


def test_retries_are_signed_again(kms):
    kms.faults.add("/get-pub-key$", [
        {"status": 503, "body": {"error": {"errorCode": "500", "message": "Endpoint Error"}}},
        {"status": 429, "body": {"error": {"errorCode": "420", "message": "Rate Limited"}}}])
    record = client(kms, key_version=3).fetch(TAG["rsa"])
    assert record["metadata"]["key_version"] == 3
    sent = kms_requests(kms)
    assert len(sent) == 3
    stamps = [{k.lower(): v for k, v in r["headers"].items()}[signer.TIMESTAMP_HEADER] for r in sent]
    assert len(set(stamps)) == 3


def test_error_text_echoing_a_secret_is_masked(kms):
    kms.faults.add("/get-pub-key$", [{"status": 400, "body": {"code": "INVALID_REQUEST",
                                                              "msg": "bad key %s" % emu.SECRET_KEY}}])
    err = _error(kms, TAG["rsa"])
    assert "bad key ********" in str(err)


# --- the one fetch path ------------------------------------------------------------------------

def test_fetch_records_dedupes_and_keeps_order(kms):
    tags = [TAG["rsa"], TAG["ecdsa"], TAG["doc_example"], TAG["rsa"], TAG["ecdsa"]]
    records = fetch_records(nc.PROVIDER, options(kms), tags)
    assert [r["key_id"] for r in records] == tags
    assert len(kms_requests(kms)) == 3
    assert records[0] is records[3]


def test_fetch_records_checks_every_tag_first(kms):
    with pytest.raises(OptionError, match="key bad tag: not a KMS keyTag"):
        fetch_records(nc.PROVIDER, options(kms), [TAG["rsa"], "bad tag"])
    assert kms.requests == []


def test_fetch_records_concurrently(kms):
    kms.faults.latency = 0.4
    tags = [TAG[name] for name in ("rsa", "ecdsa", "doc_example")]
    started = time.monotonic()
    fetch_records(nc.PROVIDER, options(kms), tags)
    assert time.monotonic() - started < 1.0  # three answers of 0.4 s each, at once


def test_fetch_records_pins(kms):
    pin = kms.app.fingerprint(TAG["ecdsa"], 2)
    assert fetch_records(nc.PROVIDER, options(kms, expected_fingerprint=[pin]), [TAG["ecdsa"]])[0]["curve"]
    with pytest.raises(ProviderError, match="fingerprint"):
        fetch_records(nc.PROVIDER, options(kms, expected_fingerprint=["00" * 32]), [TAG["ecdsa"]])


def test_fetch_records_masks_secrets(kms):
    kms.faults.add("/get-pub-key$", [{"status": 400, "body": {"code": "X", "msg": "echo %s" % BAD_SECRET}}])
    with pytest.raises(ProviderError) as caught:
        fetch_records(nc.PROVIDER, options(kms, secret_key=BAD_SECRET), [TAG["rsa"]])
    assert BAD_SECRET not in str(caught.value) and "echo ********" in str(caught.value)


def test_records_are_plain_data(kms):
    record = fetch_records(nc.PROVIDER, options(kms), [TAG["doc_example"]])[0]
    assert json.loads(json.dumps(record)) == record
