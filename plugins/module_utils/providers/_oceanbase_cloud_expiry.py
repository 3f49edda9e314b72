# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OceanBase Cloud API-key times: reading the service's times, and the clock-dependent fields
(expired, expires_in_days) computed after the run-wide cache on every call.

The provider (_oceanbase_cloud.py) declares finish(); the lookup applies it to a cached listing
without loading the provider (plugin_utils/_lookup.py, CACHE_RULES). Standard library only.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import datetime
import math
import re
import time

RECORD_FIELDS = ("id", "name", "created_at", "updated_at", "expires_at")
ENTRY_FIELDS = RECORD_FIELDS + ("expired", "expires_in_days")

_DAY = 86400
_UTC = datetime.timezone.utc
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=_UTC)
# Numbers at or above this are epoch milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MILLIS_FROM = 10 ** 11
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$")
_EPOCH_TEXT = re.compile(r"^-?\d{1,16}(\.\d+)?$")


# --- times --------------------------------------------------------------------------------------

def _from_epoch(number):
    seconds = number / 1000.0 if abs(number) >= _MILLIS_FROM else float(number)
    return _EPOCH + datetime.timedelta(seconds=seconds)


def parse_time(value):
    """A time as the service may send it -> aware UTC datetime, or None for "no time".

    Accepted: ISO-8601 with Z, UTC, +hh:mm, +hhmm or +hh (no zone means UTC), a space for the
    T, fractions of seconds; a date alone (midnight UTC); epoch seconds or milliseconds as a
    number or digits. None, "" and 0 mean no time (a key that never expires). Anything else
    raises ValueError.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            raise ValueError("not a time")
        if value == 0:
            return None
        try:
            return _from_epoch(value)
        except (OverflowError, ValueError):
            raise ValueError("epoch value out of range")
    if not isinstance(value, str):
        raise ValueError("not a time")
    text = value.strip()
    if not text:
        return None
    if len(text) > 64:
        raise ValueError("not a time")
    if _EPOCH_TEXT.match(text):
        number = float(text) if "." in text else int(text)
        return parse_time(number)
    match = _ISO.match(text)
    if not match:
        raise ValueError("not a time")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    offset = datetime.timedelta(0)
    if zone and zone not in ("Z", "z", "UTC", "GMT"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError("bad UTC offset")
        offset = sign * datetime.timedelta(hours=hours, minutes=minutes)
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                   int(second or 0), micro, tzinfo=datetime.timezone(offset))
        return moment.astimezone(_UTC)
    except OverflowError:
        raise ValueError("time out of range")


def format_time(moment):
    """Aware datetime -> ISO-8601 UTC with Z: 2025-01-01T00:00:00Z, or with .123 / .123456 when
    the time has fractions of a second."""
    moment = moment.astimezone(_UTC)
    if moment.microsecond == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if moment.microsecond % 1000 == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_utc(value):
    """Any accepted time -> ISO-8601 UTC text (see parse_time), or None for no time."""
    moment = parse_time(value)
    return None if moment is None else format_time(moment)


def _now(now):
    """now as an aware datetime: a datetime (naive means UTC) or epoch seconds."""
    if isinstance(now, datetime.datetime):
        return now.replace(tzinfo=_UTC) if now.tzinfo is None else now.astimezone(_UTC)
    if isinstance(now, bool) or not isinstance(now, (int, float)):
        raise TypeError("now must be a datetime or epoch seconds")
    return _EPOCH + datetime.timedelta(seconds=float(now))


# --- expiry -------------------------------------------------------------------------------------

def expiry_fields(expires_at_iso, now):
    """{expired, expires_in_days} of an expires_at (ISO-8601 text, or None) at now.

    expires_in_days: whole days left, rounded down (so negative once expired: -1 on the first
    day after expiry); None for a key that never expires, which is never expired.
    expired: now is at or past expires_at.
    """
    if expires_at_iso is None or (isinstance(expires_at_iso, str) and not expires_at_iso.strip()):
        return {"expired": False, "expires_in_days": None}
    expires = parse_time(expires_at_iso)
    if expires is None:
        return {"expired": False, "expires_in_days": None}
    left = (expires - _now(now)).total_seconds()
    return {"expired": left <= 0, "expires_in_days": int(math.floor(left / _DAY))}


def with_expiry(record, now):
    """A record (api_key_record) plus its expiry fields at now, as a new dict."""
    entry = {name: record.get(name) for name in RECORD_FIELDS}
    entry.update(expiry_fields(entry["expires_at"], now))
    return entry


def finish(records, options=None, now=None):
    """The clock-dependent fields, computed after the cache on every call: expired, expires_in_days."""
    moment = time.time() if now is None else now
    return [with_expiry(record, moment) for record in records]
