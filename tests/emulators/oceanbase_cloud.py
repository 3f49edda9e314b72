# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OceanBase Cloud open API emulator: GET /api/v2/maas/apikeys (ListAIServiceAPIKeys).

What it does, following ../shared/reference/obshell_obcloud.md section 4:

- HTTP Digest authentication (RFC 7616, the RFC 2617 compatible subset that curl --digest,
  requests' HTTPDigestAuth and Go's icholy/digest speak): a request without valid credentials
  gets 401 with `WWW-Authenticate: Digest realm=..., qop="auth", nonce=..., opaque=...,
  algorithm=MD5`. The user name is the AccessKey ID, the password the AccessKey secret.
  The emulator recomputes the response hash from the request as it arrived (method and the
  raw request-target), checks realm, opaque, uri and algorithm, insists on qop=auth with a
  cnonce, and refuses a nonce count that does not increase for its nonce (a replay). Nonces
  live `nonce_ttl` seconds of the injectable clock; a correct answer to an expired nonce gets
  a fresh challenge with `stale=true`, as RFC 7616 section 3.3 says, so clients retry without
  asking for new credentials. The algorithm is MD5 unless told otherwise (the service's
  algorithm is not documented; SHA-256, SHA-512-256 and the -sess variants can be chosen per
  emulator; a -sess session key is the one of the first request under a nonce, RFC 7616 3.4.2).
- Headers X-OB-Org-Id and X-OB-Project-Id are required ("required for all APIs"); a missing one
  is refused with HTTP 400 and INVALID_PARAMETER after authentication. X-Request-Id is optional,
  as the API documents it: the emulator echoes it as requestId, or makes one up without it (the
  collection always sends one).
- Paging: pageNumber from 1 (default 1), pageSize default 10; a pageSize above 100 is silently
  replaced by 20, exactly as the API page says (force_page_size=N makes every page N keys long
  whatever is asked, for tests of a server that pages by its own size). data.total is the number of keys of the
  project whatever the page. A page past the end is an empty list with the same total.
- Items: id, name, createdAt, updatedAt, expiresAt, as documented, plus apiKey: the secret
  value of the key (the create API returns it as data.apiKey). It is there so tests can show
  the client never returns, caches or logs it. Times come in the shapes services use:
  "...Z", "...+08:00", fractions of seconds, epoch milliseconds; a key that never expires has
  expiresAt null, "" or no expiresAt at all.
- Errors: {"success": false, "errorCode", "errorMessage", "requestId"} (the documented generic
  failure), or, with error_style="successful", the newer {"successful": false, "message",
  "requestId"} variant. Codes are assumptions (the service documents only INVALID_PARAMETER and
  E001R000): 401 UNAUTHORIZED, 400 INVALID_PARAMETER, 403 PERMISSION_DENIED, 404 NOT_FOUND.

Run standalone for the demo:
  python -m ansible_collections.keyward.keys.tests.emulators.oceanbase_cloud [--port N] [--tls DIR]
prints one JSON line with the URL, CA, credentials, org and project, then serves until
interrupted.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid

from ansible_collections.keyward.keys.tests.emulators._server import Response

PATH = "/api/v2/maas/apikeys"
ACTION = "ListAIServiceAPIKeys"
REALM = "OceanBase Cloud OpenAPI"
ORG_ID = "org-kw0000000001"
PROJECT_ID = "proj-kw0000000001"
EMPTY_PROJECT_ID = "proj-kw00000empty"
ACCESS_KEY_ID = "OBKEYWARDTESTAK00001"
ACCESS_KEY_SECRET = "obSecretForKeywardTests0000000000001"
OTHER_ACCESS_KEY_ID = "OBKEYWARDTESTAK00002"
OTHER_ACCESS_KEY_SECRET = "obSecondSecretForKeywardTests000002"
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100
CLAMPED_PAGE_SIZE = 20
NONCE_TTL = 300.0
DAY = 86400.0

ALGORITHMS = ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess", "SHA-512-256", "SHA-512-256-sess")
_HASH_NAMES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}


