# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One exception family for every failure the collection reports.

Every message reaches the user as a single line that names the provider, the key, the HTTP
status, the provider's own error code and its request or trace id. Lookups turn these into
AnsibleLookupError, modules into fail_json(msg=...), both without a traceback.

FOR INTERNAL COLLECTION USE ONLY.
"""


import json
import re
from urllib.parse import quote

_WHITESPACE = re.compile(r"\s+")
# Keep provider text short enough to read in one line of play output.
_MAX_DETAIL = 300

MASK = "********"

# Every secret value this process has been given (register_secrets): one_line masks them before
# it folds white space or shortens, so no rendering step can leave a prefix or a re-spaced copy
# of a secret behind. A set of strings, only ever added to; masking more than needed is harmless.
_KNOWN_SECRETS = set()


def register_secrets(values):
    """Remember secret values so that every one_line() of this process masks them first.

    Values under 4 characters (after stripping) are left to scrub() with the caller's own secrets:
    masking them in every line of the process would garble unrelated text."""
    _KNOWN_SECRETS.update(v for v in values or () if isinstance(v, str) and len(v.strip()) >= 4)


def spellings(secret):
    """The ways a secret can come back in text: as is, escaped (JSON, repr, URL) or re-spaced."""
    yield secret
    yield json.dumps(secret)[1:-1]
    yield json.dumps(secret, ensure_ascii=False)[1:-1]
    yield repr(secret)[1:-1]
    yield quote(secret, safe="")
    yield quote(secret, safe="").replace("%20", "+")
    folded = _WHITESPACE.sub(" ", secret).strip()
    if len(folded) >= 4:
        yield folded


def scrub(text, secrets):
    """text with every secret value replaced by MASK, in every spelling a server or an exception
    may give it (longest first, so no secret leaks in part)."""
    if text is None:
        return None
    text = str(text)
    values = set()
    for secret in secrets or ():
        if isinstance(secret, str) and secret:
            values.update(s for s in spellings(secret) if s)
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def one_line(text, limit=_MAX_DETAIL):
    """Mask known secrets, then collapse whitespace (newlines included) and cut overly long text.

    Masking comes first: cutting or re-spacing first would leave part of a secret unmasked."""
    text = str(text)
    if _KNOWN_SECRETS:
        text = scrub(text, tuple(_KNOWN_SECRETS))
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 3].rstrip() + "..."
    return text


class KeywardError(Exception):
    """Base of every error raised by the collection's shared code."""

    def __init__(self, message):
        # The unshortened text, so that scrubbed() masks a secret before anything is cut.
        self.raw_message = str(message)
        super().__init__(one_line(message, limit=2000))
        self.message = one_line(message, limit=2000)

    def __str__(self):
        return self.message

    def to_dict(self):
        """Plain data, for caching a failure and raising it again in another worker."""
        return {"class": type(self).__name__, "message": self.message}

    def _raw_dict(self):
        """to_dict() with the unshortened message: what scrubbed() masks before rendering again."""
        data = self.to_dict()
        data["message"] = self.raw_message
        return data

    def scrubbed(self, secrets):
        """The same error with every secret value masked in all of its text (masked, then cut)."""
        data = {name: scrub(value, secrets) if isinstance(value, str) else value
                for name, value in self._raw_dict().items()}
        clean = error_from_dict(data)
        clean.__dict__.update({k: v for k, v in self.__dict__.items() if k not in clean.__dict__})
        return clean


class OptionError(KeywardError):
    """An option is missing, malformed or contradicts another one. Raised before any request."""


class ProviderError(KeywardError):
    """A provider could not be reached, refused a request or answered something unusable."""

    def __init__(self, message, provider=None, key=None, status=None, code=None, request_id=None, body=None):
        self.raw_detail = str(message)
        self.detail = one_line(message)
        # The provider's parsed answer (dict), for callers that return it (obshell_api); never rendered.
        self.body = body
        self.provider = provider
        self.key = key
        self.status = status
        self.code = code
        self.request_id = request_id
        super().__init__(self._render())

    def _render(self):
        head = [self.provider or "keyward.keys"]
        if self.key is not None:
            head.append("key %s" % one_line(self.key, 120))
        facts = []
        if self.status is not None:
            facts.append("HTTP %s" % self.status)
        if self.code not in (None, ""):
            facts.append("code %s" % one_line(self.code, 120))
        if self.request_id not in (None, ""):
            facts.append("request id %s" % one_line(self.request_id, 120))
        text = "%s: %s" % (": ".join(head), self.detail)
        if facts:
            text += " (%s)" % ", ".join(facts)
        return text

    def _raw_dict(self):
        data = self.to_dict()
        data["message"] = self.raw_detail
        return data

    def to_dict(self):
        return {
            "class": type(self).__name__,
            "message": self.detail,
            "provider": self.provider,
            "key": self.key,
            "status": self.status,
            "code": self.code,
            "request_id": self.request_id,
        }


class KeyFormatError(ProviderError):
    """The provider's key text is not a public key in any accepted shape."""


class FingerprintMismatchError(ProviderError):
    """The key does not match any of the expected fingerprints (pins)."""


class UnreachableError(ProviderError):
    """No answer at all: the endpoint could not be connected to, or its TLS handshake failed.
    The only failure the run-wide cache keeps for a while: it says nothing about any secret."""


class TimedOutError(UnreachableError):
    """An attempt did not complete within the timeout (connect, headers and body together)."""


_CLASSES = {
    cls.__name__: cls
    for cls in (KeywardError, OptionError, ProviderError, KeyFormatError, FingerprintMismatchError, UnreachableError,
                TimedOutError)
}


def error_from_dict(data):
    """Rebuild an error saved with to_dict() (the cache keeps failures for a short while)."""
    cls = _CLASSES.get(data.get("class"), ProviderError)
    if issubclass(cls, ProviderError):
        return cls(
            data.get("message", ""),
            provider=data.get("provider"),
            key=data.get("key"),
            status=data.get("status"),
            code=data.get("code"),
            request_id=data.get("request_id"),
        )
    return cls(data.get("message", ""))
