# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""OceanBase obshell agent: its public key (GET /api/v1/secret) and hybrid-encrypted requests.

Wire facts (reference: obshell_obcloud.md sections 1-3):
- GET /api/v1/secret needs no authentication; data.public_key is bare base64 of a PKCS#1
  RSAPublicKey DER (1024-bit on current agents, 512-bit before obshell 4.4.1.1/4.4.2.0).
- Every answer is an envelope {successful, timestamp, duration, status, traceId, data|error};
  error = {code (legacy int), errCode (string), message}. The HTTP status equals `status`.
- The agent decrypts X-OCS-Header / X-OCS-Agent-Header on every route; a key it cannot use
  gives 401 with error.code 1 / errCode Security.Authentication.Header.DecryptFailed. Like the
  official SDKs, the client then fetches the key again once and retries once (the agent's key
  changes when its state is recreated or on the first start after an upgrade from a 512-bit
  build).
- The agent echoes the X-OBSHELL-Trace-ID request header as traceId; the client sends one per
  request so even answers that carry no traceId (header decryption failures) can be matched to
  the agent's log.

No Ansible imports here: lookups and modules build an ObshellClient from plain values.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import binascii
import os

from . import _obshell_crypto
from .._api_profile import ApiProfile
from .._endpoints import format_host_port
from .._errors import OptionError, ProviderError
from .._pins import check_pins, normalize_pins
from ._obshell_rules import (  # the rules that also apply to cached keys
    DEFAULT_PORT, NAME, TERM_OPTIONS, canonical_term, check_key_size, check_min_key_size_option, check_record,
    check_term, parse_term,
)
from .._provider import Provider