def _hash_for(algorithm):
    base = algorithm[:-5] if algorithm.endswith("-sess") else algorithm
    return lambda data: hashlib.new(_HASH_NAMES[base], data)


# --- times in the shapes the service may use ----------------------------------------------------

def _utc(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)


def time_z(ts):
    """2025-01-01T00:00:00Z (the API page's shape)."""
    return _utc(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def time_ms_z(ts):
    """2025-01-01T00:00:00.123Z."""
    moment = _utc(ts)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def time_offset(ts, hours=8):
    """2025-01-01T08:00:00+08:00 (the China site's local time)."""
    zone = datetime.timezone(datetime.timedelta(hours=hours))
    return datetime.datetime.fromtimestamp(ts, zone).isoformat(timespec="seconds")


def time_epoch_ms(ts):
    """Epoch milliseconds as a JSON number, as Java services often send."""
    return int(round(ts * 1000))


_FORMATS = (time_z, time_offset, time_epoch_ms, time_ms_z)


_NO_FIELD = object()


def _key(key_id, name, created, updated, expires, fmt=time_z):
    item = {"id": key_id, "name": name, "createdAt": fmt(created), "updatedAt": fmt(updated),
            "apiKey": "sk-ob-" + secrets.token_urlsafe(32)}
    if expires is not _NO_FIELD:
        item["expiresAt"] = expires if expires in (None, "") else fmt(expires)
    return item


# Names of the keys every emulator starts with: name -> id.
KEY_IDS = {
    "expired": "ak-kw-expired-0001",
    "expiring_2d": "ak-kw-soon-0002",
    "expiring_10d": "ak-kw-ten-days-0003",
    "long_lived": "ak-kw-long-0004",
    "never_null": "ak-kw-never-null-0005",
    "never_missing": "ak-kw-never-missing-0006",
    "never_empty": "ak-kw-never-empty-0007",
}
FILLER_KEYS = 130  # with the named ones: 137 keys, two pages of 100, seven of 20, fourteen of 10


def standard_keys(now, fillers=FILLER_KEYS):
    """The keys of the main project, created relative to now (epoch seconds)."""
    year_ago = now - 365 * DAY
    keys = [
        _key(KEY_IDS["expired"], "expired-three-days-ago", year_ago, now - 30 * DAY, now - 3 * DAY, time_z),
        _key(KEY_IDS["expiring_2d"], "expiring-in-two-days", year_ago, year_ago, now + 2 * DAY + 3600, time_offset),
        _key(KEY_IDS["expiring_10d"], "expiring-in-ten-days", year_ago, now - DAY, now + 10 * DAY + 60, time_epoch_ms),
        _key(KEY_IDS["long_lived"], "long-lived", now - 10 * DAY, now - 10 * DAY, now + 200 * DAY + 0.25, time_ms_z),
        _key(KEY_IDS["never_null"], "never-expires-null", year_ago, year_ago, None, time_z),
        _key(KEY_IDS["never_missing"], "never-expires-no-field", year_ago, year_ago, _NO_FIELD, time_offset),
        _key(KEY_IDS["never_empty"], "never-expires-empty", year_ago, year_ago, "", time_epoch_ms),
    ]
    for index in range(fillers):
        created = now - (index + 40) * DAY
        keys.append(_key("ak-kw-batch-%04d" % index, "batch-%03d" % index, created, created + DAY,
                         now + (30 + (index * 7) % 400) * DAY, _FORMATS[index % len(_FORMATS)]))
    return keys


# --- Digest, written from RFC 7616 (independent of any client) ---------------------------------

_PARAM = re.compile(r'\s*([A-Za-z0-9_*\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*(?:,|$)')


def parse_digest_params(text):
    """'username="a", qop=auth, ...' -> {name (lowercase): value}; None when malformed."""
    params = {}
    position = 0
    text = text.strip()
    while position < len(text):
        match = _PARAM.match(text, position)
        if not match or match.end() == position:
            return None
        name = match.group(1).lower()
        value = match.group(2)
        value = re.sub(r"\\(.)", r"\1", value) if value is not None else match.group(3)
        if name in params:
            return None  # a parameter twice is malformed (RFC 7616 section 3.4)
        params[name] = value
        position = match.end()
    return params


def digest_response(algorithm, username, realm, password, method, uri, nonce, nc, cnonce, qop, session_cnonce=None):
    """The request-digest of RFC 7616 section 3.4.1 for qop=auth.

    For a -sess algorithm the session key A1 is computed once (section 3.4.2), from the nonce
    and the cnonce of the first request under that nonce (session_cnonce; this request's own
    cnonce when it is the first).
    """
    hasher = _hash_for(algorithm)

    def h(text):
        return hasher(text.encode("utf-8")).hexdigest()

    ha1 = h("%s:%s:%s" % (username, realm, password))
    if algorithm.endswith("-sess"):
        ha1 = h("%s:%s:%s" % (ha1, nonce, session_cnonce or cnonce))
    ha2 = h("%s:%s" % (method, uri))
    return h("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))


class _Reject(Exception):
    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


class OceanBaseCloudEmulator(object):
    """ListAIServiceAPIKeys behind HTTP Digest, with an injectable clock (epoch seconds)."""

    def __init__(self, clock=time.time, algorithm="MD5", realm=REALM, nonce_ttl=NONCE_TTL, keys=None,
                 error_style="errorCode", force_page_size=None):
        if algorithm not in ALGORITHMS:
            raise ValueError("algorithm must be one of %s" % ", ".join(ALGORITHMS))
        self.clock = clock
        self.algorithm = algorithm
        self.realm = realm
        self.nonce_ttl = nonce_ttl
        self.error_style = error_style
        # A server that pages by its own size whatever it is asked (tests of the client's pager).
        self.force_page_size = force_page_size
        self.opaque = secrets.token_hex(16)
        self._lock = threading.Lock()
        self.credentials = {ACCESS_KEY_ID: ACCESS_KEY_SECRET, OTHER_ACCESS_KEY_ID: OTHER_ACCESS_KEY_SECRET}
        # org -> project -> list of items, in the order the service lists them
        self.projects = {ORG_ID: {PROJECT_ID: list(standard_keys(clock()) if keys is None else keys),
                                  EMPTY_PROJECT_ID: []}}
        self.nonces = {}
        self.reset()

    # -- set-up ------------------------------------------------------------------------------
    def add_credential(self, access_key_id, access_key_secret):
        self.credentials[access_key_id] = access_key_secret

    def add_project(self, org_id, project_id, keys=()):
        self.projects.setdefault(org_id, {})[project_id] = list(keys)

    def keys(self, org_id=ORG_ID, project_id=PROJECT_ID):
        return self.projects[org_id][project_id]

    def api_key_values(self, org_id=ORG_ID, project_id=PROJECT_ID):
        """Every apiKey value of a project: none of them may ever leave the client."""
        return [item["apiKey"] for item in self.keys(org_id, project_id) if item.get("apiKey")]

    def expire_nonces(self):
        """Make every nonce issued so far stale, whatever the clock says."""
        with self._lock:
            for info in self.nonces.values():
                info["issued"] = self.clock() - self.nonce_ttl - 1

    def reset(self):
        with self._lock:
            self.challenges = 0  # 401s with a fresh challenge
            self.stale_challenges = 0
            self.calls = []  # one dict per authenticated request: access key id, headers, paging

    # -- responses ---------------------------------------------------------------------------
    def error(self, status, code, message, request_id=None, headers=None):
        rid = request_id or uuid.uuid4().hex
        if self.error_style == "successful":
            body = {"successful": False, "message": message, "requestId": rid}
        else:
            body = {"success": False, "errorCode": code, "errorMessage": message, "requestId": rid}
        return Response.json(status, body, headers)

    def _new_nonce(self):
        now = self.clock()
        nonce = secrets.token_urlsafe(24)
        with self._lock:
            # forget nonces long past their life, so the table stays small
            for old in [n for n, info in self.nonces.items() if now - info["issued"] > 4 * self.nonce_ttl]:
                del self.nonces[old]
            self.nonces[nonce] = {"issued": now, "nc": 0}
        return nonce

    def challenge_header(self, stale=False):
        value = 'Digest realm="%s", qop="auth", nonce="%s", opaque="%s", algorithm=%s' % (
            self.realm, self._new_nonce(), self.opaque, self.algorithm)
        if stale:
            value += ", stale=true"
        return value

    def _unauthorized(self, message, stale=False, request_id=None):
        with self._lock:
            self.challenges += 1
            if stale:
                self.stale_challenges += 1
        return _Reject(self.error(401, "UNAUTHORIZED", message, request_id,
                                  {"WWW-Authenticate": self.challenge_header(stale)}))

    # -- authentication ------------------------------------------------------------------------
    def authenticate(self, request):
        """-> AccessKey ID; raises _Reject with a 401 and a fresh challenge."""
        rid = request.header("X-Request-Id")
        header = (request.header("Authorization") or "").strip()
        scheme, _sep, rest = header.partition(" ")
        if scheme.lower() != "digest":
            raise self._unauthorized("Digest authentication is required" if header else "Authorization is required",
                                     request_id=rid)
        params = parse_digest_params(rest)
        needed = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if params is None or any(not params.get(name) for name in needed):
            raise self._unauthorized("malformed Digest credentials", request_id=rid)
        if params["realm"] != self.realm or params.get("opaque") != self.opaque:
            raise self._unauthorized("Digest realm or opaque does not match the challenge", request_id=rid)
        if params.get("algorithm", "MD5").lower() != self.algorithm.lower():
            raise self._unauthorized("Digest algorithm must be %s" % self.algorithm, request_id=rid)
        if params.get("userhash", "false").lower() == "true":
            raise self._unauthorized("userhash is not supported", request_id=rid)
        if params["qop"] != "auth":
            raise self._unauthorized("qop must be auth", request_id=rid)
        if params["uri"] != request.target:
            raise self._unauthorized("Digest uri does not match the request", request_id=rid)
        if not re.match(r"^[0-9a-fA-F]{8}$", params["nc"]):
            raise self._unauthorized("malformed nonce count", request_id=rid)
        secret = self.credentials.get(params["username"])
        with self._lock:
            info = self.nonces.get(params["nonce"])
        if info is None:
            raise self._unauthorized("unknown nonce", request_id=rid)
        if secret is None:
            raise self._unauthorized("AccessKey ID or secret is wrong", request_id=rid)
        with self._lock:
            # -sess: the session key comes from the first accepted request under this nonce
            # (RFC 7616 section 3.4.2), not from each request's own cnonce.
            session_cnonce = info.get("cnonce")
        expected = digest_response(self.algorithm, params["username"], self.realm, secret, request.method,
                                   params["uri"], params["nonce"], params["nc"], params["cnonce"], params["qop"],
                                   session_cnonce=session_cnonce)
        if not hmac.compare_digest(expected, params["response"].lower()):
            raise self._unauthorized("AccessKey ID or secret is wrong", request_id=rid)
        with self._lock:
            info.setdefault("cnonce", params["cnonce"])
        if self.clock() - info["issued"] > self.nonce_ttl:
            raise self._unauthorized("nonce expired", stale=True, request_id=rid)
        count = int(params["nc"], 16)
        with self._lock:
            if count <= info["nc"]:
                replay = True
            else:
                replay = False
                info["nc"] = count
        if replay:
            raise self._unauthorized("nonce count %s was already used (replay)" % params["nc"], request_id=rid)
        return params["username"]

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, request):
        try:
            if request.path == PATH:
                if request.method != "GET":
                    return self.error(405, "METHOD_NOT_ALLOWED", "only GET is emulated on %s" % PATH,
                                      request.header("X-Request-Id"))
                return self.list_api_keys(request)
        except _Reject as reject:
            return reject.response
        return self.error(404, "NOT_FOUND", "no such API: %s %s" % (request.method, request.path))

    def control(self, name, request):
        if name == "oceanbase_cloud/expire-nonces" and request.method == "POST":
            self.expire_nonces()
            return Response.json(200, {"ok": True})
        if name == "oceanbase_cloud/error-style" and request.method == "POST":
            self.error_style = (request.json() or {}).get("style", "errorCode")
            return Response.json(200, {"ok": True})
        if name == "oceanbase_cloud/stats" and request.method == "GET":
            return Response.json(200, {"challenges": self.challenges, "stale_challenges": self.stale_challenges,
                                       "calls": len(self.calls)})
        return None

    @staticmethod
    def _int_param(request, name, default):
        raw = request.query.get(name)
        if raw is None or raw == "":
            return default
        if not re.match(r"^[0-9]{1,9}$", raw):
            raise ValueError(name)
        return int(raw)

    def list_api_keys(self, request):
        access_key_id = self.authenticate(request)
        rid = request.header("X-Request-Id")
        org_id = request.header("X-OB-Org-Id")
        project_id = request.header("X-OB-Project-Id")
        for name, value in (("X-OB-Org-Id", org_id), ("X-OB-Project-Id", project_id)):
            if not value:
                return self.error(400, "INVALID_PARAMETER", "%s is required for all APIs" % name, rid)
        try:
            page_number = self._int_param(request, "pageNumber", 1)
            page_size = self._int_param(request, "pageSize", DEFAULT_PAGE_SIZE)
        except ValueError as exc:
            return self.error(400, "INVALID_PARAMETER", "%s must be a positive integer" % exc, rid)
        if page_number < 1 or page_size < 1:
            return self.error(400, "INVALID_PARAMETER", "pageNumber and pageSize start from 1", rid)
        if page_size > MAX_PAGE_SIZE:
            page_size = CLAMPED_PAGE_SIZE  # "the server will forcibly set it to 20"
        if self.force_page_size:
            page_size = self.force_page_size
        if org_id not in self.projects:
            return self.error(403, "PERMISSION_DENIED", "no access to organization %s" % org_id, rid)
        if project_id not in self.projects[org_id]:
            return self.error(404, "NOT_FOUND", "project %s does not exist in organization %s" % (project_id, org_id),
                              rid)
        items = self.projects[org_id][project_id]
        start = (page_number - 1) * page_size
        page = [dict(item) for item in items[start:start + page_size]]
        with self._lock:
            self.calls.append({"access_key_id": access_key_id, "request_id": rid, "org_id": org_id,
                               "project_id": project_id, "page_number": page_number, "page_size": page_size})
        action = request.query.get("Action") or request.header("Action") or ACTION
        return Response.json(200, {
            "success": True,
            "action": action,
            "data": {"list": page, "total": len(items)},
            "requestId": rid or uuid.uuid4().hex,
            "server": "keyward-emulator",
        })


def main(argv=None):
    from ansible_collections.keyward.keys.tests.emulators._server import run_standalone

    run_standalone(
        __doc__.splitlines()[0], lambda args: OceanBaseCloudEmulator(algorithm=args.algorithm),
        lambda app, server, pki, args: {
            "org_id": ORG_ID, "project_id": PROJECT_ID, "empty_project_id": EMPTY_PROJECT_ID,
            "access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET, "algorithm": args.algorithm,
            "key_ids": KEY_IDS, "total": len(app.keys()),
            "env": {"OCEANBASE_ENDPOINT": server.url, "OCEANBASE_ORG_ID": ORG_ID, "OCEANBASE_PROJECT_ID": PROJECT_ID,
                    "OCEANBASE_ACCESS_KEY_ID": ACCESS_KEY_ID, "OCEANBASE_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET},
            "lookup": "query('keyward.keys.oceanbase_cloud_api_keys')"},
        argv, add_arguments=lambda parser: parser.add_argument("--algorithm", default="MD5", choices=ALGORITHMS))


if __name__ == "__main__":
    main()
