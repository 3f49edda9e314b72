# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one HTTP transport: a requests session with TLS settings, deadlines, retries and errors.

Retries are our own loop rather than urllib3's Retry because several providers sign each
request with a timestamp (Huawei X-Sdk-Date, NAVER x-ncp-apigw-timestamp, obshell's header
expiry): every attempt is prepared and signed afresh by its auth strategy (_auth.py).

What it promises (INTERFACE.md, "What the transport promises"):
- `timeout` bounds a whole attempt: connect, headers and body together. A server that trickles
  bytes is abandoned at the deadline (the attempt runs in a daemon thread, so a stuck socket
  read cannot hold the caller).
- An answer body over MAX_BODY bytes is refused without being read to the end.
- Proxies come from the standard environment variables; `.netrc` credentials are never sent
  (the session does not trust the environment; proxies and CA bundles are read explicitly);
  redirects are never followed.
- What a provider's API looks like (request ids, error bodies, envelopes, retryable codes) is
  the provider's ApiProfile (_api_profile.py); no provider name appears here.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
import time
import traceback
import warnings
from urllib.parse import urlsplit

from ._api_profile import DEFAULT_PROFILE
from ._auth import NO_AUTH, Signer, UnsupportedChallenge
from ._errors import OptionError, ProviderError, TimedOutError, UnreachableError, one_line, register_secrets, spellings
from ._retry_timing import RETRY_AFTER_MAX, backoff_seconds
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
MAX_BODY = 4 * 1024 * 1024  # no key answer is anywhere near this; a larger one is refused
# A listing (every page of one call) is bounded in all, not only page by page (_pager.MAX_PAGES).
LISTING_MAX_BYTES = 16 * 1024 * 1024
_CHUNK = 64 * 1024
USER_AGENT = "%s/%s" % (COLLECTION_NAME, COLLECTION_VERSION)


class Reply(object):
    """A whole answer, read within the attempt's deadline and the size cap."""

    def __init__(self, status_code, headers, content, url, request_headers=None):
        self.status_code = status_code
        self.headers = headers  # case-insensitive (requests' CaseInsensitiveDict)
        self.content = content
        self.url = url
        self.request_headers = request_headers
        self._json = None
        self._parsed = False

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    def json(self):
        """The parsed body; ValueError when it is not JSON."""
        if not self._parsed:
            self._json = json.loads(self.content.decode("utf-8"))
            self._parsed = True
        return self._json

    def json_or_none(self):
        try:
            return self.json()
        except ValueError:
            return None

    def close(self):
        """Nothing to release: the body was read whole (kept for requests.Response compatibility)."""


def body_kind(response):
    ctype = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    return ctype or "no content type"


def _not_json_error(response, provider, key, request_id=None):
    text = response.text or ""
    if not text.strip():
        what = "an empty body"
    elif "html" in body_kind(response) or text.lstrip()[:1] == "<":
        what = "an HTML page"
    else:
        what = "a body that is not JSON (%s)" % body_kind(response)
    return ProviderError(
        "the endpoint answered %s where JSON was expected; is this the right endpoint?" % what,
        provider=provider, key=key, status=response.status_code, request_id=request_id)


