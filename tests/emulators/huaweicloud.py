"""Huawei Cloud KMS (get-publickey) and IAM (token, projects) emulator.

What the emulator checks, the way the service and its API gateway do:

- AK/SK requests: the "SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=..." header is
  parsed and the signature recomputed here from the request as received (method, raw path,
  query string, the signed headers' values, the body bytes), by an implementation of the
  signing guide that is independent of the collection's signer. X-Sdk-Date must be within
  15 minutes of the emulator's clock; X-Sdk-Date must be signed (Host need not be: the
  official Go SDK never signs it and the real gateway accepts that), and so must
  X-Project-Id and X-Security-Token whenever they are sent. Temporary keys need their
  X-Security-Token.
- X-Auth-Token requests: the token must be one this emulator issued (POST /v3/auth/tokens or
  issue_token()), not expired, and scoped to the project of the URL.
- Gateway failures answer in the gateway's flat shape
  {"error_code": "APIGW.0301", "error_msg": ..., "request_id": ...} with HTTP 401; KMS failures
  in KMS's nested shape {"error": {"error_code": "KMS.0207", "error_msg": ...}}; IAM login
  failures in Keystone's {"error": {"code": 401, "message": ..., "title": ...}}.
- Every answer carries an X-Request-Id header.

KMS error codes (Huawei's KMS error-code table): unknown key 404 KMS.0207, disabled key 400
KMS.0209, pending deletion 400 KMS.0210, malformed key_id 400 KMS.0205, bad sequence 400
KMS.0206, token for another project 403 KMS.0321. The code for a symmetric key is not
documented; the emulator answers 400 KMS.0308 ("Invalid parameter."), an assumption.

Run standalone for the demo:
  python -m ansible_collections.keyward.keys.tests.emulators.huaweicloud [--port N] [--tls DIR]
prints one JSON line with the URL, credentials and key IDs, then serves until interrupted.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
import threading
import time
import uuid
from urllib.parse import quote, unquote

from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators._server import Response

REGION = "cn-north-4"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
DOMAIN_NAME = "keyward-domain"
DOMAIN_ID = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
ACCESS_KEY = "HWKEYWARDTESTAK00001"
SECRET_KEY = "hwSecretKeyForKeywardTests0000000000000001"
TEMP_ACCESS_KEY = "HWKEYWARDTEMPAK00002"
TEMP_SECRET_KEY = "hwTemporarySecretKeyForKeywardTests00000002"
TEMP_SECURITY_TOKEN = "gQpjbi1ub3J0aC00hwTemporarySecurityTokenForKeywardTests"
USERNAME = "keyward-user"
PASSWORD = "Keyward-Passw0rd!"
SKEW = 15 * 60

# The key of the KMS API page's example response, verbatim: PKCS#1 RSA-4096 DER under a
# "PUBLIC KEY" label, CRLF line endings, trailing CRLF.
DOC_EXAMPLE_KEY_ID = "bb6a3d22-dc93-47ac-b5bd-88df7ad35f1e"
DOC_EXAMPLE_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\r\n"
    "MIICCgKCAgEA3RQAXXwya9k4zV1/Q3AFr37GO8JgFobDKZioAklLQdgElHZ/uxmP\r\n"
    "4bveNHpY6OI0Okk/1Ov8oJf+9W10VqVxbzihWa5n/RMN0720DzLV7KuH4YylCGDb\r\n"
    "3JH/+bMbhF2qRArrrKod0kR9rYHrdPkI7O5fYQQprZ3kWnPgrhDoDFC8ja+OelOg\r\n"
    "n4MMOGGYA/DAOb0XyxPnGl26PnUtvvF7aZbMW5x/Yq2yAVFE1cjqLaH7/j1C8KYE\r\n"
    "aOSYtl2nOif28WoweFavXpgVsb/iICTfqgC91BtCSFC5pT8vqZCimfoHmJCAkZa5\r\n"
    "Z8QIqkOOf9F6iMqqIz7pGKgQSUmoKKY9j6DK3OwXDOB5gKu0vyuz+gW3b4SZn+Xa\r\n"
    "KkEN8ZpXsdQdEGpe4SwIzSVyUGYNBOCLrsydBcPR7jWgQ6gs56IJrV2pdAtmBwKd\r\n"
    "6l33z1tQ7+/h3IrZxXuuej/fRRUMlbVcmhTS2l6vle7HXgZj/dWzPsLLg9MGHu0+\r\n"
    "o9PRr+brxTbrf5e2Zdr1ad35X/b86gx7Grg1sYPkly2aEI4fsnDGPgFrudG+Hzx/\r\n"
    "ABHejYfJEI6P0SXCzB/oDMkjw6XKhTSojMzuncAP/AM+0LVYQxQe750qkb3hjBT0\r\n"
    "q/HBl/4zMXA03tMb9QySnLK63uo64JMJiBsEe7wPLhHB3VzBZk9SvvECAwEAAQ==\r\n"
    "-----END PUBLIC KEY-----\r\n"
)

# Stable key IDs for tests and the demo: name -> key_id.
KEY_IDS = {
    "rsa2048": "1a2b3c4d-0001-4000-8000-000000002048",
    "rsa3072_pkcs1": "1a2b3c4d-0002-4000-8000-000000003072",
    "rsa4096_crlf": "1a2b3c4d-0003-4000-8000-000000004096",
    "doc_example": DOC_EXAMPLE_KEY_ID,
    "ec_p256": "1a2b3c4d-0004-4000-8000-0000000000p2",
    "ec_p384": "1a2b3c4d-0005-4000-8000-0000000000p3",
    "sm2": "1a2b3c4d-0006-4000-8000-000000000sm2",
    "disabled": "1a2b3c4d-0007-4000-8000-0000disabled",
    "pending_deletion": "1a2b3c4d-0008-4000-8000-00000deleted",
    "symmetric": "1a2b3c4d-0009-4000-8000-000000aes256",
}
UNKNOWN_KEY_ID = "1a2b3c4d-00ff-4000-8000-00000unknown"

# The SM2 curve's base point as a public key: a valid point, enough for a recognisable SPKI.
_SM2_GX = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
_SM2_GY = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"


def sm2_spki_pem():
    """SubjectPublicKeyInfo of an SM2 key (id-ecPublicKey with curve sm2p256v1), as KMS sends SM2 keys."""
    import base64
    point = bytes.fromhex("04" + _SM2_GX + _SM2_GY)
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d")
    bitstring = b"\x03" + bytes([len(point) + 1]) + b"\x00" + point
    body = algorithm + bitstring
    der = b"\x30" + bytes([len(body)]) + body
    b64 = base64.b64encode(der).decode("ascii")
    return "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n" % "\n".join(
        b64[i:i + 64] for i in range(0, len(b64), 64))


def _pkcs1_under_public_key_label(private_key, newline="\r\n"):
    """The documentation's shape: PKCS#1 RSAPublicKey DER armoured as 'PUBLIC KEY', CRLF."""
    import base64
    der = private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    b64 = base64.b64encode(der).decode("ascii")
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return newline.join(["-----BEGIN PUBLIC KEY-----"] + lines + ["-----END PUBLIC KEY-----"]) + newline


def standard_keys():
    """key_id -> dict(public_key, state, spec): one key of every shape the service may return."""
    return {
        KEY_IDS["rsa2048"]: dict(public_key=testkeys.spki_pem(testkeys.rsa_key(2048)), spec="RSA_2048"),
        KEY_IDS["rsa3072_pkcs1"]: dict(public_key=_pkcs1_under_public_key_label(testkeys.rsa_key(3072)), spec="RSA_3072"),
        KEY_IDS["rsa4096_crlf"]: dict(public_key=testkeys.spki_pem(testkeys.rsa_key(4096)).replace("\n", "\r\n"),
                                      spec="RSA_4096"),
        DOC_EXAMPLE_KEY_ID: dict(public_key=DOC_EXAMPLE_PUBLIC_KEY, spec="RSA_4096"),
        KEY_IDS["ec_p256"]: dict(public_key=testkeys.spki_pem(testkeys.ec_key("secp256r1")), spec="EC_P256"),
        KEY_IDS["ec_p384"]: dict(public_key=testkeys.spki_pem(testkeys.ec_key("secp384r1")).replace("\n", "\r\n"),
                                 spec="EC_P384"),
        KEY_IDS["sm2"]: dict(public_key=sm2_spki_pem(), spec="SM2"),
        KEY_IDS["disabled"]: dict(public_key=testkeys.spki_pem(testkeys.rsa_key(2048, slot=1)), spec="RSA_2048",
                                  state="3"),
        KEY_IDS["pending_deletion"]: dict(public_key=testkeys.spki_pem(testkeys.ec_key("secp256r1", slot=1)),
                                          spec="EC_P256", state="4"),
        KEY_IDS["symmetric"]: dict(public_key=None, spec="AES_256"),
    }


# --- signature verification, written from the signing guide (independent of the client) ------

