"""NAVER Cloud Platform KMS API 2.0 emulator: Get Public Key behind the API Gateway.

  POST {base}/keys/{keyTag}/get-pub-key     base /kms/v1, as on https://ocapi.ncloud.com/kms/v1
  body {"keyVersion": n} optional (1-100); without it, the key's latest (current) version

The gateway's part, checked before KMS sees anything:
- the three headers x-ncp-apigw-timestamp, x-ncp-iam-access-key, x-ncp-apigw-signature-v2 must
  all be there; the signature is recomputed here from the request line exactly as it arrived
  (METHOD, the raw request-target with its query string, the timestamp header, the access key),
  by code written from NAVER's signing guide, independent of the collection's signer;
- the timestamp (milliseconds) must be less than 5 minutes away from the emulator's clock;
- failures answer in the gateway's shape {"error": {"errorCode": "200", "message":
  "Authentication Failed", "details": "..."}} with HTTP 401 (codes and statuses of NAVER's
  API Gateway error table; errorCode is sent as text, as the real gateway does). Unknown paths
  answer 404 / errorCode "300" "Not Found Exception".

KMS's part: {"code": "SUCCESS", "data": {"publicKey": "<SPKI PEM>"}} (the documented response;
it names no version), failures as {"code": ..., "msg": ...} (the envelope of KMS API 1.0, which
also carries "msg"). NAVER has not published the 2.0 status-code table, so the codes below are
ASSUMPTIONS: the code names FORBIDDEN, INVALID_REQUEST and UNPROCESSABLE_ENTITY ("Invalid status")
come from the KMS 1.0 error table, NOT_FOUND is invented, and the HTTP statuses are the natural ones
for those names. They live in KMS_ERRORS, one place to correct them:
  unknown keyTag                            404 NOT_FOUND
  key not ENABLE (DISABLE, REVOKE)          422 UNPROCESSABLE_ENTITY
  AES256 key (no public key)                400 INVALID_REQUEST
  keyVersion not an integer in 1-100, or a body that is not JSON     400 INVALID_REQUEST
  keyVersion in range but no such version   404 NOT_FOUND
  disabled version (also when it is the latest and no version was asked)   422 UNPROCESSABLE_ENTITY
  access key without KMS permission         gateway 401 / errorCode "210" "Permission Denied"
Every answer carries an x-ncp-trace-id header.

fail_next() queues answers that are 2xx but not SUCCESS (after authentication), to test the
client's envelope check; EmulatorServer's generic faults cover transport failures.

delay (seconds per answer) and max_in_flight show whether a client fetches keys concurrently.

For the demo, in process: EmulatorServer(NcloudKmsEmulator(), tls=pki), then demo_vars(server.url,
pki["ca.pem"]) gives the keyward_ncloud_* extra vars and the keyTags. Or standalone:
  python -m ansible_collections.keyward.keys.tests.emulators.ncloud_kms [--port N] [--tls DIR]
prints one JSON line with the URL, the KMS endpoint, credentials, keyTags and fingerprints, then
serves until interrupted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading
import time
import uuid

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators._server import Response

BASE_PATH = "/kms/v1"
ACCESS_KEY = "ncp_iam_BPAMKR1KEYWARDTEST01"
SECRET_KEY = "ncp_iam_BPKMKRkeywardSecretKeyForTests0000001"
DENIED_ACCESS_KEY = "ncp_iam_BPAMKR1KEYWARDNOKMS2"  # a sub account without KMS permission
DENIED_SECRET_KEY = "ncp_iam_BPKMKRkeywardSecretKeyNoKmsRights02"
SKEW_MS = 5 * 60 * 1000  # refused when the timestamp is this far away or more
MAX_VERSION = 100

TIMESTAMP_HEADER = "x-ncp-apigw-timestamp"
ACCESS_KEY_HEADER = "x-ncp-iam-access-key"
SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"

# The API page's example keyTag, verbatim.
DOC_EXAMPLE_KEY_TAG = "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6"

# Stable keyTags for tests and the demo: name -> keyTag (52 characters, like the service's).
KEY_TAGS = {
    "doc_example": DOC_EXAMPLE_KEY_TAG,
    "rsa": "kwRsa2048x3versionsVersion2Disabled00000000000000001",
    "ecdsa": "kwEcdsaP256x2versions0000000000000000000000000000002",
    "aes": "kwAes256SymmetricNoPublicKey000000000000000000000003",
    "disabled": "kwRsa2048KeyStatusDisable000000000000000000000000004",
    "revoked": "kwEcdsaKeyStatusRevoke000000000000000000000000000005",
    "latest_disabled": "kwRsa2048LatestVersionDisabled0000000000000000000006",
}
UNKNOWN_KEY_TAG = "kwNoSuchKeyTag00000000000000000000000000000000000099"

# KMS error answers: name -> (HTTP status, code, msg). See the module docstring: assumptions.
KMS_ERRORS = {
    "not_found": (404, "NOT_FOUND", "Key not found"),
    "version_not_found": (404, "NOT_FOUND", "Key version not found"),
    "invalid_status": (422, "UNPROCESSABLE_ENTITY", "Invalid status"),
    "invalid_request": (400, "INVALID_REQUEST", "Invalid request"),
}

# API Gateway errors: name -> (HTTP status, errorCode, message, details).
GATEWAY_ERRORS = {
    "missing": (401, "200", "Authentication Failed", "Authentication information are missing."),
    "invalid": (401, "200", "Authentication Failed", "Invalid authentication information."),
    # not documented; the real gateway's details text for a stale timestamp is unknown
    "timestamp": (401, "200", "Authentication Failed", "Invalid timestamp."),
    "denied": (401, "210", "Permission Denied", "You do not have permission to use this API."),
    "not_found": (404, "300", "Not Found Exception", "Not Found"),
}

_ROUTE = re.compile(r"^%s/keys/([^/]+)/get-pub-key$" % re.escape(BASE_PATH))


def _version(private_key, enabled=True):
    return {"private_key": private_key, "enabled": enabled}


def standard_keys():
    """keyTag -> {"key_type", "status", "versions": {n: {"private_key", "enabled"}}}.

    RSA keys are RSA2048 and ECDSA keys P-256, the asymmetric key types KMS offers.
    """
    rsa = testkeys.rsa_key
    ec = testkeys.ec_key
    return {
        KEY_TAGS["doc_example"]: dict(key_type="RSA2048", status="ENABLE",
                                      versions={1: _version(rsa(2048, slot=201)), 2: _version(rsa(2048, slot=202))}),
        KEY_TAGS["rsa"]: dict(key_type="RSA2048", status="ENABLE", versions={
            1: _version(rsa(2048, slot=211)), 2: _version(rsa(2048, slot=212), enabled=False),
            3: _version(rsa(2048, slot=213))}),
        KEY_TAGS["ecdsa"]: dict(key_type="ECDSA", status="ENABLE", versions={
            1: _version(ec("secp256r1", slot=221)), 2: _version(ec("secp256r1", slot=222))}),
        KEY_TAGS["aes"]: dict(key_type="AES256", status="ENABLE", versions={1: _version(None)}),
        KEY_TAGS["disabled"]: dict(key_type="RSA2048", status="DISABLE", versions={1: _version(rsa(2048, slot=231))}),
        KEY_TAGS["revoked"]: dict(key_type="ECDSA", status="REVOKE", versions={1: _version(ec("secp256r1", slot=241))}),
        KEY_TAGS["latest_disabled"]: dict(key_type="RSA2048", status="ENABLE", versions={
            1: _version(rsa(2048, slot=251)), 2: _version(rsa(2048, slot=252), enabled=False)}),
    }


def server_signature(secret_key, method, target, timestamp, access_key):
    """What the gateway expects: written from NAVER's signing guide, not from the collection's signer."""
    message = "\n".join(("%s %s" % (method, target), timestamp, access_key)).encode("utf-8")
    mac = hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


class _Reject(Exception):
    def __init__(self, response):
        super().__init__(response.status)
        self.response = response


class NcloudKmsEmulator(object):
    """The API Gateway's signature check plus KMS Get Public Key, for EmulatorServer."""

    def __init__(self, keys=None, clock=time.time, delay=0.0):
        self.clock = clock
        self.delay = delay  # seconds KMS takes per get-pub-key answer (after the gateway), to show concurrency
        self._lock = threading.Lock()
        self.keys = dict(standard_keys() if keys is None else keys)
        self.credentials = {}
        self.add_credential(ACCESS_KEY, SECRET_KEY)
        self.add_credential(DENIED_ACCESS_KEY, DENIED_SECRET_KEY, kms_allowed=False)
        self.reset()

    # -- set-up ------------------------------------------------------------------------------
    def add_credential(self, access_key, secret_key, kms_allowed=True):
        self.credentials[access_key] = {"secret_key": secret_key, "kms_allowed": kms_allowed}

    def add_key(self, key_tag, key_type, versions, status="ENABLE"):
        """versions: {n: private key or None (symmetric)} or {n: {"private_key", "enabled"}}."""
        normal = {}
        for number, value in versions.items():
            normal[int(number)] = value if isinstance(value, dict) else _version(value)
        self.keys[key_tag] = dict(key_type=key_type, status=status, versions=normal)

    def reset(self):
        with self._lock:
            self.fetched = []  # (keyTag, version asked or None, access key) that passed the gateway
            self.kms_calls = 0
            self.in_flight = 0
            self.max_in_flight = 0  # the most get-pub-key requests KMS was working on at once
            self._envelope_faults = []

    def fail_next(self, code="FAILURE", msg="The request could not be processed.", status=200, count=1,
                  data=None):
        """The next `count` authenticated get-pub-key requests answer {"code": code, "msg": msg} with status."""
        body = {"code": code, "msg": msg}
        if data is not None:
            body["data"] = data
        with self._lock:
            self._envelope_faults.extend([(status, body)] * count)

    # -- the keys, for tests -------------------------------------------------------------------
    def latest_version(self, key_tag):
        return max(self.keys[key_tag]["versions"])

    def _private(self, key_tag, version=None):
        key = self.keys[key_tag]
        return key["versions"][self.latest_version(key_tag) if version is None else version]["private_key"]

    def public_key(self, key_tag, version=None):
        """The SPKI PEM this emulator serves for a key version (default: latest)."""
        return testkeys.spki_pem(self._private(key_tag, version))

    def fingerprint(self, key_tag, version=None):
        """Lowercase hex SHA-256 of the version's SPKI DER, as in the key record."""
        return hashlib.sha256(testkeys.spki_der(self._private(key_tag, version))).hexdigest()

    def fingerprints(self):
        """{keyTag: {version: fingerprint}} of every version that has a public key."""
        return {tag: {n: self.fingerprint(tag, n) for n, v in key["versions"].items() if v["private_key"] is not None}
                for tag, key in self.keys.items()}

    # -- answers -------------------------------------------------------------------------------
    @staticmethod
    def _trace_headers():
        return {"x-ncp-trace-id": uuid.uuid4().hex}

    def _gateway_error(self, name):
        status, code, message, details = GATEWAY_ERRORS[name]
        return Response.json(status, {"error": {"errorCode": code, "message": message, "details": details}},
                             self._trace_headers())

    def _kms_error(self, name):
        status, code, msg = KMS_ERRORS[name]
        return Response.json(status, {"code": code, "msg": msg}, self._trace_headers())

    # -- the gateway ---------------------------------------------------------------------------
    def authenticate(self, request):
        """-> the access key; raises _Reject with the gateway's answer."""
        timestamp = request.header(TIMESTAMP_HEADER)
        access_key = request.header(ACCESS_KEY_HEADER)
        claimed = request.header(SIGNATURE_HEADER)
        if not timestamp or not access_key or not claimed:
            raise _Reject(self._gateway_error("missing"))
        timestamp = timestamp.strip()
        if not re.match(r"\A[0-9]{1,16}\Z", timestamp):
            raise _Reject(self._gateway_error("timestamp"))
        if abs(int(timestamp) - int(self.clock() * 1000)) >= SKEW_MS:
            raise _Reject(self._gateway_error("timestamp"))
        cred = self.credentials.get(access_key.strip())
        if cred is None:
            raise _Reject(self._gateway_error("invalid"))
        expected = server_signature(cred["secret_key"], request.method, request.target, timestamp, access_key.strip())
        if not hmac.compare_digest(expected.encode("ascii"), claimed.strip().encode("utf-8", "replace")):
            raise _Reject(self._gateway_error("invalid"))
        if not cred["kms_allowed"]:
            raise _Reject(self._gateway_error("denied"))
        return access_key.strip()

    # -- dispatch ------------------------------------------------------------------------------
    def handle(self, request):
        match = _ROUTE.match(request.path)
        if not match or request.method != "POST":
            return self._gateway_error("not_found")
        try:
            access_key = self.authenticate(request)
        except _Reject as reject:
            return reject.response
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            return self.get_public_key(request, match.group(1), access_key)
        finally:
            with self._lock:
                self.in_flight -= 1

    def control(self, name, request):
        if name == "ncloud/envelope-fault" and request.method == "POST":
            spec = request.json() or {}
            self.fail_next(spec.get("code", "FAILURE"), spec.get("msg", "The request could not be processed."),
                           int(spec.get("status", 200)), int(spec.get("count", 1)), spec.get("data"))
            return Response.json(200, {"ok": True})
        if name == "ncloud/stats" and request.method == "GET":
            with self._lock:
                return Response.json(200, {"kms_calls": self.kms_calls, "max_in_flight": self.max_in_flight,
                                           "fetched": [list(item) for item in self.fetched]})
        return None

    # -- KMS -----------------------------------------------------------------------------------
    def get_public_key(self, request, key_tag, access_key):
        try:
            body = request.json() if request.body.strip() else None
        except ValueError:
            body = "invalid"
        if body is not None and not isinstance(body, dict):
            return self._kms_error("invalid_request")
        version = (body or {}).get("keyVersion")
        with self._lock:
            self.kms_calls += 1
            self.fetched.append((key_tag, version, access_key))
            fault = self._envelope_faults.pop(0) if self._envelope_faults else None
        if fault is not None:
            status, payload = fault
            return Response.json(status, payload, self._trace_headers())
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                    or not 1 <= version <= MAX_VERSION):
            return self._kms_error("invalid_request")
        key = self.keys.get(key_tag)
        if key is None:
            return self._kms_error("not_found")
        if key["status"] != "ENABLE":
            return self._kms_error("invalid_status")
        if key["key_type"] not in ("RSA2048", "ECDSA"):
            return self._kms_error("invalid_request")
        number = max(key["versions"]) if version is None else version
        entry = key["versions"].get(number)
        if entry is None:
            return self._kms_error("version_not_found")
        if not entry["enabled"]:
            return self._kms_error("invalid_status")
        return Response.json(200, {"code": "SUCCESS", "data": {"publicKey": testkeys.spki_pem(entry["private_key"])}},
                             self._trace_headers())


