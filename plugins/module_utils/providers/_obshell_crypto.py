# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""obshell's "hybrid encryption" of API requests, byte for byte.

What an obshell agent expects (reference: obshell_obcloud.md, section 2):

- A random AES-128 key and IV per request. The JSON body, if any, is encrypted with
  AES-128-CBC and PKCS#7 padding; the base64 text of the ciphertext is sent as the raw body.
- A JSON header {"auth", "ts", "uri", "keys"}: auth is the password (root@sys for X-OCS-Header,
  the agent password for X-OCS-Agent-Header, or ""), ts is a *string* holding the expiry as
  Unix seconds (now + lifetime), uri is the exact request-target (path plus '?query'), and
  keys is base64(aes_key || aes_iv) (44 characters).
- The header JSON is encrypted with RSAES-PKCS1-v1_5 under the agent's public key in chunks of
  at most k - 11 bytes (k = modulus size in bytes); the k-byte cipher blocks are concatenated
  and base64-encoded. The agent decrypts in k-byte blocks, so this works for 512-bit (legacy)
  and 1024-bit keys alike.

Only `cryptography` is used (the official SDK's pycryptodome is a test oracle, never a
runtime dependency).

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import base64
import json
import os
import time

from .._errors import OptionError
from .._keys import _require_cryptography

try:
    from cryptography.hazmat.primitives import padding as sym_padding
    from cryptography.hazmat.primitives.asymmetric import padding as asym_padding
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
except ImportError:  # reported by the adapters with missing_required_lib('cryptography')
    rsa = None

DEFAULT_LIFETIME = 60  # seconds; the official SDKs use the same
AES_KEY_SIZE = 16  # AES-128
AES_BLOCK = 16  # also the IV size
PKCS1_OVERHEAD = 11  # RSAES-PKCS1-v1_5 needs at least 11 bytes of padding per block

HEADER_ROOT = "X-OCS-Header"  # auth = root@sys password
HEADER_AGENT = "X-OCS-Agent-Header"  # auth = obshell agent password


_require = _require_cryptography


def _rsa_key(public_key):
    _require()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise OptionError("obshell hybrid encryption needs an RSA public key, not %s" % type(public_key).__name__)
    return public_key


def block_size(public_key):
    """k: the modulus size in bytes, the size of every RSA cipher block."""
    return (_rsa_key(public_key).key_size + 7) // 8


def chunk_size(public_key):
    """The largest plaintext chunk one PKCS#1 v1.5 block carries: k - 11 bytes."""
    return block_size(public_key) - PKCS1_OVERHEAD


def rsa_encrypt(public_key, plaintext):
    """RSAES-PKCS1-v1_5 over consecutive (k - 11)-byte chunks; cipher blocks concatenated.

    An empty plaintext becomes one block, as the agent's own RSAEncrypt does.
    """
    key = _rsa_key(public_key)
    size = chunk_size(key)
    chunks = [plaintext[i:i + size] for i in range(0, len(plaintext), size)] or [b""]
    return b"".join(key.encrypt(chunk, asym_padding.PKCS1v15()) for chunk in chunks)


def new_aes_keys():
    """A fresh random (key, iv) pair for one request."""
    return os.urandom(AES_KEY_SIZE), os.urandom(AES_BLOCK)


def aes_encrypt(plaintext, key, iv):
    """AES-128-CBC with PKCS#7 padding -> base64 text (what goes on the wire as the body)."""
    _require()
    padder = sym_padding.PKCS7(AES_BLOCK * 8).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def aes_decrypt(text, key, iv):
    """The inverse of aes_encrypt (the agent encrypts a few responses with the request's keys)."""
    _require()
    raw = base64.b64decode(text)
    if not raw or len(raw) % AES_BLOCK:
        raise ValueError("AES ciphertext length %d is not a positive multiple of %d" % (len(raw), AES_BLOCK))
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(raw) + decryptor.finalize()
    unpadder = sym_padding.PKCS7(AES_BLOCK * 8).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def encode_body(body):
    """A request body as bytes: dict/list -> JSON, str -> UTF-8, bytes as is, None -> None."""
    if body is None:
        return None
    if isinstance(body, (dict, list)):
        return json.dumps(body).encode("utf-8")
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    # Numbers and booleans are valid JSON documents too.
    if isinstance(body, (int, float, bool)):
        return json.dumps(body).encode("utf-8")
    raise OptionError("body must be a dict, a list or a string, not %s" % type(body).__name__)


def header_fields(password, uri, keys, lifetime=DEFAULT_LIFETIME, now=None):
    """The header JSON object, fields in the order the official SDK writes them."""
    now = time.time() if now is None else now
    return {
        "auth": password or "",
        "ts": str(int(now) + int(lifetime)),  # a JSON string: a number fails on the agent
        "uri": uri,
        "keys": base64.b64encode(keys).decode("ascii"),
    }


def encrypt_header(public_key, fields):
    """The header JSON, RSA-encrypted in chunks and base64-encoded: the X-OCS-Header value."""
    plaintext = json.dumps(fields).encode("utf-8")
    return base64.b64encode(rsa_encrypt(public_key, plaintext)).decode("ascii")


class EncryptedRequest(object):
    """The per-request secrets and the encrypted body; header() signs one attempt.

    The AES key and IV are drawn once per logical request (the body is encrypted once);
    header() builds a fresh header with a fresh expiry for every attempt, so a retry after a
    long backoff is never rejected as expired.
    """

    def __init__(self, public_key, password="", body=None, agent=False, lifetime=DEFAULT_LIFETIME):
        self.public_key = _rsa_key(public_key)
        self.password = password or ""
        self.header_name = HEADER_AGENT if agent else HEADER_ROOT
        self.lifetime = lifetime
        self.aes_key, self.aes_iv = new_aes_keys()
        plaintext = encode_body(body)
        self.body = None if plaintext is None else aes_encrypt(plaintext, self.aes_key, self.aes_iv)

    @property
    def keys(self):
        return self.aes_key + self.aes_iv

    def header(self, uri, now=None):
        fields = header_fields(self.password, uri, self.keys, lifetime=self.lifetime, now=now)
        return encrypt_header(self.public_key, fields)
