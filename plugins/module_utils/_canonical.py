# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Canonical query strings and RFC 3986 percent-encoding, shared by the request signers.

Huawei SDK-HMAC-SHA256 and Alibaba ACS3-HMAC-SHA256 both sign a query string whose pairs are
sorted by name (then value) and percent-encoded with only A-Z a-z 0-9 - _ . ~ left as they are
(a space is %20, never '+'). The string signed is also the one sent, so the server sees exactly
what was signed. Standard library only.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from urllib.parse import quote, unquote


def encode(text):
    """Percent-encode everything but the unreserved characters A-Z a-z 0-9 - _ . ~ (space is %20)."""
    return quote(str(text), safe="~")


def _query_value(value):
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def canonical_query(params):
    """Pairs (name, value) -> the canonical query string; a list value gives one pair per item.

    Pairs are sorted by raw name, then raw value; None values are sent as empty values.
    """
    pairs = []
    for name, value in params or ():
        if isinstance(value, (list, tuple)):
            for item in sorted(_query_value(v) for v in value):
                pairs.append((str(name), item))
        else:
            pairs.append((str(name), "" if value is None else _query_value(value)))
    pairs.sort()
    return "&".join("%s=%s" % (encode(name), encode(value)) for name, value in pairs)


def query_pairs(raw_query):
    """A query string as sent on the wire -> decoded (name, value) pairs, in order."""
    pairs = []
    for part in (raw_query or "").split("&"):
        if not part:
            continue
        name, _sep, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs
