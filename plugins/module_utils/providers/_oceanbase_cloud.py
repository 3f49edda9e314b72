# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OceanBase Cloud AI-service API keys (GET /api/v2/maas/apikeys, ListAIServiceAPIKeys).

The option table, the endpoint of a site, reading answers (pages and both error shapes),
turning one listed item into the record the lookup and the module return (pure helpers, no
I/O), then the API profile, the client that pages through the API with HTTP Digest inside the
transport, and the Provider declaration (PROVIDER, at the end).

A record is split in two on purpose:
  api_key_record(item)              id, name, created_at, updated_at, expires_at: depends only
                                    on the answer, so the run-wide cache may hold it;
  expiry_fields(expires_at, now)    expired, expires_in_days: depends on the clock, so it is
                                    computed after the cache, every time a record is returned
                                    (_oceanbase_cloud_expiry.py, which the lookup loads on a hit).
api_key_entry(item, now) is both together.

Nothing secret from an item survives: a record is built from an allow-list of fields, so the
key's own value (apiKey, or whatever the service adds) is never copied, cached or logged.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import json
import re
import uuid

from .._api_profile import ApiProfile, json_object
from .._auth import Digest
from .._endpoints import normalize_endpoint
from .._errors import OptionError, ProviderError, one_line
from ._oceanbase_cloud_expiry import finish, iso_utc, with_expiry
from .._pager import number_pages
from .._provider import Provider

NAME = "oceanbase_cloud"
VAR_PREFIX = "oceanbase_cloud"  # lookup variables are keyward_oceanbase_cloud_<option>

PATH = "/api/v2/maas/apikeys"
ACTION = "ListAIServiceAPIKeys"
MAX_PAGE_SIZE = 100  # the service replaces a larger pageSize by 20, silently

SITES = {
    "global": "https://api-cloud.oceanbase.com",
    "china": "https://api-cloud-cn.oceanbase.com",
}
DEFAULT_SITE = "global"

# Every option once: type, default, env names (first found wins), no_log, choices. The doc
# fragment plugins/doc_fragments/oceanbase_cloud.py declares the same.
OPTIONS = {
    "org_id": dict(type="str", env=["OCEANBASE_ORG_ID"]),
    "project_id": dict(type="str", env=["OCEANBASE_PROJECT_ID"]),
    "access_key_id": dict(type="str", env=["OCEANBASE_ACCESS_KEY_ID", "OCEANBASE_ACCESS_KEY"], no_log=False),
    "access_key_secret": dict(type="str", env=["OCEANBASE_ACCESS_KEY_SECRET", "OCEANBASE_SECRET_KEY"], no_log=True),
    "site": dict(type="str", default=DEFAULT_SITE, choices=sorted(SITES), env=["OCEANBASE_SITE"]),
    "endpoint": dict(type="str", env=["OCEANBASE_ENDPOINT"]),
    # 1 to 100 (check_page_size); the table format has no bounds, the client checks them.
    "page_size": dict(type="int", default=MAX_PAGE_SIZE),
}


# --- options ------------------------------------------------------------------------------------

def endpoint_for(site, endpoint):
    """The base URL: endpoint (full URL or bare host) when set, else the site's.

    site is global (https://api-cloud.oceanbase.com) or china (https://api-cloud-cn.oceanbase.com),
    case-insensitive; None or empty means global.
    """
    if endpoint is not None and str(endpoint).strip():
        return normalize_endpoint(endpoint, option="endpoint")
    name = DEFAULT_SITE if site is None or not str(site).strip() else str(site).strip().lower()
    if name not in SITES:
        raise OptionError("%s: site %r: expected one of %s, or set endpoint"
                          % (NAME, one_line(site, 60), ", ".join(sorted(SITES))))
    return SITES[name]


def check_page_size(value):
    """page_size as an int between 1 and 100; anything else is an option error (never clamped
    silently: the service would turn 101 into 20)."""
    if isinstance(value, bool):
        raise OptionError("%s: page_size must be an integer from 1 to %d" % (NAME, MAX_PAGE_SIZE))
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise OptionError("%s: page_size must be an integer from 1 to %d" % (NAME, MAX_PAGE_SIZE))
    if not 1 <= number <= MAX_PAGE_SIZE:
        raise OptionError("%s: page_size %d is out of range: 1 to %d (the service answers 20 keys per page "
                          "when asked for more than %d)" % (NAME, number, MAX_PAGE_SIZE, MAX_PAGE_SIZE))
    return number


def check_days(days, option="expiring_within_days"):
    """A whole number of days, 0 or more (an int, or its digits as text)."""
    number = None
    if isinstance(days, int) and not isinstance(days, bool):
        number = days
    elif isinstance(days, str) and re.match(r"^\s*-?\d{1,9}\s*$", days):
        number = int(days)
    if number is None:
        raise OptionError("%s: %s must be a whole number of days" % (NAME, option))
    if number < 0:
        raise OptionError("%s: %s must be 0 or more" % (NAME, option))
    return number


