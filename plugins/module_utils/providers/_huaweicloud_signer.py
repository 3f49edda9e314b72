# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Huawei Cloud AK/SK request signing, "SDK-HMAC-SHA256".

The algorithm of Huawei's API signing guide, with the choices the official Python SDK
(huaweicloudsdkcore, signer.Signer) makes where the guide is silent, so that a request signed
here and one signed by the SDK carry the same Authorization header byte for byte:

  CanonicalRequest = METHOD \\n CanonicalURI \\n CanonicalQuery \\n CanonicalHeaders \\n
                     SignedHeaders \\n hex(sha256(payload))
  - CanonicalURI: the path percent-decoded, split on '/', each segment percent-encoded with
    only A-Z a-z 0-9 - _ . ~ left as they are; always ends with '/' (for signing only).
  - CanonicalQuery: (name, value) pairs sorted by raw name then value, both encoded as above,
    joined with '&'. The same string is what goes on the wire.
  - CanonicalHeaders: 'name:value' per signed header (names lower-cased, values stripped),
    each followed by '\\n' (so an empty line precedes SignedHeaders).
  - SignedHeaders: the lower-cased names of the headers given for signing, sorted; names with
    '_' are never signed.
  - payload: sha256 of the body bytes; of '' for an empty body; the value of
    X-Sdk-Content-Sha256 when the body is not JSON (the header is then set to UNSIGNED-PAYLOAD).
  StringToSign = "SDK-HMAC-SHA256" \\n X-Sdk-Date \\n hex(sha256(CanonicalRequest))
  Authorization: "SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b>, Signature=<hex hmac>"

X-Sdk-Date is UTC in the form YYYYMMDDTHHMMSSZ; the service accepts it within 15 minutes of
its own clock. Standard library only.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import unquote, urlsplit

from .._canonical import canonical_query, encode, query_pairs  # noqa: F401  (the signer's own rules)

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
CONTENT_HASH_HEADER = "X-Sdk-Content-Sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def sdk_date(now=None):
    """X-Sdk-Date for a POSIX time (default: now), UTC, YYYYMMDDTHHMMSSZ."""
    return time.strftime(DATE_FORMAT, time.gmtime(time.time() if now is None else now))


def canonical_uri(path):
    """The path as signed: decoded, re-encoded segment by segment, with a trailing '/'."""
    decoded = unquote(path or "/")
    uri = "/".join(encode(segment) for segment in decoded.split("/"))
    if not uri.endswith("/"):
        uri += "/"
    return uri


def _header_values(headers):
    """name (lower-cased) -> value stripped; of names differing only in case, the last wins."""
    values = {}
    for name, value in headers.items():
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        values[name.lower()] = str(value).strip()
    return values


def signed_header_names(headers):
    return sorted({name.lower() for name in headers if "_" not in name})


def canonical_headers(headers, signed_names):
    values = _header_values(headers)
    return "".join("%s:%s\n" % (name, values.get(name, "")) for name in signed_names)


def _get(headers, name):
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def payload_hash(body, headers):
    if not body:
        return EMPTY_SHA256
    declared = _get(headers, CONTENT_HASH_HEADER)
    if declared:
        return str(declared).strip()
    if isinstance(body, str):
        body = body.encode("utf-8")
    return hashlib.sha256(body).hexdigest()


def canonical_request(method, path, params, headers, signed_names, body):
    return "\n".join((
        method.upper(),
        canonical_uri(path),
        canonical_query(params),
        canonical_headers(headers, signed_names),
        ";".join(signed_names),
        payload_hash(body, headers),
    ))


def string_to_sign(date, canonical):
    return "%s\n%s\n%s" % (ALGORITHM, date, hashlib.sha256(canonical.encode("utf-8")).hexdigest())


def signature(secret_key, to_sign):
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(access_key, signed_names, sig):
    return "%s Access=%s, SignedHeaders=%s, Signature=%s" % (ALGORITHM, access_key, ";".join(signed_names), sig)


class SignedRequest(object):
    """The outcome of sign(): the headers to send and every intermediate, for tests."""

    __slots__ = ("headers", "canonical_request", "string_to_sign", "signature", "authorization",
                 "signed_headers", "query", "uri")

    def __init__(self, **fields):
        for name in self.__slots__:
            setattr(self, name, fields.get(name))


def sign(method, path, params, headers, body, access_key, secret_key, host=None, date=None):
    """Sign one request.

    headers: the headers to sign (every one of them is signed unless its name has '_');
    a Host header is added from `host` when absent, X-Sdk-Date from `date` (or now) when absent.
    Returns SignedRequest whose .headers are the given ones plus Host, X-Sdk-Date, Authorization
    (and X-Sdk-Content-Sha256 for a body that is not JSON), and .uri the path with the
    canonical query string, as it must be sent.
    """
    if not access_key or not secret_key:
        raise ValueError("both the access key and the secret key are needed to sign")
    headers = dict(headers or {})
    if isinstance(body, str):
        body = body.encode("utf-8")
    content_type = _get(headers, "Content-Type")
    if content_type and not str(content_type).startswith(("application/json", "application/bson")):
        headers[CONTENT_HASH_HEADER] = UNSIGNED_PAYLOAD
    present = _get(headers, DATE_HEADER)
    if present is None:
        headers[DATE_HEADER] = date or sdk_date()
    date_value = str(_get(headers, DATE_HEADER)).strip()
    if _get(headers, "Host") is None:
        if not host:
            raise ValueError("the Host header (or host) is needed to sign")
        headers["Host"] = host
    names = signed_header_names(headers)
    canonical = canonical_request(method, path, params, headers, names, body)
    to_sign = string_to_sign(date_value, canonical)
    sig = signature(secret_key, to_sign)
    auth = authorization(access_key, names, sig)
    headers["Authorization"] = auth
    query = canonical_query(params)
    return SignedRequest(headers=headers, canonical_request=canonical, string_to_sign=to_sign, signature=sig,
                         authorization=auth, signed_headers=";".join(names), query=query,
                         uri=path + ("?" + query if query else ""))


def sign_prepared(prepared, access_key, secret_key, sign_headers=(), date=None):
    """Sign a requests.PreparedRequest in place (called before every attempt by the transport).

    Signed: Host (the URL's host[:port], also sent explicitly so that what is signed is what is
    sent), X-Sdk-Date, and those of `sign_headers` (names) the request carries, for example
    Content-Type, X-Project-Id, X-Security-Token. Headers the HTTP library adds on its own
    (Accept, Accept-Encoding, Connection, Content-Length, User-Agent) are not signed: proxies
    may rewrite them. The query string of prepared.url must already be canonical (see
    canonical_query); the body is hashed exactly as it will be sent.
    """
    parts = urlsplit(prepared.url)
    to_sign = {"Host": parts.netloc}
    for name in sign_headers:
        value = prepared.headers.get(name)
        if value is not None:
            to_sign[name] = value
    signed = sign(prepared.method, parts.path or "/", query_pairs(parts.query), to_sign, prepared.body,
                  access_key, secret_key, date=date)
    for name, value in signed.headers.items():
        prepared.headers[name] = value
    return signed
