# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alibaba Cloud IDaaS (EIAM 2021-12-01): client public keys of an M2M application.

API: RPC actions GetClientPublicKey (InstanceId, ApplicationId, ClientPublicKeyId) and
ListClientPublicKeys (InstanceId, ApplicationId, NextToken, MaxResults), POST to "/" of
https://eiam.{region_id}.aliyuncs.com with the parameters in the query string and an empty
body, signed with ACS3-HMAC-SHA256 (_alicloud_signer.py).

This file is the whole provider: its declarations, pure helpers (options, id checks, endpoint,
error bodies, records, pages), its API profile for the transport, the client, and PROVIDER.
No Ansible imports; the key model (_keys, cryptography) is imported only when a record is built,
so a lookup answered from the run-wide cache never loads it.

Rate limits: Alibaba publishes no QPS figure for these two EIAM actions; concurrency stays at
the core's default bound, and Throttling.* answers are retried with backoff (x-acs-retry-after
honoured when the service sends it).

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import math
import datetime
import json
import re

from .._api_profile import ApiProfile
from .._endpoints import normalize_endpoint
from .._errors import OptionError, ProviderError, one_line
from .._provider import Provider

NAME = "alicloud_idaas"
VAR_PREFIX = "alicloud"
API_VERSION = "2021-12-01"
GET_ACTION = "GetClientPublicKey"
LIST_ACTION = "ListClientPublicKeys"
LIST_PAGE_SIZE = 100  # MaxResults asked for; the service may answer fewer

# Every option once: type, env names (first found wins), no_log. The doc fragment
# plugins/doc_fragments/alicloud.py declares the same. instance_id and application_id are
# required by the client (an OptionError names them), not by the table, so that lookups can
# take them from keyward_alicloud_* variables and modules from module_defaults.
OPTIONS = {
    "instance_id": dict(type="str"),
    "application_id": dict(type="str"),
    "region_id": dict(type="str", env=["ALIBABA_CLOUD_REGION_ID", "ALICLOUD_REGION_ID", "ALICLOUD_REGION"]),
    "endpoint": dict(type="str", env=["ALIBABA_CLOUD_IDAAS_ENDPOINT"]),
    "access_key_id": dict(type="str", env=["ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_ACCESS_KEY"], no_log=False),
    "access_key_secret": dict(type="str", env=["ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_SECRET_KEY"],
                              no_log=True),
    "security_token": dict(type="str", env=["ALIBABA_CLOUD_SECURITY_TOKEN", "ALICLOUD_SECURITY_TOKEN"],
                           no_log=True),
}

# The documented example is KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx ('KEY' + 33 letters and digits).
# Only one example is published, so the check is for plausibility, not for that exact shape:
# letters, digits, '_' and '-', starting with a letter, at most 128 characters.
CLIENT_PUBLIC_KEY_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{2,127}$")
# idaas_ue2jvisn35ea5lmthk267xxxxx, app_mkv7rgt4d7i4u7zqtzev2mxxxx (ListApplications: at most 64).
RESOURCE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
REGION_ID = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")

# Plain-words hints for errors users can fix themselves, keyed by code (or code prefix + '.').
_HINTS = (
    (("InvalidTimeStamp.Expired", "InvalidTimeStamp", "IllegalTimestamp", "RequestTimeTooSkewed"),
     "the clock of the machine making the request (the Ansible controller for lookups, the host for "
     "modules) differs from Alibaba Cloud's by more than 15 minutes; synchronise it (NTP, chrony)"),
    (("SignatureDoesNotMatch", "IncompleteSignature", "InvalidSignature"),
     "the access_key_secret does not belong to access_key_id (check for a stray space or a rotated "
     "secret), or a proxy changed the request after it was signed"),
    (("InvalidAccessKeyId.NotFound", "InvalidAccessKeyId"),
     "Alibaba Cloud does not know access_key_id; check it, and remember that temporary (STS) "
     "AccessKeys expire and need security_token"),
    (("InvalidAccessKeyId.Inactive",),
     "the AccessKey is disabled; enable it or use another one"),
    (("InvalidSecurityToken", "MissingSecurityToken"),
     "security_token is missing, has expired or belongs to another AccessKey; get a new STS token "
     "together with its temporary access_key_id and access_key_secret"),
    (("SignatureNonceUsed",),
     "the same signed request reached the service twice (a nonce was reused); retry"),
)

