"""The Alibaba IDaaS provider on the contract: its profile, client and Provider, against the
emulator on loopback (plain HTTP here; HTTPS in the integration tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pytest

from ansible_collections.keyward.keys.plugins.module_utils.providers import _alicloud as ali
from ansible_collections.keyward.keys.plugins.module_utils import _registry
from ansible_collections.keyward.keys.plugins.module_utils._errors import KeyFormatError, OptionError, ProviderError
from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_list, fetch_records
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

KEY = emu.KEY_IDS
BIG_APPLICATION_ID = "app_kw0big0application000000000a"
BIG_COUNT = 2 * ali.LIST_PAGE_SIZE + 5  # three pages
BIG_PEM = emu.standard_keys()[0][1]["PublicKey"]


@pytest.fixture(scope="module")
def _server():
    with EmulatorServer(None) as srv:
        yield srv


@pytest.fixture
def srv(_server):
    app = emu.AlibabaIdaasEmulator()
    for index in range(BIG_COUNT):
        app.add_key(BIG_APPLICATION_ID, BIG_PEM, key_id=emu.make_key_id("big/%d" % index))
    _server.app = app
    _server.reset()
    return _server


def options(srv, **extra):
    values = dict(timeout=5.0, retries=3, validate_certs=True, ca_path=None, expected_fingerprint=None,
                  instance_id=emu.INSTANCE_ID, application_id=emu.APPLICATION_ID, region_id="", endpoint=srv.url,
                  access_key_id=emu.ACCESS_KEY_ID, access_key_secret=emu.ACCESS_KEY_SECRET, security_token="")
    values.update(extra)
    return values


def client(srv, sleeps=None, **extra):
    opts = options(srv, **extra)
    transport = Transport(ali.NAME, timeout=5, retries=opts["retries"], profile=ali.PROFILE,
                          secrets=ali.PROVIDER.secrets(opts),
                          sleep=(sleeps.append if sleeps is not None else (lambda s: None)))
    return ali.PROVIDER.make_client(opts, transport)


# --- the contract ----------------------------------------------------------------------------

def test_registered_and_declared():
    assert _registry.PROVIDERS["alicloud_idaas"] == "providers._alicloud"
    provider = _registry.load("alicloud_idaas")
    assert provider is ali.PROVIDER and provider.profile is ali.PROFILE
    assert provider.check_term(" %s " % KEY["primary"]) == KEY["primary"]
    with pytest.raises(OptionError, match="not a ClientPublicKeyId"):
        provider.check_term("KEY/../x")
    opts = options(types.SimpleNamespace(url="https://127.0.0.1:1"), security_token="tok")
    assert sorted(provider.secrets(opts)) == sorted([emu.ACCESS_KEY_SECRET, "tok"])


def test_importing_the_provider_loads_no_key_model_nor_http_library():
    code = ("import sys; from ansible_collections.keyward.keys.plugins.module_utils.providers import _alicloud; "
            "print(sorted(m for m in ('cryptography', 'requests', "
            "'ansible_collections.keyward.keys.plugins.module_utils._keys') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=":".join(sys.path)))
    assert out.stdout.strip() == "[]"


# --- the profile -----------------------------------------------------------------------------

def test_profile_reads_alibaba_errors():
    body = {"RequestId": "0441BD79-92F3-53AA-8657-F8CE4A2B912A", "HostId": "eiam.cn-hangzhou.aliyuncs.com",
            "Code": "SignatureDoesNotMatch",
            "Message": "Specified signature is not matched with our calculation. server string to sign is:ACS3\nabc",
            "Recommend": "https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch"}
    code, message, request_id = ali.PROFILE.error_fields(body)
    assert (code, request_id) == ("SignatureDoesNotMatch", "0441BD79-92F3-53AA-8657-F8CE4A2B912A")
    assert message == "Specified signature is not matched with our calculation."
    assert ali.PROFILE.header_request_id({"x-acs-request-id": "R1"}) == "R1"
    assert ali.PROFILE.body_request_id(body) == body["RequestId"]


def test_profile_retries_throttling_codes_only():
    for code in ("Throttling", "Throttling.User", "Throttling.Api"):
        assert ali.PROFILE.is_retryable_code(code)
    for code in ("ThrottlingX", "InvalidParameter", None, ""):
        assert not ali.PROFILE.is_retryable_code(code)


def test_profile_retry_after_is_milliseconds_then_the_default():
    assert ali.PROFILE.retry_after({"x-acs-retry-after": "1500"}) == 1.5
    assert ali.PROFILE.retry_after({"x-acs-retry-after": "0"}) == 0.0
    assert ali.PROFILE.retry_after({"x-acs-retry-after": "soon", "Retry-After": "2"}) == 2.0
    assert ali.PROFILE.retry_after({"Retry-After": "3"}) == 3.0
    assert ali.PROFILE.retry_after({}) is None


def test_profile_hints_in_plain_words_once():
    text = ali.PROFILE.hint("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
    assert text.startswith("Specified time stamp") and "clock" in text and "15 minutes" in text
    assert "expired; the clock" in text
    assert ali.PROFILE.hint("InvalidTimeStamp.Expired", text) == text
    assert ali.PROFILE.hint("EntityNotExists.ClientPublicKey", "nope") == "nope"


# --- the client ------------------------------------------------------------------------------

def test_fetch_one_key_with_its_metadata(srv):
    record = client(srv).fetch(KEY["primary"])
    assert record["provider"] == "alicloud_idaas" and record["key_id"] == KEY["primary"]
    assert record["fingerprint_sha256"] == srv.app.fingerprint(KEY["primary"])
    assert (record["key_type"], record["key_size"], record["curve"]) == ("RSA", 2048, None)
    assert record["metadata"] == {
        "application_id": emu.APPLICATION_ID, "instance_id": emu.INSTANCE_ID, "algorithm_type": "RSA-2048",
        "status": "enabled", "primary": True, "create_time": "2024-11-11T06:15:55Z",
        "last_used_time": "2024-12-21T06:15:55Z"}
    action, access_key_id, params = srv.app.fetched[-1]
    assert (action, access_key_id) == ("GetClientPublicKey", emu.ACCESS_KEY_ID)
    assert params == {"InstanceId": emu.INSTANCE_ID, "ApplicationId": emu.APPLICATION_ID,
                      "ClientPublicKeyId": KEY["primary"]}
    request = srv.requests[-1]
    assert request["method"] == "POST" and request["path"] == "/"


def test_key_shapes_and_never_used(srv):
    cli = client(srv)
    crlf = cli.fetch(KEY["secondary_crlf"])
    assert "\r" in crlf["public_key_raw"] and "\r" not in crlf["public_key"]
    assert cli.fetch(KEY["ec_p256"])["curve"] == "secp256r1"
    assert cli.fetch(KEY["never_used"])["metadata"]["last_used_time"] is None
    assert cli.fetch(KEY["disabled"])["metadata"]["status"] == "disabled"


def test_list_follows_next_token_through_every_page(srv):
    records = client(srv, application_id=BIG_APPLICATION_ID).list()
    assert [r["key_id"] for r in records] == [emu.make_key_id("big/%d" % i) for i in range(BIG_COUNT)]
    pages = [params for action, _ak, params in srv.app.fetched if action == "ListClientPublicKeys"]
    assert len(pages) == 3
    assert "NextToken" not in pages[0] and all(p.get("NextToken") for p in pages[1:])
    assert all(p["MaxResults"] == str(ali.LIST_PAGE_SIZE) for p in pages)


def test_list_standard_and_empty_applications(srv):
    records = client(srv).list()
    assert [r["key_id"] for r in records] == list(KEY.values())
    assert client(srv, application_id=emu.EMPTY_APPLICATION_ID).list() == []
    # a last page that omits NextToken instead of sending ""
    srv.app.last_page_token = None
    assert len(client(srv).list()) == len(KEY)


def test_fetch_list_through_the_provider_pins_every_record(srv):
    opts = options(srv, expected_fingerprint=[srv.app.fingerprint(KEY["primary"])])
    with pytest.raises(ProviderError, match="fingerprint"):
        fetch_list(ali.PROVIDER, opts)
    records = fetch_records(ali.PROVIDER, opts, [KEY["primary"], KEY["primary"]])
    assert [r["key_id"] for r in records] == [KEY["primary"]] * 2
    assert srv.app.calls["GetClientPublicKey"] == 1  # deduplicated


def test_throttling_is_retried_honouring_x_acs_retry_after(srv):
    sleeps = []
    srv.app.throttle(2, retry_after_ms=1200)
    record = client(srv, sleeps=sleeps).fetch(KEY["rsa3072"])
    assert record["key_size"] == 3072
    assert sleeps == [1.2, 1.2]
    srv.app.throttle(1, code="Throttling.Api")  # no header: exponential backoff
    sleeps.clear()
    client(srv, sleeps=sleeps).fetch(KEY["rsa3072"])
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.5


def test_throttling_that_never_ends_is_one_line(srv):
    srv.app.throttle(4)
    with pytest.raises(ProviderError) as info:
        client(srv).fetch(KEY["primary"])
    error = info.value
    assert (error.status, error.code) == (400, "Throttling.User")
    assert str(error).startswith("alicloud_idaas: key %s: Request was denied due to user flow control." % KEY["primary"])
    assert error.request_id and "request id %s" % error.request_id in str(error)


def test_wrong_secret_says_so_in_plain_words_and_never_echoes(srv):
    secret = "WrongSecretThatMustNotLeak000001"
    with pytest.raises(ProviderError) as info:
        client(srv, access_key_secret=secret).fetch(KEY["primary"])
    text = str(info.value)
    assert info.value.code == "SignatureDoesNotMatch" and info.value.status == 400
    assert "access_key_secret does not belong to access_key_id" in text
    assert "string to sign" not in text and secret not in text and "\n" not in text


def test_clock_skew_says_so(srv):
    srv.app.skew = 20 * 60
    with pytest.raises(ProviderError) as info:
        client(srv).fetch(KEY["primary"])
    assert info.value.code == "InvalidTimeStamp.Expired" and "synchronise it" in str(info.value)


def test_unknown_key_application_and_access_key(srv):
    with pytest.raises(ProviderError) as info:
        client(srv).fetch(emu.UNKNOWN_KEY_ID)
    assert (info.value.status, info.value.code) == (404, "EntityNotExists.ClientPublicKey")
    assert str(info.value).startswith("alicloud_idaas: key %s: The specified client public key does not exist."
                                      % emu.UNKNOWN_KEY_ID)
    with pytest.raises(ProviderError) as info:
        client(srv, application_id="app_kw0nothere").list()
    assert info.value.code == "EntityNotExists.Application"
    assert "listing the client public keys of app_kw0nothere failed" in str(info.value)
    with pytest.raises(ProviderError) as info:
        client(srv, access_key_id="LTAI5tUnknown").fetch(KEY["primary"])
    assert info.value.code == "InvalidAccessKeyId.NotFound" and "does not know access_key_id" in str(info.value)


def test_sts_credentials(srv):
    sts = dict(access_key_id=emu.STS_ACCESS_KEY_ID, access_key_secret=emu.STS_ACCESS_KEY_SECRET)
    assert client(srv, security_token=emu.SECURITY_TOKEN, **sts).fetch(KEY["primary"])["key_id"] == KEY["primary"]
    assert srv.requests[-1]["headers"]["x-acs-security-token"] == emu.SECURITY_TOKEN
    with pytest.raises(ProviderError) as info:
        client(srv, **sts).fetch(KEY["primary"])
    assert info.value.code == "MissingSecurityToken" and "security_token" in str(info.value)
    srv.app.expire_security_tokens()
    with pytest.raises(ProviderError) as info:
        client(srv, security_token=emu.SECURITY_TOKEN, **sts).fetch(KEY["primary"])
    assert info.value.code == "InvalidSecurityToken.Expired"
    assert emu.SECURITY_TOKEN not in str(info.value)


def test_the_document_example_key_is_a_clear_key_error(srv):
    with pytest.raises(KeyFormatError) as info:
        client(srv, application_id=emu.BROKEN_APPLICATION_ID).fetch(emu.DOC_EXAMPLE_KEY_ID)
    assert info.value.key == emu.DOC_EXAMPLE_KEY_ID and info.value.status == 200 and info.value.request_id


def test_every_attempt_is_signed_afresh(srv):
    srv.faults.add("^/$", [{"status": 503, "body": {"Code": "ServiceUnavailable", "Message": "busy"}}])
    client(srv).fetch(KEY["primary"])
    nonces = [r["headers"]["x-acs-signature-nonce"] for r in srv.requests]
    assert len(nonces) == 2 and len(set(nonces)) == 2


# --- options -----------------------------------------------------------------------------------

def test_blank_values_mean_unset_and_endpoints():
    transport = Transport(ali.NAME, profile=ali.PROFILE)
    base = dict(instance_id=emu.INSTANCE_ID, application_id=emu.APPLICATION_ID,
                access_key_id="AK", access_key_secret="SK")
    cli = ali.AlibabaIdaasClient(transport, region_id="cn-hangzhou", endpoint="", security_token="", **base)
    assert cli.url == "https://eiam.cn-hangzhou.aliyuncs.com/" and cli._token is None
    cli = ali.AlibabaIdaasClient(transport, region_id="", endpoint="eiam-cn.vpc-proxy.aliyuncs.com", **base)
    assert cli.url == "https://eiam-cn.vpc-proxy.aliyuncs.com/"
    with pytest.raises(OptionError, match="set region_id"):
        ali.AlibabaIdaasClient(transport, region_id=" ", endpoint="", **base)


def test_missing_or_half_credentials_and_ids():
    transport = Transport(ali.NAME, profile=ali.PROFILE)
    ids = dict(instance_id=emu.INSTANCE_ID, application_id=emu.APPLICATION_ID, region_id="cn-hangzhou")
    with pytest.raises(OptionError, match="no credentials.*ALIBABA_CLOUD_ACCESS_KEY_ID"):
        ali.AlibabaIdaasClient(transport, access_key_id="", access_key_secret=None, **ids)
    with pytest.raises(OptionError, match="access_key_secret is missing"):
        ali.AlibabaIdaasClient(transport, access_key_id="AK", **ids)
    with pytest.raises(OptionError, match="application_id is required"):
        ali.AlibabaIdaasClient(transport, instance_id=emu.INSTANCE_ID, region_id="cn-hangzhou",
                               access_key_id="AK", access_key_secret="SK")


class _XmlErrors(object):
    """A gateway that answers every request with Alibaba's XML error form."""

    def __init__(self, status, code):
        self.status, self.code = status, code
        self.echo = ""  # text a careless gateway puts in its message

    def handle(self, request):
        from ansible_collections.keyward.keys.tests.emulators._server import Response

        body = ('<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>5A1C-XML-REQ</RequestId>'
                '<HostId>eiam.cn-hangzhou.aliyuncs.com</HostId><Code>%s</Code>'
                '<Message>Specified access key is not found.%s</Message></Error>' % (self.code, self.echo))
        return Response(self.status, body, {"Content-Type": "text/xml;charset=utf-8"})


