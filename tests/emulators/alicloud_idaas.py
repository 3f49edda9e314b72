"""Alibaba Cloud IDaaS (EIAM 2021-12-01) emulator: client public keys, read and rotated.

Reads: GetClientPublicKey and ListClientPublicKeys. Rotation (what an operator does at the
provider while hosts keep trusting keys): CreateClientPublicKey, SetPrimaryClientPublicKey,
EnableClientPublicKey, DisableClientPublicKey and DeleteClientPublicKey.

The API as the reference (shared/reference/alibaba_idaas.md) describes it:

- RPC style: every call goes to path "/", GET or POST. The action and version travel in the
  x-acs-action and x-acs-version headers (signature V3); business parameters in the query
  string (what the official SDK sends) or, for POST, in an application/x-www-form-urlencoded
  body. Query strings are read the way form decoders read them ('+' is a space).
- Signature V3, ACS3-HMAC-SHA256, checked the way the service does: the Authorization header is
  parsed and the signature recomputed here, from the request as received (method, raw query,
  the listed headers' values, the body bytes), by code written from the signing guide and
  independent of the collection's signer. Refused, in this order:
    no or malformed Authorization, a required header missing or unsigned, an x-acs-*/host/
    content-type header sent but not signed ..... 400 IncompleteSignature
    unknown AccessKeyId ......................... 404 InvalidAccessKeyId.NotFound
    STS key without its token ................... 400 MissingSecurityToken (*)
    token that is not this key's ................ 400 InvalidSecurityToken.MismatchWithAccessKey (*)
    expired token (expire_security_tokens()) .... 400 InvalidSecurityToken.Expired (*)
    x-acs-date missing or not YYYY-MM-DDTHH:MM:SSZ  400 IllegalTimestamp
    x-acs-date more than 15 minutes off ......... 400 InvalidTimeStamp.Expired (status *)
    x-acs-content-sha256 not the body's hash, or
    a signature that does not match ............. 400 SignatureDoesNotMatch
    a nonce seen before ......................... 400 SignatureNonceUsed (status *)
  The signing guide marks x-acs-signature-nonce optional; this emulator requires it
  (require_nonce=False relaxes that), because keyward's signer always sends one.
- Unknown action 404 InvalidAction.NotFound (status *); version other than 2021-12-01
  400 InvalidVersion (status *); missing parameter 400 MissingParameter.<Name>; bad MaxResults
  or NextToken 400 InvalidParameter.<Name> (*).
- Not found: the reference found no documented code for a missing ClientPublicKey. The emulator
  answers 404 EntityNotExists.Instance / .Application / .ClientPublicKey (*), in the
  EntityNotExists.<Entity> style of other Alibaba APIs.
- Error bodies: {"RequestId", "HostId", "Code", "Message", "Recommend"}; every answer carries an
  x-acs-request-id header.
- ListClientPublicKeys pages with NextToken/MaxResults: MaxResults 1..100, default 20; the
  answer has TotalCount, MaxResults, NextToken and ClientPublicKeys. The last page's NextToken
  is "" (last_page_token=None omits the field instead). Tokens are opaque and bound to the
  instance and application.
- Throttling is injected with throttle(): the next N calls answer 400 Throttling.User (or the
  code/status given), optionally with an x-acs-retry-after header (milliseconds, as the
  official SDK reads it). Clock skew is injected with skew (seconds added to the emulator's
  clock).
- Rotation actions (the SDK's names and request/response models, reference section 1.2; the
  official SDK is the oracle in tests), POST or GET like the others:
  CreateClientPublicKey takes InstanceId, ApplicationId, PublicKey (SPKI PEM only, as its page
  says), AlgorithmType and ClientToken, all required (as documented); it answers
  {"ClientPublicKeyId"} (the SDK's response model), the new key enabled and not primary. A
  ClientToken repeated with the same parameters answers the same key again; with other
  parameters 400 IdempotentParameterMismatch (*). A PublicKey that is not an SPKI PEM is
  400 InvalidParameter.PublicKey (*), an unknown AlgorithmType 400 InvalidParameter.AlgorithmType (*),
  a ClientToken over 64 characters or not ASCII 400 InvalidParameter.ClientToken (*).
  SetPrimaryClientPublicKey (InstanceId, ApplicationId, ClientPublicKeyId, ClientToken: all
  required, as documented) makes one key the primary; Enable/DisableClientPublicKey take the
  same (ClientToken optional here (*)), DeleteClientPublicKey the same without ClientToken (the
  SDK's models); they answer {"RequestId"} only. Disabling or deleting the primary key is
  refused with 400 OperationDenied.PrimaryClientPublicKey (*): a rotation makes the new key
  primary first.
- Emulator-side helpers for tests and the demo: create_key(), set_status(), delete_key(),
  set_primary() in Python, and the control endpoints /__emulator__/alicloud/keys/{create,enable,disable,delete,primary}
  (POST, JSON {"application_id", "key_id"}; create generates a fresh RSA-2048 key and answers it).
(*) codes or HTTP statuses not confirmed by any source in the reference: assumptions.

ROTATION_APPLICATION_ID starts with one enabled primary RSA-2048 key (KEY_IDS_ROTATION["v1"]),
for the demo's rotation scene.

Keys: the documented AlgorithmType is RSA-2048 only; the emulator also serves RSA-3072,
RSA-4096 and EC-P256 keys (AlgorithmType values assumed) so that clients do not assume one
shape, keys with CRLF line endings, a disabled key, a primary key, and a never-used key
(no LastUsedTime). BROKEN_APPLICATION_ID holds the documentation example's key, whose text is
masked ("...twxxxxxx") and so is not a valid key. Tests compare fingerprints with
fingerprint(key_id) / KEY_IDS.

Run standalone for the demo:
  python -m ansible_collections.keyward.keys.tests.emulators.alicloud_idaas [--port N] [--tls DIR]
prints one JSON line with the URL, credentials, ids and fingerprints, then serves until interrupted.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import json
import re
import string
import threading
import time
import uuid
from urllib.parse import parse_qsl, quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators._server import Response

REGION_ID = "cn-hangzhou"
API_VERSION = "2021-12-01"
PRODUCT = "Eiam"
SKEW = 15 * 60
READ_ACTIONS = ("GetClientPublicKey", "ListClientPublicKeys")
ROTATION_ACTIONS = ("CreateClientPublicKey", "SetPrimaryClientPublicKey", "EnableClientPublicKey",
                    "DisableClientPublicKey", "DeleteClientPublicKey")
ACTIONS = READ_ACTIONS + ROTATION_ACTIONS
ALGORITHM_TYPES = ("RSA-2048", "RSA-3072", "RSA-4096", "EC-P256")
MAX_CLIENT_TOKEN = 64

ACCESS_KEY_ID = "LTAI5tKeywardTestKey0001"
ACCESS_KEY_SECRET = "KeywardTestAccessKeySecret0000001"
STS_ACCESS_KEY_ID = "STS.NTKeywardTemporaryKey0002"
STS_ACCESS_KEY_SECRET = "KeywardTemporaryAccessKeySecret02"
SECURITY_TOKEN = "CAISKeywardTestSecurityToken+for/STS=="

INSTANCE_ID = "idaas_kw3vq7n2m5x8c4b6z9p1r0t2ya"
APPLICATION_ID = "app_kw5t8r2m4n6q9v3x7c1b0z5pda"
EMPTY_APPLICATION_ID = "app_kw0empty0application00000aa"
BROKEN_APPLICATION_ID = "app_kw0broken0application0000aa"
ROTATION_APPLICATION_ID = "app_kw0rotation0application000a"

NOT_FOUND_CODES = {
    "instance": "EntityNotExists.Instance",
    "application": "EntityNotExists.Application",
    "key": "EntityNotExists.ClientPublicKey",
}

THROTTLING_MESSAGES = {
    "Throttling": "Request was denied due to request throttling.",
    "Throttling.User": "Request was denied due to user flow control.",
    "Throttling.Api": "Request was denied due to api flow control.",
}

_B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def make_key_id(name):
    """A stable ClientPublicKeyId in the documented shape: 'KEY' + 33 letters and digits."""
    number = int.from_bytes(hashlib.sha256(("keyward-alicloud:" + name).encode()).digest(), "big")
    chars = []
    while len(chars) < 33:
        number, rem = divmod(number, 62)
        chars.append(_B62[rem])
    return "KEY" + "".join(chars)


# name -> ClientPublicKeyId of the standard keys of APPLICATION_ID, in listing order.
KEY_IDS = {name: make_key_id(name) for name in (
    "primary", "secondary_crlf", "disabled", "rsa3072", "rsa4096", "ec_p256", "never_used")}
KEY_IDS_ROTATION = {"v1": make_key_id("rotation/v1")}
DOC_EXAMPLE_KEY_ID = "KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx"
UNKNOWN_KEY_ID = make_key_id("unknown")

# The GetClientPublicKey page's example key, verbatim: its tail is masked, so it does not decode.
DOC_EXAMPLE_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmnWMdp9FU3vXljeIqpgR\n"
    "05E6jEgzIfKsFaLkv+07e2Lg8luTaJh8Q2nkbxdNpTfqBnMMyTgml88WktP45F78\n"
    "La7hQtR3vz0Eu1yA92gXwD5Oob7ay4JYQZ0C80o2tB3FsbXG2jUvr31MNkf/0oBY\n"
    "qUKK5Hnlk1TdrnZ5VkzgLGHKlj+NJHHF/57DbT64C2qpAWeKHAr9umJ8++0hKqG/\n"
    "oRSOpb7oWK4t5c39ulp1j5JJ6cwqrKVCXvsHfWHywOHkcyus+ZNPTQvpwjRnEmRz\n"
    "Vy3NWrjT7JlIa8vS1aUU+FxeFd2MLQzxFxquFLwi05su2faRexaeYwWW6IWAI3tX\n"
    "twxxxxxx\n"
    "-----END PUBLIC KEY-----"
)

BASE_TIME_MS = 1731305755000  # the documentation's example CreateTime
DAY_MS = 86400 * 1000


def _spki_pem(private_key, newline="\n"):
    return testkeys.spki_pem(private_key).strip().replace("\n", newline)


def standard_keys():
    """[(name, fields)] of APPLICATION_ID's keys; PEM text as the service returns it (no trailing newline)."""
    return [
        ("primary", dict(PublicKey=_spki_pem(testkeys.rsa_key(2048, slot=20)), AlgorithmType="RSA-2048",
                         Status="enabled", Primary=True, LastUsedTime=BASE_TIME_MS + 40 * DAY_MS)),
        ("secondary_crlf", dict(PublicKey=_spki_pem(testkeys.rsa_key(2048, slot=21), "\r\n"), AlgorithmType="RSA-2048",
                                Status="enabled", Primary=False, LastUsedTime=BASE_TIME_MS + 30 * DAY_MS)),
        ("disabled", dict(PublicKey=_spki_pem(testkeys.rsa_key(2048, slot=22)), AlgorithmType="RSA-2048",
                          Status="disabled", Primary=False, LastUsedTime=BASE_TIME_MS + 5 * DAY_MS)),
        ("rsa3072", dict(PublicKey=_spki_pem(testkeys.rsa_key(3072)), AlgorithmType="RSA-3072",
                         Status="enabled", Primary=False, LastUsedTime=BASE_TIME_MS + 20 * DAY_MS)),
        ("rsa4096", dict(PublicKey=_spki_pem(testkeys.rsa_key(4096)), AlgorithmType="RSA-4096",
                         Status="enabled", Primary=False, LastUsedTime=BASE_TIME_MS + 21 * DAY_MS)),
        ("ec_p256", dict(PublicKey=_spki_pem(testkeys.ec_key("secp256r1", slot=20)), AlgorithmType="EC-P256",
                         Status="enabled", Primary=False, LastUsedTime=BASE_TIME_MS + 22 * DAY_MS)),
        ("never_used", dict(PublicKey=_spki_pem(testkeys.rsa_key(2048, slot=23)), AlgorithmType="RSA-2048",
                            Status="enabled", Primary=False)),
    ]


