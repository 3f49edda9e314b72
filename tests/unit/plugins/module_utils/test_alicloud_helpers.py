"""Pure helpers of the Alibaba IDaaS provider: options, id checks, endpoints, error bodies,
records (checked against the emulator's keys) and pages."""

from __future__ import annotations

import json

import pytest

from ansible_collections.keyward.keys.plugins.module_utils.providers import _alicloud as ali
from ansible_collections.keyward.keys.plugins.module_utils.providers import _huaweicloud
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as emu


def test_constants():
    assert ali.NAME == "alicloud_idaas"
    assert ali.PROVIDER.name == "alicloud_idaas" and ali.PROVIDER.var_prefix == ali.VAR_PREFIX
    assert ali.PROVIDER.options is ali.OPTIONS
    assert ali.VAR_PREFIX == "alicloud"
    assert ali.API_VERSION == "2021-12-01"


def test_options_table_matches_the_interface():
    assert ali.OPTIONS == {
        "instance_id": {"type": "str"},
        "application_id": {"type": "str"},
        "region_id": {"type": "str", "env": ["ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION_ID", "ALICLOUD_REGION"]},
        "endpoint": {"type": "str", "env": ["ALIBABA_CLOUD_IDAAS_ENDPOINT"]},
        "access_key_id": {"type": "str", "env": ["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY"], "no_log": False},
        "access_key_secret": {"type": "str", "env": ["ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"],
                              "no_log": True},
        "security_token": {"type": "str", "env": ["ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN"],
                           "no_log": True},
    }


def test_options_table_has_the_huaweicloud_format():
    allowed = set()
    for decl in _huaweicloud.OPTIONS.values():
        allowed |= set(decl)
    for name, decl in ali.OPTIONS.items():
        assert set(decl) <= allowed, name
        assert all(isinstance(env, str) and not env.startswith("ANSIBLE_") for env in decl.get("env", []))
        if any(word in name for word in ("key", "secret", "token", "pass")):
            assert "no_log" in decl, name  # sanity needs an explicit choice


def test_options_table_builds_an_argspec():
    from ansible_collections.keyward.keys.plugins.module_utils import _options
    pytest.importorskip("ansible.module_utils.basic")
    spec = _options.argspec(ali.OPTIONS)
    assert spec["access_key_secret"]["no_log"] is True
    assert spec["region_id"]["fallback"][1] == ["ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION_ID", "ALICLOUD_REGION"]


@pytest.mark.parametrize("term", ["KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx", emu.KEY_IDS["primary"], "KEY_a-1"])
def test_plausible_ids_pass(term):
    assert ali.check_client_public_key_id(term) == term


@pytest.mark.parametrize("term", ["", " KEY123", "KEY123 ", "KEY/../x", "KEY?x=1", "KEY%20", "1KEY", "K",
                                  "KEY\n", "K" * 129, None, 123, ["KEY1"], "KEYé"])
def test_implausible_ids_are_refused(term):
    with pytest.raises(OptionError) as info:
        ali.check_client_public_key_id(term)
    assert "alicloud_idaas" in str(info.value) and "ClientPublicKeyId" in str(info.value)
    assert "\n" not in str(info.value)


def test_resource_ids():
    assert ali.check_resource_id("instance_id", " idaas_ue2jvisn35ea5lmthk267xxxxx ") == "idaas_ue2jvisn35ea5lmthk267xxxxx"
    assert ali.check_resource_id("application_id", emu.APPLICATION_ID) == emu.APPLICATION_ID
    with pytest.raises(OptionError, match="instance_id is required.*keyward_alicloud_instance_id"):
        ali.check_resource_id("instance_id", None)
    with pytest.raises(OptionError, match="app_mkv7"):
        ali.check_resource_id("application_id", "app/../x")


def test_default_endpoint():
    assert ali.default_endpoint("cn-hangzhou") == "https://eiam.cn-hangzhou.aliyuncs.com"
    assert ali.default_endpoint("AP-Southeast-1") == "https://eiam.ap-southeast-1.aliyuncs.com"
    for bad in ("", None, "hangzhou", "cn-hangzhou.evil.com", "cn hangzhou", "cn-hangzhou/"):
        with pytest.raises(OptionError):
            ali.default_endpoint(bad)


def test_endpoint_url():
    assert ali.endpoint_url(region_id="eu-central-1") == "https://eiam.eu-central-1.aliyuncs.com"
    assert ali.endpoint_url("eiam-cn.vpc-proxy.aliyuncs.com", "cn-hangzhou").startswith("https://eiam-cn.vpc-proxy")
    assert ali.endpoint_url("http://127.0.0.1:8080", None).startswith("http://127.0.0.1:8080")
    with pytest.raises(OptionError, match="region_id"):
        ali.endpoint_url(None, None)


ERROR_BODY = {"RequestId": "0B12DE1A-AAAA", "HostId": "eiam.cn-hangzhou.aliyuncs.com", "Code": "SignatureDoesNotMatch",
              "Message": "Specified signature is not matched with our calculation. server string to sign is:GET&%2F&"
                         "AccessKeyId%3Dx%26SecurityToken%3Dsecret",
              "Recommend": "https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch"}


