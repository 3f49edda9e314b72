# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Huawei Cloud KMS: public keys by key ID (POST /v1.0/{project_id}/kms/get-publickey).

Authentication, first match wins:
  1. auth_token: sent as X-Auth-Token.
  2. access_key + secret_key (+ security_token for temporary keys): SDK-HMAC-SHA256 signing,
     with X-Project-Id and X-Security-Token signed like the official SDK does.
  3. username + password + domain_name: one IAM login (POST /v3/auth/tokens, token in the
     X-Subject-Token header), scoped to project_id or to the project named after the region,
     then X-Auth-Token. The token is obtained lazily, once per client, shared by every key the
     client fetches (threads included), and remembered in this process's memory only.

Token reuse across Ansible's forked workers: the token is never written anywhere, not even
encrypted. Each worker process that has to fetch a key logs in once; the lookup's run-wide
record cache means that a worker whose keys are all cached never logs in, so a run costs one
login per worker that actually fetches (typically one, at most min(forks, distinct keys)).

project_id, when not given, is the id of the IAM project named after the region:
GET /v3/projects?name={region} (AK/SK signed, or with the token), or, for a password login,
the project of the scoped token. It is remembered per process (public data).

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
import threading
import time

from . import _huaweicloud_signer as signer
from .._api_profile import ApiProfile
from .._auth import Signer, TokenLogin
from .._canonical import canonical_query
from .._endpoints import normalize_endpoint
from .._errors import OptionError
from .._provider import Provider

NAME = "huaweicloud_kms"

# Every option once: type, env names (first found wins), no_log. The doc fragment
# plugins/doc_fragments/huaweicloud.py declares the same; a unit test checks they agree.
OPTIONS = {
    "region": dict(type="str", env=["HUAWEICLOUD_SDK_REGION", "HW_REGION_NAME"]),
    "project_id": dict(type="str", env=["HUAWEICLOUD_SDK_PROJECT_ID", "HW_PROJECT_ID"]),
    "endpoint": dict(type="str", env=["HUAWEICLOUD_KMS_ENDPOINT"]),
    "iam_endpoint": dict(type="str", env=["HUAWEICLOUD_SDK_IAM_ENDPOINT"]),
    "access_key": dict(type="str", env=["HUAWEICLOUD_SDK_AK", "HW_ACCESS_KEY"], no_log=False),
    "secret_key": dict(type="str", env=["HUAWEICLOUD_SDK_SK", "HW_SECRET_KEY"], no_log=True),
    "security_token": dict(type="str", env=["HUAWEICLOUD_SDK_SECURITY_TOKEN", "HW_SECURITY_TOKEN"], no_log=True),
    "auth_token": dict(type="str", env=["HUAWEICLOUD_AUTH_TOKEN"], no_log=True),
    "username": dict(type="str", env=["HW_USER_NAME"]),
    "password": dict(type="str", env=["HW_USER_PASSWORD"], no_log=True),
    "domain_name": dict(type="str", env=["HW_DOMAIN_NAME"]),
    "sequence": dict(type="str"),
}

KEY_ID_PATTERN = re.compile(r"^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$")
_REGION = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SEQUENCE = re.compile(r"^[\x21-\x7e]{36}$")

# Regions whose service domain is not myhuaweicloud.com (SDK kms_region.py: EU_WEST_101).
_DOMAIN_EXCEPTIONS = {"eu-west-101": "myhuaweicloud.eu"}
DEFAULT_DOMAIN = "myhuaweicloud.com"

CONTENT_TYPE = "application/json;charset=utf-8"
SIGNED_HEADERS = ("Content-Type", "X-Project-Id", "X-Security-Token")
TOKEN_MARGIN = 300.0  # seconds; a remembered token this close to expiry is not reused

_memo_lock = threading.Lock()
_TOKENS = {}  # in-memory only: (iam url, domain, user, scope, password digest) -> (token, project id, expires)
_PROJECTS = {}  # (iam url, identity, region) -> project id


def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _clean(value):
    return None if _blank(value) else str(value).strip()


def service_domain(region):
    return _DOMAIN_EXCEPTIONS.get(region, DEFAULT_DOMAIN)


def default_kms_endpoint(region):
    """https://kms.{region}.myhuaweicloud.com, or .myhuaweicloud.eu for eu-west-101."""
    return "https://kms.%s.%s" % (region, service_domain(region))


