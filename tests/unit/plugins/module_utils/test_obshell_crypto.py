"""obshell hybrid encryption, byte by byte, checked against independent implementations.

Oracles:
- the official SDK (PyPI `obshell`, PasswordAuthMethodV2): its header must decrypt in our agent
  emulator, and the emulator's decryption must read ours the same way;
- pycryptodome (what the SDK uses) for PKCS#1 v1.5 block decryption and AES-CBC;
- the emulator's Go-style header decoding (ts must be a JSON string, case-insensitive keys).
If the SDK cannot be imported, the SDK cases are skipped and the pycryptodome ones still run.
"""

from __future__ import annotations

import base64
import json
import math

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.plugins.module_utils.providers import _obshell_crypto as oc
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError
from ansible_collections.keyward.keys.tests.emulators.obshell import (
    GoJSONError, ObshellAgent, generate_rsa_key, go_unmarshal_header,
)

try:
    from Crypto.Cipher import AES as CryptoAES
    from Crypto.Cipher import PKCS1_v1_5 as CryptoPKCS1
    from Crypto.PublicKey import RSA as CryptoRSA
    from Crypto.Util.Padding import pad as crypto_pad
except ImportError:  # pragma: no cover - pycryptodome is in test-requirements.txt
    CryptoRSA = None

try:
    from obshell.auth.password import PasswordAuthMethodV2
    from obshell.request import BaseRequest
except Exception:  # pragma: no cover - the SDK pulls in paramiko etc.; skip its cases if absent
    PasswordAuthMethodV2 = None

needs_pycryptodome = pytest.mark.skipif(CryptoRSA is None, reason="pycryptodome is not installed")
needs_sdk = pytest.mark.skipif(PasswordAuthMethodV2 is None, reason="the official obshell SDK is not installed")

KEYS = {}


def private_key(bits):
    if bits not in KEYS:
        KEYS[bits] = generate_rsa_key(bits)
    return KEYS[bits]


