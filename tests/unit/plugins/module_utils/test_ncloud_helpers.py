# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAVER Cloud KMS pure helpers (module_utils/providers/_ncloud.py), the option table against the doc
fragment, and the AWX credential type."""

from __future__ import annotations

import json
import os

import pytest
import yaml

from ansible_collections.keyward.keys.plugins.doc_fragments.connection import ModuleDocFragment as ConnectionDoc
from ansible_collections.keyward.keys.plugins.doc_fragments.ncloud import ModuleDocFragment as NcloudDoc
from ansible_collections.keyward.keys.plugins.module_utils.providers import _ncloud as nc
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError
from ansible_collections.keyward.keys.plugins.module_utils._options import CONNECTION, LOOKUP
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
DOC_TAG = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6"


def test_names():
    assert nc.NAME == "ncloud_kms" and nc.PROVIDER.name == "ncloud_kms"
    assert nc.VAR_PREFIX == "ncloud"


def test_option_table():
    assert nc.OPTIONS == {
        "key_version": dict(type="int", no_log=False),
        "site": dict(type="str", default="public", env=["NCLOUD_SITE"]),
        "endpoint": dict(type="str", env=["NCLOUD_KMS_ENDPOINT"]),
        "access_key": dict(type="str", env=["NCLOUD_ACCESS_KEY_ID", "NCLOUD_ACCESS_KEY"], no_log=False),
        "secret_key": dict(type="str", env=["NCLOUD_SECRET_ACCESS_KEY", "NCLOUD_SECRET_KEY"], no_log=True),
    }
    # same shape as every other provider table
    from ansible_collections.keyward.keys.plugins.module_utils.providers._huaweicloud import OPTIONS as HW
    allowed = {field for decl in HW.values() for field in decl} | {"default", "choices"}
    assert all(set(decl) <= allowed for decl in nc.OPTIONS.values())


def test_doc_fragment_matches_option_table():
    doc = yaml.safe_load(NcloudDoc.DOCUMENTATION)["options"]
    plugins = yaml.safe_load(NcloudDoc.PLUGINS)["options"]
    assert set(doc) == set(nc.OPTIONS)
    for name, decl in nc.OPTIONS.items():
        assert doc[name]["type"] == decl["type"], name
        assert doc[name].get("default") == decl.get("default"), name
        assert doc[name].get("choices") == decl.get("choices"), name
        assert [e["name"] for e in plugins[name].get("env", [])] == list(decl.get("env", [])), name
        for env_name in decl.get("env", []):
            assert "E(%s)" % env_name in " ".join(doc[name]["description"]), (name, env_name)
    connection_env = yaml.safe_load(ConnectionDoc.PLUGINS)["options"]
    assert set(plugins) == set(nc.OPTIONS) | set(CONNECTION) | set(LOOKUP)
    for name in plugins:
        assert plugins[name]["vars"] == [{"name": "keyward_ncloud_%s" % name}], name
        if name in CONNECTION:
            assert "env" not in plugins[name] or plugins[name]["env"] == connection_env.get(name, {}).get("env")


# --- keyTag and version -----------------------------------------------------------------------

@pytest.mark.parametrize("tag", [DOC_TAG, "a", "Key_Tag-01", "-", "_x_"])
def test_good_key_tags(tag):
    assert nc.check_key_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", " ", "abc def", "abc/def", "../keys", "abc?x=1", "abc%2F", "tag\n",
                                 "t\u00e4g", "abc.def", None, 12, ["abc"]])
def test_bad_key_tags_are_option_errors(tag):
    with pytest.raises(OptionError) as caught:
        nc.check_key_tag(tag)
    assert "ncloud_kms" in str(caught.value) and "keyTag" in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), (1, 1), (100, 100), ("7", 7), (" 42 ", 42)])
def test_good_key_versions(value, expected):
    assert nc.check_key_version(value) == expected


@pytest.mark.parametrize("value", [0, 101, -1, True, False, 1.0, "1.5", "x", "0x10", [1]])
def test_bad_key_versions(value):
    with pytest.raises(OptionError, match="key_version must be a whole number from 1 to 100"):
        nc.check_key_version(value)


def test_request_body():
    assert nc.request_body(None) is None
    assert nc.request_body(2) == b'{"keyVersion":2}'
    assert json.loads(nc.request_body("100")) == {"keyVersion": 100}
    with pytest.raises(OptionError):
        nc.request_body(0)


# --- endpoints --------------------------------------------------------------------------------

@pytest.mark.parametrize("site, endpoint, expected", [
    (None, None, "https://ocapi.ncloud.com/kms/v1"),
    ("public", None, "https://ocapi.ncloud.com/kms/v1"),
    ("", "", "https://ocapi.ncloud.com/kms/v1"),
    ("gov", None, "https://ocapi.gov-ncloud.com/kms/v1"),
    (" GOV ", None, "https://ocapi.gov-ncloud.com/kms/v1"),
    ("gov", "ocapi-kr.ncloud.com", "https://ocapi-kr.ncloud.com/kms/v1"),
    (None, "https://ocapi-jp.ncloud.com/", "https://ocapi-jp.ncloud.com/kms/v1"),
    (None, "https://127.0.0.1:8443", "https://127.0.0.1:8443/kms/v1"),
    (None, "https://proxy.example/ncp/kms/v1/", "https://proxy.example/ncp/kms/v1"),
    (None, "http://[::1]:8080/kms/v1", "http://[::1]:8080/kms/v1"),
])
def test_endpoint_for(site, endpoint, expected):
    assert nc.endpoint_for(site, endpoint) == expected
    assert nc.DEFAULT_ENDPOINT == "https://ocapi.ncloud.com/kms/v1"


@pytest.mark.parametrize("site, endpoint", [("fin", None), ("private", None), (None, "ftp://x"),
                                            (None, "https://u:p@host"), (None, "https://host/?q=1")])
def test_bad_endpoints(site, endpoint):
    with pytest.raises(OptionError):
        nc.endpoint_for(site, endpoint)


def test_public_key_url():
    assert nc.public_key_url("https://ocapi.ncloud.com/kms/v1", DOC_TAG) == \
        "https://ocapi.ncloud.com/kms/v1/keys/%s/get-pub-key" % DOC_TAG
    with pytest.raises(OptionError):
        nc.public_key_url("https://ocapi.ncloud.com/kms/v1", "../../admin")


# --- answers ----------------------------------------------------------------------------------

GATEWAY = {"error": {"errorCode": "200", "message": "Authentication Failed",
                     "details": "Invalid authentication information."}}


@pytest.mark.parametrize("body, expected", [
    (GATEWAY, ("200", "Authentication Failed: Invalid authentication information.", None)),
    (json.dumps(GATEWAY).encode(), ("200", "Authentication Failed: Invalid authentication information.", None)),
    ({"error": {"errorCode": 210, "message": "Permission Denied"}}, ("210", "Permission Denied", None)),
    ({"error": {"errorCode": "300", "message": "Not Found Exception", "details": "Not Found Exception"}},
     ("300", "Not Found Exception", None)),
    ({"error": {"errorCode": "429", "details": "Quota"}, "requestId": "r-1"}, ("429", "Quota", "r-1")),
    ({"code": "NOT_FOUND", "msg": "Key not found"}, ("NOT_FOUND", "Key not found", None)),
    ({"code": "INVALID_REQUEST", "message": "Invalid request", "requestId": "abc"},
     ("INVALID_REQUEST", "Invalid request", "abc")),
    ({"code": "FORBIDDEN", "msg": ""}, ("FORBIDDEN", None, None)),
    ('{"code": "X", "msg": "m"}', ("X", "m", None)),
    (b"<html>502</html>", (None, None, None)),
    (b"\xff\xfe", (None, None, None)),
    ([1, 2], (None, None, None)),
    (None, (None, None, None)),
    ({}, (None, None, None)),
])
def test_error_fields(body, expected):
    assert nc.error_fields(body) == expected


def test_success_envelope_passes():
    for body in ({"code": "SUCCESS", "data": {"publicKey": "PEM"}}, {"code": "SUCCESS", "msg": "", "data": {}}):
        assert nc.PROFILE.success_failure(body) is None


@pytest.mark.parametrize("body, code, words", [
    ({"code": "FAILURE", "msg": "Something broke"}, "FAILURE", "Something broke"),
    ({"code": "UNPROCESSABLE_ENTITY", "message": "Invalid status", "data": {"publicKey": "x"}},
     "UNPROCESSABLE_ENTITY", "Invalid status"),
    ({"code": "success", "data": {}}, "success", "did not report success"),
    ({"data": {"publicKey": "x"}}, "(none)", "did not report success"),
    (GATEWAY, "200", "Authentication Failed"),
    ([], None, "other than a JSON object"),
])
def test_a_2xx_that_is_not_success_is_a_failure(body, code, words):
    reported = nc.PROFILE.success_failure(body)
    assert reported is not None and reported[0] == code and words in reported[1]


def test_clock_skew_hint_for_the_gateways_authentication_failure():
    assert nc.CLOCK_SKEW_HINT in nc.PROFILE.hint("200", "Authentication Failed")
    assert "5 minutes" in nc.CLOCK_SKEW_HINT and "clock" in nc.CLOCK_SKEW_HINT
    assert nc.CLOCK_SKEW_HINT not in nc.PROFILE.hint("NOT_FOUND", "Key not found")


# --- records ----------------------------------------------------------------------------------

RSA_PEM = testkeys.spki_pem(testkeys.rsa_key(2048, slot=211))
EC_PEM = testkeys.spki_pem(testkeys.ec_key("secp256r1", slot=221))


def test_record_latest():
    record = nc.record_from_data(DOC_TAG, {"publicKey": RSA_PEM})
    assert record["provider"] == "ncloud_kms" and record["key_id"] == DOC_TAG
    assert record["public_key"] == RSA_PEM and record["public_key_raw"] == RSA_PEM
    assert (record["key_type"], record["key_size"]) == ("RSA", 2048)
    assert record["fingerprint_sha256"] == __import__("hashlib").sha256(
        testkeys.spki_der(testkeys.rsa_key(2048, slot=211))).hexdigest()
    assert record["metadata"] == {"key_version": None, "latest": True}


def test_record_version_asked_and_returned():
    assert nc.record_from_data(DOC_TAG, {"publicKey": EC_PEM}, requested_version=2)["metadata"] == \
        {"key_version": 2, "latest": False}
    assert nc.record_from_data(DOC_TAG, {"publicKey": EC_PEM, "keyVersion": 5})["metadata"] == \
        {"key_version": 5, "latest": True}
    assert nc.record_from_data(DOC_TAG, {"publicKey": EC_PEM, "keyVersion": 2}, requested_version=2)["metadata"] == \
        {"key_version": 2, "latest": False}
    # a version that is not an integer is not taken for one
    assert nc.record_from_data(DOC_TAG, {"publicKey": EC_PEM, "keyVersion": "3"})["metadata"]["key_version"] is None


def test_record_crlf_pem_is_normalised():
    record = nc.record_from_data(DOC_TAG, {"publicKey": EC_PEM.replace("\n", "\r\n")})
    assert record["public_key"] == EC_PEM and record["curve"] == "secp256r1"


def test_record_version_mismatch():
    with pytest.raises(ProviderError, match="version 3 although version 2"):
        nc.record_from_data(DOC_TAG, {"publicKey": EC_PEM, "keyVersion": 3}, requested_version=2)


@pytest.mark.parametrize("data", [{}, {"publicKey": ""}, {"publicKey": None}, {"publicKey": 5}, None])
def test_record_without_public_key(data):
    with pytest.raises(ProviderError, match="without a publicKey") as caught:
        nc.record_from_data(DOC_TAG, data)
    assert caught.value.key == DOC_TAG


def test_record_with_garbage_key():
    with pytest.raises(ProviderError) as caught:
        nc.record_from_data(DOC_TAG, {"publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"})
    assert DOC_TAG in str(caught.value)


# --- AWX credential type ----------------------------------------------------------------------

def test_awx_credential_type():
    with open(os.path.join(ROOT, "extensions", "awx", "credential_types", "ncloud.yml")) as handle:
        cred = yaml.safe_load(handle)
    assert set(cred) == {"name", "description", "kind", "inputs", "injectors"}
    assert cred["kind"] == "cloud"
    fields = {f["id"]: f for f in cred["inputs"]["fields"]}
    assert set(fields) == {"access_key", "secret_key", "site", "endpoint"}
    assert fields["secret_key"].get("secret") is True
    assert all(not f.get("secret") for name, f in fields.items() if name != "secret_key")
    assert all(f["type"] == "string" and f["label"] for f in fields.values())
    assert fields["site"]["choices"] == ["public", "gov"]
    assert set(cred["inputs"]["required"]) == {"access_key", "secret_key"}
    env = cred["injectors"]["env"]
    assert set(cred["injectors"]) == {"env"}
    assert env == {
        "NCLOUD_ACCESS_KEY_ID": "{{ access_key }}",
        "NCLOUD_SECRET_ACCESS_KEY": "{{ secret_key }}",
        "NCLOUD_SITE": "{{ site }}",
        "NCLOUD_KMS_ENDPOINT": "{{ endpoint }}",
    }
    assert not any(name.startswith("ANSIBLE_") for name in env)
    # every injected variable is one the option table reads (first name of each)
    table_env = {decl["env"][0]: name for name, decl in nc.OPTIONS.items() if decl.get("env")}
    assert {table_env[name] for name in env} == set(fields)