def test_error_fields():
    code, message, request_id = ali.error_fields(ERROR_BODY)
    assert (code, request_id) == ("SignatureDoesNotMatch", "0B12DE1A-AAAA")
    assert message == "Specified signature is not matched with our calculation."
    assert ali.error_fields(json.dumps(ERROR_BODY).encode()) == (code, message, request_id)
    assert ali.error_fields({"code": "Throttling.User", "message": "m", "requestId": "r"}) == ("Throttling.User", "m", "r")
    xml = "<?xml version='1.0'?><Error><RequestId>R1</RequestId><Code>InternalError</Code><Message>oops</Message></Error>"
    assert ali.error_fields(xml) == ("InternalError", "oops", "R1")
    for nothing in (None, "", b"<html>bad gateway</html>", "not json", [1, 2], {"other": 1}):
        assert ali.error_fields(nothing) == (None, None, None)


def test_is_throttling():
    for code in ("Throttling", "Throttling.User", "Throttling.Api", "Throttling.Tenant"):
        assert ali.is_throttling(code)
    for code in ("ThrottlingX", "SignatureDoesNotMatch", None, "", "throttling"):
        assert not ali.is_throttling(code)


def test_hints():
    assert "clock" in ali.hint("InvalidTimeStamp.Expired") and "15 minutes" in ali.hint("IllegalTimestamp")
    assert "access_key_secret" in ali.hint("SignatureDoesNotMatch")
    assert "access_key_secret" in ali.hint("IncompleteSignature")
    assert "security_token" in ali.hint("InvalidSecurityToken.Expired")
    assert "access_key_id" in ali.hint("InvalidAccessKeyId.NotFound")
    assert "disabled" in ali.hint("InvalidAccessKeyId.Inactive")
    assert ali.hint("EntityNotExists.ClientPublicKey") is None
    assert ali.hint(None) is None


def test_is_not_found():
    assert ali.is_not_found(404, None)
    assert ali.is_not_found(400, "EntityNotExists.ClientPublicKey")
    assert ali.is_not_found(400, "EntityNotFound.Application")
    assert not ali.is_not_found(400, "InvalidParameter")


@pytest.mark.parametrize("value,expected", [
    (1731305755000, "2024-11-11T06:15:55Z"),
    (1731305755123, "2024-11-11T06:15:55Z"),
    ("1771305755000", "2026-02-17T05:22:35Z"),
    (1731305755, "2024-11-11T06:15:55Z"),
    ("2024-11-11T14:15:55+08:00", "2024-11-11T06:15:55Z"),
    ("2024-11-11T06:15:55Z", "2024-11-11T06:15:55Z"),
    ("2024-11-11T06:15:55", "2024-11-11T06:15:55Z"),
    (0, None), (None, None), ("", None), (-5, None), (True, None),
    ("yesterday", "yesterday"),
])
def test_iso_time(value, expected):
    assert ali.iso_time(value) == expected


def test_record_from_every_emulator_item():
    app = emu.AlibabaIdaasEmulator()
    for item in app.keys_of():
        record = ali.record_from_item(dict(item), emu.INSTANCE_ID, emu.APPLICATION_ID)
        assert record["provider"] == "alicloud_idaas"
        assert record["key_id"] == item["ClientPublicKeyId"]
        assert record["public_key_raw"] == item["PublicKey"]
        assert record["fingerprint_sha256"] == app.fingerprint(item["ClientPublicKeyId"])
        meta = record["metadata"]
        assert set(meta) == {"application_id", "instance_id", "algorithm_type", "status", "primary", "create_time",
                             "last_used_time"}
        assert meta["algorithm_type"] == item["AlgorithmType"]
        assert meta["status"] == item["Status"] and meta["primary"] is item["Primary"]
        assert meta["create_time"] == ali.iso_time(item["CreateTime"]) and meta["create_time"].endswith("Z")
    by_name = {name: ali.record_from_item(app.key(key_id), None, None) for name, key_id in emu.KEY_IDS.items()}
    assert by_name["primary"]["metadata"]["primary"] is True
    assert by_name["primary"]["metadata"]["create_time"] == "2024-11-11T06:15:55Z"
    assert by_name["never_used"]["metadata"]["last_used_time"] is None
    assert by_name["rsa3072"]["key_type"] == "RSA" and by_name["rsa3072"]["key_size"] == 3072
    assert by_name["ec_p256"]["key_type"] == "EC" and by_name["ec_p256"]["curve"] == "secp256r1"
    assert by_name["secondary_crlf"]["public_key"].endswith("-----END PUBLIC KEY-----\n")
    assert "\r" not in by_name["secondary_crlf"]["public_key"]


def test_record_from_item_falls_back_to_the_asked_ids():
    app = emu.AlibabaIdaasEmulator()
    item = {k: v for k, v in app.key(emu.KEY_IDS["primary"]).items() if k not in ("InstanceId", "ApplicationId")}
    meta = ali.record_from_item(item, "idaas_x", "app_y")["metadata"]
    assert (meta["instance_id"], meta["application_id"]) == ("idaas_x", "app_y")