# --- answers ------------------------------------------------------------------------------------

def _text(value):
    if value is None or isinstance(value, (dict, list)):
        return None
    text = one_line(value)
    return text or None


def _first(body, names):
    for name in names:
        value = _text(body.get(name))
        if value is not None:
            return value
    return None


def is_failure(body):
    """True for an answer that says it failed (success or successful false), even on HTTP 2xx."""
    data = json_object(body)
    if data is None:
        return False
    return data.get("success") is False or data.get("successful") is False


def error_fields(body):
    """(code, message, request_id) of an error answer; None for what it does not carry.

    Both documented shapes:
      {"success": false, "errorCode": "E001R000", "errorMessage": "Unknown Error", "requestId": "..."}
      {"successful": false, "message": "...", "requestId": "..."} (code, when present: "code")
    body may be the parsed JSON or its text; anything else gives (None, None, None).
    """
    data = json_object(body)
    if data is None:
        return None, None, None
    code = _first(data, ("errorCode", "code", "errCode", "error_code"))
    message = _first(data, ("errorMessage", "message", "errMsg", "msg", "error_msg"))
    request_id = _first(data, ("requestId", "request_id", "traceId"))
    return code, message, request_id


def _unexpected(what, body):
    _code, _message, request_id = error_fields(body)
    return ProviderError("unexpected answer from %s: %s" % (ACTION, what), provider=NAME, request_id=request_id)


def page_items(body):
    """(items, total) of one page: data.list and data.total (total None when absent).

    An answer without data.list is an error; items that are not objects are an error.
    total falls back to the top-level totalCount of the service's generic envelope.
    """
    data = json_object(body)
    if data is None:
        raise _unexpected("not a JSON object", body)
    inner = data.get("data")
    if not isinstance(inner, dict):
        raise _unexpected("no data object", data)
    items = inner.get("list")
    if items is None:
        items = []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _unexpected("data.list is not a list of objects", data)
    total = inner.get("total", data.get("totalCount"))
    if isinstance(total, bool):
        total = None
    elif total is not None:
        try:
            total = int(str(total).strip())
        except ValueError:
            raise _unexpected("data.total is not a number", data)
        if total < 0:
            raise _unexpected("data.total is negative", data)
    return items, total


# --- records --------------------------------------------------------------------------------------

def _key_name(item):
    key_id = item.get("id")
    return _text(key_id) if key_id is not None else None


def api_key_record(item):
    """The clock-free part of a record: id, name, created_at, updated_at, expires_at.

    Times become ISO-8601 UTC (or None). Only these fields are read from the item, so its
    secret value never reaches the record. A time the service sent in an unknown shape is an
    error naming the key, not a silent null: a null expires_at would read as "never expires".
    """
    if not isinstance(item, dict):
        raise ProviderError("unexpected answer from %s: a listed key is not an object" % ACTION, provider=NAME)
    key_id, name = item.get("id"), item.get("name")
    return {
        "id": None if key_id is None else str(key_id),
        "name": None if name is None else str(name),
        "created_at": _time_field(item, "createdAt"),
        "updated_at": _time_field(item, "updatedAt"),
        "expires_at": _time_field(item, "expiresAt"),
    }


def _time_field(item, field):
    value = item.get(field)
    try:
        return iso_utc(value)
    except ValueError:
        raise ProviderError("%s %s is not a time the collection can read: %s"
                            % (field, one_line(json.dumps(value), 60) if _jsonable(value) else "value",
                               "expected ISO-8601 or epoch seconds/milliseconds"),
                            provider=NAME, key=_key_name(item))


def _jsonable(value):
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def api_key_entry(item, now):
    """One listed item -> the record users get: id, name, created_at, updated_at, expires_at,
    expired, expires_in_days. Nothing else from the item."""
    return with_expiry(api_key_record(item), now)


def expiring_within(entries, days):
    """The entries whose key expires within days from now, already expired ones included;
    keys that never expire are left out. days 0 keeps only expired keys.

    Works on entries that carry expired and expires_in_days (api_key_entry, with_expiry): a key
    is kept when it is expired or fewer than `days` whole days are left, that is when its
    expiry is less than `days` * 24 hours away. Order is kept.
    """
    days = check_days(days)
    kept = []
    for entry in entries:
        left = entry.get("expires_in_days")
        if left is None and not entry.get("expired"):
            continue
        if entry.get("expired") or left < days:
            kept.append(entry)
    return kept


def request_headers(org_id, project_id, request_id):
    """The headers every request carries (Digest authentication is added by the transport)."""
    return {"X-OB-Org-Id": str(org_id), "X-OB-Project-Id": str(project_id), "X-Request-Id": str(request_id),
            "Accept": "application/json"}