def demo_vars(url, ca_path=None, app=None):
    """Extra vars that point the lookup (keyward_ncloud_*) at an emulator serving at url, plus the
    keyTags and fingerprints a demo can show: {"keyward_ncloud_endpoint": ..., "ncloud_key_tags": ...}."""
    app = app or NcloudKmsEmulator()
    values = {
        "keyward_ncloud_endpoint": url + BASE_PATH,
        "keyward_ncloud_access_key": ACCESS_KEY,
        "keyward_ncloud_secret_key": SECRET_KEY,
        "ncloud_key_tags": {name: KEY_TAGS[name] for name in ("rsa", "ecdsa", "doc_example")},
        "ncloud_fingerprints": {tag: {str(n): fp for n, fp in fps.items()} for tag, fps in app.fingerprints().items()},
    }
    if ca_path:
        values["keyward_ncloud_ca_path"] = ca_path
    return values


def main(argv=None):
    from ansible_collections.keyward.keys.tests.emulators._server import run_standalone

    def describe(app, server, pki, args):
        ca_path = pki["ca.pem"] if pki else None
        return {"endpoint": server.url + BASE_PATH, "access_key": ACCESS_KEY, "secret_key": SECRET_KEY,
                "key_tags": KEY_TAGS,
                "fingerprints": {tag: {str(n): fp for n, fp in fps.items()} for tag, fps in app.fingerprints().items()},
                "vars": demo_vars(server.url, ca_path, app),
                "env": {"NCLOUD_KMS_ENDPOINT": server.url + BASE_PATH, "NCLOUD_ACCESS_KEY_ID": ACCESS_KEY,
                        "NCLOUD_SECRET_ACCESS_KEY": SECRET_KEY},
                "lookup": "lookup('keyward.keys.ncloud_kms_public_key', '%s')" % KEY_TAGS["rsa"]}

    run_standalone(__doc__.splitlines()[0], lambda args: NcloudKmsEmulator(), describe, argv)


if __name__ == "__main__":
    main()