def fingerprint_of_pem(pem):
    """Lowercase hex SHA-256 of the SPKI DER of a PEM key (what key records carry)."""
    key = serialization.load_pem_public_key(pem.replace("\r\n", "\n").encode("ascii"))
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


# --- signature V3, server side (written from the signing guide) --------------------------------

_AUTHORIZATION = re.compile(
    r"^ACS3-HMAC-SHA256 Credential=([^,\s]+),SignedHeaders=([^,\s]+),Signature=([0-9a-f]{64})$")
_REQUIRED_SIGNED = ("host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-version")
_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def _rfc3986(text):
    return quote(text, safe="-_.~")


def server_query_pairs(raw_query):
    """The query as the service decodes it: form rules, blank values kept."""
    return parse_qsl(raw_query or "", keep_blank_values=True)


def server_canonical_request(method, raw_query, header_values, signed, body):
    """What the service hashes, from the request as it arrived.

    header_values: lower-cased name -> list of values received under that name.
    """
    query = "&".join("%s=%s" % (_rfc3986(n), _rfc3986(v)) for n, v in sorted(server_query_pairs(raw_query)))
    lines = "".join("%s:%s\n" % (name, ",".join(sorted(v.strip() for v in header_values.get(name, []))))
                    for name in signed)
    return "\n".join((method.upper(), "/", query, lines, ";".join(signed), hashlib.sha256(body).hexdigest()))


