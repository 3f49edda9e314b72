# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alibaba Cloud request signature V3, "ACS3-HMAC-SHA256", for RPC-style APIs (EIAM 2021-12-01).

Alibaba's V3 signing guide, step by step:

  CanonicalRequest = METHOD \\n CanonicalURI \\n CanonicalQueryString \\n CanonicalHeaders \\n
                     SignedHeaders \\n HashedRequestPayload
  - CanonicalURI: '/' for RPC APIs; otherwise each '/'-separated segment percent-encoded
    (only A-Z a-z 0-9 - _ . ~ kept).
  - CanonicalQueryString: (name, value) pairs sorted by name, both percent-encoded the same way
    (space is %20, '*' is %2A), 'name=value' joined with '&'; an empty value gives 'name='.
    The shared helpers of _canonical.py build it, and the same string is the one sent.
  - CanonicalHeaders: the headers named host, content-type or x-acs-*; names lower-cased and
    sorted, values trimmed, each 'name:value\\n' (so an empty line precedes SignedHeaders).
    Two headers whose names differ only in case are merged, values sorted and joined with ','.
  - SignedHeaders: those lower-cased names joined with ';'.
  - HashedRequestPayload: hex SHA-256 of the body bytes (of b'' when there is no body), the
    same value as the x-acs-content-sha256 header.
  StringToSign = "ACS3-HMAC-SHA256" \\n hex(sha256(CanonicalRequest))
  Signature = hex(HMAC-SHA256(AccessKeySecret, StringToSign))   (the raw secret, no '&')
  Authorization: "ACS3-HMAC-SHA256 Credential=<AccessKeyId>,SignedHeaders=<a;b>,Signature=<hex>"
                 (no spaces after the commas)

x-acs-date is UTC, YYYY-MM-DDTHH:MM:SSZ, and must be within 15 minutes of the service's clock;
x-acs-signature-nonce is a fresh random value per request (the service refuses a nonce it has
seen). Temporary (STS) credentials add x-acs-security-token, signed like every x-acs-* header.
Standard library only.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlsplit, urlunsplit

from .._canonical import canonical_query, encode, query_pairs

ALGORITHM = "ACS3-HMAC-SHA256"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

HOST = "host"
ACTION = "x-acs-action"
VERSION = "x-acs-version"
DATE = "x-acs-date"
NONCE = "x-acs-signature-nonce"
CONTENT_SHA256 = "x-acs-content-sha256"
SECURITY_TOKEN = "x-acs-security-token"
AUTHORIZATION = "Authorization"


def acs_date(now=None):
    """x-acs-date for a POSIX time or an aware datetime (default: now): UTC, YYYY-MM-DDTHH:MM:SSZ."""
    if isinstance(now, datetime.datetime):
        if now.tzinfo is None:
            raise ValueError("a naive datetime is ambiguous; give an aware one (UTC)")
        return now.astimezone(datetime.timezone.utc).strftime(DATE_FORMAT)
    return time.strftime(DATE_FORMAT, time.gmtime(time.time() if now is None else now))


def new_nonce():
    """A fresh x-acs-signature-nonce: 32 random hex digits."""
    return secrets.token_hex(16)


def _body_bytes(body):
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise ValueError("only a body given as bytes or text can be signed, not %s" % type(body).__name__)


def payload_hash(body):
    """HashedRequestPayload: lowercase hex SHA-256 of the body bytes (b'' for no body)."""
    return hashlib.sha256(_body_bytes(body)).hexdigest()


def canonical_uri(pathname):
    """'/' for an RPC call (empty path); else every segment percent-encoded."""
    if not pathname or pathname == "/":
        return "/"
    return "/".join(encode(segment) for segment in pathname.split("/"))


def is_signed_header(name):
    name = name.lower()
    return name in (HOST, "content-type") or name.startswith("x-acs-")


def canonical_headers(headers):
    """(CanonicalHeaders block, SignedHeaders) from the headers that must be signed.

    Only host, content-type and x-acs-* headers are taken; headers whose value is None are
    left out. Names differing only in case are merged: values sorted, joined with ','.
    """
    merged = {}
    for name, value in (headers or {}).items():
        if value is None or not is_signed_header(name):
            continue
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        merged.setdefault(name.lower(), []).append(str(value).strip())
    names = sorted(merged)
    block = "".join("%s:%s\n" % (name, ",".join(sorted(merged[name]))) for name in names)
    return block, ";".join(names)