class Transport(object):
    """One requests session per client, with the collection's connection options.

    `warn` and `debug` are callables taking one string (display.warning / display.vvv in
    lookups, module.warn / module.debug in modules). Neither ever receives a header or body.
    `secrets`: values that must never appear in an error message (masked if a provider echoes them);
    a mapping {option name: value} also names the option when it would travel over plain HTTP.
    `max_total_bytes`: a budget for every body this transport reads (a listing's), or None.
    """

    def __init__(self, provider, timeout=10.0, retries=3, validate_certs=True, ca_path=None,
                 warn=None, debug=None, sleep=time.sleep, profile=None, secrets=(), max_total_bytes=None):
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
        if ca_path and validate_certs and not os.path.isfile(str(ca_path)):
            raise OptionError("ca_path %s is not a readable file (a PEM bundle of CA certificates)" % ca_path)
        self.provider = provider
        self.profile = profile or DEFAULT_PROFILE
        if ca_path and validate_certs:
            self.verify = str(ca_path)
        else:
            self.verify = bool(validate_certs)
        self.warn = warn or (lambda msg: None)
        self.debug = debug or (lambda msg: None)
        pairs = secrets.items() if isinstance(secrets, dict) else (("a secret", value) for value in secrets)
        self._secret_names = {value: name for name, value in pairs if isinstance(value, str) and value}
        self.secrets = set(self._secret_names)
        register_secrets(self.secrets)
        self.max_total_bytes = max_total_bytes
        self.received_bytes = 0
        self._plain_warned = set()
        self._notes_warned = set()
        self._sleep = sleep
        self._session = None
        self._insecure_hosts = set()
        self._lock = threading.Lock()
        self.attempts = 0  # total HTTP attempts made, for tests and benchmarks

    @property
    def session(self):
        if self._session is None:
            load_requests()
            session = requests.Session()
            # No .netrc, no environment-derived auth: proxies and CA bundles are read explicitly.
            session.trust_env = False
            session.headers["User-Agent"] = "%s %s" % (USER_AGENT, session.headers.get("User-Agent", ""))
            self._session = session
        return self._session

    def close(self):
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- environment, done by hand because the session does not trust it ---------------------
    def _settings(self, url):
        proxies = requests.utils.get_environ_proxies(url)
        verify = self.verify
        if verify is True:
            verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        elif verify is False:
            self._insecure(url)
        return {"proxies": proxies, "verify": verify, "stream": True, "cert": None}

    def _insecure(self, url):
        host = urlsplit(url).hostname or url
        with self._lock:
            if host in self._insecure_hosts:
                return
            self._insecure_hosts.add(host)
        if urlsplit(url).scheme == "https":
            self.warn("%s: certificates of %s are not checked (validate_certs: false); anyone on the path "
                      "can answer for it" % (self.provider, host))
        # Silence urllib3's per-request warning for this host only, not for the whole process.
        warnings.filterwarnings("ignore", message=r"Unverified HTTPS request is being made to host '%s'"
                                % re.escape(host))

    # -- one attempt, bounded by the deadline -------------------------------------------------
    def _exchange(self, prepared, settings, key):
        """Send prepared and read the whole answer within self.timeout -> Reply."""
        box = {}
        done = threading.Event()

        def work():
            try:
                box["reply"] = self._send_and_read(prepared, settings, key, box)
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=work, name="keyward-attempt", daemon=True)
        worker.start()
        if not done.wait(self.timeout):
            _abandon(box.get("response"))
            raise _AttemptTimedOut()
        if "error" in box:
            raise box["error"]
        return box["reply"]

    def _send_and_read(self, prepared, settings, key, box):
        response = self.session.send(prepared, timeout=(self.timeout, self.timeout), allow_redirects=False, **settings)
        box["response"] = response
        try:
            budget = None
            if self.max_total_bytes is not None:
                budget = max(0, self.max_total_bytes - self.received_bytes)
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > MAX_BODY:
                raise self._too_large(prepared.url, key, response, "announced %s bytes" % length)
            if length and length.isdigit() and budget is not None and int(length) > budget:
                raise self._over_budget(key, response)
            chunks, size = [], 0
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > MAX_BODY:
                    raise self._too_large(prepared.url, key, response, "more than %d bytes" % MAX_BODY)
                if budget is not None and size > budget:
                    raise self._over_budget(key, response)
                chunks.append(chunk)
            with self._lock:
                self.received_bytes += size
        finally:
            response.close()
        return Reply(response.status_code, response.headers, b"".join(chunks), prepared.url,
                     request_headers=prepared.headers)

    def _too_large(self, url, key, response, what):
        return ProviderError("%s answered a body too large to be a key answer (%s; the limit is 4 MiB)"
                             % (_host_of(url), what), provider=self.provider, key=key,
                             status=response.status_code, request_id=self.profile.header_request_id(response.headers))

    def _over_budget(self, key, response):
        return ProviderError("the listing is over its budget of %d MiB in all (every page of one call); stopping"
                             % (self.max_total_bytes // (1024 * 1024)), provider=self.provider, key=key,
                             status=response.status_code, request_id=self.profile.header_request_id(response.headers))

    def _warn_plain_secrets(self, prepared):
        """Warn, once per endpoint and option, when a secret travels as itself over plain http://."""
        parts = urlsplit(prepared.url)
        if parts.scheme.lower() != "http" or not self._secret_names:
            return
        body = prepared.body or b""
        texts = [body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)]
        texts.extend(value.decode("latin-1") if isinstance(value, bytes) else str(value)
                     for value in prepared.headers.values())
        sent = "\n".join(texts)
        endpoint = "http://%s" % parts.netloc
        for value, name in self._secret_names.items():
            if (endpoint, name) in self._plain_warned or not any(form in sent for form in spellings(value)):
                continue
            with self._lock:
                self._plain_warned.add((endpoint, name))
            self.warn("%s: %s is sent in clear text to %s (plain http://): anyone on the path can read and reuse "
                      "it; use an https:// endpoint" % (self.provider, name, endpoint))

    def _warn_notes(self, auth):
        for note in auth.take_notes():
            if note not in self._notes_warned:
                self._notes_warned.add(note)
                self.warn("%s: %s" % (self.provider, note))

    # -- the request ----------------------------------------------------------------------------
    def request(self, method, url, key=None, headers=None, params=None, data=None, json_body=None,
                auth=None, sign=None, parse_error=None, accept_statuses=None, idempotent=True,
                request_id=None, context=None):
        """Send one logical request, retrying transient failures; return the final Reply.

        auth: an _auth strategy applied to every attempt (sign=callable is short for Signer(sign)).
        parse_error(reply, provider, key) may build the ProviderError for a failed status (the
        profile's error_fields are used otherwise). accept_statuses: statuses >= 400 handed back
        instead of raised. idempotent=False: retry only when the request certainly did not reach
        the application (connection not established, 429, 503), so a write is never applied twice.
        request_id: the id this client sent (a header), used when the answer names none.
        context: what the request was for, put before the provider's message ("IAM login failed").
        """
        if auth is None:
            auth = Signer(sign) if sign is not None else NO_AUTH
        retry_statuses = RETRY_STATUSES if idempotent else UNPROCESSED_STATUSES
        load_requests()  # on the first request: lookups answered from the cache never import requests
        req = requests.Request(method=method, url=url, headers=headers or {}, params=params,
                               data=data, json=json_body)
        settings = self._settings(url)
        attempt = 0
        while True:
            started = time.monotonic()
            self.attempts += 1
            try:
                prepared = self.session.prepare_request(req)
                auth.apply(prepared)
                self._warn_plain_secrets(prepared)
                reply = self._exchange(prepared, settings, key)
                try:
                    answered = auth.challenge(reply, prepared)
                except UnsupportedChallenge as exc:
                    raise self.error(reply, key, str(exc), request_id=request_id, context=context)
                finally:
                    self._warn_notes(auth)
                if answered:
                    # The challenge and its answer are one attempt.
                    self.debug("%s: %s %s -> HTTP 401 %s challenge, answered" % (
                        self.provider, method, _redact_query(url), auth.name))
                    reply = self._exchange(prepared, settings, key)
            except requests_exceptions.SSLError as exc:
                # Certificate problems do not heal with time: no retry.
                raise UnreachableError(
                    "TLS handshake with %s failed: %s; give the signing CA with ca_path"
                    % (_host_of(url), _reason(exc)), provider=self.provider, key=key)
            except (requests_exceptions.ConnectionError, requests_exceptions.Timeout, _AttemptTimedOut) as exc:
                failure = self._connection_failure(url, exc)
                if attempt < self.retries and (idempotent or _not_sent(exc)):
                    delay = backoff_seconds(attempt)
                    self.debug("%s: %s; retry %d of %d in %.1fs" % (self.provider, failure, attempt + 1, self.retries, delay))
                    self._sleep(delay)
                    attempt += 1
                    continue
                if attempt:
                    failure += " (after %d attempts)" % (attempt + 1)
                error_class = TimedOutError if isinstance(exc, (requests_exceptions.Timeout, _AttemptTimedOut)) else UnreachableError
                raise error_class(failure, provider=self.provider, key=key, request_id=request_id)
            except requests_exceptions.RequestException as exc:
                raise ProviderError("request to %s failed: %s" % (_host_of(url), _reason(exc)),
                                    provider=self.provider, key=key)
            self.debug("%s: %s %s -> HTTP %d in %.2fs (attempt %d)" % (
                self.provider, method, _redact_query(url), reply.status_code,
                time.monotonic() - started, attempt + 1))
            failure = self._failure(reply, key, parse_error, accept_statuses, request_id, context)
            if failure is not None and attempt < self.retries and self._retryable(reply, failure, retry_statuses):
                delay = self.profile.retry_after(reply.headers)
                if delay is not None:
                    delay = max(0.0, min(delay, RETRY_AFTER_MAX))
                else:
                    delay = backoff_seconds(attempt)
                self.debug("%s: HTTP %d%s; retry %d of %d in %.1fs" % (
                    self.provider, reply.status_code, " %s" % failure.code if failure.code else "",
                    attempt + 1, self.retries, delay))
                self._sleep(delay)
                attempt += 1
                continue
            if failure is not None and reply.status_code == 401 and auth.refresh(reply) and attempt < self.retries + 1:
                self.debug("%s: HTTP 401; %s renewed, one more attempt" % (self.provider, auth.name))
                attempt += 1
                continue
            if failure is not None:
                raise failure
            return reply

    def _retryable(self, reply, failure, retry_statuses):
        if reply.status_code in retry_statuses:
            return True
        # A provider code that means "slow down" (e.g. Throttling.User on HTTP 400).
        return retry_statuses is RETRY_STATUSES and self.profile.is_retryable_code(failure.code)

    def _failure(self, reply, key, parse_error, accept_statuses, request_id, context=None):
        """The ProviderError this reply stands for, or None when it is a usable answer."""
        status = reply.status_code
        if 300 <= status < 400:
            return ProviderError(
                "the endpoint redirected to %s; point the endpoint option at the final URL"
                % (reply.headers.get("Location") or "another location"),
                provider=self.provider, key=key, status=status)
        if status >= 400:
            if status in (accept_statuses or ()):
                return None
            if parse_error is not None:
                return self._scrub(parse_error(reply, self.provider, key))
            body = reply.json_or_none()
            code, message, body_id = self.profile.error_fields(self.profile.error_body(reply))
            if not message:
                message = "request failed with %s" % (
                    "an HTML page" if "html" in body_kind(reply) else body_kind(reply))
            return self._error(reply, key, code, message, body_id, body, request_id, context)
        body = reply.json_or_none()
        if body is None:
            return None  # the caller decides whether a non-JSON 2xx is acceptable
        reported = self.profile.success_failure(body)
        if reported is None:
            return None
        code, message = reported
        return self._error(reply, key, code, message or "the answer reports a failure", self.profile.body_request_id(body),
                           body, request_id, context)

    def _error(self, reply, key, code, message, body_id, body, request_id, context=None, error_class=ProviderError):
        request_id = self.profile.header_request_id(reply.headers) or body_id or request_id
        message = self.profile.hint(code, message)
        if context:
            message = "%s: %s" % (context, message)
        return self._scrub(error_class(message, provider=self.provider, key=key, status=reply.status_code, code=code,
                                       request_id=request_id, body=body))

    # -- for clients: reading answers and reporting what is wrong with them ---------------------
    def json(self, reply, key=None, request_id=None):
        """The reply's JSON body, or a ProviderError that says what came instead."""
        try:
            return reply.json()
        except ValueError:
            request_id = self.profile.header_request_id(reply.headers) or request_id
            raise self._scrub(_not_json_error(reply, self.provider, key, request_id))

    def error(self, reply, key, message, code=None, request_id=None, error_class=ProviderError, context=None):
        """A ProviderError about a reply (status and request id filled in, secrets masked)."""
        body = reply.json_or_none()
        return self._error(reply, key, code, message, self.profile.body_request_id(body), body, request_id,
                           context=context, error_class=error_class)

    def _scrub(self, error):
        if not self.secrets:
            return error
        body = error.body
        error = error.scrubbed(self.secrets)
        error.body = body
        return error

    def _connection_failure(self, url, exc):
        if isinstance(exc, requests_exceptions.ConnectTimeout):
            return "timed out connecting to %s after %gs" % (_host_of(url), self.timeout)
        if isinstance(exc, (requests_exceptions.Timeout, _AttemptTimedOut)):
            return "timed out: no complete answer from %s within %gs" % (_host_of(url), self.timeout)
        return "cannot connect to %s: %s" % (_host_of(url), _reason(exc))


class _AttemptTimedOut(Exception):
    """The attempt's deadline passed (the server was too slow to send its whole answer)."""


def _abandon(response):
    """Unblock the abandoned attempt's socket read, if the answer had started."""
    if response is None:
        return
    try:
        sock = getattr(getattr(response.raw, "_connection", None), "sock", None)
        if sock is not None:
            import socket
            sock.shutdown(socket.SHUT_RDWR)
    except Exception:  # best effort: the thread is a daemon and its socket has its own timeout
        pass


def _not_sent(exc):
    """True when the connection was never established, so the server cannot have seen the request."""
    if isinstance(exc, _AttemptTimedOut):
        return False
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
        # OpenSSL's reason without its source position "(_ssl.c:1000)", whose ")" the strip would unbalance
        reason = re.sub(r"\(_ssl\.c:\d+\)?", "", text.split("certificate verify failed")[-1])
        return "certificate verify failed (%s)" % one_line(reason, 120).strip(" :()")
    return one_line(text, 200)