# --- the API profile ------------------------------------------------------------------------------

class OceanBaseCloudProfile(ApiProfile):
    """OceanBase Cloud's answers, for the transport.

    Errors come as {"success": false, "errorCode", "errorMessage", "requestId"} or, on newer
    APIs, {"successful": false, "message", "requestId"}, sometimes with HTTP 200: both shapes
    are read on any status (error_fields above), and a 2xx that says it failed is a failure.
    The request id is the body's requestId (the service echoes the X-Request-Id we send).
    """

    request_id_headers = ("X-Request-Id", "requestId")
    request_id_fields = ("requestId", "request_id", "traceId")
    hints = {
        "UNAUTHORIZED": "check access_key_id and access_key_secret",
        "INVALID_PARAMETER": "check org_id and project_id",
        "PERMISSION_DENIED": "check org_id and that the AccessKey's account may use it",
    }

    def error_fields(self, body):
        return error_fields(body) if isinstance(body, dict) else (None, None, None)

    def success_failure(self, body):
        if not is_failure(body):
            return None
        code, message, _request_id = error_fields(body)
        return code, message


PROFILE = OceanBaseCloudProfile()


# --- the client --------------------------------------------------------------------------------------

def _blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


_REQUIRED = (
    ("org_id", "OCEANBASE_ORG_ID"),
    ("project_id", "OCEANBASE_PROJECT_ID"),
    ("access_key_id", "OCEANBASE_ACCESS_KEY_ID"),
    ("access_key_secret", "OCEANBASE_ACCESS_KEY_SECRET"),
)


def _record_id(record):
    """What tells two listed keys apart for the pager: the id, or the whole record without one."""
    if record["id"] is not None:
        return ("id", record["id"])
    return ("record", json.dumps(record, sort_keys=True))


class OceanBaseCloudClient(object):
    """Lists the AI-service API keys of one organization and project. One Digest challenge is
    shared by every page (the nonce count increases), so a listing costs one extra round trip."""

    def __init__(self, transport, org_id=None, project_id=None, access_key_id=None, access_key_secret=None,
                 site=None, endpoint=None, page_size=MAX_PAGE_SIZE):
        values = {"org_id": org_id, "project_id": project_id, "access_key_id": access_key_id,
                  "access_key_secret": access_key_secret}
        missing = ["%s (%s)" % (name, env) for name, env in _REQUIRED if _blank(values[name])]
        if missing:
            raise OptionError("%s: missing %s; give them as options, keyward_oceanbase_cloud_* variables or "
                              "environment variables" % (NAME, ", ".join(missing)))
        self.transport = transport
        self.base_url = endpoint_for(site, endpoint)
        self.url = self.base_url.rstrip("/") + PATH
        self.org_id = str(org_id).strip()
        self.project_id = str(project_id).strip()
        self.access_key_id = str(access_key_id).strip()
        self.page_size = check_page_size(MAX_PAGE_SIZE if page_size is None else page_size)
        # The secret is used exactly as given (a secret may well end in a space).
        self._auth = Digest(self.access_key_id, str(access_key_secret))

    @classmethod
    def from_options(cls, options, transport, **kwargs):
        values = {name: options.get(name) for name in OPTIONS}
        values.update(kwargs)
        return cls(transport, **values)

    def page(self, number, size):
        """One page -> (records, total). Each record is clock-free; nothing else of an item is kept."""
        if not 1 <= size <= MAX_PAGE_SIZE:  # the service would silently answer 20 a page
            raise OptionError("%s: page size %d is out of range: 1 to %d" % (NAME, size, MAX_PAGE_SIZE))
        request_id = str(uuid.uuid4())
        reply = self.transport.request(
            "GET", self.url, headers=request_headers(self.org_id, self.project_id, request_id),
            params={"pageNumber": number, "pageSize": size}, auth=self._auth, request_id=request_id,
            context="%s page %d" % (ACTION, number))
        body = self.transport.json(reply, request_id=request_id)
        try:
            items, total = page_items(body)
            records = [api_key_record(item) for item in items]
        except ProviderError as exc:
            raise self.transport.error(reply, exc.key, exc.detail, request_id=exc.request_id or request_id)
        return records, total

    def list(self):
        """Every API key of the project, each once, in the order the service lists them (clock-free
        records: id, name, created_at, updated_at, expires_at)."""
        return list(number_pages(self.page, self.page_size, _record_id, provider=NAME))


PROVIDER = Provider(
    name=NAME,
    var_prefix=VAR_PREFIX,
    options=OPTIONS,
    client=OceanBaseCloudClient.from_options,
    profile=PROFILE,
    records=False,
    finish=finish,
    max_workers=1,
    term_name="listing",
)