def default_iam_endpoint(region):
    """https://iam.{region}.myhuaweicloud.com (.myhuaweicloud.eu for eu-west-101), without /v3."""
    return "https://iam.%s.%s" % (region, service_domain(region))


def check_key_id(key_id):
    """Refuse anything but a KMS key ID before any request is made."""
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.match(key_id):
        raise OptionError(
            "%s: key %s: not a KMS key ID; expected 36 characters like 0d0466b0-e727-4d9c-b35d-f84bb474a37f "
            "(lowercase letters and digits in groups of 8-4-4-4-12)" % (NAME, key_id if isinstance(key_id, str) else repr(key_id)))
    return key_id


def _strip_v3(url):
    return url[:-3] if url.endswith("/v3") else url


class HuaweiProfile(ApiProfile):
    """Huawei's error bodies:

    KMS:         {"error": {"error_code": "KMS.0207", "error_msg": "..."}}
    API gateway: {"error_code": "APIGW.0301", "error_msg": "...", "request_id": "..."}
    IAM (Keystone style): {"error": {"code": 401, "message": "...", "title": "Unauthorized"}}
    """

    request_id_headers = ("X-Request-Id", "X-Openstack-Request-Id")
    error_fields_order = (
        ("error.error_code", "error.error_msg"),
        ("error.code", "error.message"),
        ("error_code", "error_msg"),
        ("errorCode", "errorMsg"),
        ("code", "message"),
    )

    def error_fields(self, body):
        code, message, request_id = super(HuaweiProfile, self).error_fields(body)
        if isinstance(body, dict) and isinstance(body.get("error"), dict) and not message:
            message = body["error"].get("title")
        if isinstance(code, int):
            code = None  # Keystone repeats the HTTP status as "code"
        return code, message, request_id


PROFILE = HuaweiProfile()


