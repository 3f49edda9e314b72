# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""NAVER Cloud Platform KMS (API 2.0): public keys by keyTag.

  POST {endpoint}/keys/{keyTag}/get-pub-key      endpoint default https://ocapi.ncloud.com/kms/v1
  body {"keyVersion": n} only when a version is asked for (1-100); the latest version otherwise
  signed with API Gateway signature v2 (_ncloud_signer), over the full path /kms/v1/...

Answers:
  success     HTTP 2xx, {"code": "SUCCESS", "data": {"publicKey": "<PEM>"}}  (RSA2048 and ECDSA keys)
  KMS failure {"code": "<not SUCCESS>", "msg" or "message": "..."}, on an error status or on a 2xx
  gateway     {"error": {"errorCode": "200", "message": "Authentication Failed", "details": "..."}}
              (signature, access key, timestamp, permission, quota)

The provider (PROVIDER at the end) follows the contract of _provider.py: NcloudProfile tells the
shared transport how NAVER's answers look (the x-ncp-trace-id header, both error shapes, the
envelope of every 2xx, the clock-skew hint), and NcloudKmsClient fetches one keyTag at a time.
No Ansible import here; _keys (and with it cryptography) is imported only to build a record.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import json
import re

from . import _ncloud_signer as signer
from .._api_profile import ApiProfile, json_object
from .._auth import Signer
from .._endpoints import normalize_endpoint
from .._errors import OptionError, ProviderError
from .._provider import Provider

NAME = "ncloud_kms"
VAR_PREFIX = "ncloud"  # lookup variables keyward_ncloud_<option>

# Every option once: type, default, choices, env names (first found wins), no_log. The doc
# fragment plugins/doc_fragments/ncloud.py declares the same; a unit test checks they agree.
OPTIONS = {
    "key_version": dict(type="int", no_log=False),
    # No `choices`: a blank site (an empty NCLOUD_SITE, as an AWX credential may inject) means the
    # default, and endpoint_for() refuses any other value with a one-line error before any request.
    "site": dict(type="str", default="public", env=["NCLOUD_SITE"]),
    "endpoint": dict(type="str", env=["NCLOUD_KMS_ENDPOINT"]),
    "access_key": dict(type="str", env=["NCLOUD_ACCESS_KEY_ID", "NCLOUD_ACCESS_KEY"], no_log=False),
    "secret_key": dict(type="str", env=["NCLOUD_SECRET_ACCESS_KEY", "NCLOUD_SECRET_KEY"], no_log=True),
}

BASE_PATH = "/kms/v1"
# KMS API 2.0 base URLs by site (NAVER Cloud's KMS overview pages, public and gov).
SITE_ENDPOINTS = {
    "public": "https://ocapi.ncloud.com" + BASE_PATH,
    "gov": "https://ocapi.gov-ncloud.com" + BASE_PATH,
}
DEFAULT_SITE = "public"
DEFAULT_ENDPOINT = SITE_ENDPOINTS[DEFAULT_SITE]

MIN_KEY_VERSION = 1
MAX_KEY_VERSION = 100
SUCCESS = "SUCCESS"
CONTENT_TYPE = "application/json"
SKEW_SECONDS = 300  # the gateway refuses a timestamp 5 minutes or more away from its clock

KEY_TAG_PATTERN = re.compile(r"\A[A-Za-z0-9_-]+\Z")

# Code 200 means a wrong signature and a stale time stamp alike; wrong credentials are far more
# common, so they come first.
CLOCK_SKEW_HINT = (
    "check access_key and secret_key first; if they are right, check that this machine's clock is "
    "correct (NTP): NAVER Cloud refuses a request whose time stamp is 5 minutes or more away from its own clock")


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def check_key_tag(term):
    """A keyTag as given, or OptionError before any request: only letters, digits, '_' and '-'."""
    if not isinstance(term, str) or not KEY_TAG_PATTERN.match(term):
        shown = term if isinstance(term, str) else repr(term)
        raise OptionError(
            "%s: key %s: not a KMS keyTag; a keyTag has only letters, digits, '_' and '-' (copy it from the "
            "console or Get Key List, for example a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6)"
            % (NAME, shown))
    return term


