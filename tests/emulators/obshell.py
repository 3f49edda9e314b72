"""An OceanBase obshell agent emulator: key endpoint, hybrid decryption, verification, envelopes.

Behaviour follows obshell's own server (oceanbase/obshell ob/agent, see
../shared/reference/obshell_obcloud.md sections 1-3):

- GET /api/v1/secret: no authentication; data {ip, port, public_key} with public_key the bare
  base64 of the PKCS#1 RSAPublicKey DER. 1024-bit keys by default, 512-bit keys on request
  (agents built before obshell 4.4.1.1).
- Middleware order as in agent_route.go: HeaderDecrypt (every route, when X-OCS-Header or
  X-OCS-Agent-Header is present; the agent header wins), BodyDecrypt (AES-128-CBC with the
  header's keys, base64 body), PreHandlers (trace id: X-OBSHELL-Trace-ID or 16 random hex),
  then Verify() on the protected groups (/ob, /agent, /agents, /obcluster, /observer, ...).
- The header is decrypted in k-byte PKCS#1 v1.5 blocks and decoded the way Go decodes it into
  secure.HttpHeader: keys matched case-insensitively (exact match preferred, the last duplicate
  wins), `ts` and the other string fields must be JSON strings, `keys` is base64.
- Error envelopes carry the agent's errCode, legacy code and HTTP status (errorcode.go), and
  the English messages of assets/i18n/error/en.json. Failures in HeaderDecrypt/BodyDecrypt
  carry an empty traceId, because the agent assigns trace ids after those steps.

Not emulated: agent-to-agent tokens and forwarding (a FOLLOWER verifies like its master
would), sessions and SSO, an agent adopting a new root password by logging into OceanBase.

Run standalone (one agent; plain HTTP as obshell serves, HTTPS with --tls):
  python -m ansible_collections.keyward.keys.tests.emulators.obshell [--port N] [--tls DIR]
      [--password PW] [--key-bits 512|1024] [--env-file FILE]
prints one JSON line with the agent's address, its key's fingerprint, the environment and an
example lookup, then serves until interrupted.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import re
import secrets
import threading
import time

from cryptography.hazmat.primitives import padding as sym_padding
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ansible_collections.keyward.keys.tests.emulators._server import Response

OCS_HEADER = "X-OCS-Header"
OCS_AGENT_HEADER = "X-OCS-Agent-Header"
TRACE_HEADER = "X-OBSHELL-Trace-ID"
CLUSTER_IDENTITIES = ("CLUSTER AGENT", "MASTER", "FOLLOWER", "TAKE OVER MASTER", "TAKE OVER FOLLOWER")

# errCode -> (HTTP status, legacy code, English message format) — ob/agent/errors/errorcode.go
# and ob/agent/assets/i18n/error/en.json.
ERRORS = {
    "Common.NotFound": (404, 0, "Element not found: %s"),
    "Common.BindJsonFailed": (400, 0, "Bind JSON failed: %s"),
    "Common.Unexpected": (500, 0, "Unexpected error: %s"),
    "Common.Unauthorized": (401, 10008, "Unauthorized"),
    "Request.Header.NotFound": (400, 0, "X-OCS-Agent-Header or X-OCS-Header not found in http request header"),
    "Request.Body.Decrypt.AES.KeyAndIv.Invalid": (500, 0, "AES key and IV size error"),
    "Request.Body.Decrypt.AES.ContentLength.Invalid": (500, 0, "Decrypted string length is not a multiple of the block size"),
    "Security.Authentication.Header.DecryptFailed": (401, 1, "Decrypt http header failed: %s"),
    "Security.Authentication.Header.UriMismatch": (401, 10008, "URI mismatch"),
    "Security.Authentication.Expired": (401, 10008, "Authentication expired"),
    "Security.Authentication.Timestamp.Invalid": (401, 10008, "Invalid timestamp: %s, err: %s"),
    "Security.Authentication.IncorrectOceanbasePassword": (401, 10008, "OceanBase password is incorrect"),
    "Security.Authentication.IncorrectAgentPassword": (401, 10008, "Agent password is incorrect"),
    "Security.Authentication.WithAgentPassword": (401, 10008, "Should use agent_password to verify: %s"),
    "Security.Authentication.WithOceanBasePassword": (401, 10008, "Should use oceanbase_password to verify: %s"),
    "Security.Authentication.AgentPasswordNotInitialized": (401, 10008, "Agent password is not initialized"),
}

# Routes behind Verify() (agent_route.go: the groups that use common.Verify()).
PROTECTED_PREFIXES = ("/api/v1/ob/", "/api/v1/agent/", "/api/v1/agents/", "/api/v1/obcluster/",
                      "/api/v1/observer/", "/api/v1/upgrade/", "/api/v1/unit/", "/api/v1/units/",
                      "/api/v1/pools", "/api/v1/pool/", "/api/v1/recyclebin/")


class AgentError(Exception):
    """An error the agent answers with: errCode, args for its message, optionally wrapped."""

    def __init__(self, err_code, *args, wrapped_in=None, trace=True):
        super().__init__(err_code)
        self.err_code = err_code
        self.args_ = args
        self.wrapped_in = wrapped_in  # errors.WrapRetain(ErrCommonUnauthorized, err)
        self.trace = trace  # False: raised before PreHandlers assigned a trace id

    def body(self):
        status, code, fmt = ERRORS[self.err_code]
        message = fmt % self.args_ if "%s" in fmt else fmt
        if self.wrapped_in:
            # WrapRetain keeps the inner errCode (and its status and legacy code) but the message
            # reads "<wrapper message>: <inner message>".
            message = "%s: %s" % (ERRORS[self.wrapped_in][2], message)
        error = {"errCode": self.err_code, "message": message}
        if code:
            error = {"code": code, "errCode": self.err_code, "message": message}
        return status, error


class GoJSONError(ValueError):
    pass


class _Pairs(list):
    """A JSON object as its (name, value) pairs, in order, duplicates kept."""


# secure.HttpHeader: lower-cased JSON name -> (Go field name, kind)
_HEADER_FIELDS = {
    "session_id": ("SessionID", "string"),
    "auth": ("Auth", "string"),
    "ts": ("Ts", "string"),
    "token": ("Token", "string"),
    "ssotoken": ("SSOToken", "string"),
    "uri": ("Uri", "string"),
    "keys": ("Keys", "[]uint8"),
    "sha256": ("Sha256", "string"),
    "forwardtype": ("ForwardType", "int"),
    "forwardagent": ("ForwardAgent", "meta.AgentInfo"),
}


def _json_kind(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (_Pairs, dict)):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


def go_b64decode(text):
    """base64.StdEncoding.DecodeString: padded standard alphabet; CR and LF are ignored."""
    compact = text.replace("\r", "").replace("\n", "")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        for index, char in enumerate(compact):
            if not (char.isalnum() or char in "+/="):
                break
        else:
            index = len(compact)
        raise GoJSONError("illegal base64 data at input byte %d" % index)


def go_unmarshal_header(plaintext):
    """json.Unmarshal(plaintext, &secure.HttpHeader{}) -> dict of Go field name -> value."""
    try:
        pairs = json.loads(plaintext.decode("utf-8"), object_pairs_hook=_Pairs)
    except (UnicodeDecodeError, ValueError) as exc:
        raise GoJSONError("invalid character in JSON: %s" % exc)
    if not isinstance(pairs, _Pairs):
        raise GoJSONError("json: cannot unmarshal %s into Go value of type secure.HttpHeader" % _json_kind(pairs))
    header = {"SessionID": "", "Auth": "", "Ts": "", "Token": "", "SSOToken": "", "Uri": "",
              "Keys": None, "Sha256": "", "ForwardType": 0, "ForwardAgent": None}
    first_error = None
    for name, value in pairs:
        field = _HEADER_FIELDS.get(name.lower())  # Go: exact match preferred, else case-insensitive
        if field is None:
            continue  # unknown fields are ignored
        go_name, kind = field
        if value is None:
            continue  # null leaves the field alone
        got = _json_kind(value)
        if isinstance(value, _Pairs):
            value = dict(value)
        ok = ((kind in ("string", "[]uint8") and got == "string")
              or (kind == "int" and got == "number" and float(value).is_integer())
              or (kind == "meta.AgentInfo" and got == "object"))
        if not ok:
            # Go keeps decoding after a type mismatch and reports the first one.
            first_error = first_error or GoJSONError(
                "json: cannot unmarshal %s into Go struct field HttpHeader.%s of type %s" % (got, go_name, kind))
            continue
        if kind == "[]uint8":
            value = go_b64decode(value)
        header[go_name] = value
    if first_error:
        raise first_error
    return header


def _probable_prime(n, rounds=40):
    for small in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47):
        if n % small == 0:
            return n == small
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for _round in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _step in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits):
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if _probable_prime(candidate):
            return candidate


def generate_rsa_key(bits):
    """An RSA private key of any size; `cryptography` refuses to generate keys under 1024 bits
    (but loads and uses them), so legacy 512-bit agent keys are built from primes here."""
    try:
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    except ValueError:
        pass
    e = 65537
    while True:
        p, q = _prime(bits // 2), _prime(bits - bits // 2)
        if p != q and (p - 1) % e and (q - 1) % e and (p * q).bit_length() == bits:
            break
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), rsa.rsa_crt_iqmp(p, q),
                                    rsa.RSAPublicNumbers(e, p * q))
    return numbers.private_key()


def _go_time(now=None):
    """Go's time.Time JSON form (RFC 3339 with nanoseconds and the local offset)."""
    moment = datetime.datetime.fromtimestamp(now if now is not None else time.time()).astimezone()
    text = moment.isoformat(timespec="microseconds")
    return text[:26] + "000" + text[26:]


