# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAVER Cloud Platform API Gateway request signature v2.

Three headers authenticate a request:

  x-ncp-apigw-timestamp     milliseconds since the epoch, as decimal digits
  x-ncp-iam-access-key      the access key ID
  x-ncp-apigw-signature-v2  Base64(HMAC-SHA256(secret key, message)), standard alphabet, padded

  message = METHOD + " " + URL + "\\n" + TIMESTAMP + "\\n" + ACCESS_KEY

URL is the request-target exactly as it goes on the wire: the whole path after the host,
service prefix included (for KMS 2.0 that is /kms/v1/...), then "?" and the query string when
there is one. No header other than these three, and no part of the body, is signed. The
timestamp header must carry the very value that was signed; the gateway refuses one that is
5 minutes or more away from its own clock, so every attempt of a retried request is signed
again with a fresh timestamp.

Standard library only.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time

TIMESTAMP_HEADER = "x-ncp-apigw-timestamp"
ACCESS_KEY_HEADER = "x-ncp-iam-access-key"
SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"

# Characters that would let a value change the shape of the signed message or of a header.
_FORBIDDEN = ("\r", "\n")
_DIGITS = re.compile(r"\A[0-9]+\Z")


def timestamp_ms(now=None):
    """The timestamp header's value for a POSIX time in seconds (default: now): integer milliseconds."""
    return str(int((time.time() if now is None else now) * 1000))


def _check_text(name, value):
    if not isinstance(value, str) or not value:
        raise ValueError("%s must be a non-empty string" % name)
    for char in _FORBIDDEN:
        if char in value:
            raise ValueError("%s must not contain line breaks" % name)
    return value


def _timestamp_text(value):
    if value is None:
        return timestamp_ms()
    if isinstance(value, bool):
        raise ValueError("the timestamp must be milliseconds since the epoch")
    if isinstance(value, int):
        text = str(value)
    else:
        text = str(value).strip()
    if not _DIGITS.match(text):
        raise ValueError("the timestamp must be milliseconds since the epoch, as decimal digits")
    return text


def string_to_sign(method, path_and_query, timestamp, access_key):
    """The exact text the HMAC covers.

    path_and_query: the request-target as sent, starting with '/', with '?query' when there is one.
    """
    _check_text("method", method)
    _check_text("the request path", path_and_query)
    if not path_and_query.startswith("/"):
        raise ValueError("the request path must start with '/' (the full path after the host)")
    _check_text("the access key", access_key)
    return "%s %s\n%s\n%s" % (method.upper(), path_and_query, _timestamp_text(timestamp), access_key)


def signature(secret_key, message):
    """Base64 of HMAC-SHA256 over message (both UTF-8), as text."""
    _check_text("the secret key", secret_key)
    digest = hmac.new(secret_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_headers(method, path_and_query, access_key, secret_key, timestamp_ms=None):
    """The three authentication headers for one request.

    timestamp_ms: milliseconds since the epoch (int or digit string); default now.
    """
    stamp = _timestamp_text(timestamp_ms)
    message = string_to_sign(method, path_and_query, stamp, access_key)
    return {
        TIMESTAMP_HEADER: stamp,
        ACCESS_KEY_HEADER: access_key,
        SIGNATURE_HEADER: signature(secret_key, message),
    }


def sign_prepared(prepared, access_key, secret_key):
    """Sign a requests.PreparedRequest in place; returns the headers set.

    Uses prepared.path_url (path plus '?query', exactly as requests will send it), so the URL's
    base path (/kms/v1) is part of the signature. The transport calls this before every attempt,
    and each call takes a fresh timestamp.
    """
    headers = sign_headers(prepared.method, prepared.path_url, access_key, secret_key)
    for name, value in headers.items():
        prepared.headers[name] = value
    return headers
