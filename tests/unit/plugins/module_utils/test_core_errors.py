# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error family (_errors.py): one-line rendering and the round trip through the cache."""

from __future__ import annotations

import json

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._errors import (
    FingerprintMismatchError, KeyFormatError, KeywardError, OptionError, ProviderError, error_from_dict, one_line,
)


def test_one_line_collapses_whitespace():
    assert one_line("  a\r\n b\t\tc\n") == "a b c"
    assert one_line(ValueError("x\ny")) == "x y"


def test_one_line_cuts_long_text():
    text = "word " * 200
    cut = one_line(text, limit=50)
    assert len(cut) <= 50 and cut.endswith("...")
    assert one_line("x" * 50, limit=50) == "x" * 50


def test_provider_error_renders_every_fact_in_one_line():
    exc = ProviderError("access denied\nfor this key", provider="obshell", key="10.0.0.1:2886", status=401,
                        code="Security.Authentication.Failed", request_id="abc123")
    assert str(exc) == ("obshell: key 10.0.0.1:2886: access denied for this key "
                        "(HTTP 401, code Security.Authentication.Failed, request id abc123)")
    assert exc.status == 401 and exc.code == "Security.Authentication.Failed" and exc.request_id == "abc123"


@pytest.mark.parametrize("kwargs,expected", [
    ({}, "keyward.keys: boom"),
    ({"provider": "ncloud_kms"}, "ncloud_kms: boom"),
    ({"provider": "ncloud_kms", "status": 503}, "ncloud_kms: boom (HTTP 503)"),
    ({"provider": "ncloud_kms", "code": ""}, "ncloud_kms: boom"),
    ({"provider": "ncloud_kms", "request_id": ""}, "ncloud_kms: boom"),
    ({"provider": "ncloud_kms", "key": "tag", "code": 0}, "ncloud_kms: key tag: boom (code 0)"),
])
def test_provider_error_leaves_out_missing_facts(kwargs, expected):
    assert str(ProviderError("boom", **kwargs)) == expected


def test_long_provider_text_and_key_are_cut():
    exc = ProviderError("<html>" + "x" * 5000, provider="p", key="k" * 500)
    text = str(exc)
    assert "\n" not in text and len(text) < 600
    assert "k" * 121 not in text


def test_option_error_is_plain():
    exc = OptionError("timeout must be\n greater than 0")
    assert str(exc) == "timeout must be greater than 0"
    assert isinstance(exc, KeywardError) and not isinstance(exc, ProviderError)


@pytest.mark.parametrize("exc", [
    ProviderError("gone", provider="huaweicloud_kms", key="0d04", status=404, code="KMS.0207", request_id="r-1"),
    KeyFormatError("not a key", provider="obshell", key="h:2886"),
    FingerprintMismatchError("fingerprint mismatch", provider="alicloud_idaas", key="pk"),
    OptionError("bad option"),
    KeywardError("generic"),
])
def test_round_trip_through_json(exc):
    data = json.loads(json.dumps(exc.to_dict()))
    again = error_from_dict(data)
    assert type(again) is type(exc)
    assert str(again) == str(exc)
    if isinstance(exc, ProviderError):
        assert (again.provider, again.key, again.status, again.code, again.request_id) == (
            exc.provider, exc.key, exc.status, exc.code, exc.request_id)


def test_unknown_class_becomes_provider_error():
    again = error_from_dict({"class": "SomethingElse", "message": "m", "provider": "p"})
    assert again.__class__ is ProviderError and str(again) == "p: m"


def test_subclass_hierarchy():
    assert issubclass(KeyFormatError, ProviderError)
    assert issubclass(FingerprintMismatchError, ProviderError)
    assert issubclass(ProviderError, KeywardError) and issubclass(OptionError, KeywardError)
