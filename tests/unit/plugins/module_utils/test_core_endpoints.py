# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Endpoint URLs and host:port parsing (_endpoints.py)."""

from __future__ import annotations

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._endpoints import (
    format_host_port, normalize_endpoint, parse_host_port,
)
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError


@pytest.mark.parametrize("value,expected", [
    ("kms.cn-north-4.myhuaweicloud.com", "https://kms.cn-north-4.myhuaweicloud.com"),
    ("  kms.example.com  ", "https://kms.example.com"),
    ("kms.example.com:8443", "https://kms.example.com:8443"),
    ("https://ocapi.ncloud.com/kms/v1", "https://ocapi.ncloud.com/kms/v1"),
    ("https://ocapi.ncloud.com/kms/v1/", "https://ocapi.ncloud.com/kms/v1"),
    ("https://example.com/", "https://example.com"),
    ("http://127.0.0.1:2886", "http://127.0.0.1:2886"),
    ("HTTPS://Example.com", "https://Example.com"),
    ("https://[::1]:8443/base", "https://[::1]:8443/base"),
])
def test_normalize_endpoint(value, expected):
    assert normalize_endpoint(value) == expected


def test_normalize_endpoint_default_scheme_and_none():
    assert normalize_endpoint("127.0.0.1:2886", default_scheme="http") == "http://127.0.0.1:2886"
    assert normalize_endpoint(None) is None


@pytest.mark.parametrize("value,fragment", [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("ftp://example.com", "only http and https"),
    ("https://user:secret@example.com", "credentials"),
    ("https://example.com/?a=b", "query string"),
    ("https://example.com/#frag", "fragment"),
    ("https://example.com:99999", "invalid port"),
    ("https://example.com:port", "invalid port"),
    ("https://", "no host name"),
    ("https://[::1", "not a valid URL"),
    ("https://[]:443", "not a valid URL"),
])
def test_normalize_endpoint_errors(value, fragment):
    with pytest.raises(OptionError, match=fragment) as info:
        normalize_endpoint(value, option="iam_endpoint")
    assert "iam_endpoint" in str(info.value)
    assert "secret" not in str(info.value)  # credentials in a URL are never echoed


@pytest.mark.parametrize("value,expected", [
    ("10.0.0.1", ("10.0.0.1", 2886)),
    ("10.0.0.1:2887", ("10.0.0.1", 2887)),
    (" node1.example.com:1 ", ("node1.example.com", 1)),
    ("[::1]:2886", ("::1", 2886)),
    ("[fe80::1]", ("fe80::1", 2886)),
    ("::1", ("::1", 2886)),
    ("2001:db8::5", ("2001:db8::5", 2886)),
    ("host_1:65535", ("host_1", 65535)),
])
def test_parse_host_port(value, expected):
    assert parse_host_port(value, 2886) == expected


@pytest.mark.parametrize("value,fragment", [
    ("", "must not be empty"),
    ("[::1", "unbalanced"),
    ("[::1]2886", "expected ':port'"),
    ("host:0", "between 1 and 65535"),
    ("host:65536", "between 1 and 65535"),
    ("host:abc", "port must be a number"),
    (":2886", "has no host"),
    ("bad host", "not a valid host"),
    ("-bad", "not a valid host"),
    ("host/path", "not a valid host"),
])
def test_parse_host_port_errors(value, fragment):
    with pytest.raises(OptionError, match=fragment):
        parse_host_port(value, 2886)


@pytest.mark.parametrize("host,port,text", [("10.0.0.1", 2886, "10.0.0.1:2886"), ("::1", 2886, "[::1]:2886"),
                                            ("node", 1, "node:1")])
def test_format_host_port_round_trip(host, port, text):
    assert format_host_port(host, port) == text
    assert parse_host_port(text, 9) == (host, port)


@pytest.mark.parametrize("value", ["a:b@127.0.0.1:47200#", "x:y:z", "host:1:2", "[a:b@127.0.0.1]:47200", "::g"])
def test_colons_are_only_for_ipv6_addresses(value):
    with pytest.raises(OptionError):
        parse_host_port(value, 2886)


@pytest.mark.parametrize("value, expected", [("fd00::3", ("fd00::3", 2886)), ("[fd00::3]:47", ("fd00::3", 47)),
                                             ("::1", ("::1", 2886))])
def test_ipv6_addresses_still_parse(value, expected):
    assert parse_host_port(value, 2886) == expected
