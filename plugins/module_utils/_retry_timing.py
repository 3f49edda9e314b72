# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How long to wait before a retry: backoff with jitter, and a server's Retry-After, capped.

Its own module so that the transport and the API profiles (which read provider-specific retry
hints) both use it without importing each other.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import email.utils
import random
import time

BACKOFF_BASE = 0.5  # seconds before the first retry, doubled each time
BACKOFF_MAX = 20.0
RETRY_AFTER_MAX = 60.0  # never sleep longer than this on a server's Retry-After


def retry_after_seconds(value, now=None):
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date), capped; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, min(seconds, RETRY_AFTER_MAX))


def backoff_seconds(attempt, base=None):
    """Exponential backoff with jitter: half the step is fixed, half is random."""
    step = min(BACKOFF_MAX, (BACKOFF_BASE if base is None else base) * (2 ** attempt))
    return step / 2.0 + random.uniform(0, step / 2.0)
