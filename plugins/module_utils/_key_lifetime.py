# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long an unlisted key stays in a store: durations, manifest times, the retiring rule.

Runs on hosts (standard library only, Python 3.6 and later) and on the controller, which
checks a `retire_after` value with parse_duration() before contacting a host. Every time the
rule looks at comes from the host's clock and the store's manifest; the controller's clock
never enters, so every host applies the same rule to its own history.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import math
import re
import time

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"\s*(\d+)\s*([smhd]?)\s*\Z")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")


class DurationError(ValueError):
    """A retire_after value that is neither whole seconds nor a number with s, m, h or d."""


def parse_duration(value, what="retire_after"):
    """None -> None; 90, '90', '90s', '15m', '12h', '7d' -> whole seconds; else DurationError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise DurationError("%s must be seconds or a duration like 90s, 15m, 12h or 7d, not %r" % (what, value))
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise DurationError("%s must be seconds or a duration like 90s, 15m, 12h or 7d, not %r" % (what, value))
        seconds = int(match.group(1)) * _UNITS.get(match.group(2) or "s")
    if seconds < 0:
        raise DurationError("%s must not be negative, not %r" % (what, value))
    return seconds


def utc_text(seconds):
    """Epoch seconds -> ISO-8601 UTC, whole seconds ('2026-12-07T13:45:00Z')."""
    return time.strftime(TIME_FORMAT, time.gmtime(seconds))


def parse_utc(text):
    """A time as utc_text() writes it -> epoch seconds; None for anything else."""
    if not isinstance(text, str) or not _TIME.match(text):
        return None
    try:
        return calendar.timegm(time.strptime(text, TIME_FORMAT))
    except ValueError:
        return None


def valid_time(text):
    """text when it is a time as utc_text() writes it, else None (for manifest fields)."""
    return text if parse_utc(text) is not None else None


class Retirement(object):
    """For one managed key that this run does not list: keep it (retiring) or remove it.

    since / retire_at: epoch seconds; remove: True when its grace is over.
    """

    __slots__ = ("since", "retire_at", "remove")

    def __init__(self, since, retire_at, remove):
        self.since = since
        self.retire_at = retire_at
        self.remove = remove


def retirement(retiring_since, retire_after, now):
    """The rule for an unlisted key, from its manifest time (or None) and the host's clock.

    The first run that finds the key unlisted starts its grace (rounded up to the next whole
    second, so the grace is never shorter than asked) and keeps it; a later run removes it once
    now >= retiring_since + retire_after. With retire_after 0, that later run is the next one.
    """
    since = parse_utc(retiring_since)
    if since is None:
        since = int(math.ceil(now))
        return Retirement(since, since + retire_after, False)
    retire_at = since + retire_after
    return Retirement(since, retire_at, retire_after == 0 or now >= retire_at)