TRACE_HEADER = "X-OBSHELL-Trace-ID"
SECRET_PATH = "/api/v1/secret"
INFO_PATH = "/api/v1/info"
OB_INFO_PATH = "/api/v1/ob/info"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Options of every obshell plugin (lookups read them through the doc fragment
# keyward.keys.obshell, modules through argspec()).
OPTIONS = {
    "port": dict(type="int", default=DEFAULT_PORT),
    "scheme": dict(type="str", default="http", choices=["http", "https"]),
    "password": dict(type="str", no_log=True, env=["OB_ROOT_PASSWORD"]),
    "agent_password": dict(type="str", no_log=True, env=["OBSHELL_AGENT_PASSWORD"]),
    "min_key_size": dict(type="int", default=512, no_log=False),
    "allow_unpinned_password": dict(type="bool", default=False, no_log=False),
}

# The proof of possession the lookup and obshell_public_key_info can run after a fetch.
VERIFY_OPTIONS = {
    "verify": dict(type="str", default="none", choices=["none", "key", "password"]),
}

DECRYPT_FAILED = "Security.Authentication.Header.DecryptFailed"
# The name the official Python SDK checks; no agent sends it, accepted all the same.
DECRYPT_ERROR = "Security.Authentication.Header.DecryptError"
LEGACY_DECRYPT_CODE = 1

# What the user can do about the agent's authentication errors (appended to its message).
HINTS = {
    DECRYPT_FAILED: "the agent could not decrypt the request header with its private key",
    "Request.Header.NotFound": "the route needs an encrypted X-OCS-Header",
    "Security.Authentication.Header.UriMismatch":
        "the path the agent received differs from the one that was signed; is a proxy rewriting it?",
    "Security.Authentication.Expired":
        "the request expired before the agent checked it; the clocks of this machine and the agent "
        "differ by more than 60 seconds",
    "Security.Authentication.Timestamp.Invalid": "the agent could not read the request's expiry time",
    "Security.Authentication.IncorrectOceanbasePassword": "check the password option (root@sys)",
    "Security.Authentication.IncorrectAgentPassword": "check the agent_password option",
    "Security.Authentication.WithAgentPassword": "this agent wants its agent password: set agent_password",
    "Security.Authentication.WithOceanBasePassword": "this agent wants the root@sys password: set password",
    "Security.Authentication.AgentPasswordNotInitialized": "set an agent password on the agent first",
}

UNPINNED_PASSWORD = (
    "obshell: key %s: refusing to encrypt the password to a key nobody vouched for: over plain HTTP anyone "
    "on the path can answer %s with a key of their own. Pin the agent's key (expected_fingerprint, or "
    "public_key from the keyward.keys.known_keys module), use scheme: https with validate_certs: true, or set "
    "allow_unpinned_password: true to accept that risk")


class ObshellProfile(ApiProfile):
    """Every answer is an envelope {successful, timestamp, duration, status, traceId, data|error};
    error = {code (legacy int), errCode (string), message}."""

    request_id_headers = (TRACE_HEADER,)
    request_id_fields = ("traceId",)
    hints = HINTS

    def error_fields(self, body):
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return None, None, self.body_request_id(body)
        legacy = error.get("code")
        code = error.get("errCode") or (legacy if legacy not in (None, "", 0) else None)
        return code, error.get("message"), self.body_request_id(body)

    def success_failure(self, body):
        if isinstance(body, dict) and body.get("successful") is False:
            code, message, _request_id = self.error_fields(body)
            return code, (message or "the agent reported a failure") + " (the answer says successful: false)"
        return None


PROFILE = ObshellProfile()


def new_trace_id():
    """16 hex characters, the form the agent uses for its own trace ids."""
    return binascii.hexlify(os.urandom(8)).decode("ascii")


def is_decrypt_failure(error):
    """True for the agent's answer to a header it could not decrypt with its private key."""
    return error.status == 401 and error.code in (DECRYPT_FAILED, DECRYPT_ERROR, LEGACY_DECRYPT_CODE)


class ObshellClient(object):
    """One obshell agent (host:port): its key, and encrypted requests to it.

    password / agent_password: used for X-OCS-Header / X-OCS-Agent-Header. With both, the agent's
    /api/v1/info `security` flag decides, as in the official SDK (agent password once it is set).
    public_key: a pinned key in any accepted shape (or a key record); the client then never
    asks /api/v1/secret, and a header the agent cannot decrypt is an error, not a reason to
    fetch another key.
    pins (digests from _pins.normalize_pins) and min_key_size are enforced on every key the
    client fetches or is given, including one fetched again after a decryption failure.
    """

    def __init__(self, host, port=DEFAULT_PORT, scheme="http", transport=None, password=None,
                 agent_password=None, warn=None, public_key=None, pins=None, min_key_size=None,
                 lifetime=_obshell_crypto.DEFAULT_LIFETIME, allow_unpinned_password=False):
        if transport is None:
            raise OptionError("obshell: a transport is required")
        host = str(host or "").strip()
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if not host:
            raise OptionError("obshell: host must not be empty")
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise OptionError("obshell: port must be a number, not %r" % (port,))
        if not 0 < port < 65536:
            raise OptionError("obshell: port must be between 1 and 65535, not %d" % port)
        if scheme not in ("http", "https"):
            raise OptionError("obshell: scheme must be http or https, not %r" % (scheme,))
        check_min_key_size_option(min_key_size)
        self.host = host
        self.port = port
        self.scheme = scheme
        self.key_id = format_host_port(host, port)
        self.base_url = "%s://%s" % (scheme, self.key_id)
        self.transport = transport
        self.password = password or None
        self.agent_password = agent_password or None
        self.warn = warn or (lambda msg: None)
        self.pins = list(pins or [])
        self.min_key_size = min_key_size
        self.lifetime = lifetime
        self.allow_unpinned_password = bool(allow_unpinned_password)
        self.pinned = public_key is not None
        self._record = None
        self._parsed = None
        self._security = None  # the agent's `security` flag (agent password set), when known
        if self.pinned:
            self.use_record(self.record_from(public_key), check=True)

    @classmethod
    def from_options(cls, host, port, options, transport, warn=None, scheme=None, public_key=None, pins=None):
        """A client from the plugin options (OPTIONS and the connection ones), as lookups and modules read them.

        pins: already normalized pins, to skip parsing expected_fingerprint again.
        """
        return cls(host, port, scheme=scheme or options["scheme"], transport=transport,
                   password=options.get("password"), agent_password=options.get("agent_password"), warn=warn,
                   public_key=public_key,
                   pins=normalize_pins(options.get("expected_fingerprint")) if pins is None else pins,
                   min_key_size=options.get("min_key_size"),
                   allow_unpinned_password=options.get("allow_unpinned_password"))

    def require_trusted_key(self):
        """Fail (before any encrypted request) when a password would go to an untrusted key."""
        if not self.key_trusted():
            raise OptionError(UNPINNED_PASSWORD % (self.key_id, SECRET_PATH))

    def key_trusted(self):
        """Whether a password may be encrypted to this client's key (INTERFACE.md's obshell rule)."""
        if self.pinned or self.pins or self.allow_unpinned_password:
            return True
        return self.scheme == "https" and self.transport.verify is not False

    # -- keys ------------------------------------------------------------------------------
    def record_from(self, public_key):
        """A key record for a key the user supplied (pinned), in any accepted shape."""
        from .. import _keys

        raw = _keys.key_text(public_key)
        return _keys.key_record(NAME, self.key_id, raw, {"ip": None, "port": None, "trace_id": None})

    def fetch_secret(self):
        """GET /api/v1/secret -> the agent's key record (no pins or size checks here)."""
        from .. import _keys

        status, envelope, trace_id = self._plain("GET", SECRET_PATH)
        data = envelope.get("data")
        public_key = data.get("public_key") if isinstance(data, dict) else None
        if not isinstance(public_key, str) or not public_key.strip():
            raise ProviderError(
                "GET %s: the answer has no data.public_key; is this an obshell agent?" % SECRET_PATH,
                provider=NAME, key=self.key_id, status=status, request_id=envelope.get("traceId") or trace_id)
        metadata = {
            "ip": data.get("ip"),
            "port": data.get("port"),
            "trace_id": envelope.get("traceId") or trace_id,
        }
        record = _keys.key_record(NAME, self.key_id, public_key, metadata)
        check_key_size(record, None)  # RSA only
        return record

    def use_record(self, record, check=False):
        """Use this key record for requests (a cached record, or a pinned key)."""
        from .. import _keys

        if check:
            check_pins(record, self.pins)
            check_key_size(record, self.min_key_size)
        self._record = record
        self._parsed = _keys.parse_public_key(record["public_key"], provider=NAME, key_id=self.key_id)
        return record

    @property
    def record(self):
        """The key record in use, fetched on first use (then checked against pins and min_key_size)."""
        if self._record is None:
            self.use_record(self.fetch_secret(), check=True)
        return self._record

    # -- requests --------------------------------------------------------------------------
    def agent_info(self):
        """GET /api/v1/info without encryption: identity, version, security, supportedAuth..."""
        _status, envelope, _trace_id = self._plain("GET", INFO_PATH)
        data = envelope.get("data")
        if isinstance(data, dict) and "security" in data:
            self._security = bool(data.get("security"))
        return data if isinstance(data, dict) else {}

    def request(self, method, path, body=None, credentials=True):
        """One hybrid-encrypted request -> (HTTP status, response envelope).

        credentials: True sends the password (or agent password), False an empty auth (for
        unauthenticated routes and the key check). Raises ProviderError (with .body, the agent's
        envelope, when it answered) for any failure, `successful: false` included.
        """
        method = str(method or "GET").upper()
        if method not in METHODS:
            raise OptionError("obshell: method must be one of %s, not %r" % (", ".join(METHODS), method))
        if not isinstance(path, str) or not path.startswith("/"):
            raise OptionError("obshell: path must start with '/', like /api/v1/ob/info (got %r)" % (path,))
        password, agent = self._credentials(credentials)
        if password:
            self.require_trusted_key()
        record = self.record
        try:
            return self._encrypted(method, path, body, password, agent)
        except ProviderError as exc:
            if not is_decrypt_failure(exc):
                raise
            if self.pinned:
                raise ProviderError(
                    "%s %s: the agent cannot decrypt the request header: the pinned public_key "
                    "(sha256 %s) is not this agent's key; fetch its current key from %s or leave "
                    "public_key unset" % (method, _path_only(path), record["fingerprint_sha256"], SECRET_PATH),
                    provider=NAME, key=self.key_id, status=exc.status, code=exc.code,
                    request_id=exc.request_id, body=exc.body)
        fresh = self.use_record(self.fetch_secret(), check=True)
        if fresh["fingerprint_sha256"] != record["fingerprint_sha256"]:
            self.warn("obshell: key %s: the agent's public key changed (sha256 %s, was %s); using the new key"
                      % (self.key_id, fresh["fingerprint_sha256"], record["fingerprint_sha256"]))
        try:
            return self._encrypted(method, path, body, password, agent)
        except ProviderError as exc:
            if not is_decrypt_failure(exc):
                raise
            raise ProviderError(
                "%s %s: the agent cannot decrypt a header encrypted with the key it serves at %s "
                "(sha256 %s), even after fetching it again; the agent's key store may be "
                "inconsistent (restart obshell) or a proxy is answering for it"
                % (method, _path_only(path), SECRET_PATH, fresh["fingerprint_sha256"]),
                provider=NAME, key=self.key_id, status=exc.status, code=exc.code,
                request_id=exc.request_id, body=exc.body)

    def verify_key(self):
        """Prove the agent holds the private key: an encrypted GET /api/v1/info with an empty auth.

        Returns the agent's /api/v1/info data.
        """
        _status, envelope = self.request("GET", INFO_PATH, credentials=False)
        data = envelope.get("data")
        data = data if isinstance(data, dict) else {}
        if "security" in data:
            self._security = bool(data.get("security"))
        return data

    def verify_password(self):
        """Prove key and password: encrypted GET /api/v1/info, then GET /api/v1/ob/info with the password.

        Returns (agent info, ob info).
        """
        if not (self.password or self.agent_password):
            raise OptionError("obshell: verify=password needs password (root@sys) or agent_password")
        self.require_trusted_key()
        info = self.verify_key()
        _status, envelope = self.request("GET", OB_INFO_PATH, credentials=True)
        if info.get("identity") == "SINGLE" and not info.get("security"):
            self.warn("obshell: key %s: the agent is not part of a cluster (identity SINGLE) and has no agent "
                      "password, so it accepts any password; only its key was proven" % self.key_id)
        data = envelope.get("data")
        return info, (data if isinstance(data, dict) else {})

    # -- internals -------------------------------------------------------------------------
    def _credentials(self, credentials):
        """(auth text, use the agent header?) for this request."""
        if not credentials:
            return "", False
        if self.password and self.agent_password:
            if self._security is None:
                self.agent_info()
            return (self.agent_password, True) if self._security else (self.password, False)
        if self.agent_password:
            return self.agent_password, True
        return self.password or "", False

    def _plain(self, method, path):
        """An unencrypted request -> (status, envelope, trace id sent)."""
        trace_id = new_trace_id()
        response = self.transport.request(
            method, self.base_url + path, key=self.key_id,
            headers={TRACE_HEADER: trace_id, "Accept": "application/json"},
            request_id=trace_id, context="%s %s" % (method, _path_only(path)))
        return response.status_code, self._envelope(response, method, path, trace_id), trace_id

    def _encrypted(self, method, path, body, password, agent):
        """Send once (with the transport's retries) -> (status, envelope); failures raise."""
        encrypted = _obshell_crypto.EncryptedRequest(
            self._parsed.key, password=password, body=body, agent=agent, lifetime=self.lifetime)
        trace_id = new_trace_id()
        headers = {TRACE_HEADER: trace_id, "Accept": "application/json"}
        if encrypted.body is not None:
            headers["Content-Type"] = "application/json"

        def sign(prepared):
            # path_url is exactly the request-target requests sends (after its own quoting),
            # which the agent compares byte for byte with the signed uri.
            prepared.headers[encrypted.header_name] = encrypted.header(prepared.path_url)

        response = self.transport.request(
            method, self.base_url + path, key=self.key_id, headers=headers, data=encrypted.body,
            sign=sign, idempotent=method in ("GET", "HEAD"), request_id=trace_id,
            context="%s %s" % (method, _path_only(path)))
        return response.status_code, self._envelope(response, method, path, trace_id)

    def _envelope(self, response, method, path, trace_id):
        """The envelope of a successful answer (the transport raised for failures)."""
        if response.status_code == 204 and not (response.content or b"").strip():
            return {}  # the agent's "no content" success has no body
        envelope = self.transport.json(response, self.key_id, request_id=trace_id)
        if not isinstance(envelope, dict) or "successful" not in envelope:
            raise ProviderError(
                "%s %s: the answer is JSON but not an obshell response; is %s an obshell agent?"
                % (method, _path_only(path), self.base_url),
                provider=NAME, key=self.key_id, status=response.status_code, request_id=trace_id)
        return envelope


class ObshellAgents(object):
    """The provider's client: any agent named by a term, over one shared transport."""

    def __init__(self, options, transport, warn=None):
        check_min_key_size_option(options.get("min_key_size"))
        self.options = options
        self.transport = transport
        self.warn = warn
        self.pins = normalize_pins(options.get("expected_fingerprint"))

    def agent(self, term, public_key=None):
        scheme, host, port = parse_term(term, self.options["scheme"], self.options["port"])
        return ObshellClient.from_options(host, port, self.options, self.transport, warn=self.warn, scheme=scheme,
                                          public_key=public_key, pins=self.pins)

    def fetch(self, term):
        return self.agent(term).fetch_secret()


PROVIDER = Provider(
    name=NAME,
    var_prefix="obshell",
    options=dict(OPTIONS, **VERIFY_OPTIONS),
    client=lambda options, transport: ObshellAgents(options, transport, warn=transport.warn),
    check_term=check_term,
    profile=PROFILE,
    check_record=check_record,
    canonical_term=canonical_term,
    term_options=TERM_OPTIONS,
    term_name="agent",
)


def _path_only(path):
    return path.split("?", 1)[0]
