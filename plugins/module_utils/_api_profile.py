# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the transport needs to know about one provider's API, and nothing else.

A provider subclasses ApiProfile and overrides only what differs from the defaults:

- where the request id lives (response headers, then top-level body fields);
- which error codes are transient besides HTTP 429/5xx (Alibaba `Throttling.*`);
- how an error body becomes (code, message, request id);
- how a 2xx answer that is really a failure is recognised (an envelope such as NAVER's
  `{"code": "SUCCESS"}` or obshell's `{"successful": true}`);
- plain-words hints for codes users can act on (clock skew, signatures).

The core transport carries no provider's header or field names.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import json

from ._errors import one_line
from ._retry_timing import retry_after_seconds


def json_object(body):
    """A JSON object from a parsed body, text or bytes; None for anything else (providers' error
    bodies arrive in all three forms, depending on who reads them)."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    return body if isinstance(body, dict) else None


def _dig(body, path):
    """body['a']['b'] for path 'a.b', or None."""
    value = body
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


class ApiProfile(object):
    # Response headers that carry the request id, in order of preference.
    request_id_headers = ("X-Request-Id",)
    # Body fields (dotted paths) that carry it, when no header does.
    request_id_fields = ("requestId", "RequestId", "request_id")
    # Error codes (exact, or a prefix ending in '*') that are retried like HTTP 503.
    retryable_codes = ()
    # code -> what the user can do about it (appended to the provider's message).
    hints = {}
    # (code field, message field) pairs tried in order on an error body, dotted paths allowed.
    error_fields_order = (
        ("error.code", "error.message"),
        ("error_code", "error_msg"),
        ("errorCode", "errorMessage"),
        ("Code", "Message"),
        ("code", "message"),
    )

    def error_body(self, reply):
        """What error_fields reads of an error answer: its parsed JSON (None when it is not JSON)."""
        return reply.json_or_none()

    def error_fields(self, body):
        """(code, message, request id) from a parsed error body (any JSON value)."""
        if not isinstance(body, dict):
            return None, None, None
        for code_field, message_field in self.error_fields_order:
            code, message = _dig(body, code_field), _dig(body, message_field)
            if code not in (None, "") or message:
                return code, message, self.body_request_id(body)
        return None, None, self.body_request_id(body)

    def success_failure(self, body):
        """For a 2xx answer: None if it is a success, else (code, message) of the failure it reports."""
        return None

    def body_request_id(self, body):
        if not isinstance(body, dict):
            return None
        for field in self.request_id_fields:
            value = _dig(body, field)
            if value not in (None, ""):
                return str(value)
        return None

    def header_request_id(self, headers):
        for name in self.request_id_headers:
            value = headers.get(name)
            if value:
                return value
        return None

    def retry_after(self, headers):
        """Seconds the server asks us to wait before retrying (capped by the transport), or None.

        The default reads Retry-After (delta seconds or an HTTP date); a provider with its own
        header (Alibaba's x-acs-retry-after, in milliseconds) overrides this.
        """
        return retry_after_seconds(headers.get("Retry-After"))

    def is_retryable_code(self, code):
        if code in (None, ""):
            return False
        code = str(code)
        for pattern in self.retryable_codes:
            if code == pattern or (pattern.endswith("*") and code.startswith(pattern[:-1])):
                return True
        return False

    def hint(self, code, message):
        """message with the hint for code appended, once."""
        hint = self.hints.get(code) if code not in (None, "") else None
        message = one_line(message or "")
        if hint and hint.lower() not in message.lower():
            return "%s; %s" % (message, hint) if message else hint
        return message


DEFAULT_PROFILE = ApiProfile()