# Alibaba echoes the string it signed after this marker; everything from it on is dropped. Found
# with str.find, not a regex that may start anywhere: "\s*marker" is quadratic on long white space.
_ECHO_MARKER = "server string to sign is:"
_XML_FIELD = re.compile(r"<(Code|Message|RequestId)>([^<]*)</\1>")


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def check_client_public_key_id(term):
    """Refuse anything that is not a plausible ClientPublicKeyId before any request is made."""
    if not isinstance(term, str) or not CLIENT_PUBLIC_KEY_ID.fullmatch(term):
        shown = one_line(term, 80) if isinstance(term, str) else repr(term)
        raise OptionError(
            "%s: key %s: not a ClientPublicKeyId; expected an id like KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx "
            "(letters, digits, '_' and '-', starting with a letter, at most 128 characters)" % (NAME, shown))
    return term


def check_resource_id(option, value):
    """instance_id / application_id: required, and a plausible id (idaas_..., app_...)."""
    if _blank(value):
        raise OptionError("%s: %s is required (option, or the keyward_%s_%s variable)"
                          % (NAME, option, VAR_PREFIX, option))
    if not isinstance(value, str) or not RESOURCE_ID.fullmatch(value.strip()):
        raise OptionError("%s: %s %s is not an IDaaS id such as %s" % (
            NAME, option, one_line(value, 80) if isinstance(value, str) else repr(value),
            "idaas_ue2jvisn35ea5lmthk267xxxxx" if option == "instance_id" else "app_mkv7rgt4d7i4u7zqtzev2mxxxx"))
    return value.strip()


def default_endpoint(region_id):
    """https://eiam.{region_id}.aliyuncs.com for a region id such as cn-hangzhou."""
    region = region_id.strip().lower() if isinstance(region_id, str) else None
    if not region or not REGION_ID.fullmatch(region):
        raise OptionError("%s: region_id %r is not a region id such as cn-hangzhou or ap-southeast-1"
                          % (NAME, region_id))
    return "https://eiam.%s.aliyuncs.com" % region


def endpoint_url(endpoint=None, region_id=None):
    """The base URL: endpoint (full URL or bare host) when set, else the region's endpoint."""
    if not _blank(endpoint):
        return normalize_endpoint(endpoint, option="endpoint")
    if _blank(region_id):
        raise OptionError("%s: set region_id (for example cn-hangzhou) or endpoint" % NAME)
    return default_endpoint(region_id)


def _first(mapping, *names):
    for name in names:
        value = mapping.get(name)
        if value not in (None, ""):
            return value
    return None


def error_fields(body):
    """An Alibaba error body -> (code, message, request_id); None for what is absent.

    Takes the parsed JSON (dict), or the raw text or bytes (JSON, or the XML <Error> form).
    Reads Code/code, Message/message, RequestId/requestId like the official SDK. A message's
    echo of the server's string to sign is cut off: it is noise, and with older signatures it
    can carry request parameters.
    """
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = {name: value.strip() for name, value in _XML_FIELD.findall(text)} if text.startswith("<") else None
    if not isinstance(body, dict):
        return None, None, None
    code = _first(body, "Code", "code")
    message = _first(body, "Message", "message")
    request_id = _first(body, "RequestId", "requestId")
    if message is not None:
        message = str(message)
        echo_at = message.find(_ECHO_MARKER)
        message = (message[:echo_at] if echo_at >= 0 else message).strip() or None
    return (None if code is None else str(code), message, None if request_id is None else str(request_id))


def is_throttling(code):
    """True for Alibaba's flow-control codes (Throttling, Throttling.User, Throttling.Api, ...)."""
    return isinstance(code, str) and (code == "Throttling" or code.startswith("Throttling."))


def hint(code):
    """A plain-words hint for errors the user can fix (clock skew, signature, credentials), else None."""
    if not isinstance(code, str):
        return None
    for codes, text in _HINTS:  # an exact code first, then a family (InvalidSecurityToken.*)
        if code in codes:
            return text
    for codes, text in _HINTS:
        if any(code.startswith(known + ".") for known in codes):
            return text
    return None


def is_not_found(status, code):
    """A missing instance, application or key: 404, or an EntityNotExists/EntityNotFound code."""
    return status == 404 or (isinstance(code, str) and code.startswith(("EntityNotExists", "EntityNotFound")))


