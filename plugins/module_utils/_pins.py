# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pins (expected_fingerprint): parsing the user's fingerprints and checking records against them.

Standard library only and small, because a lookup answered from the run-wide cache checks pins
in every forked worker: _errors is imported only to report a failure.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import base64
import binascii
import re


def _option_error(message):
    from ._errors import OptionError

    return OptionError(message)


def normalize_fingerprint(value):
    """A user's pin -> the 32 digest bytes. Hex (colons, spaces and case ignored) or sha256//base64."""
    if not isinstance(value, str):
        raise _option_error("expected_fingerprint entries must be strings, not %s" % type(value).__name__)
    text = value.strip()
    if text.lower().startswith("sha256//"):
        try:
            digest = base64.b64decode(text[8:], validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 32:
            raise _option_error("expected_fingerprint %r: the base64 after sha256// must encode 32 bytes" % value)
        return digest
    if text.upper().startswith("SHA256:"):
        raise _option_error(
            "expected_fingerprint %r is an OpenSSH fingerprint, which hashes a different encoding; "
            "give the hex SHA-256 of the SPKI DER or its sha256//base64 pin" % value)
    compact = re.sub(r"[\s:]", "", text).lower()
    if not re.match(r"^[0-9a-f]{64}$", compact):
        raise _option_error("expected_fingerprint %r is neither 64 hex digits nor sha256//base64" % value)
    return binascii.unhexlify(compact)


def normalize_pins(expected):
    """None, a string or a list of strings -> list of digests (validated before any request)."""
    if expected is None or expected == "" or expected == []:
        return []
    if isinstance(expected, str):
        # A comma-separated string is a list (handy from env vars and extra vars).
        expected = [item for item in re.split(r"[,\s]+", expected) if item]
    return [normalize_fingerprint(item) for item in expected]


def check_pins(record, pins):
    """Raise FingerprintMismatchError unless the record's key matches one pin (no pins: pass)."""
    if not pins:
        return record
    digest = binascii.unhexlify(record["fingerprint_sha256"])
    if any(digest == pin for pin in pins):
        return record
    from ._errors import FingerprintMismatchError

    raise FingerprintMismatchError(
        "fingerprint mismatch: the key has sha256 %s, which matches none of the %d expected fingerprint(s)"
        % (record["fingerprint_sha256"], len(pins)),
        provider=record.get("provider"), key=record.get("key_id"))


def apply_checks(record, pins, options, provider=None, warn=None):
    """Pins, then the provider's own per-record checks; for fetched and cached records alike.

    Here rather than in _provider.py so that a lookup answered from the cache needs no more.
    """
    check_pins(record, pins)
    if provider is not None and provider.check_record is not None:
        provider.check_record(record, options, warn or (lambda msg: None))
    return record