def canonical_request(method, pathname, query, headers, hashed_payload):
    """-> (CanonicalRequest, SignedHeaders). query: (name, value) pairs, decoded."""
    block, signed = canonical_headers(headers)
    text = "\n".join((
        method.upper(),
        canonical_uri(pathname),
        canonical_query(query),
        block,
        signed,
        hashed_payload,
    ))
    return text, signed


def string_to_sign(canonical):
    return "%s\n%s" % (ALGORITHM, hashlib.sha256(canonical.encode("utf-8")).hexdigest())


def signature(access_key_secret, to_sign):
    return hmac.new(access_key_secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(access_key_id, signed_headers, sig):
    return "%s Credential=%s,SignedHeaders=%s,Signature=%s" % (ALGORITHM, access_key_id, signed_headers, sig)


def _check_credentials(access_key_id, access_key_secret):
    if not access_key_id or not access_key_secret:
        raise ValueError("both the AccessKey ID and the AccessKey secret are needed to sign")
    for label, value in (("AccessKey ID", access_key_id), ("AccessKey secret", access_key_secret)):
        if not isinstance(value, str) or any(c in value for c in ", \t\r\n"):
            # a comma or space in the id would corrupt the Authorization header
            raise ValueError("the %s is not a plain string without spaces or commas" % label)


def sign_headers(method, host, pathname, query_pairs, headers, body_bytes, access_key_id, access_key_secret,
                 action, version, security_token=None, date=None, nonce=None):
    """Sign one request; return every header to send (the given ones plus the signature's).

    query_pairs: decoded (name, value) pairs, sent as canonical_query(query_pairs).
    headers: extra headers (for example content-type); those named host, content-type or
    x-acs-* are signed, others are returned unchanged and unsigned.
    date: x-acs-date text, a POSIX time or an aware datetime (default now); nonce: default random.
    Returned: host, x-acs-action, x-acs-version, x-acs-date, x-acs-signature-nonce,
    x-acs-content-sha256, x-acs-security-token (when given) and Authorization.
    """
    _check_credentials(access_key_id, access_key_secret)
    if not host:
        raise ValueError("the host is needed to sign")
    if not action or not version:
        raise ValueError("the API action and version are needed to sign")
    hashed = payload_hash(body_bytes)
    ours = {
        HOST: host,
        ACTION: action,
        VERSION: version,
        DATE: date if isinstance(date, str) else acs_date(date),
        NONCE: nonce or new_nonce(),
        CONTENT_SHA256: hashed,
    }
    if security_token:
        ours[SECURITY_TOKEN] = security_token
    result = {name: value for name, value in (headers or {}).items()
              if name.lower() not in ours and name.lower() != "authorization"}
    result.update(ours)
    canonical, signed = canonical_request(method, pathname, query_pairs, result, hashed)
    result[AUTHORIZATION] = authorization(access_key_id, signed, signature(access_key_secret, string_to_sign(canonical)))
    return result


def wire_query_pairs(raw_query):
    """The decoded pairs of a query string as the service reads it ('+' is a space, as in forms)."""
    return query_pairs((raw_query or "").replace("+", "%20"))


def sign_prepared(prepared, access_key_id, access_key_secret, action, version, security_token=None):
    """Sign a requests.PreparedRequest in place; the transport calls this before every attempt.

    Each call takes a fresh x-acs-date and nonce. The URL's query string is rewritten in its
    canonical form (the exact string signed is the one sent) and the body is hashed exactly as
    it will be sent. Signed: host (the URL's host[:port], also sent explicitly), content-type
    when present, and every x-acs-* header. Headers the HTTP library adds on its own (Accept,
    User-Agent, Content-Length, ...) are not signed: proxies may rewrite them.
    Returns the headers that were set.
    """
    parts = urlsplit(prepared.url)
    host = parts.netloc.rpartition("@")[2]
    pairs = wire_query_pairs(parts.query)
    query = canonical_query(pairs)
    prepared.url = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))
    extra = {name: value for name, value in prepared.headers.items() if is_signed_header(name)}
    signed = sign_headers(prepared.method, host, parts.path or "/", pairs, extra, prepared.body,
                          access_key_id, access_key_secret, action, version, security_token=security_token)
    for name, value in signed.items():
        prepared.headers[name] = value
    return signed