_AUTH = re.compile(r"^SDK-HMAC-SHA256 Access=([^,\s]+), SignedHeaders=([a-z0-9;\-]+), Signature=([0-9a-f]{64})$")
_UNRESERVED = "-_.~"


def _pct(text):
    return quote(text, safe=_UNRESERVED)


def server_canonical_request(method, raw_path, raw_query, header_lookup, signed, body):
    """What the gateway hashes: computed from the request exactly as it arrived."""
    segments = unquote(raw_path).split("/")
    uri = "/".join(_pct(s) for s in segments)
    if not uri.endswith("/"):
        uri += "/"
    pairs = []
    for item in raw_query.split("&") if raw_query else []:
        if item:
            name, _sep, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    query = "&".join("%s=%s" % (_pct(n), _pct(v)) for n, v in sorted(pairs))
    lines = "".join("%s:%s\n" % (name, (header_lookup(name) or "").strip()) for name in signed)
    declared = header_lookup("x-sdk-content-sha256")
    if not body:
        digest = hashlib.sha256(b"").hexdigest()
    elif declared:
        digest = declared.strip()
    else:
        digest = hashlib.sha256(body).hexdigest()
    return "%s\n%s\n%s\n%s\n%s\n%s" % (method.upper(), uri, query, lines, ";".join(signed), digest)


def _iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Reject(Exception):
    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