class ObshellAgent(object):
    """One obshell agent: serve it with EmulatorServer(ObshellAgent(...)).

    password: root@sys password (CLUSTER AGENT / MASTER / FOLLOWER; "" when None).
    agent_password: the agent password (None: not set; POST /api/v1/agent/password sets it).
    served_key: a private key whose public half /api/v1/secret serves instead of the real one
    (models an agent whose key store is inconsistent: every header fails to decrypt).
    clock: seconds since the epoch, for expiry checks.
    """

    def __init__(self, key_bits=1024, password=None, agent_password=None, identity="CLUSTER AGENT",
                 ip="127.0.0.1", port=2886, version="4.5.0.0", zone="zone1", private_key=None,
                 clock=time.time):
        self.key_bits = key_bits
        self.private_key = private_key or generate_rsa_key(key_bits)
        self.served_key = None
        self.password = password or ""
        self.agent_password = agent_password
        self.identity = identity
        self.ip = ip
        self.port = port
        self.version = version
        self.zone = zone
        self.clock = clock
        self.started = clock()
        self.parameters = {"memory_limit": "0M", "syslog_level": "WDIAG"}
        self.decrypted = []  # {"method", "target", "header_name", "header", "body"} for tests
        self._lock = threading.Lock()

    # -- test helpers ----------------------------------------------------------------------
    def rotate_key(self, key_bits=None):
        """Replace the key pair, as an agent does when its state is recreated or after the 512->1024 upgrade."""
        with self._lock:
            self.key_bits = key_bits or self.key_bits
            self.private_key = generate_rsa_key(self.key_bits)
            self.served_key = None
        return self.public_key_b64

    @property
    def public_key_b64(self):
        key = (self.served_key or self.private_key).public_key()
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        return base64.b64encode(der).decode("ascii")

    @property
    def spki_pem(self):
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")

    def reset(self):
        with self._lock:
            self.decrypted = []

    def control(self, name, request):
        if name == "obshell/rotate" and request.method == "POST":
            return Response.json(200, {"public_key": self.rotate_key()})
        return None

    # -- the agent -------------------------------------------------------------------------
    def handle(self, request):
        received = int(self.clock())  # REQUEST_RECEIVED_TIME, set by PostHandlers
        context = {"trace_id": "", "header": None, "header_name": None, "body": request.body}
        try:
            if not request.path.startswith("/api/"):
                return Response(200, "<!doctype html><html><head><title>obshell</title></head><body></body></html>",
                                {"Content-Type": "text/html; charset=utf-8"})
            self._header_decrypt(request, context)
            self._body_decrypt(request, context)
            if request.path != "/api/v1/status":
                context["trace_id"] = request.header(TRACE_HEADER) or binascii.hexlify(os.urandom(8)).decode("ascii")
            route = self._route(request)
            if route is None:
                raise AgentError("Common.NotFound", "404 not found")
            if request.path.startswith(PROTECTED_PREFIXES):
                self._verify(request, context, received)
            status, data = route(request, context)
        except AgentError as exc:
            status, error = exc.body()
            return self._envelope(status, None, error, context["trace_id"] if exc.trace else "")
        except _Panic:
            # gin's recovery answers with a fixed envelope (and no trace id).
            return self._envelope(500, None, {"errCode": "Common.Unexpected",
                                              "message": "Unexpected error: Internal Server Error"}, "")
        return self._envelope(status, data, None, context["trace_id"])

    def _envelope(self, status, data, error, trace_id):
        started = time.monotonic()
        body = {"successful": error is None, "timestamp": _go_time(), "duration": 0,
                "status": status, "traceId": trace_id}
        if isinstance(data, list):
            data = {"contents": data}  # buildResponseData wraps slices
        if data is not None:
            body["data"] = data
        if error is not None:
            body["error"] = error
        body["duration"] = int((time.monotonic() - started) * 1000)
        return Response(status, json.dumps(body), {"Content-Type": "application/json; charset=utf-8"})

    # -- middleware ------------------------------------------------------------------------
    def _rsa_decrypt(self, text):
        """Crypter.DecryptAndReturnBytes: base64, then PKCS#1 v1.5 in k-byte blocks."""
        raw = go_b64decode(text)
        key = self.private_key
        size = (key.key_size + 7) // 8
        out = b""
        for start in range(0, len(raw), size):
            block = raw[start:start + size]
            try:
                if len(block) != size:
                    raise ValueError("short block")
                out += key.decrypt(block, asym_padding.PKCS1v15())
            except ValueError:
                raise GoJSONError("crypto/rsa: decryption error")
        return out

    def _header_decrypt(self, request, context):
        agent_value = request.header(OCS_AGENT_HEADER) or ""
        root_value = request.header(OCS_HEADER) or ""
        if not agent_value and not root_value:
            return
        name = OCS_AGENT_HEADER if agent_value else OCS_HEADER
        with self._lock:
            try:
                header = go_unmarshal_header(self._rsa_decrypt(agent_value or root_value))
            except GoJSONError as exc:
                raise AgentError("Security.Authentication.Header.DecryptFailed", str(exc), trace=False)
        context["header"] = header
        context["header_name"] = name

    def _body_decrypt(self, request, context):
        header = context["header"]
        if header is None or not request.body:
            self._record(request, context, None)
            return
        keys = header["Keys"] or b""
        if len(keys) < 16:
            raise AgentError("Request.Body.Decrypt.AES.KeyAndIv.Invalid", wrapped_in="Common.Unauthorized", trace=False)
        key, iv = keys[:16], keys[16:]
        if len(iv) != 16:
            raise _Panic()  # cipher.NewCBCDecrypter panics on a wrong IV length
        try:
            raw = go_b64decode(request.body.decode("ascii", "replace"))
        except GoJSONError:
            raw = b""  # the agent ignores the decode error and goes on with what it got
        if len(raw) % 16:
            raise AgentError("Request.Body.Decrypt.AES.ContentLength.Invalid", wrapped_in="Common.Unauthorized",
                             trace=False)
        if not raw:
            raise _Panic()  # unpadding an empty plaintext indexes out of range
        decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        padded = decryptor.update(raw) + decryptor.finalize()
        pad = padded[-1]
        if pad > len(padded):
            raise _Panic()  # pkcs5UnPadding slices out of range
        # The agent does not check the padding bytes; a wrong key leaves garbage for the handler.
        context["body"] = padded[:len(padded) - pad]
        self._record(request, context, context["body"])

    def _record(self, request, context, body):
        if context["header"] is not None:
            with self._lock:
                self.decrypted.append({"method": request.method, "target": request.target,
                                       "header_name": context["header_name"], "header": context["header"],
                                       "body": body})

    def _verify(self, request, context, received):
        header = context["header"]
        if header is None:
            raise AgentError("Request.Header.NotFound")
        if header["Uri"] != request.target:
            raise AgentError("Security.Authentication.Header.UriMismatch")
        agent = context["header_name"] == OCS_AGENT_HEADER
        try:
            if request.path == "/api/v1/agent/password":
                self._verify_set_agent_password(header, agent, received)
            else:
                self._verify_ob_routes(header, agent, received)
        except AgentError as exc:
            exc.wrapped_in = "Common.Unauthorized"
            raise

    def _verify_auth(self, pwd, ts, received, agent):
        """secure.VerifyAuth: the expiry is only checked when a password is given."""
        if pwd != "":
            try:
                expiry = int(ts, 10)
                if not re.match(r"^[+-]?\d+$", ts):
                    raise ValueError
            except ValueError:
                raise AgentError("Security.Authentication.Timestamp.Invalid", ts,
                                 'strconv.ParseInt: parsing "%s": invalid syntax' % ts)
            if received > expiry:
                raise AgentError("Security.Authentication.Expired")
        if agent:
            if pwd != (self.agent_password or ""):
                raise AgentError("Security.Authentication.IncorrectAgentPassword")
        elif pwd != self.password:
            raise AgentError("Security.Authentication.IncorrectOceanbasePassword")

    def _verify_ob_routes(self, header, agent, received):
        agent_pwd_set = self.agent_password is not None
        if self.identity == "SINGLE":
            if agent_pwd_set:
                if not agent:
                    raise AgentError("Security.Authentication.WithAgentPassword", "agent password has been set")
                self._verify_auth(header["Auth"], header["Ts"], received, True)
            return  # no agent password: anything decryptable passes
        # MASTER, CLUSTER AGENT and the rest (a FOLLOWER forwards to a master that checks the same).
        ob_pwd_initialized = self.identity in CLUSTER_IDENTITIES
        if not agent:
            if not ob_pwd_initialized and agent_pwd_set:
                raise AgentError("Security.Authentication.WithAgentPassword", "oceanbase password is not initialized")
            self._verify_auth(header["Auth"], header["Ts"], received, False)
        elif ob_pwd_initialized and not agent_pwd_set:
            raise AgentError("Security.Authentication.WithOceanBasePassword", "agent password is not initialized")
        elif agent_pwd_set:
            self._verify_auth(header["Auth"], header["Ts"], received, True)

    def _verify_set_agent_password(self, header, agent, received):
        if self.agent_password is not None:
            if not agent:
                raise AgentError("Security.Authentication.WithAgentPassword", "agent password has been set")
            self._verify_auth(header["Auth"], header["Ts"], received, True)
        elif self.identity in CLUSTER_IDENTITIES:
            if agent:
                raise AgentError("Security.Authentication.WithOceanBasePassword", "oceanbase password has been set")
            self._verify_auth(header["Auth"], header["Ts"], received, False)
        # SINGLE without an agent password: anyone may set one.

    # -- routes ----------------------------------------------------------------------------
    def _route(self, request):
        routes = {
            ("GET", "/api/v1/secret"): self._secret,
            ("GET", "/api/v1/info"): self._info,
            ("GET", "/api/v1/time"): self._time,
            ("GET", "/api/v1/git-info"): self._git_info,
            ("GET", "/api/v1/status"): self._status,
            ("POST", "/api/v1/status"): self._status,
            ("GET", "/api/v1/ob/info"): self._ob_info,
            ("GET", "/api/v1/agent/host-info"): self._host_info,
            ("POST", "/api/v1/agent/password"): self._set_agent_password,
            ("GET", "/api/v1/obcluster/parameters"): self._get_parameters,
            ("PATCH", "/api/v1/obcluster/parameters"): self._set_parameters,
        }
        return routes.get((request.method, request.path))

    def _bind_json(self, context):
        body = context["body"] or b"{}"  # PaddingBody: an empty body reads as {}
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise AgentError("Common.BindJsonFailed", "invalid character looking for beginning of value")
        if not isinstance(value, dict):
            raise AgentError("Common.BindJsonFailed", "json: cannot unmarshal %s into Go value" % _json_kind(value))
        return value

    def _agent_instance(self):
        return {"ip": self.ip, "port": self.port, "zone": self.zone, "identity": self.identity, "version": self.version}

    def _secret(self, request, context):
        return 200, {"ip": self.ip, "port": self.port, "public_key": self.public_key_b64}

    def _info(self, request, context):
        data = {"pid": os.getpid(), "state": 2, "startAt": int(self.started * 1000), "homePath": "/home/admin/oceanbase",
                "obVersion": "4.3.5.0", "architecture": "x86_64"}
        data.update(self._agent_instance())
        data.update({"isObproxyAgent": False, "security": self.agent_password is not None, "supportedAuth": ["v2"]})
        return 200, data

    def _time(self, request, context):
        return 200, _go_time(self.clock())

    def _git_info(self, request, context):
        return 200, {"gitBranch": "master", "gitCommitId": "61ee147", "gitShortCommitId": "61ee147"}

    def _status(self, request, context):
        return 200, {"agent": {"ip": self.ip, "port": self.port, "identity": self.identity}, "state": 2,
                     "version": self.version, "pid": os.getpid(), "startAt": int(self.started * 1000),
                     "port": self.port, "obState": 3, "underMaintenance": False}

    def _ob_info(self, request, context):
        return 200, {
            "agent_info": [self._agent_instance()],
            "obcluster_info": {
                "id": 1, "name": "obcluster", "version": "4.3.5.0",
                "topology": {self.zone: [{"svr_ip": self.ip, "svr_port": 2882, "sql_port": 2881,
                                          "agent_port": self.port, "with_rootserver": "true",
                                          "status": "ACTIVE", "build_version": "4.3.5.0"}]},
            },
            "is_shared_storage": False,
        }

    def _host_info(self, request, context):
        return 200, {"architecture": "x86_64", "os": {"os": "Linux", "version": "5.10"},
                     "cpu": {"logical_cores": 8}, "memory": {"total": 34359738368}}

    def _set_agent_password(self, request, context):
        param = self._bind_json(context)
        if not isinstance(param.get("password"), str) or param.get("password") == "":
            raise AgentError("Common.BindJsonFailed", "Key: 'SetAgentPasswordParam.Password' Error:Field "
                             "validation for 'Password' failed on the 'required' tag")
        with self._lock:
            self.agent_password = param["password"]
        return 200, None

    def _get_parameters(self, request, context):
        with self._lock:
            return 200, [{"name": name, "scope": "CLUSTER", "values": [value], "is_single_value": True}
                         for name, value in sorted(self.parameters.items())]

    def _set_parameters(self, request, context):
        param = self._bind_json(context)
        params = param.get("params")
        if not isinstance(params, list) or not params:
            raise AgentError("Common.BindJsonFailed", "Key: 'SetClusterParametersParam.Params' Error:Field "
                             "validation for 'Params' failed on the 'required' tag")
        with self._lock:
            for item in params:
                if isinstance(item, dict) and item.get("name"):
                    self.parameters[str(item["name"])] = str(item.get("value"))
        return 200, None


