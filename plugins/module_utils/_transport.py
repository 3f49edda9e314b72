# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP transport: a requests session with TLS settings, timeouts, retries and errors.

Retries are our own loop rather than urllib3's Retry because several providers sign each
request with a timestamp (Huawei X-Sdk-Date, NAVER x-ncp-apigw-timestamp, obshell's header
expiry): every attempt is prepared and signed afresh through the `sign` callback.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import email.utils
import importlib.util
import random
import time
import traceback
from urllib.parse import urlsplit

from ._errors import OptionError, ProviderError, one_line
from ._version import COLLECTION_NAME, COLLECTION_VERSION

# requests is imported when the first Transport is made, not at import time: a lookup answered
# from the run-wide cache needs no HTTP library, and importing requests costs ~0.1 s of CPU in
# every forked worker (each host and task). Its presence is checked without importing it.
requests = None
requests_exceptions = None
try:
    REQUESTS_IMPORT_ERROR = None if importlib.util.find_spec("requests") else "No module named 'requests'"
except (ImportError, ValueError):  # pragma: no cover - a broken installation
    REQUESTS_IMPORT_ERROR = traceback.format_exc()


def load_requests():
    """Import requests on first use; raise OptionError when it is not installed."""
    global requests, requests_exceptions  # pylint: disable=global-statement
    if requests is None:
        try:
            import requests as _requests
            from requests import exceptions as _exceptions
        except ImportError:
            raise OptionError("the Python library 'requests' is required on this machine")
        requests, requests_exceptions = _requests, _exceptions
    return requests


RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
# For requests that must not run twice (idempotent=False): only answers that say the server did
# not act on it. A 500/502/504 may come after the server applied the request.
UNPROCESSED_STATUSES = frozenset((429, 503))
BACKOFF_BASE = 0.5  # seconds before the first retry, doubled each time
BACKOFF_MAX = 20.0
RETRY_AFTER_MAX = 60.0  # never sleep longer than this on a server's Retry-After
USER_AGENT = "%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION)

# Response headers where providers put their request id, checked in this order.
REQUEST_ID_HEADERS = (
    "X-Request-Id",
    "X-Openstack-Request-Id",
    "x-acs-request-id",
    "x-ncp-trace-id",
    "X-OBSHELL-Trace-ID",
)


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


def header_request_id(response):
    for name in REQUEST_ID_HEADERS:
        value = response.headers.get(name)
        if value:
            return value
    return None


def body_kind(response):
    ctype = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return ctype or "no content type"


def response_json(response, provider, key=None):
    """The JSON body of a response, or a ProviderError that says what came instead."""
    try:
        return response.json()
    except ValueError:
        text = response.text or ""
        if not text.strip():
            what = "an empty body"
        elif "html" in body_kind(response) or text.lstrip()[:1] == "<":
            what = "an HTML page"
        else:
            what = "a body that is not JSON (%s)" % body_kind(response)
        raise ProviderError(
            "the endpoint answered %s where JSON was expected; is this the right endpoint?" % what,
            provider=provider, key=key, status=response.status_code,
            request_id=header_request_id(response),
        )


def default_error_parser(response, provider, key):
    """Fallback error: the status and whatever code/message a JSON body offers."""
    code = message = request_id = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        err = body.get("error") if isinstance(body.get("error"), dict) else body
        code = err.get("code") or err.get("error_code") or err.get("errorCode") or err.get("Code")
        message = err.get("message") or err.get("error_msg") or err.get("errorMessage") or err.get("Message")
        request_id = body.get("requestId") or body.get("RequestId") or body.get("request_id")
    if not message:
        message = "request failed with %s" % ("an HTML page" if "html" in body_kind(response) else body_kind(response))
    return ProviderError(message, provider=provider, key=key, status=response.status_code,
                         code=code, request_id=request_id or header_request_id(response))