def _parse_date(text):
    if not _DATE.match(text or ""):
        return None
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


class _Reject(Exception):
    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


class AlibabaIdaasEmulator(object):
    """EIAM GetClientPublicKey / ListClientPublicKeys on one server, one region."""

    def __init__(self, region_id=REGION_ID, clock=time.time, require_nonce=True, last_page_token=""):
        self.region_id = region_id
        self.host_id = "eiam.%s.aliyuncs.com" % region_id
        self.clock = clock
        self.require_nonce = require_nonce
        self.last_page_token = last_page_token
        self.skew = 0.0
        self._lock = threading.Lock()
        self.credentials = {}
        self.instances = {INSTANCE_ID: {APPLICATION_ID: [], EMPTY_APPLICATION_ID: [], BROKEN_APPLICATION_ID: []}}
        self.add_credential(ACCESS_KEY_ID, ACCESS_KEY_SECRET)
        self.add_credential(STS_ACCESS_KEY_ID, STS_ACCESS_KEY_SECRET, security_token=SECURITY_TOKEN)
        for index, (name, fields) in enumerate(standard_keys()):
            self.add_key(APPLICATION_ID, key_id=KEY_IDS[name], create_time=BASE_TIME_MS + index * DAY_MS, **fields)
        self.add_key(BROKEN_APPLICATION_ID, key_id=DOC_EXAMPLE_KEY_ID, PublicKey=DOC_EXAMPLE_PUBLIC_KEY,
                     create_time=BASE_TIME_MS, LastUsedTime=1771305755000, Primary=True)
        self.add_key(ROTATION_APPLICATION_ID, key_id=KEY_IDS_ROTATION["v1"],
                     PublicKey=_spki_pem(testkeys.rsa_key(2048, slot=24)), Primary=True, create_time=BASE_TIME_MS)
        self._client_tokens = {}
        self._token_secret = uuid.uuid4().bytes
        self.reset()

    # -- set-up ------------------------------------------------------------------------------
    def add_credential(self, access_key_id, access_key_secret, security_token=None):
        self.credentials[access_key_id] = {"secret": access_key_secret, "security_token": security_token,
                                           "token_expired": False}

    def expire_security_tokens(self):
        for cred in self.credentials.values():
            if cred["security_token"]:
                cred["token_expired"] = True

    def add_application(self, application_id, instance_id=INSTANCE_ID):
        self.instances.setdefault(instance_id, {}).setdefault(application_id, [])

    def add_key(self, application_id, PublicKey, key_id=None, instance_id=INSTANCE_ID, AlgorithmType="RSA-2048",
                Status="enabled", Primary=False, create_time=None, LastUsedTime=None):
        """Add one key to an application (created when needed); returns its ClientPublicKeyId."""
        self.add_application(application_id, instance_id)
        keys = self.instances[instance_id][application_id]
        key_id = key_id or make_key_id("%s/%s/%d" % (instance_id, application_id, len(keys)))
        item = {"InstanceId": instance_id, "ApplicationId": application_id, "ClientPublicKeyId": key_id,
                "PublicKey": PublicKey, "AlgorithmType": AlgorithmType, "Status": Status, "Primary": bool(Primary),
                "CreateTime": BASE_TIME_MS if create_time is None else create_time}
        if LastUsedTime is not None:
            item["LastUsedTime"] = LastUsedTime
        with self._lock:
            keys.append(item)
        return key_id

    def key(self, key_id):
        """The stored item of a key (any instance or application), or None."""
        for apps in self.instances.values():
            for keys in apps.values():
                for item in keys:
                    if item["ClientPublicKeyId"] == key_id:
                        return item
        return None

    def keys_of(self, application_id=APPLICATION_ID, instance_id=INSTANCE_ID):
        return list(self.instances.get(instance_id, {}).get(application_id, []))

    # -- rotation, emulator side (the API actions below use the same methods) -----------------
    def create_key(self, application_id, PublicKey=None, AlgorithmType="RSA-2048", instance_id=INSTANCE_ID):
        """A new enabled, non-primary key, created now; a fresh RSA-2048 key when none is given.
        Returns its stored item."""
        if PublicKey is None:
            PublicKey = _spki_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        key_id = make_key_id("%s/%s/%s" % (instance_id, application_id, uuid.uuid4()))
        self.add_key(application_id, PublicKey, key_id=key_id, instance_id=instance_id, AlgorithmType=AlgorithmType,
                     create_time=int(self.now() * 1000))
        return self.key(key_id)

    def _located(self, key_id):
        """(list the key is in, its item) or (None, None)."""
        for apps in self.instances.values():
            for keys in apps.values():
                for item in keys:
                    if item["ClientPublicKeyId"] == key_id:
                        return keys, item
        return None, None

    def set_status(self, key_id, status):
        """'enabled' or 'disabled'; False when there is no such key."""
        with self._lock:
            _keys, item = self._located(key_id)
            if item is None:
                return False
            item["Status"] = status
            return True

    def delete_key(self, key_id):
        with self._lock:
            keys, item = self._located(key_id)
            if item is None:
                return False
            keys.remove(item)
            return True

    def set_primary(self, key_id):
        with self._lock:
            keys, item = self._located(key_id)
            if item is None:
                return False
            for other in keys:
                other["Primary"] = other is item
            return True

    def fingerprint(self, key_id):
        """SHA-256 fingerprint (hex) of the key the emulator serves under key_id."""
        return fingerprint_of_pem(self.key(key_id)["PublicKey"])

    def fingerprints(self, application_id=APPLICATION_ID, instance_id=INSTANCE_ID):
        return {item["ClientPublicKeyId"]: fingerprint_of_pem(item["PublicKey"])
                for item in self.keys_of(application_id, instance_id)}

    def throttle(self, times=1, code="Throttling.User", status=400, retry_after_ms=None):
        """The next `times` API calls are refused with a throttling error (before authentication)."""
        with self._lock:
            self._throttles.extend([(code, status, retry_after_ms)] * int(times))

    def now(self):
        return self.clock() + self.skew

    def reset(self):
        with self._lock:
            self._throttles = []
            self._nonces = {}
            self.skew = 0.0
            # the read actions always, a rotation action once it is called
            self.calls = {action: 0 for action in READ_ACTIONS}
            self.fetched = []  # (action, access key id, params) of every authenticated call

    # -- responses ---------------------------------------------------------------------------
    @staticmethod
    def _request_id():
        return str(uuid.uuid4()).upper()

    def error(self, status, code, message, headers=None):
        rid = self._request_id()
        body = {"RequestId": rid, "HostId": self.host_id, "Code": code, "Message": message,
                "Recommend": "https://api.aliyun.com/troubleshoot?q=%s&product=%s&requestId=%s" % (code, PRODUCT, rid)}
        hdrs = {"x-acs-request-id": rid, "Content-Type": "application/json;charset=utf-8"}
        hdrs.update(headers or {})
        return Response(status, json.dumps(body), hdrs)

    def _ok(self, obj):
        rid = self._request_id()
        body = {"RequestId": rid}
        body.update(obj)
        return Response(200, json.dumps(body), {"x-acs-request-id": rid,
                                                "Content-Type": "application/json;charset=utf-8"})

    def _reject(self, status, code, message):
        return _Reject(self.error(status, code, message))

    # -- authentication ----------------------------------------------------------------------
    def _incomplete(self, detail):
        return self._reject(400, "IncompleteSignature",
                            "The request signature does not conform to Aliyun standards. %s" % detail)

    def authenticate(self, request):
        """-> access key id; raises _Reject with the service's answer."""
        match = _AUTHORIZATION.match((request.header("Authorization") or "").strip())
        if not match:
            raise self._incomplete("The Authorization header is missing or is not "
                                   "'ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...'.")
        access_key_id, signed_text, claimed = match.groups()
        signed = signed_text.split(";")
        values = {}
        for name, value in request.headers.items():
            values.setdefault(name.lower(), []).append(value)
        if signed != sorted(set(signed)) or any(n != n.lower() for n in signed):
            raise self._incomplete("SignedHeaders must be lower-case names in ascending order.")
        required = _REQUIRED_SIGNED + (("x-acs-signature-nonce",) if self.require_nonce else ())
        for name in required:
            if name not in values:
                raise self._incomplete("The header %s is required." % name)
            if name not in signed:
                raise self._incomplete("The header %s must be signed." % name)
        for name in values:
            if (name.startswith("x-acs-") or name in ("host", "content-type")) and name not in signed:
                raise self._incomplete("The header %s is sent but not signed." % name)
        for name in signed:
            if name not in values:
                raise self._incomplete("The signed header %s is not in the request." % name)
        cred = self.credentials.get(access_key_id)
        if cred is None:
            raise self._reject(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        token = request.header("x-acs-security-token")
        if cred["security_token"] is not None:
            if token is None:
                raise self._reject(400, "MissingSecurityToken", "SecurityToken is mandatory for this access key.")
            if not hmac.compare_digest(token.encode("utf-8"), cred["security_token"].encode("utf-8")):
                raise self._reject(400, "InvalidSecurityToken.MismatchWithAccessKey",
                                   "Specified SecurityToken mismatch with the AccessKey.")
            if cred["token_expired"]:
                raise self._reject(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        elif token is not None:
            raise self._reject(400, "InvalidSecurityToken.MismatchWithAccessKey",
                               "Specified SecurityToken mismatch with the AccessKey.")
        date_text = request.header("x-acs-date") or ""
        when = _parse_date(date_text.strip())
        if when is None:
            raise self._reject(400, "IllegalTimestamp",
                               "The input parameter \"x-acs-date\" is not in the format YYYY-MM-DDThh:mm:ssZ (UTC).")
        now = self.now()
        if abs(when - now) > SKEW:
            raise self._reject(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        body_hash = hashlib.sha256(request.body or b"").hexdigest()
        canonical = server_canonical_request(request.method, request.raw_query, values, signed, request.body or b"")
        to_sign = "ACS3-HMAC-SHA256\n%s" % hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        expected = hmac.new(cred["secret"].encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        declared = (request.header("x-acs-content-sha256") or "").strip()
        if declared != body_hash or not hmac.compare_digest(expected, claimed):
            raise self._reject(400, "SignatureDoesNotMatch",
                               "Specified signature is not matched with our calculation. server string to sign is:%s"
                               % to_sign)
        nonce = request.header("x-acs-signature-nonce")
        if nonce is not None:
            with self._lock:
                for seen, at in list(self._nonces.items()):
                    if at < now - 2 * SKEW:
                        del self._nonces[seen]
                if (access_key_id, nonce) in self._nonces:
                    raise self._reject(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
                self._nonces[(access_key_id, nonce)] = now
        return access_key_id

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, request):
        try:
            if request.path != "/" or request.method not in ("GET", "POST"):
                raise self._reject(404, "InvalidAction.NotFound",
                                   "Specified api is not found, please check your url and method.")
            with self._lock:
                throttled = self._throttles.pop(0) if self._throttles else None
            if throttled:
                code, status, retry_after = throttled[0], throttled[1], throttled[2]
                headers = {"x-acs-retry-after": str(int(retry_after))} if retry_after is not None else None
                return self.error(status, code, THROTTLING_MESSAGES.get(code, "Request was denied due to flow control."),
                                  headers)
            access_key_id = self.authenticate(request)
            action = (request.header("x-acs-action") or "").strip()
            version = (request.header("x-acs-version") or "").strip()
            if version != API_VERSION:
                raise self._reject(400, "InvalidVersion", "Specified parameter Version is not valid.")
            if action not in ACTIONS:
                raise self._reject(404, "InvalidAction.NotFound",
                                   "Specified api is not found, please check your url and method.")
            params = dict(server_query_pairs(request.raw_query))
            content_type = (request.header("content-type") or "").lower()
            if request.method == "POST" and request.body and content_type.startswith("application/x-www-form-urlencoded"):
                params.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            with self._lock:
                self.calls[action] = self.calls.get(action, 0) + 1
                self.fetched.append((action, access_key_id, dict(params)))
            return getattr(self, _snake(action))(params)
        except _Reject as reject:
            return reject.response

    def control(self, name, request):
        if name == "alicloud/throttle" and request.method == "POST":
            spec = request.json() or {}
            self.throttle(spec.get("times", 1), spec.get("code", "Throttling.User"), spec.get("status", 400),
                          spec.get("retry_after_ms"))
            return Response.json(200, {"ok": True})
        if name == "alicloud/skew" and request.method == "POST":
            self.skew = float((request.json() or {}).get("seconds", 0))
            return Response.json(200, {"ok": True})
        if name == "alicloud/expire-security-tokens" and request.method == "POST":
            self.expire_security_tokens()
            return Response.json(200, {"ok": True})
        if name == "alicloud/stats" and request.method == "GET":
            return Response.json(200, {"calls": dict(self.calls)})
        if name.startswith("alicloud/keys/") and request.method == "POST":
            return self._control_key(name[len("alicloud/keys/"):], request.json() or {})
        return None

    def _control_key(self, operation, spec):
        """The rotation helpers over HTTP, for the demo playbook (no signature: test control)."""
        if operation == "create":
            item = self.create_key(spec.get("application_id", APPLICATION_ID))
            return Response.json(200, {"key_id": item["ClientPublicKeyId"], "fingerprint_sha256":
                                       fingerprint_of_pem(item["PublicKey"])})
        helpers = {"enable": lambda key_id: self.set_status(key_id, "enabled"),
                   "disable": lambda key_id: self.set_status(key_id, "disabled"),
                   "delete": self.delete_key, "primary": self.set_primary}
        if operation not in helpers:
            return None
        if not helpers[operation](spec.get("key_id")):
            return Response.json(404, {"error": "no key %s" % spec.get("key_id")})
        return Response.json(200, {"ok": True})

    # -- the API -----------------------------------------------------------------------------
    def _required(self, params, *names):
        for name in names:
            if not params.get(name):
                raise self._reject(400, "MissingParameter.%s" % name,
                                   "The input parameter \u201c%s\u201d that is mandatory for processing this request "
                                   "is not supplied." % name)
        return [params[name] for name in names]

    def _application(self, instance_id, application_id):
        apps = self.instances.get(instance_id)
        if apps is None:
            raise self._reject(404, NOT_FOUND_CODES["instance"], "The specified instance does not exist.")
        keys = apps.get(application_id)
        if keys is None:
            raise self._reject(404, NOT_FOUND_CODES["application"], "The specified application does not exist.")
        return keys

    def get_client_public_key(self, params):
        instance_id, application_id, key_id = self._required(params, "InstanceId", "ApplicationId", "ClientPublicKeyId")
        keys = self._application(instance_id, application_id)
        for item in keys:
            if item["ClientPublicKeyId"] == key_id:
                return self._ok({"ClientPublicKey": dict(item)})
        raise self._reject(404, NOT_FOUND_CODES["key"], "The specified client public key does not exist.")

    def _token(self, instance_id, application_id, offset):
        payload = "%s|%s|%d" % (instance_id, application_id, offset)
        mac = hmac.new(self._token_secret, payload.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(("%s|%s" % (payload, mac)).encode("utf-8")).decode("ascii").rstrip("=")

    def _offset(self, token, instance_id, application_id):
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
            inst, app, offset, mac = text.split("|")
            offset = int(offset)
        except (ValueError, UnicodeDecodeError):
            return None
        if (inst, app) != (instance_id, application_id) or offset < 0 \
                or not hmac.compare_digest(self._token(inst, app, offset), token):
            return None
        return offset

    def list_client_public_keys(self, params):
        instance_id, application_id = self._required(params, "InstanceId", "ApplicationId")
        raw_max = params.get("MaxResults")
        if raw_max in (None, ""):
            max_results = 20
        else:
            try:
                max_results = int(raw_max)
            except ValueError:
                max_results = 0
            if not 1 <= max_results <= 100:
                raise self._reject(400, "InvalidParameter.MaxResults",
                                   "The specified parameter MaxResults is not valid (1 to 100).")
        keys = self._application(instance_id, application_id)
        token = params.get("NextToken") or ""
        offset = 0
        if token:
            offset = self._offset(token, instance_id, application_id)
            if offset is None:
                raise self._reject(400, "InvalidParameter.NextToken", "The specified parameter NextToken is not valid.")
        with self._lock:
            snapshot = list(keys)
        page = snapshot[offset:offset + max_results]
        answer = {"TotalCount": len(snapshot), "MaxResults": max_results,
                  "ClientPublicKeys": [dict(item) for item in page]}
        if offset + max_results < len(snapshot):
            answer["NextToken"] = self._token(instance_id, application_id, offset + max_results)
        elif self.last_page_token is not None:
            answer["NextToken"] = self.last_page_token
        return self._ok(answer)

    def _key_in(self, params, *extra):
        """The stored item named by InstanceId/ApplicationId/ClientPublicKeyId (and its list)."""
        instance_id, application_id, key_id = self._required(params, "InstanceId", "ApplicationId", "ClientPublicKeyId",
                                                             *extra)[:3]
        keys = self._application(instance_id, application_id)
        for item in keys:
            if item["ClientPublicKeyId"] == key_id:
                return item
        raise self._reject(404, NOT_FOUND_CODES["key"], "The specified client public key does not exist.")

    def _client_token(self, params):
        token = params.get("ClientToken") or ""
        if len(token) > MAX_CLIENT_TOKEN or any(ord(ch) > 127 for ch in token):
            raise self._reject(400, "InvalidParameter.ClientToken",
                               "The specified parameter ClientToken is not valid (ASCII, at most 64 characters).")
        return token

    def create_client_public_key(self, params):
        instance_id, application_id, public_key, algorithm, _token = self._required(
            params, "InstanceId", "ApplicationId", "PublicKey", "AlgorithmType", "ClientToken")
        token = self._client_token(params)
        self._application(instance_id, application_id)
        request = (instance_id, application_id, public_key, algorithm)
        with self._lock:
            earlier = self._client_tokens.get(token)
        if earlier is not None:
            if earlier[0] != request:
                raise self._reject(400, "IdempotentParameterMismatch",
                                   "The request uses the same client token as a previous, but non-identical request.")
            return self._ok({"ClientPublicKeyId": earlier[1]})
        if algorithm not in ALGORITHM_TYPES:
            raise self._reject(400, "InvalidParameter.AlgorithmType", "The specified parameter AlgorithmType is not valid.")
        text = public_key.replace("\r\n", "\n").strip()
        try:
            if not (text.startswith("-----BEGIN PUBLIC KEY-----") and text.endswith("-----END PUBLIC KEY-----")):
                raise ValueError("not an SPKI PEM")
            serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise self._reject(400, "InvalidParameter.PublicKey",
                               "The specified parameter PublicKey is not a valid SPKI PEM public key.")
        item = self.create_key(application_id, PublicKey=public_key, AlgorithmType=algorithm, instance_id=instance_id)
        with self._lock:
            self._client_tokens[token] = (request, item["ClientPublicKeyId"])
        return self._ok({"ClientPublicKeyId": item["ClientPublicKeyId"]})

    def set_primary_client_public_key(self, params):
        item = self._key_in(params, "ClientToken")
        self._client_token(params)
        self.set_primary(item["ClientPublicKeyId"])
        return self._ok({})

    def _unless_primary(self, item, what):
        if item["Primary"]:
            raise self._reject(400, "OperationDenied.PrimaryClientPublicKey",
                               "The primary client public key cannot be %s; make another key primary first." % what)

    def enable_client_public_key(self, params):
        item = self._key_in(params)
        self._client_token(params)
        self.set_status(item["ClientPublicKeyId"], "enabled")
        return self._ok({})

    def disable_client_public_key(self, params):
        item = self._key_in(params)
        self._client_token(params)
        self._unless_primary(item, "disabled")
        self.set_status(item["ClientPublicKeyId"], "disabled")
        return self._ok({})

    def delete_client_public_key(self, params):
        item = self._key_in(params)
        self._unless_primary(item, "deleted")
        self.delete_key(item["ClientPublicKeyId"])
        return self._ok({})


def _snake(action):
    """GetClientPublicKey -> get_client_public_key: the method that answers an action."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower()


def main(argv=None):
    from ansible_collections.keyward.keys.tests.emulators._server import run_standalone

    run_standalone(__doc__.splitlines()[0], lambda args: AlibabaIdaasEmulator(), lambda app, server, pki, args: {
        "region_id": REGION_ID, "instance_id": INSTANCE_ID, "application_id": APPLICATION_ID,
        "empty_application_id": EMPTY_APPLICATION_ID, "broken_application_id": BROKEN_APPLICATION_ID,
        "rotation_application_id": ROTATION_APPLICATION_ID,
        "access_key_id": ACCESS_KEY_ID, "access_key_secret": ACCESS_KEY_SECRET,
        "sts_access_key_id": STS_ACCESS_KEY_ID, "sts_access_key_secret": STS_ACCESS_KEY_SECRET,
        "security_token": SECURITY_TOKEN, "key_ids": KEY_IDS, "fingerprints": app.fingerprints(),
        "env": {"ALIBABA_CLOUD_REGION_ID": REGION_ID, "ALIBABA_CLOUD_IDAAS_ENDPOINT": server.url,
                "ALIBABA_CLOUD_ACCESS_KEY_ID": ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ACCESS_KEY_SECRET},
        # instance_id and application_id have no environment variable: options of the call
        "lookup": "lookup('keyward.keys.alicloud_idaas_client_public_key', '%s', instance_id='%s', application_id='%s')"
                  % (KEY_IDS["primary"], INSTANCE_ID, APPLICATION_ID)}, argv)


if __name__ == "__main__":
    main()