class _Panic(Exception):
    """A Go panic in the agent, answered by gin's recovery handler."""


def aes_decrypt_body(text, keys):
    """Decrypt a request body the way the agent does (for tests that inspect what was sent)."""
    raw = base64.b64decode(text)
    decryptor = Cipher(algorithms.AES(keys[:16]), modes.CBC(keys[16:32])).decryptor()
    padded = decryptor.update(raw) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def main(argv=None):
    """Serve one agent: plain HTTP as obshell does by default, HTTPS with --tls DIR."""
    from ansible_collections.keyward.keys.tests.emulators._server import run_standalone

    def add_arguments(parser):
        parser.add_argument("--password", default=DEMO_ROOT_PASSWORD, help="the root@sys password the agent accepts")
        parser.add_argument("--key-bits", type=int, default=1024, help="the agent's RSA key size (512 as old agents)")

    def describe(app, server, pki, args):
        # The agent reports the address it is reached at, as a real one reports its own.
        app.ip, app.port = server.host, server.port
        from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record

        fingerprint = key_record("obshell", server.address, app.public_key_b64)["fingerprint_sha256"]
        scheme = ", scheme='https'" if pki else ""
        return {"agent": server.address, "password": args.password, "fingerprint_sha256": fingerprint,
                "env": {"OB_ROOT_PASSWORD": args.password},
                "lookup": "lookup('keyward.keys.obshell_public_key', '%s'%s)" % (server.address, scheme)}

    run_standalone(__doc__.splitlines()[0],
                   lambda args: ObshellAgent(key_bits=args.key_bits, password=args.password),
                   describe, argv, add_arguments=add_arguments)


# The root password of a standalone agent unless --password gives another (a test value).
DEMO_ROOT_PASSWORD = "Emulator#Root-Passw0rd"


if __name__ == "__main__":
    main()