class HuaweiCloudEmulator(object):
    """KMS get-publickey plus IAM POST /v3/auth/tokens and GET /v3/projects on one server."""

    def __init__(self, region=REGION, project_id=PROJECT_ID, keys=None, clock=time.time, token_ttl=86400):
        self.region = region
        self.project_id = project_id
        self.clock = clock
        self.token_ttl = token_ttl
        self._lock = threading.Lock()
        self.projects = [{"id": project_id, "name": region, "domain_id": DOMAIN_ID, "enabled": True,
                          "description": "", "parent_id": DOMAIN_ID, "is_domain": False}]
        self.credentials = {}
        self.users = {}
        self.keys = dict(standard_keys() if keys is None else keys)
        self.tokens = {}
        self.add_credential(ACCESS_KEY, SECRET_KEY)
        self.add_credential(TEMP_ACCESS_KEY, TEMP_SECRET_KEY, security_token=TEMP_SECURITY_TOKEN)
        self.add_user(USERNAME, PASSWORD)
        self.reset()

    # -- set-up ------------------------------------------------------------------------------
    def add_credential(self, access_key, secret_key, security_token=None):
        self.credentials[access_key] = {"sk": secret_key, "security_token": security_token}

    def add_user(self, name, password, domain=DOMAIN_NAME):
        self.users[(domain, name)] = password

    def add_key(self, key_id, public_key, state="2", spec="RSA_2048"):
        self.keys[key_id] = dict(public_key=public_key, state=state, spec=spec)

    def issue_token(self, project_id=None, ttl=None, user=USERNAME):
        """A token as IAM would issue it; ttl < 0 gives one that has already expired."""
        token = "MIIT" + secrets.token_urlsafe(96)
        now = self.clock()
        with self._lock:
            self.tokens[token] = {"project_id": project_id or self.project_id, "user": user,
                                  "expires": now + (self.token_ttl if ttl is None else ttl), "issued": now}
        return token

    def expire_tokens(self):
        with self._lock:
            for info in self.tokens.values():
                info["expires"] = self.clock() - 1

    def reset(self):
        with self._lock:
            self.logins = 0
            self.project_lookups = 0
            self.kms_calls = 0
            self.fetched = []  # (key_id, who) of every get-publickey request that passed authentication

    # -- responses ---------------------------------------------------------------------------
    @staticmethod
    def _request_id():
        return uuid.uuid4().hex

    def _gateway_error(self, status, code, message):
        rid = self._request_id()
        return Response.json(status, {"error_msg": message, "error_code": code, "request_id": rid},
                             {"X-Request-Id": rid})

    def _kms_error(self, status, code, message):
        return Response.json(status, {"error": {"error_code": code, "error_msg": message}},
                             {"X-Request-Id": self._request_id()})

    def _iam_error(self, status, title, message):
        return Response.json(status, {"error": {"code": status, "title": title, "message": message}},
                             {"X-Request-Id": self._request_id()})

    def _ok(self, status, obj, headers=None):
        hdrs = {"X-Request-Id": self._request_id()}
        hdrs.update(headers or {})
        return Response.json(status, obj, hdrs)

    # -- authentication (the gateway's part) -------------------------------------------------
    def _auth_failure(self, detail):
        return _Reject(self._gateway_error(401, "APIGW.0301", "Incorrect IAM authentication information: " + detail))

    def verify_aksk(self, request):
        """-> access key; raises _Reject with the gateway's answer."""
        match = _AUTH.match((request.header("Authorization") or "").strip())
        if not match:
            raise self._auth_failure("verify aksk signature fail, invalid Authorization header")
        access_key, signed_text, claimed = match.groups()
        cred = self.credentials.get(access_key)
        if cred is None:
            raise self._auth_failure("Get secretKey failed,ak:%s,err:ak not exist" % access_key)
        signed = signed_text.split(";")
        # The real gateway accepts any consistently signed set that includes X-Sdk-Date: the
        # official Go SDK signs nothing else (not even Host), the Python SDK adds Host and more.
        if signed != sorted(signed) or "x-sdk-date" not in signed:
            raise self._auth_failure("verify aksk signature fail, x-sdk-date must be signed")
        for name in ("x-project-id", "x-security-token"):
            if request.header(name) is not None and name not in signed:
                raise self._auth_failure("verify aksk signature fail, %s is sent but not signed" % name)
        date_text = request.header("X-Sdk-Date") or ""
        try:
            when = datetime.datetime.strptime(date_text, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise self._auth_failure("verify aksk signature fail, X-Sdk-Date %r is not YYYYMMDDTHHMMSSZ" % date_text)
        if abs(when.timestamp() - self.clock()) > SKEW:
            raise self._auth_failure("calc ak sk signature fail:signature expired")
        if cred["security_token"] is not None and request.header("X-Security-Token") != cred["security_token"]:
            raise self._auth_failure("verify security token fail")
        canonical = server_canonical_request(request.method, request.path, request.raw_query, request.header,
                                             signed, request.body)
        to_sign = "SDK-HMAC-SHA256\n%s\n%s" % (date_text, hashlib.sha256(canonical.encode("utf-8")).hexdigest())
        expected = hmac.new(cred["sk"].encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, claimed):
            raise self._auth_failure("verify aksk signature fail")
        return access_key

    def verify_token(self, request):
        """-> token info; raises _Reject."""
        token = request.header("X-Auth-Token")
        with self._lock:
            info = self.tokens.get(token)
        if info is None:
            raise self._auth_failure("decrypt token fail")
        if info["expires"] <= self.clock():
            raise self._auth_failure("token expires, expires_at: %s" % _iso(info["expires"]))
        return info

    def authenticate(self, request):
        """('token', info) or ('aksk', access key); raises _Reject."""
        if request.header("X-Auth-Token"):
            return "token", self.verify_token(request)
        if request.header("Authorization"):
            return "aksk", self.verify_aksk(request)
        raise self._auth_failure("x-auth-token not found")

    # -- dispatch ----------------------------------------------------------------------------
    def handle(self, request):
        try:
            if request.path == "/v3/auth/tokens" and request.method == "POST":
                return self.iam_token(request)
            if request.path == "/v3/projects" and request.method == "GET":
                return self.iam_projects(request)
            match = re.match(r"^/v1\.0/([^/]+)/kms/get-publickey$", request.path)
            if match and request.method == "POST":
                return self.kms_get_public_key(request, match.group(1))
        except _Reject as reject:
            return reject.response
        return self._gateway_error(404, "APIGW.0101", "The API does not exist or has not been published in the environment")

    def control(self, name, request):
        if name == "huaweicloud/token" and request.method == "POST":
            spec = request.json() or {}
            return Response.json(200, {"token": self.issue_token(spec.get("project_id"), spec.get("ttl"))})
        if name == "huaweicloud/expire-tokens" and request.method == "POST":
            self.expire_tokens()
            return Response.json(200, {"ok": True})
        if name == "huaweicloud/stats" and request.method == "GET":
            return Response.json(200, {"logins": self.logins, "project_lookups": self.project_lookups,
                                       "kms_calls": self.kms_calls})
        return None

    # -- IAM -----------------------------------------------------------------------------------
    def iam_token(self, request):
        try:
            body = request.json() or {}
            auth = body["auth"]
            identity = auth["identity"]
            user = identity["password"]["user"]
            name, password, domain = user["name"], user["password"], user["domain"]["name"]
        except (ValueError, KeyError, TypeError):
            return self._iam_error(400, "Bad Request", "The request body is invalid.")
        if "password" not in identity.get("methods", []):
            return self._iam_error(400, "Bad Request", "The request body is invalid.")
        with self._lock:
            self.logins += 1
        expected = self.users.get((domain, name))
        if expected is None or not hmac.compare_digest(expected.encode("utf-8"), str(password).encode("utf-8")):
            return self._iam_error(401, "Unauthorized", "The username or password is wrong.")
        scope = ((auth.get("scope") or {}).get("project")) or {}
        project = None
        for candidate in self.projects:
            if scope.get("id") == candidate["id"] or (scope.get("name") and scope.get("name") == candidate["name"]):
                project = candidate
        if project is None:
            return self._iam_error(400, "Bad Request", "The project in the scope does not exist.")
        token = self.issue_token(project["id"], user=name)
        info = self.tokens[token]
        result = {"token": {
            "expires_at": _iso(info["expires"]), "issued_at": _iso(info["issued"]), "methods": ["password"],
            "project": {"id": project["id"], "name": project["name"], "domain": {"id": DOMAIN_ID, "name": domain}},
            "user": {"id": "u" * 32, "name": name, "domain": {"id": DOMAIN_ID, "name": domain},
                     "password_expires_at": ""},
            "roles": [{"id": "0", "name": "op_fine_grained"}],
        }}
        if not request.query.get("nocatalog"):
            result["token"]["catalog"] = [{"type": "kms", "id": "k" * 32, "name": "kms", "endpoints": []}]
        return self._ok(201, result, {"X-Subject-Token": token})

    def iam_projects(self, request):
        self.authenticate(request)
        with self._lock:
            self.project_lookups += 1
        name = request.query.get("name")
        projects = [p for p in self.projects if name is None or p["name"] == name]
        return self._ok(200, {"projects": projects, "links": {"self": "/v3/projects", "previous": None, "next": None}})

    # -- KMS -----------------------------------------------------------------------------------
    def kms_get_public_key(self, request, project_id):
        kind, info = self.authenticate(request)
        if kind == "token" and info["project_id"] != project_id:
            return self._kms_error(403, "KMS.0321", "The project ID in the URL does not match the one in the X-Auth-Token.")
        if kind == "aksk" and request.header("X-Project-Id") not in (None, project_id):
            return self._kms_error(403, "KMS.0321", "The project ID in the URL does not match X-Project-Id.")
        if project_id not in {p["id"] for p in self.projects}:
            return self._kms_error(403, "KMS.0305", "Invalid X-Auth-Token Project Name.")
        with self._lock:
            self.kms_calls += 1
        try:
            body = request.json()
        except ValueError:
            return self._kms_error(400, "KMS.0202", "Invalid JSON format of the request message.")
        if not isinstance(body, dict) or "key_id" not in body:
            return self._kms_error(400, "KMS.0204", "Parameters missing in the request message.")
        key_id = body["key_id"]
        with self._lock:
            self.fetched.append((key_id, "token" if kind == "token" else info))
        if not isinstance(key_id, str) or not re.match(r"^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$", key_id):
            return self._kms_error(400, "KMS.0205", "Invalid key ID.")
        sequence = body.get("sequence")
        if sequence is not None and (not isinstance(sequence, str) or len(sequence) != 36):
            return self._kms_error(400, "KMS.0206", "Invalid sequence number.")
        key = self.keys.get(key_id)
        if key is None:
            return self._kms_error(404, "KMS.0207", "The key does not exist.")
        state = key.get("state", "2")
        if state == "3":
            return self._kms_error(400, "KMS.0209", "The key has been disabled.")
        if state == "4":
            return self._kms_error(400, "KMS.0210", "The key is in Scheduled deletion state and cannot be used.")
        if key.get("public_key") is None:
            return self._kms_error(400, "KMS.0308", "Invalid parameter.")
        return self._ok(200, {"key_id": key_id, "public_key": key["public_key"]})


def main(argv=None):
    from ansible_collections.keyward.keys.tests.emulators._server import run_standalone

    run_standalone(__doc__.splitlines()[0], lambda args: HuaweiCloudEmulator(), lambda app, server, pki, args: {
        "region": REGION, "project_id": PROJECT_ID, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
        "username": USERNAME, "password": PASSWORD, "domain_name": DOMAIN_NAME, "key_ids": KEY_IDS,
        # KMS and IAM are both served here; AK/SK signing (the password login works too)
        "env": {"HUAWEICLOUD_SDK_REGION": REGION, "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT_ID,
                "HUAWEICLOUD_SDK_AK": ACCESS_KEY, "HUAWEICLOUD_SDK_SK": SECRET_KEY,
                "HUAWEICLOUD_KMS_ENDPOINT": server.url, "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url},
        "lookup": "lookup('keyward.keys.huaweicloud_kms_public_key', '%s')" % KEY_IDS["rsa2048"]}, argv)


if __name__ == "__main__":
    main()