def _parse_time(text):
    """IAM's expires_at ('2024-01-01T00:00:00.000000Z') -> POSIX seconds, or None."""
    if not isinstance(text, str):
        return None
    value = text.strip().replace("Z", "+00:00")
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        try:
            when = datetime.datetime.strptime(text.strip()[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def reset_memory():
    """Forget remembered tokens and project ids (tests)."""
    with _memo_lock:
        _TOKENS.clear()
        _PROJECTS.clear()


class HuaweiKmsClient(object):
    """Fetches public keys from one KMS endpoint with one set of credentials. Thread-safe."""

    def __init__(self, transport, region=None, project_id=None, endpoint=None, iam_endpoint=None,
                 access_key=None, secret_key=None, security_token=None, auth_token=None,
                 username=None, password=None, domain_name=None, sequence=None, clock=time.time):
        self.transport = transport
        self._clock = clock
        self.region = _clean(region)
        if self.region is not None:
            self.region = self.region.lower()
            if not _REGION.match(self.region):
                raise OptionError("%s: region %r is not a region name such as cn-north-4" % (NAME, region))
        self.project_id = _clean(project_id)
        # What the user configured; self.project_id is filled in once discovered.
        self.configured_project_id = self.project_id
        if self.project_id is not None and not _PROJECT_ID.match(self.project_id):
            raise OptionError("%s: project_id %r is not a project ID (letters, digits, '-' and '_')" % (NAME, project_id))
        if not _blank(endpoint):
            self.kms_url = normalize_endpoint(endpoint, option="endpoint")
        elif self.region:
            self.kms_url = default_kms_endpoint(self.region)
        else:
            raise OptionError("%s: set region (for example cn-north-4) or endpoint" % NAME)
        if not _blank(iam_endpoint):
            self.iam_url = _strip_v3(normalize_endpoint(iam_endpoint, option="iam_endpoint"))
        elif self.region:
            self.iam_url = default_iam_endpoint(self.region)
        else:
            self.iam_url = None
        self.sequence = _clean(sequence)
        if self.sequence is not None and not _SEQUENCE.match(self.sequence):
            raise OptionError("%s: sequence must be 36 printable ASCII characters (a request serial number "
                              "such as 919c82d4-8046-4722-9094-35c3c6524cff)" % NAME)

        self._auth_token = _clean(auth_token)
        self._access_key = _clean(access_key)
        self._secret_key = _clean(secret_key)
        self._security_token = _clean(security_token)
        self.username = _clean(username)
        self._password = password if not _blank(password) else None
        self.domain_name = _clean(domain_name)
        if self._auth_token:
            self.auth_method = "token"
        elif self._access_key or self._secret_key:
            if not (self._access_key and self._secret_key):
                raise OptionError("%s: access_key and secret_key must be given together (%s is missing)"
                                  % (NAME, "secret_key" if self._access_key else "access_key"))
            self.auth_method = "aksk"
        elif self.username or self._password or self.domain_name:
            missing = [name for name, value in (("username", self.username), ("password", self._password),
                                                ("domain_name", self.domain_name)) if not value]
            if missing:
                raise OptionError("%s: a password login needs username, password and domain_name (%s missing)"
                                  % (NAME, ", ".join(missing)))
            self.auth_method = "password"
        else:
            raise OptionError(
                "%s: no credentials; give auth_token, access_key and secret_key, or username, password and "
                "domain_name (as options, keyward_huaweicloud_* variables or environment variables such as "
                "HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK)" % NAME)
        if self.project_id is None:
            if not self.region:
                raise OptionError("%s: project_id is needed when region is not set (the project is looked up "
                                  "by the region's name)" % NAME)
            if not self.iam_url:
                raise OptionError("%s: iam_endpoint is needed to look up project_id" % NAME)
        if self.auth_method == "password" and not self.iam_url:
            raise OptionError("%s: a password login needs region or iam_endpoint" % NAME)
        self._lock = threading.Lock()
        self._token = None  # password login: (token, project id, expires)
        if self.auth_method == "password":
            self._auth = TokenLogin(self._login_token, header="X-Auth-Token")
        elif self.auth_method == "aksk":
            self._auth = Signer(self._sign)
        else:
            self._auth = None

    @classmethod
    def from_options(cls, options, transport, **kwargs):
        values = {name: options.get(name) for name in OPTIONS}
        values.update(kwargs)
        return cls(transport, **values)

    def identity(self):
        """Who is asking, as public data; None for a bare auth_token (whose only identity is secret)."""
        if self.auth_method == "aksk":
            return "ak:%s" % self._access_key
        if self.auth_method == "password":
            return "user:%s@%s" % (self.username, self.domain_name)
        return None

    # -- IAM -----------------------------------------------------------------------------------
    def _sign(self, prepared):
        signer.sign_prepared(prepared, self._access_key, self._secret_key, sign_headers=SIGNED_HEADERS)

    def _aksk_headers(self, project_id):
        headers = {"Content-Type": CONTENT_TYPE}
        if project_id:
            headers["X-Project-Id"] = project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        return headers

    def _project_key(self):
        return (self.iam_url, self.identity() or "token", self.region)

    def resolve_project_id(self, key=None):
        """project_id as given, or the id of the IAM project named after the region."""
        if self.project_id:
            return self.project_id
        if self.auth_method == "password":
            return self._password_token(key)[1]
        with self._lock:
            if self.project_id:
                return self.project_id
            with _memo_lock:
                remembered = _PROJECTS.get(self._project_key()) if self.auth_method == "aksk" else None
            if remembered:
                self.project_id = remembered
                return remembered
            url = "%s/v3/projects?%s" % (self.iam_url, canonical_query([("name", self.region)]))
            headers = self._aksk_headers(None) if self.auth_method == "aksk" else {"X-Auth-Token": self._auth_token}
            response = self.transport.request("GET", url, key=key, headers=headers, auth=self._auth,
                                              context="IAM project lookup failed")
            data = self.transport.json(response, key)
            projects = data.get("projects") if isinstance(data, dict) else None
            if not isinstance(projects, list):
                raise self.transport.error(response, key, "IAM project lookup answered without a projects list")
            ids = [p.get("id") for p in projects if isinstance(p, dict) and p.get("name") == self.region and p.get("id")]
            if not ids:
                raise self.transport.error(response, key, "IAM has no project named %s for these credentials; "
                                           "set project_id" % self.region)
            if len(set(ids)) > 1:
                raise self.transport.error(response, key, "IAM has %d projects named %s; set project_id"
                                           % (len(set(ids)), self.region))
            self.project_id = ids[0]
            if self.auth_method == "aksk":
                with _memo_lock:
                    _PROJECTS[self._project_key()] = self.project_id
            return self.project_id

    def _token_key(self):
        scope = ("id", self.configured_project_id) if self.configured_project_id else ("name", self.region)
        digest = hashlib.sha256(self._password.encode("utf-8")).hexdigest()
        return (self.iam_url, self.domain_name, self.username, scope, digest)

    def _password_token(self, key=None, stale=None):
        """(token, project id, expires) of the password login, obtained once and shared.

        stale: a token the service refused; it is replaced by a new login unless another
        thread already did so.
        """
        with self._lock:
            now = self._clock()

            def usable(entry):
                if entry is None or entry[0] == stale:
                    return False
                return entry[2] is None or entry[2] - now > TOKEN_MARGIN

            memo_key = self._token_key()
            if usable(self._token):
                return self._token
            with _memo_lock:
                remembered = _TOKENS.get(memo_key)
            if usable(remembered):
                self._token = remembered
                return remembered
            self._token = self._login(key)
            with _memo_lock:
                _TOKENS[memo_key] = self._token
            return self._token

    def _login_token(self, stale=None):
        """TokenLogin's login: the token of the shared password login (a new one when stale)."""
        return self._password_token(stale=stale)[0]

    def _login(self, key):
        scope = {"id": self.configured_project_id} if self.configured_project_id else {"name": self.region}
        body = {"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self.username, "password": self._password, "domain": {"name": self.domain_name}}}},
            "scope": {"project": scope},
        }}
        who = "%s@%s" % (self.username, self.domain_name)
        response = self.transport.request(
            "POST", "%s/v3/auth/tokens?nocatalog=true" % self.iam_url, key=key,
            headers={"Content-Type": CONTENT_TYPE}, data=json.dumps(body).encode("utf-8"),
            context="IAM login of %s failed" % who)
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise self.transport.error(response, key, "IAM login of %s answered without an X-Subject-Token header" % who)
        data = self.transport.json(response, key)
        info = data.get("token") if isinstance(data, dict) else None
        info = info if isinstance(info, dict) else {}
        project = info.get("project") if isinstance(info.get("project"), dict) else {}
        project_id = self.configured_project_id or project.get("id")
        if not project_id:
            raise self.transport.error(response, key, "IAM login of %s gave a token without a project; set project_id" % who)
        self.transport.debug("%s: IAM token obtained for %s, project %s" % (NAME, who, project_id))
        return (token, project_id, _parse_time(info.get("expires_at")))

    # -- KMS -----------------------------------------------------------------------------------
    def request_body(self, key_id):
        body = {"key_id": key_id}
        if self.sequence:
            body["sequence"] = self.sequence
        return json.dumps(body).encode("utf-8")

    def fetch(self, key_id):
        """The key record of one asymmetric KMS key."""
        from .._keys import key_record

        check_key_id(key_id)
        if self.auth_method == "password":
            project_id = self._password_token(key_id)[1]
            headers = {"Content-Type": CONTENT_TYPE}
        else:
            project_id = self.resolve_project_id(key_id)
            if self.auth_method == "token":
                headers = {"Content-Type": CONTENT_TYPE, "X-Auth-Token": self._auth_token}
            else:
                headers = self._aksk_headers(project_id)
        url = "%s/v1.0/%s/kms/get-publickey" % (self.kms_url, project_id)
        response = self.transport.request("POST", url, key=key_id, headers=headers, data=self.request_body(key_id),
                                          auth=self._auth)
        data = self.transport.json(response, key_id)
        raw = data.get("public_key") if isinstance(data, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            raise self.transport.error(response, key_id, "KMS answered without a public_key (is %s an asymmetric key?)"
                                       % key_id)
        metadata = {"project_id": project_id, "region": self.region}
        returned = data.get("key_id")
        if isinstance(returned, str) and returned and returned != key_id:
            metadata["returned_key_id"] = returned
        return key_record(NAME, key_id, raw, metadata)


def key_not_found(error):
    """KMS.0207 "The key does not exist." (HTTP 404): the documented answer for a missing key."""
    return getattr(error, "code", None) == "KMS.0207"


PROVIDER = Provider(
    name=NAME,
    var_prefix="huaweicloud",
    options=OPTIONS,
    client=HuaweiKmsClient.from_options,
    check_term=check_key_id,
    profile=PROFILE,
    term_name="key ID",
    not_found=key_not_found,
)