def pkcs1_b64(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return base64.b64encode(der).decode("ascii")


def pycryptodome_decrypt_blocks(key, data):
    """Independent decryption: pycryptodome PKCS#1 v1.5, k-byte blocks (what the agent does)."""
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    cipher = CryptoPKCS1.new(CryptoRSA.import_key(der))
    size = (key.key_size + 7) // 8
    assert len(data) % size == 0
    out = b""
    for start in range(0, len(data), size):
        sentinel = object()
        plain = cipher.decrypt(data[start:start + size], sentinel)
        assert plain is not sentinel, "pycryptodome could not decrypt block at %d" % start
        out += plain
    return out


def agent_with(key):
    return ObshellAgent(private_key=key, key_bits=key.key_size)


# --- RSA chunking -----------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [512, 1024, 2048])
def test_chunk_size_follows_the_actual_key(bits):
    key = private_key(bits).public_key()
    assert oc.block_size(key) == bits // 8
    assert oc.chunk_size(key) == bits // 8 - 11


@needs_pycryptodome
@pytest.mark.parametrize("bits", [512, 1024])
@pytest.mark.parametrize("length", [0, 1, 53, 54, 117, 118, 300])
def test_rsa_chunks_concatenate_k_byte_blocks(bits, length):
    key = private_key(bits)
    plaintext = bytes((i * 7) % 251 for i in range(length))
    ciphertext = oc.rsa_encrypt(key.public_key(), plaintext)
    chunk = bits // 8 - 11
    blocks = max(1, math.ceil(length / chunk))  # an empty plaintext is one block, as on the agent
    assert len(ciphertext) == blocks * (bits // 8)
    assert pycryptodome_decrypt_blocks(key, ciphertext) == plaintext


def test_rsa_needs_an_rsa_key():
    from cryptography.hazmat.primitives.asymmetric import ec
    with pytest.raises(OptionError):
        oc.rsa_encrypt(ec.generate_private_key(ec.SECP256R1()).public_key(), b"x")


# --- header JSON ------------------------------------------------------------------------------

def test_header_fields_exact_shape():
    keys = bytes(range(32))
    fields = oc.header_fields("pw", "/api/v1/ob/info?a=1&b=%20", keys, lifetime=60, now=1700000000.9)
    assert list(fields) == ["auth", "ts", "uri", "keys"]
    assert fields["auth"] == "pw"
    assert fields["ts"] == "1700000060" and isinstance(fields["ts"], str)
    assert fields["uri"] == "/api/v1/ob/info?a=1&b=%20"
    assert len(fields["keys"]) == 44 and base64.b64decode(fields["keys"]) == keys
    assert oc.header_fields(None, "/", keys)["auth"] == ""


@pytest.mark.parametrize("bits", [512, 1024])
def test_encrypted_request_decrypts_in_the_agent(bits):
    key = private_key(bits)
    agent = agent_with(key)
    request = oc.EncryptedRequest(key.public_key(), password="root pw ü", body={"a": [1, 2]}, lifetime=60)
    value = request.header("/api/v1/tenant/t1/variables?filter=ob_%25", now=1700000000)
    raw = base64.b64decode(value)
    assert len(raw) % (bits // 8) == 0
    header = go_unmarshal_header(agent._rsa_decrypt(value))
    assert header["Auth"] == "root pw ü"
    assert header["Ts"] == "1700000060"
    assert header["Uri"] == "/api/v1/tenant/t1/variables?filter=ob_%25"
    assert header["Keys"] == request.keys and len(request.keys) == 32
    assert request.header_name == "X-OCS-Header"
    assert oc.EncryptedRequest(key.public_key(), agent=True).header_name == "X-OCS-Agent-Header"
    # The body: AES-128-CBC under keys[:16] / keys[16:], base64 text.
    plain = oc.aes_decrypt(request.body, request.aes_key, request.aes_iv)
    assert json.loads(plain) == {"a": [1, 2]}


def test_each_attempt_gets_a_fresh_expiry_but_the_same_keys():
    key = private_key(1024)
    agent = agent_with(key)
    request = oc.EncryptedRequest(key.public_key(), password="x", body="{}")
    first = go_unmarshal_header(agent._rsa_decrypt(request.header("/a", now=1000)))
    second = go_unmarshal_header(agent._rsa_decrypt(request.header("/a", now=2000)))
    assert (first["Ts"], second["Ts"]) == ("1060", "2060")
    assert first["Keys"] == second["Keys"] == request.keys


def test_no_body_means_no_body():
    request = oc.EncryptedRequest(private_key(1024).public_key())
    assert request.body is None


@pytest.mark.parametrize("body, expected", [
    ({"b": 1}, b'{"b": 1}'),
    ([1, "x"], b'[1, "x"]'),
    ("raw text", b"raw text"),
    (b"\x00bytes", b"\x00bytes"),
    (None, None),
])
def test_encode_body(body, expected):
    assert oc.encode_body(body) == expected


def test_encode_body_refuses_other_types():
    with pytest.raises(OptionError):
        oc.encode_body(object())


# --- AES against pycryptodome -----------------------------------------------------------------

@needs_pycryptodome
@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 100])
def test_aes_matches_pycryptodome(length):
    key, iv = bytes(range(16)), bytes(range(16, 32))
    plaintext = b"p" * length
    expected = base64.b64encode(CryptoAES.new(key, CryptoAES.MODE_CBC, iv).encrypt(crypto_pad(plaintext, 16)))
    assert oc.aes_encrypt(plaintext, key, iv) == expected.decode("ascii")
    assert oc.aes_decrypt(expected.decode("ascii"), key, iv) == plaintext


# --- the official SDK as an oracle ------------------------------------------------------------

def sdk_method(key, password="", agent_password=None):
    method = PasswordAuthMethodV2(password, agent_password, 60)
    method.pk = pkcs1_b64(key)
    method.check_identity = True  # skip its /api/v1/info round trip
    return method


@needs_sdk
@pytest.mark.parametrize("bits", [512, 1024])
def test_sdk_header_decrypts_in_the_emulator(bits):
    key = private_key(bits)
    agent = agent_with(key)
    fields = {"auth": "pw", "ts": "1700000060", "uri": "/api/v1/ob/info?x=1", "keys": base64.b64encode(b"k" * 32).decode()}
    value = sdk_method(key).encrypt_header(fields)
    # The SDK always cuts 53-byte chunks, which any key of 512 bits or more decrypts.
    plaintext = json.dumps(fields).encode()
    assert len(base64.b64decode(value)) == math.ceil(len(plaintext) / 53) * (bits // 8)
    header = go_unmarshal_header(agent._rsa_decrypt(value))
    assert (header["Auth"], header["Ts"], header["Uri"], header["Keys"]) == ("pw", "1700000060", "/api/v1/ob/info?x=1", b"k" * 32)
    # ... and the same routine reads ours, which uses k - 11 byte chunks.
    ours = oc.encrypt_header(key.public_key(), fields)
    assert go_unmarshal_header(agent._rsa_decrypt(ours)) == header
    assert pycryptodome_decrypt_blocks(key, base64.b64decode(ours)) == plaintext


@needs_sdk
@pytest.mark.parametrize("bits", [512, 1024])
def test_whole_request_matches_the_sdk(bits):
    """Same JSON layout, same body encryption: only the random keys and the clock differ."""
    key = private_key(bits)
    agent = agent_with(key)
    body = {"password": "new agent pw"}
    req = BaseRequest("/api/v1/agent/password", "POST", "127.0.0.1", 2886, need_auth=True, data=dict(body),
                      query_param={"a": "1 2"})
    sdk_method(key, password="rootpw").auth(req)
    sdk_header = go_unmarshal_header(agent._rsa_decrypt(req.headers["X-OCS-Header"]))
    sdk_plain = agent._rsa_decrypt(req.headers["X-OCS-Header"])

    ours = oc.EncryptedRequest(key.public_key(), password="rootpw", body=body)
    our_plain = agent._rsa_decrypt(ours.header(sdk_header["Uri"], now=int(sdk_header["Ts"]) - 60))
    # Identical header JSON once the random AES material is the same.
    our_json = json.loads(our_plain)
    our_json["keys"] = base64.b64encode(sdk_header["Keys"]).decode()
    assert json.dumps(our_json).encode() == sdk_plain
    assert sdk_header["Uri"] == "/api/v1/agent/password?a=1+2"
    # Bodies: both decrypt with the header's keys to the same JSON.
    assert json.loads(oc.aes_decrypt(req.data, sdk_header["Keys"][:16], sdk_header["Keys"][16:])) == body
    assert json.loads(oc.aes_decrypt(ours.body, ours.aes_key, ours.aes_iv)) == body
    # Same plaintext + same keys -> byte-identical ciphertext.
    assert oc.aes_encrypt(json.dumps(body).encode(), sdk_header["Keys"][:16], sdk_header["Keys"][16:]) == req.data


# --- what the agent's Go decoding accepts -----------------------------------------------------

def test_numeric_ts_is_a_decrypt_failure():
    with pytest.raises(GoJSONError, match=r"cannot unmarshal number into Go struct field HttpHeader.Ts of type string"):
        go_unmarshal_header(b'{"auth": "", "ts": 1700000060, "uri": "/", "keys": ""}')


def test_go_keys_are_case_insensitive_and_last_wins():
    header = go_unmarshal_header(b'{"Auth": "a", "TS": "1", "URI": "/x", "Keys": "AAAA", "auth": "b", "extra": 1}')
    assert (header["Auth"], header["Ts"], header["Uri"], header["Keys"]) == ("b", "1", "/x", b"\x00\x00\x00")


def test_keys_must_be_base64():
    with pytest.raises(GoJSONError, match="illegal base64"):
        go_unmarshal_header(b'{"keys": "not base64!"}')