def check_key_version(value):
    """None (latest), or the version as an int in 1..100; OptionError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    version = None
    if isinstance(value, bool):
        version = None
    elif isinstance(value, int):
        version = value
    elif isinstance(value, str) and re.match(r"\A\s*[0-9]+\s*\Z", value):
        version = int(value)
    if version is None or not MIN_KEY_VERSION <= version <= MAX_KEY_VERSION:
        raise OptionError("%s: key_version must be a whole number from %d to %d (leave it unset for the latest "
                          "version), not %r" % (NAME, MIN_KEY_VERSION, MAX_KEY_VERSION, value))
    return version


def endpoint_for(site=None, endpoint=None):
    """The KMS base URL: endpoint when given, else the site's (public by default).

    endpoint takes a full URL or a bare host name; one without a path gets /kms/v1, so
    'ocapi-kr.ncloud.com' means https://ocapi-kr.ncloud.com/kms/v1. A URL with a path is used as
    it is (a proxy may mount the API elsewhere).
    """
    if not _blank(endpoint):
        url = normalize_endpoint(endpoint, option="endpoint")
        scheme_end = url.index("://") + 3
        if "/" not in url[scheme_end:]:
            url += BASE_PATH
        return url
    name = DEFAULT_SITE if _blank(site) else str(site).strip().lower()
    if name not in SITE_ENDPOINTS:
        raise OptionError("%s: site must be one of %s, not %r" % (NAME, ", ".join(sorted(SITE_ENDPOINTS)), site))
    return SITE_ENDPOINTS[name]


def public_key_url(endpoint, key_tag):
    """{endpoint}/keys/{keyTag}/get-pub-key for a checked keyTag (no escaping is ever needed)."""
    return "%s/keys/%s/get-pub-key" % (endpoint.rstrip("/"), check_key_tag(key_tag))


def request_body(key_version):
    """The JSON body: b'{"keyVersion":n}' for a version, None (no body) for the latest."""
    version = check_key_version(key_version)
    if version is None:
        return None
    return json.dumps({"keyVersion": version}, separators=(",", ":")).encode("utf-8")


def _text(value):
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _request_id(*objects):
    for obj in objects:
        if isinstance(obj, dict):
            for name in ("requestId", "request_id", "traceId", "trace_id"):
                value = _text(obj.get(name))
                if value:
                    return value
    return None


def error_fields(body):
    """(code, message, request_id) of an error answer, gateway or KMS shape; None where absent.

    body: the parsed JSON, or the raw bytes/text. Gateway errorCode comes back as text whether the
    service sent "200" or 200; its message and details are joined ("Authentication Failed:
    Invalid authentication information.").
    """
    obj = json_object(body)
    if obj is None:
        return None, None, None
    inner = obj.get("error")
    if isinstance(inner, dict):
        code = _text(inner.get("errorCode", inner.get("code")))
        message = _text(inner.get("message") or inner.get("msg"))
        details = _text(inner.get("details"))
        if details and message and details != message:
            message = "%s: %s" % (message, details)
        else:
            message = message or details
        return code, message, _request_id(inner, obj)
    code = _text(obj.get("code"))
    message = _text(obj.get("msg")) or _text(obj.get("message"))
    return code, message, _request_id(obj)


def record_from_data(key_tag, data, requested_version=None):
    """The key record of a SUCCESS answer's data.

    metadata.key_version: the version the service names in its answer (data.keyVersion, not in
    the documented response) or else the version asked for; None when the latest was asked for
    and the service did not say which one it is. metadata.latest: whether the latest was asked for.
    """
    raw = data.get("publicKey") if isinstance(data, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        raise ProviderError("KMS answered without a publicKey (only RSA2048 and ECDSA keys have one)",
                            provider=NAME, key=key_tag)
    returned = data.get("keyVersion")
    if isinstance(returned, bool) or not isinstance(returned, int):
        returned = None
    if returned is not None and requested_version is not None and returned != requested_version:
        raise ProviderError("KMS answered with key version %d although version %d was asked for"
                            % (returned, requested_version), provider=NAME, key=key_tag)
    version = returned if returned is not None else requested_version
    metadata = {"key_version": version, "latest": requested_version is None}
    from .._keys import key_record  # here: building a record is the only use of cryptography

    return key_record(NAME, key_tag, raw, metadata)


# -- the provider ------------------------------------------------------------------------------

# Gateway codes users can act on, in plain words (appended to the service's own message).
HINTS = {
    "200": CLOCK_SKEW_HINT,
    "210": "the access key's account may not use KMS; give the sub account a KMS permission",
    "300": "check endpoint (a URL with a path must end in /kms/v1)",
    # KMS codes (names from NAVER's KMS 1.0 error table; 2.0's table is not published)
    "UNPROCESSABLE_ENTITY": "the key, or the version asked for, is not enabled (disabled versions cannot be read)",
    "INVALID_REQUEST": "only RSA2048 and ECDSA keys have a public key",
}


class NcloudProfile(ApiProfile):
    """NAVER Cloud's answers, for the shared transport.

    Request id: the gateway's x-ncp-trace-id header (what NAVER support asks for), else an id
    field of the body. Errors: the gateway's {"error": {"errorCode", "message", "details"}} or
    KMS's {"code", "msg"/"message"} (error_fields above). Every 2xx must be a SUCCESS envelope.
    """

    request_id_headers = ("x-ncp-trace-id", "X-Request-Id")
    request_id_fields = ("requestId", "request_id", "traceId", "trace_id", "error.requestId", "error.traceId")
    hints = HINTS

    def error_fields(self, body):
        return error_fields(body)

    def success_failure(self, body):
        """None for {"code": "SUCCESS", ...} without an "error" member; (code, message) otherwise."""
        if not isinstance(body, dict):
            return None, "KMS answered with something other than a JSON object"
        code, message, _request_id = error_fields(body)
        if code == SUCCESS and "error" not in body:
            return None
        return code or "(none)", message or "KMS did not report success"


PROFILE = NcloudProfile()


def _credential(name, value):
    """A credential as a clean string; OptionError (never quoting the value) when it cannot be sent."""
    if _blank(value):
        return None
    if not isinstance(value, str):
        raise OptionError("%s: %s must be a string" % (NAME, name))
    text = value.strip()
    if any(ord(char) < 0x20 or ord(char) == 0x7f for char in text):
        raise OptionError("%s: %s must not contain line breaks or control characters" % (NAME, name))
    if name == "access_key" and any(ord(char) > 0x7e or char == " " for char in text):
        raise OptionError("%s: access_key must be printable ASCII without spaces (it is sent in a header)" % NAME)
    return text


class NcloudKmsClient(object):
    """Fetches public keys from one KMS API 2.0 endpoint with one access key. Thread-safe.

    Everything is checked when the client is made, before any request: key_version, site,
    endpoint and the credentials.
    """

    def __init__(self, transport, key_version=None, site=None, endpoint=None, access_key=None, secret_key=None):
        self.transport = transport
        self.key_version = check_key_version(key_version)
        self.endpoint = endpoint_for(site, endpoint)
        self._access_key = _credential("access_key", access_key)
        self._secret_key = _credential("secret_key", secret_key)
        if not (self._access_key and self._secret_key):
            if self._access_key or self._secret_key:
                raise OptionError("%s: access_key and secret_key must be given together (%s is missing)"
                                  % (NAME, "secret_key" if self._access_key else "access_key"))
            raise OptionError(
                "%s: no credentials; give access_key and secret_key (as options, keyward_ncloud_* variables "
                "or the environment variables NCLOUD_ACCESS_KEY_ID and NCLOUD_SECRET_ACCESS_KEY)" % NAME)
        self.body = request_body(self.key_version)
        self._auth = Signer(self._sign)

    @classmethod
    def from_options(cls, options, transport, **kwargs):
        values = {name: options.get(name) for name in OPTIONS}
        values.update(kwargs)
        return cls(transport, **values)

    def _sign(self, prepared):
        """Signature v2 over the path as sent (/kms/v1/...), with a fresh timestamp on every attempt."""
        signer.sign_prepared(prepared, self._access_key, self._secret_key)

    def headers(self):
        headers = {"Accept": "application/json"}
        if self.body is not None:
            headers["Content-Type"] = CONTENT_TYPE
        return headers

    def fetch(self, key_tag):
        """The key record of one RSA2048 or ECDSA key (its latest version, or key_version)."""
        check_key_tag(key_tag)
        reply = self.transport.request("POST", public_key_url(self.endpoint, key_tag), key=key_tag,
                                       headers=self.headers(), data=self.body, auth=self._auth)
        # The transport has already refused a 2xx whose code is not SUCCESS (NcloudProfile).
        body = self.transport.json(reply, key_tag)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise self.transport.error(reply, key_tag, "KMS reported success without a data object", code=SUCCESS)
        try:
            return record_from_data(key_tag, data, self.key_version)
        except ProviderError as exc:
            # Same words, with the answer's status and trace id.
            raise self.transport.error(reply, key_tag, exc.detail, code=exc.code, error_class=type(exc))


def key_not_found(error):
    """KMS's own 404 NOT_FOUND for a keyTag (or key_version) it does not have; a gateway 404
    (errorCode 300, an unknown path) says nothing about the key."""
    return getattr(error, "status", None) == 404 and getattr(error, "code", None) == "NOT_FOUND"


PROVIDER = Provider(
    name=NAME,
    var_prefix=VAR_PREFIX,
    options=OPTIONS,
    client=NcloudKmsClient.from_options,
    check_term=check_key_tag,
    profile=PROFILE,
    term_name="keyTag",
    not_found=key_not_found,
)
