# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OceanBase Cloud pure helpers: options, endpoints, pages, both error shapes, times in every
shape, expiry arithmetic, the expiring_within filter, and that no secret ever gets out."""

from __future__ import annotations

import datetime
import json

import pytest

from ansible_collections.keyward.keys.plugins.module_utils.providers import _oceanbase_cloud as ob
from ansible_collections.keyward.keys.plugins.module_utils.providers import _oceanbase_cloud_expiry as expiry
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, ProviderError
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as emu

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
NOW_TS = NOW.timestamp()
SECRET = "sk-ob-THIS-VALUE-MUST-NEVER-LEAVE-0123456789"


def item(**fields):
    base = {"id": "ak-1", "name": "one", "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-02T00:00:00Z",
            "expiresAt": "2026-02-01T00:00:00Z", "apiKey": SECRET}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


# --- constants and the option table ---------------------------------------------------------------

def test_names():
    assert ob.NAME == "oceanbase_cloud"
    assert ob.VAR_PREFIX == "oceanbase_cloud"


def test_option_table_matches_the_interface():
    assert ob.OPTIONS == {
        "org_id": dict(type="str", env=["OCEANBASE_ORG_ID"]),
        "project_id": dict(type="str", env=["OCEANBASE_PROJECT_ID"]),
        "access_key_id": dict(type="str", env=["OCEANBASE_ACCESS_KEY_ID", "OCEANBASE_ACCESS_KEY"], no_log=False),
        "access_key_secret": dict(type="str", env=["OCEANBASE_ACCESS_KEY_SECRET", "OCEANBASE_SECRET_KEY"],
                                  no_log=True),
        "site": dict(type="str", default="global", choices=["china", "global"], env=["OCEANBASE_SITE"]),
        "endpoint": dict(type="str", env=["OCEANBASE_ENDPOINT"]),
        "page_size": dict(type="int", default=100),
    }


def test_option_table_builds_an_argspec():
    pytest.importorskip("ansible.module_utils.basic")
    # the collection's env_fallback: an empty variable is unset (AWX's blank credential fields)
    from ansible_collections.keyward.keys.plugins.module_utils._options import argspec, env_fallback
    spec = argspec(ob.OPTIONS)
    assert spec["access_key_secret"] == {"type": "str", "no_log": True,
                                         "fallback": (env_fallback, ["OCEANBASE_ACCESS_KEY_SECRET",
                                                                     "OCEANBASE_SECRET_KEY"])}
    assert spec["site"]["choices"] == ["china", "global"] and spec["site"]["default"] == "global"


def _fragment(attr):
    yaml = pytest.importorskip("yaml")
    from ansible_collections.keyward.keys.plugins.doc_fragments.oceanbase_cloud import ModuleDocFragment
    return yaml.safe_load(getattr(ModuleDocFragment, attr))["options"]


def test_doc_fragment_agrees_with_the_table():
    docs = _fragment("DOCUMENTATION")
    plugins = _fragment("PLUGINS")
    assert set(docs) == set(ob.OPTIONS)
    for name, decl in ob.OPTIONS.items():
        doc = docs[name]
        assert doc.get("type", "str") == decl["type"], name
        assert doc.get("default") == decl.get("default"), name
        assert sorted(doc.get("choices") or []) == sorted(decl.get("choices") or []), name
        assert "no_log" not in doc, name
        assert [e["name"] for e in plugins[name].get("env") or []] == decl.get("env", []), name
    connection = ("timeout", "retries", "validate_certs", "ca_path")
    for name in list(ob.OPTIONS) + list(connection):
        assert {"name": "keyward_oceanbase_cloud_%s" % name} in plugins[name]["vars"], name
    # pins and return formats do not apply to these records (INTERFACE.md)
    assert "expected_fingerprint" not in plugins and "return_format" not in plugins
    assert "cache" in plugins


# --- endpoints and option checks ------------------------------------------------------------------------

@pytest.mark.parametrize("site, expected", [
    (None, "https://api-cloud.oceanbase.com"),
    ("", "https://api-cloud.oceanbase.com"),
    ("global", "https://api-cloud.oceanbase.com"),
    ("GLOBAL", "https://api-cloud.oceanbase.com"),
    ("china", "https://api-cloud-cn.oceanbase.com"),
    (" China ", "https://api-cloud-cn.oceanbase.com"),
])
def test_endpoint_of_a_site(site, expected):
    assert ob.endpoint_for(site, None) == expected


@pytest.mark.parametrize("endpoint, expected", [
    ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
    ("api-cloud.example.internal", "https://api-cloud.example.internal"),
    ("https://proxy.example.com/obcloud/", "https://proxy.example.com/obcloud"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_endpoint_wins_over_the_site(endpoint, expected):
    assert ob.endpoint_for("china", endpoint) == expected


def test_blank_endpoint_means_the_site():
    assert ob.endpoint_for("china", "  ") == "https://api-cloud-cn.oceanbase.com"


def test_unknown_site_and_bad_endpoint():
    with pytest.raises(OptionError, match="site 'mars'"):
        ob.endpoint_for("mars", None)
    with pytest.raises(OptionError):
        ob.endpoint_for(None, "ftp://example.com")
    with pytest.raises(OptionError, match="credentials"):
        ob.endpoint_for(None, "https://ak:sk@example.com")


@pytest.mark.parametrize("value, expected", [(1, 1), (100, 100), ("50", 50), (" 7 ", 7)])
def test_page_size_accepted(value, expected):
    assert ob.check_page_size(value) == expected


@pytest.mark.parametrize("value", [0, -1, 101, 1000, "x", None, True, 2.5])
def test_page_size_refused(value):
    with pytest.raises(OptionError, match="page_size"):
        ob.check_page_size(value)


# --- answers -----------------------------------------------------------------------------------------------

def test_error_fields_of_the_documented_shape():
    body = {"success": False, "errorCode": "E001R000", "errorMessage": "Unknown Error", "requestId": "rid-1"}
    assert ob.error_fields(body) == ("E001R000", "Unknown Error", "rid-1")
    assert ob.error_fields(json.dumps(body)) == ("E001R000", "Unknown Error", "rid-1")
    assert ob.error_fields(json.dumps(body).encode()) == ("E001R000", "Unknown Error", "rid-1")
    assert ob.is_failure(body)


def test_error_fields_of_the_successful_message_shape():
    assert ob.error_fields({"successful": False, "message": "X-OB-Org-Id is required"}) == (
        None, "X-OB-Org-Id is required", None)
    assert ob.error_fields({"successful": False, "code": "BadRequest", "message": "no\n  such\tthing",
                            "requestId": "r2"}) == ("BadRequest", "no such thing", "r2")
    assert ob.is_failure({"successful": False, "message": "x"})


@pytest.mark.parametrize("body", [None, "", "<html>502</html>", b"\xff\xfe", [], 42, {"data": {}}])
def test_error_fields_of_anything_else(body):
    assert ob.error_fields(body) == (None, None, None)


def test_error_fields_ignore_non_text_values():
    assert ob.error_fields({"errorCode": {"x": 1}, "errorMessage": ["a"], "requestId": 12}) == (None, None, "12")


def test_is_failure_only_when_the_answer_says_so():
    assert not ob.is_failure({"success": True, "data": {"list": [], "total": 0}})
    assert not ob.is_failure({"action": "ListAIServiceAPIKeys", "data": {"list": []}})
    assert not ob.is_failure("not json")


def test_page_items():
    body = {"action": "ListAIServiceAPIKeys", "data": {"list": [item()], "total": 137}, "requestId": "r"}
    assert ob.page_items(body) == ([item()], 137)
    assert ob.page_items(json.dumps(body)) == ([item()], 137)
    assert ob.page_items({"data": {"list": [], "total": "0"}}) == ([], 0)
    assert ob.page_items({"data": {"list": []}}) == ([], None)
    assert ob.page_items({"data": {"list": [], "total": True}}) == ([], None)
    assert ob.page_items({"data": {"total": 0}}) == ([], 0)
    assert ob.page_items({"data": {"list": [item()]}, "totalCount": 5}) == ([item()], 5)


@pytest.mark.parametrize("body, what", [
    ("<html></html>", "not a JSON object"),
    ({"success": True}, "no data object"),
    ({"data": []}, "no data object"),
    ({"data": {"list": {"id": 1}}}, "not a list of objects"),
    ({"data": {"list": ["ak-1"]}}, "not a list of objects"),
    ({"data": {"list": [], "total": "many"}}, "not a number"),
    ({"data": {"list": [], "total": -1}}, "negative"),
])
def test_page_items_refuses_odd_answers(body, what):
    with pytest.raises(ProviderError, match=what) as info:
        ob.page_items(body)
    assert info.value.provider == "oceanbase_cloud"


def test_page_items_errors_carry_the_request_id():
    with pytest.raises(ProviderError) as info:
        ob.page_items({"success": True, "requestId": "rid-9"})
    assert info.value.request_id == "rid-9"


# --- times ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
    ("2025-01-01T00:00:00z", "2025-01-01T00:00:00Z"),
    ("2025-01-01T08:00:00+08:00", "2025-01-01T00:00:00Z"),
    ("2025-01-01T08:00:00+0800", "2025-01-01T00:00:00Z"),
    ("2025-01-01T08:00:00+08", "2025-01-01T00:00:00Z"),
    ("2024-12-31T19:30:00-04:30", "2025-01-01T00:00:00Z"),
    ("2025-01-01 00:00:00", "2025-01-01T00:00:00Z"),
    ("2025-01-01T00:00:00 UTC", "2025-01-01T00:00:00Z"),
    ("2025-01-01T00:00", "2025-01-01T00:00:00Z"),
    ("2025-01-01", "2025-01-01T00:00:00Z"),
    ("2025-01-01T00:00:00.5Z", "2025-01-01T00:00:00.500Z"),
    ("2025-01-01T00:00:00.123Z", "2025-01-01T00:00:00.123Z"),
    ("2025-01-01T00:00:00,123456789+00:00", "2025-01-01T00:00:00.123456Z"),
    (1735689600000, "2025-01-01T00:00:00Z"),
    (1735689600123, "2025-01-01T00:00:00.123Z"),
    (1735689600, "2025-01-01T00:00:00Z"),
    (1735689600.5, "2025-01-01T00:00:00.500Z"),
    ("1735689600000", "2025-01-01T00:00:00Z"),
    ("1735689600", "2025-01-01T00:00:00Z"),
    (None, None),
    ("", None),
    ("  ", None),
    (0, None),
    ("0", None),
])
def test_times_in_every_shape(value, expected):
    assert ob.iso_utc(value) == expected


@pytest.mark.parametrize("value", ["tomorrow", "2025-13-01T00:00:00Z", "2025-01-01T25:00:00Z", "2025-01-01T00:00:00+25:00",
                                   "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", True, [], {},
                                   float("nan"), float("inf"), 10 ** 15, "1" * 70])
def test_unreadable_times(value):
    with pytest.raises(ValueError):
        expiry.parse_time(value)


def test_time_parsing_is_fast_on_hostile_input():
    import time
    start = time.monotonic()
    for text in ("2025-01-01T00:00:00" + "0" * 50000, "1" * 100000, " " * 100000 + "x", "2025-" * 20000):
        with pytest.raises(ValueError):
            expiry.parse_time(text)
    assert time.monotonic() - start < 1.0


# --- records and expiry ----------------------------------------------------------------------------------------

def test_an_entry_has_exactly_the_documented_fields():
    entry = ob.api_key_entry(item(), NOW)
    assert entry == {"id": "ak-1", "name": "one", "created_at": "2025-01-01T00:00:00Z",
                     "updated_at": "2025-01-02T00:00:00Z", "expires_at": "2026-02-01T00:00:00Z",
                     "expired": False, "expires_in_days": 30}
    assert tuple(entry) == expiry.ENTRY_FIELDS


def test_now_as_epoch_seconds_or_naive_utc():
    assert ob.api_key_entry(item(), NOW_TS) == ob.api_key_entry(item(), NOW)
    assert ob.api_key_entry(item(), NOW.replace(tzinfo=None)) == ob.api_key_entry(item(), NOW)
    assert ob.api_key_entry(item(), NOW.astimezone(datetime.timezone(datetime.timedelta(hours=8)))) == \
        ob.api_key_entry(item(), NOW)
    with pytest.raises(TypeError):
        expiry.expiry_fields("2026-02-01T00:00:00Z", "now")


def test_record_is_clock_free_and_entry_adds_expiry():
    record = ob.api_key_record(item())
    assert set(record) == set(expiry.RECORD_FIELDS)
    assert expiry.with_expiry(record, NOW) == ob.api_key_entry(item(), NOW)
    assert record == ob.api_key_record(item())  # with_expiry does not change the cached record


@pytest.mark.parametrize("expires, expired, days", [
    ("2026-01-01T12:00:01Z", False, 0),          # one second left
    ("2026-01-02T11:59:59Z", False, 0),          # just under a day
    ("2026-01-02T12:00:00Z", False, 1),          # exactly a day
    ("2026-01-31T12:00:00Z", False, 30),
    ("2026-01-01T12:00:00Z", True, 0),           # the very moment
    ("2026-01-01T11:59:59Z", True, -1),          # one second late is a day late, rounded down
    ("2025-12-31T12:00:00Z", True, -1),
    ("2025-12-31T11:59:59Z", True, -2),
    ("2026-01-01T20:00:00+08:00", True, 0),      # 12:00Z, written in +08:00
    (None, False, None),
    ("", False, None),
])
def test_expiry_fields(expires, expired, days):
    assert expiry.expiry_fields(expires, NOW) == {"expired": expired, "expires_in_days": days}


def test_never_expiring_items():
    for shape in (None, "", 0, ...):
        entry = ob.api_key_entry(item(expiresAt=shape), NOW)
        assert entry["expires_at"] is None and entry["expired"] is False and entry["expires_in_days"] is None


def test_ids_and_names_are_text_and_missing_ones_are_null():
    entry = ob.api_key_entry({"id": 42, "createdAt": 1735689600000}, NOW)
    assert entry["id"] == "42" and entry["name"] is None and entry["updated_at"] is None
    assert entry["created_at"] == "2025-01-01T00:00:00Z"


def test_an_unreadable_time_is_an_error_naming_the_key():
    with pytest.raises(ProviderError) as info:
        ob.api_key_entry(item(expiresAt="next tuesday"), NOW)
    assert info.value.key == "ak-1"
    assert "expiresAt" in str(info.value) and "next tuesday" in str(info.value)
    assert SECRET not in str(info.value)


def test_an_item_that_is_not_an_object():
    with pytest.raises(ProviderError, match="not an object"):
        ob.api_key_record(["ak-1", SECRET])


# --- no secret ever gets out -----------------------------------------------------------------------------------

def test_the_secret_value_never_reaches_any_output():
    odd = item(apiKey=SECRET, secret=SECRET, key=SECRET, value=SECRET, accessKeySecret=SECRET,
               extra={"apiKey": SECRET})
    entry = ob.api_key_entry(odd, NOW)
    record = ob.api_key_record(odd)
    outputs = [json.dumps(entry), json.dumps(record), repr(entry), repr(record),
               json.dumps(ob.expiring_within([entry], 365)), json.dumps(ob.page_items({"data": {"list": []}}))]
    for text in outputs:
        assert SECRET not in text
    assert set(entry) == set(expiry.ENTRY_FIELDS)


def test_no_emulator_secret_survives_a_full_listing():
    app = emu.OceanBaseCloudEmulator(clock=lambda: NOW_TS)
    entries = [ob.api_key_entry(i, NOW) for i in app.keys()]
    dumped = json.dumps(entries)
    values = app.api_key_values()
    assert values and all(value not in dumped for value in values)
    assert "apiKey" not in dumped


# --- expiring_within -------------------------------------------------------------------------------------------

def _entries():
    app = emu.OceanBaseCloudEmulator(clock=lambda: NOW_TS)
    return [ob.api_key_entry(i, NOW) for i in app.keys()]


def _ids(entries):
    return [e["id"] for e in entries]


def test_expiring_within_days_keeps_expired_and_soon_and_drops_never():
    entries = _entries()
    k = emu.KEY_IDS
    assert _ids(ob.expiring_within(entries, 0)) == [k["expired"]]
    assert _ids(ob.expiring_within(entries, 3)) == [k["expired"], k["expiring_2d"]]
    assert _ids(ob.expiring_within(entries, 11)) == [k["expired"], k["expiring_2d"], k["expiring_10d"]]
    within_a_year = ob.expiring_within(entries, 366)
    assert not {k["never_null"], k["never_missing"], k["never_empty"]} & set(_ids(within_a_year))
    assert k["long_lived"] in _ids(within_a_year)
    assert len(ob.expiring_within(entries, 100000)) == len(entries) - 3


def test_expiring_within_boundaries():
    def entry(days_left, expired=False):
        return {"id": str(days_left), "expired": expired, "expires_in_days": days_left}
    entries = [entry(-5, True), entry(0, True), entry(0), entry(6), entry(7), entry(8), entry(None)]
    # 7 days: less than 7 * 24 h away (expires_in_days 0..6), expired ones included
    assert _ids(ob.expiring_within(entries, 7)) == ["-5", "0", "0", "6"]
    assert _ids(ob.expiring_within(entries, 0)) == ["-5", "0"]
    assert ob.expiring_within([], 30) == []


@pytest.mark.parametrize("days", [-1, "-3", 1.5, None, True, "soon"])
def test_expiring_within_refuses_bad_days(days):
    with pytest.raises(OptionError, match="expiring_within_days"):
        ob.expiring_within([], days)


def test_expiring_within_takes_days_as_text():
    assert ob.check_days("30") == 30


def test_request_headers():
    assert ob.request_headers("org-1", "proj-1", "rid") == {
        "X-OB-Org-Id": "org-1", "X-OB-Project-Id": "proj-1", "X-Request-Id": "rid", "Accept": "application/json"}


# --- the AWX credential type ---------------------------------------------------------------------------------

def test_awx_credential_type_injects_the_option_env_names():
    import os
    yaml = pytest.importorskip("yaml")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "extensions", "awx", "credential_types", "oceanbase_cloud.yml")) as handle:
        spec = yaml.safe_load(handle)
    assert set(spec) == {"name", "description", "kind", "inputs", "injectors"}
    assert spec["kind"] == "cloud"
    fields = {field["id"]: field for field in spec["inputs"]["fields"]}
    assert set(fields) == set(ob.OPTIONS) - {"page_size"}
    for name, field in fields.items():
        assert field["type"] == "string" and field["label"]
        assert bool(field.get("secret")) == bool(ob.OPTIONS[name].get("no_log")), name
    assert fields["site"]["choices"] == ["global", "china"] and fields["site"]["default"] == "global"
    assert set(spec["inputs"]["required"]) == {"access_key_id", "access_key_secret", "org_id", "project_id"}
    assert set(spec["injectors"]) == {"env"}
    expected = {ob.OPTIONS[name]["env"][0]: "{{ %s }}" % name for name in fields}
    assert spec["injectors"]["env"] == expected
    assert not any(var.startswith("ANSIBLE_") for var in spec["injectors"]["env"])