def iso_time(value):
    """A time as the API gives it -> ISO-8601 UTC ('2024-11-11T06:15:55Z'), None when absent.

    Numbers (and digit strings) are epoch milliseconds, as documented; values below 10**11 are
    taken as seconds. ISO-8601 text is normalised to UTC. 0 and negative numbers mean 'never'.
    Precision is the second (always the same shape, easy to compare).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if re.match(r"^-?\d+(\.\d+)?$", text):
            value = float(text)
        else:
            try:
                when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                return text  # unknown shape: passed on unchanged rather than lost
            if when.tzinfo is None:
                when = when.replace(tzinfo=datetime.timezone.utc)
            return _format(when)
    if not isinstance(value, (int, float)) or value <= 0:
        return None
    seconds = value / 1000.0 if value >= 10 ** 11 else float(value)
    try:
        when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
    return _format(when)


def _format(when):
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _primary(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return bool(value)


def record_from_item(item, instance_id, application_id):
    """A ClientPublicKey (GetClientPublicKey) or ClientPublicKeys[] item -> the key record."""
    if not isinstance(item, dict):
        raise ProviderError("the answer has no ClientPublicKey object", provider=NAME)
    key_id = item.get("ClientPublicKeyId")
    if not isinstance(key_id, str) or not key_id:
        raise ProviderError("a ClientPublicKey in the answer has no ClientPublicKeyId", provider=NAME)
    raw = item.get("PublicKey")
    if not isinstance(raw, str) or not raw.strip():
        raise ProviderError("the answer has no PublicKey", provider=NAME, key=key_id)
    status = item.get("Status")
    algorithm = item.get("AlgorithmType")
    metadata = {
        "application_id": item.get("ApplicationId") or application_id,
        "instance_id": item.get("InstanceId") or instance_id,
        "algorithm_type": algorithm if isinstance(algorithm, str) else None,
        "status": status.lower() if isinstance(status, str) else None,
        "primary": _primary(item.get("Primary")),
        "create_time": iso_time(item.get("CreateTime")),
        "last_used_time": iso_time(item.get("LastUsedTime")),
    }
    from .._keys import key_record  # here: cache hits never import the key model

    return key_record(NAME, key_id, raw, metadata)


def page_items(body):
    """A ListClientPublicKeys answer -> (items, next_token); next_token None on the last page."""
    if not isinstance(body, dict):
        raise ProviderError("ListClientPublicKeys answered something that is not a JSON object", provider=NAME)
    items = body.get("ClientPublicKeys")
    if items is None:
        if body.get("TotalCount") in (0, "0"):
            items = []
        else:
            raise ProviderError("ListClientPublicKeys answered without a ClientPublicKeys list", provider=NAME,
                                request_id=body.get("RequestId"))
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ProviderError("ListClientPublicKeys answered a ClientPublicKeys value that is not a list of objects",
                            provider=NAME, request_id=body.get("RequestId"))
    token = body.get("NextToken")
    if not isinstance(token, str) or not token.strip():
        token = None
    return items, token


# --- what the transport needs to know about the API ------------------------------------------

RETRY_AFTER_HEADER = "x-acs-retry-after"  # milliseconds, as the official SDK reads it


class AlibabaProfile(ApiProfile):
    """Alibaba POP errors: {"Code", "Message", "RequestId", "HostId", "Recommend"} on a 4xx/5xx,
    the request id also in the x-acs-request-id header; Throttling.* (HTTP 400) means slow down."""

    request_id_headers = ("x-acs-request-id",)
    request_id_fields = ("RequestId", "requestId")
    retryable_codes = ("Throttling", "Throttling.*")

    def error_body(self, reply):
        # The gateway answers errors as XML (<Error><Code>...) when the request asked for XML or
        # never got as far as reading the format; error_fields reads both.
        body = reply.json_or_none()
        return reply.content if body is None else body

    def error_fields(self, body):
        return error_fields(body)

    def is_retryable_code(self, code):
        return is_throttling(code)

    def retry_after(self, headers):
        value = headers.get(RETRY_AFTER_HEADER)
        if value is not None:
            try:
                millis = float(str(value).strip())
            except ValueError:
                millis = None
            if millis is not None and not math.isnan(millis) and millis >= 0:
                return millis / 1000.0
        return super(AlibabaProfile, self).retry_after(headers)

    def hint(self, code, message):
        message = one_line(message or "")
        text = hint(code)
        if text and text.lower() not in message.lower():
            return "%s; %s" % (message.rstrip(". "), text) if message else text
        return message


PROFILE = AlibabaProfile()


# --- the client -------------------------------------------------------------------------------

class AlibabaIdaasClient(object):
    """Reads the client public keys of one IDaaS application with one AccessKey. Thread-safe."""

    def __init__(self, transport, instance_id=None, application_id=None, region_id=None, endpoint=None,
                 access_key_id=None, access_key_secret=None, security_token=None):
        self.transport = transport
        self.instance_id = check_resource_id("instance_id", instance_id)
        self.application_id = check_resource_id("application_id", application_id)
        self.base_url = endpoint_url(endpoint, region_id)
        self.url = self.base_url.rstrip("/") + "/"
        self.access_key_id = None if _blank(access_key_id) else str(access_key_id).strip()
        self._secret = None if _blank(access_key_secret) else access_key_secret
        self._token = None if _blank(security_token) else str(security_token).strip()
        if not self.access_key_id or not self._secret:
            if self.access_key_id or self._secret:
                raise OptionError("%s: access_key_id and access_key_secret must be given together (%s is missing)"
                                  % (NAME, "access_key_secret" if self.access_key_id else "access_key_id"))
            raise OptionError(
                "%s: no credentials; give access_key_id and access_key_secret (and security_token for STS "
                "credentials) as options, keyward_alicloud_* variables or environment variables such as "
                "ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET" % NAME)
        if any(c in self.access_key_id for c in ", \t\r\n"):
            raise OptionError("%s: access_key_id %s contains spaces or commas" % (NAME, one_line(self.access_key_id, 80)))
        if not isinstance(self._secret, str) or any(c in self._secret for c in "\r\n"):
            raise OptionError("%s: access_key_secret must be one line of text" % NAME)
        if self._token is not None and any(c in self._token for c in "\r\n"):
            raise OptionError("%s: security_token must be one line of text" % NAME)

    @classmethod
    def from_options(cls, options, transport, **kwargs):
        values = {name: options.get(name) for name in OPTIONS}
        values.update(kwargs)
        return cls(transport, **values)

    def _signer(self, action):
        from . import _alicloud_signer as signer
        from .._auth import Signer

        def sign(prepared):
            signer.sign_prepared(prepared, self.access_key_id, self._secret, action, API_VERSION,
                                 security_token=self._token)

        return Signer(sign)

    def _call(self, action, params, key=None, context=None):
        """POST one RPC action (parameters in the query string, empty body, like the SDK) -> (reply, body)."""
        reply = self.transport.request("POST", self.url, key=key, params=params, auth=self._signer(action),
                                       context=context)
        return reply, self.transport.json(reply, key)

    def _record(self, reply, key, item):
        from .._errors import KeyFormatError

        try:
            return record_from_item(item, self.instance_id, self.application_id)
        except ProviderError as exc:  # name the answer's status and request id too
            error_class = KeyFormatError if isinstance(exc, KeyFormatError) else ProviderError
            raise self.transport.error(reply, exc.key or key, exc.detail, error_class=error_class)

    def fetch(self, key_id):
        """The key record of one ClientPublicKeyId (GetClientPublicKey)."""
        check_client_public_key_id(key_id)
        reply, body = self._call(GET_ACTION, [("InstanceId", self.instance_id), ("ApplicationId", self.application_id),
                                              ("ClientPublicKeyId", key_id)], key=key_id)
        item = body.get("ClientPublicKey") if isinstance(body, dict) else None
        if not isinstance(item, dict):
            raise self.transport.error(reply, key_id, "GetClientPublicKey answered without a ClientPublicKey object")
        returned = item.get("ClientPublicKeyId")
        if returned not in (None, "", key_id):
            raise self.transport.error(reply, key_id, "GetClientPublicKey answered with another key (%s)"
                                       % one_line(returned, 80))
        item = dict(item, ClientPublicKeyId=key_id)
        return self._record(reply, key_id, item)

    def list(self):
        """Every key of the application (ListClientPublicKeys, NextToken through every page), in order."""
        from .._pager import token_pages

        context = "listing the client public keys of %s failed" % self.application_id

        def page(token):
            params = [("InstanceId", self.instance_id), ("ApplicationId", self.application_id),
                      ("MaxResults", str(LIST_PAGE_SIZE))]
            if token:
                params.append(("NextToken", token))
            reply, body = self._call(LIST_ACTION, params, context=context)
            try:
                items, next_token = page_items(body)
            except ProviderError as exc:
                raise self.transport.error(reply, None, "%s: %s" % (context, exc.detail))
            return [(reply, item) for item in items], next_token

        records, seen = [], set()
        for reply, item in token_pages(page, provider=NAME):
            record = self._record(reply, item.get("ClientPublicKeyId") if isinstance(item, dict) else None, item)
            if record["key_id"] in seen:
                continue  # a key that moved between pages while we listed
            seen.add(record["key_id"])
            records.append(record)
        return records


def key_not_found(error):
    """EntityNotExists.ClientPublicKey (or EntityNotFound.ClientPublicKey): that key is gone. A
    missing instance or application is a configuration error, not a removed key."""
    code = getattr(error, "code", None)
    return isinstance(code, str) and code.startswith(("EntityNotExists.ClientPublicKey",
                                                      "EntityNotFound.ClientPublicKey"))


PROVIDER = Provider(
    name=NAME,
    var_prefix=VAR_PREFIX,
    options=OPTIONS,
    client=AlibabaIdaasClient.from_options,
    check_term=check_client_public_key_id,
    profile=PROFILE,
    term_name="ClientPublicKeyId",
    not_found=key_not_found,
)