@pytest.mark.parametrize("status,code", [(404, "InvalidAccessKeyId.NotFound"), (400, "Throttling.User")])
def test_an_xml_error_body_is_read_like_a_json_one(status, code):
    sleeps = []
    with EmulatorServer(_XmlErrors(status, code)) as server:
        with pytest.raises(ProviderError) as caught:
            client(server, sleeps=sleeps, retries=1).fetch(sorted(emu.KEY_IDS.values())[0])
    error = caught.value
    assert (error.status, error.code, error.request_id) == (status, code, "5A1C-XML-REQ")
    assert "Specified access key is not found" in str(error)
    # Throttling.* is retried, as it is in a JSON body.
    assert len(sleeps) == (1 if code.startswith("Throttling") else 0)


def test_a_secret_echoed_in_an_xml_error_body_is_masked():
    app = _XmlErrors(400, "SignatureDoesNotMatch")
    app.echo = emu.ACCESS_KEY_SECRET
    with EmulatorServer(app) as server:
        with pytest.raises(ProviderError) as caught:
            client(server, retries=0).fetch(sorted(emu.KEY_IDS.values())[0])
    assert caught.value.code == "SignatureDoesNotMatch"
    assert emu.ACCESS_KEY_SECRET not in str(caught.value) and "********" in str(caught.value)