def test_record_from_bad_items():
    app = emu.AlibabaIdaasEmulator()
    with pytest.raises(ProviderError, match="key KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx"):
        ali.record_from_item(app.key(emu.DOC_EXAMPLE_KEY_ID), emu.INSTANCE_ID, emu.BROKEN_APPLICATION_ID)
    with pytest.raises(ProviderError, match="no PublicKey"):
        ali.record_from_item({"ClientPublicKeyId": "KEY1", "PublicKey": ""}, None, None)
    with pytest.raises(ProviderError, match="no ClientPublicKeyId"):
        ali.record_from_item({"PublicKey": "x"}, None, None)
    with pytest.raises(ProviderError):
        ali.record_from_item(None, None, None)


def test_page_items():
    items = [{"ClientPublicKeyId": "KEY1"}, {"ClientPublicKeyId": "KEY2"}]
    assert ali.page_items({"ClientPublicKeys": items, "NextToken": "abc", "TotalCount": 5}) == (items, "abc")
    assert ali.page_items({"ClientPublicKeys": items, "NextToken": ""}) == (items, None)
    assert ali.page_items({"ClientPublicKeys": items}) == (items, None)
    assert ali.page_items({"ClientPublicKeys": [], "NextToken": None}) == ([], None)
    assert ali.page_items({"TotalCount": 0, "RequestId": "r"}) == ([], None)
    for bad in (None, [], {"TotalCount": 3}, {"ClientPublicKeys": {"a": 1}}, {"ClientPublicKeys": ["KEY1"]}):
        with pytest.raises(ProviderError):
            ali.page_items(bad)


def test_page_items_over_emulator_pages():
    # The emulator's own paging logic, called directly: every key once through page_items.
    app = emu.AlibabaIdaasEmulator()
    seen, token = [], None
    while True:
        params = {"InstanceId": emu.INSTANCE_ID, "ApplicationId": emu.APPLICATION_ID, "MaxResults": "3"}
        if token:
            params["NextToken"] = token
        body = json.loads(app.list_client_public_keys(params).body)
        items, token = ali.page_items(body)
        seen += [ali.record_from_item(item, emu.INSTANCE_ID, emu.APPLICATION_ID)["key_id"] for item in items]
        if token is None:
            break
    assert seen == list(emu.KEY_IDS.values())


# --- the doc fragment and the AWX credential type agree with OPTIONS ----------------------------------

def _fragment(attr):
    yaml = pytest.importorskip("yaml")
    from ansible_collections.keyward.keys.plugins.doc_fragments import alicloud
    return yaml.safe_load(getattr(alicloud.ModuleDocFragment, attr))["options"]


def test_doc_fragment_documents_every_option_with_its_env_in_table_order():
    docs = _fragment("DOCUMENTATION")
    plugins = _fragment("PLUGINS")
    assert set(docs) == set(ali.OPTIONS)
    for name, decl in ali.OPTIONS.items():
        assert docs[name]["type"] == decl["type"], name
        assert "required" not in docs[name] and "default" not in docs[name], name
        assert [e["name"] for e in plugins[name].get("env", [])] == decl.get("env", []), name
        text = " ".join(docs[name]["description"])
        for env in decl.get("env", []):
            assert "E(%s)" % env in text, (name, env)


def test_doc_fragment_has_a_variable_for_every_lookup_option():
    from ansible_collections.keyward.keys.plugins.module_utils import _options
    plugins = _fragment("PLUGINS")
    every = set(ali.OPTIONS) | set(_options.CONNECTION) | set(_options.LOOKUP)
    assert set(plugins) == every
    for name in every:
        assert plugins[name]["vars"] == [{"name": "keyward_alicloud_%s" % name}], name
    for name in set(_options.CONNECTION) | set(_options.LOOKUP):
        assert "env" not in plugins[name], name  # those come from keyward.keys.connection.PLUGINS


def test_awx_credential_type():
    import os
    yaml = pytest.importorskip("yaml")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "extensions", "awx", "credential_types", "alicloud.yml")) as handle:
        ctype = yaml.safe_load(handle)
    assert set(ctype) == {"name", "description", "kind", "inputs", "injectors"}
    assert ctype["kind"] == "cloud"
    fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
    assert set(fields) == {"access_key_id", "access_key_secret", "security_token", "region_id", "endpoint"}
    assert all(f["type"] == "string" and f.get("label") for f in fields.values())
    for name, field in fields.items():
        assert bool(field.get("secret")) is bool(ali.OPTIONS[name].get("no_log")), name
    assert set(ctype["inputs"]["required"]) <= set(fields)
    env = ctype["injectors"]["env"]
    assert set(ctype["injectors"]) == {"env"}
    for name in fields:
        first = ali.OPTIONS[name]["env"][0]
        assert first in env and "{{ %s" % name in env[first], name
    assert not any(k.startswith("ANSIBLE_") for k in env)