class Transport(object):
    """One requests session per client, with the collection's connection options.

    `warn` and `debug` are callables taking one string (display.warning / display.vvv in
    lookups, module.warn / module.debug in modules). Neither ever receives a header or body.
    """

    def __init__(self, provider, timeout=10.0, retries=3, validate_certs=True, ca_path=None,
                 warn=None, debug=None, sleep=time.sleep):
        try:
            self.timeout = float(timeout)
        except (TypeError, ValueError):
            raise OptionError("timeout must be a number of seconds, not %r" % (timeout,))
        if self.timeout <= 0:
            raise OptionError("timeout must be greater than 0")
        try:
            self.retries = int(retries)
        except (TypeError, ValueError):
            raise OptionError("retries must be a whole number, not %r" % (retries,))
        if self.retries < 0:
            raise OptionError("retries must be 0 or more")
        self.provider = provider
        if ca_path and validate_certs:
            self.verify = str(ca_path)
        else:
            self.verify = bool(validate_certs)
        self.warn = warn or (lambda msg: None)
        self.debug = debug or (lambda msg: None)
        self._sleep = sleep
        self._session = None
        self.attempts = 0  # total HTTP attempts made, for tests and benchmarks

    @property
    def session(self):
        if self._session is None:
            load_requests()
            self._session = requests.Session()
            self._session.headers["User-Agent"] = "%s %s" % (USER_AGENT, self._session.headers.get("User-Agent", ""))
            if self.verify is False:
                # The user asked for it explicitly; one warning per client instead of one per request.
                try:
                    import urllib3
                    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
                except Exception:  # pragma: no cover - urllib3 always ships with requests
                    pass
        return self._session

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None

    def request(self, method, url, key=None, headers=None, params=None, data=None, json_body=None,
                auth=None, sign=None, parse_error=None, accept_statuses=None, idempotent=True):
        """Send one logical request, retrying transient failures; return the final response.

        sign(prepared) is called before every attempt and may set headers (signatures).
        parse_error(response, provider, key) builds the ProviderError for a failed status.
        accept_statuses: statuses >= 400 handed back to the caller instead of raised.
        idempotent=False: retry only when the request certainly did not reach the application
        (connection not established, 429, 503), so a write is never applied twice.
        """
        retry_statuses = RETRY_STATUSES if idempotent else UNPROCESSED_STATUSES
        load_requests()  # on the first request: lookups answered from the cache never import requests
        req = requests.Request(method=method, url=url, headers=headers or {}, params=params,
                               data=data, json=json_body, auth=auth)
        attempt = 0
        while True:
            prepared = self.session.prepare_request(req)
            if sign is not None:
                sign(prepared)
            settings = self.session.merge_environment_settings(prepared.url, {}, None, self.verify, None)
            started = time.monotonic()
            self.attempts += 1
            try:
                response = self.session.send(prepared, timeout=(self.timeout, self.timeout),
                                             allow_redirects=False, **settings)
            except requests_exceptions.SSLError as exc:
                # Certificate problems do not heal with time: no retry.
                raise ProviderError(
                    "TLS handshake with %s failed: %s; give the signing CA with ca_path"
                    % (_host_of(url), _reason(exc)), provider=self.provider, key=key)
            except (requests_exceptions.ConnectionError, requests_exceptions.Timeout) as exc:
                failure = self._connection_failure(url, exc)
                if attempt < self.retries and (idempotent or _not_sent(exc)):
                    delay = backoff_seconds(attempt)
                    self.debug("%s: %s; retry %d of %d in %.1fs" % (self.provider, failure, attempt + 1, self.retries, delay))
                    self._sleep(delay)
                    attempt += 1
                    continue
                if attempt:
                    failure += " (after %d attempts)" % (attempt + 1)
                raise ProviderError(failure, provider=self.provider, key=key)
            except requests_exceptions.RequestException as exc:
                raise ProviderError("request to %s failed: %s" % (_host_of(url), _reason(exc)),
                                    provider=self.provider, key=key)
            self.debug("%s: %s %s -> HTTP %d in %.2fs (attempt %d)" % (
                self.provider, method, _redact_query(url), response.status_code,
                time.monotonic() - started, attempt + 1))
            if response.status_code in retry_statuses and attempt < self.retries:
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                if delay is None:
                    delay = backoff_seconds(attempt)
                self.debug("%s: HTTP %d; retry %d of %d in %.1fs" % (
                    self.provider, response.status_code, attempt + 1, self.retries, delay))
                response.close()
                self._sleep(delay)
                attempt += 1
                continue
            if response.status_code >= 400 and response.status_code not in (accept_statuses or ()):
                parser = parse_error or default_error_parser
                raise parser(response, self.provider, key)
            if 300 <= response.status_code < 400:
                raise ProviderError(
                    "the endpoint redirected to %s; point the endpoint option at the final URL"
                    % (response.headers.get("Location") or "another location"),
                    provider=self.provider, key=key, status=response.status_code)
            return response

    def _connection_failure(self, url, exc):
        if isinstance(exc, requests_exceptions.ConnectTimeout):
            return "timed out connecting to %s after %gs" % (_host_of(url), self.timeout)
        if isinstance(exc, requests_exceptions.Timeout):
            return "no answer from %s within %gs" % (_host_of(url), self.timeout)
        return "cannot connect to %s: %s" % (_host_of(url), _reason(exc))


def _not_sent(exc):
    """True when the connection was never established, so the server cannot have seen the request."""
    if isinstance(exc, requests_exceptions.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if getattr(exc, "args", None) else None
    return type(reason).__name__ == "NewConnectionError"


def _host_of(url):
    parts = urlsplit(url)
    return parts.netloc or url


def _redact_query(url):
    # Query strings carry no secrets for our providers, but keep debug lines short anyway.
    return url.split("?", 1)[0]


def _reason(exc):
    """The innermost human part of a requests/urllib3 exception, without object reprs."""
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: ", "] "):
        if marker in text:
            text = text.rsplit(marker, 1)[-1]
    text = text.strip("()'\" ")
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or "getaddrinfo failed" in lowered:
        return "host name not found"
    if "remotedisconnected" in lowered or "connection aborted" in lowered or "closed connection without response" in lowered:
        return "the server closed the connection without answering"
    if "certificate verify failed" in lowered:
        return "certificate verify failed (%s)" % one_line(text.split("certificate verify failed")[-1], 120).strip(" :()")
    return one_line(text, 200)
