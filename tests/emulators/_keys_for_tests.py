"""Deterministic-enough test keys, generated once per process (RSA generation is slow)."""

from __future__ import annotations

import base64
import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


@functools.lru_cache(maxsize=None)
def rsa_key(bits=2048, slot=0):
    """An RSA private key; the same (bits, slot) gives the same key within one process."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@functools.lru_cache(maxsize=None)
def ec_key(curve="secp256r1", slot=0):
    return ec.generate_private_key({"secp256r1": ec.SECP256R1, "secp384r1": ec.SECP384R1,
                                    "secp521r1": ec.SECP521R1, "secp224r1": ec.SECP224R1}[curve]())


@functools.lru_cache(maxsize=None)
def ed25519_key(slot=0):
    return ed25519.Ed25519PrivateKey.generate()


def spki_pem(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def spki_der(private_key):
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def pkcs1_b64(private_key):
    """base64 of PKCS#1 RSAPublicKey DER, no armour: what obshell serves."""
    der = private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
    return base64.b64encode(der).decode("ascii")
