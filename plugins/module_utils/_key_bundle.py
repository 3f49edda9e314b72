# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The bundle and the JWKS document of a set of key files: one code path, controller and host.

The action plugin renders each key's canonical PEM and JWK on the controller. The bundle and
the JWKS document are assembled from those texts, here, by the host module: the set they cover
is only known there, because keys that are retiring stay in both and only the host's manifest
knows which keys those are. The action plugin calls the same functions for its own checks.

Standard library only, Python 3.6 and later; no key is parsed: a key's fingerprint is the
SHA-256 of the DER inside the canonical PEM the controller rendered.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import json
import re

# Exactly one canonical PUBLIC KEY block, as the controller renders a key file.
_ONE_PEM = re.compile(r"-----BEGIN PUBLIC KEY-----\n((?:[A-Za-z0-9+/=]{1,64}\n)+)-----END PUBLIC KEY-----\n\Z")


def json_text(data):
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def pem_fingerprint(data):
    """Lowercase hex SHA-256 of the DER in one canonical PUBLIC KEY PEM block (bytes or text); else None."""
    if isinstance(data, bytes):
        try:
            data = data.decode("ascii")
        except UnicodeDecodeError:
            return None
    match = _ONE_PEM.match(data or "")
    if not match:
        return None
    try:
        der = base64.b64decode("".join(match.group(1).split()).encode("ascii"))
    except (binascii.Error, ValueError):
        return None
    return hashlib.sha256(der).hexdigest()


class KeyFile(object):
    """One key of the store: its file name, canonical PEM text, fingerprint and JWK (or None)."""

    __slots__ = ("name", "pem", "fingerprint", "jwk")

    def __init__(self, name, pem, jwk=None, fingerprint=None):
        self.name = name
        self.pem = pem
        self.jwk = jwk
        self.fingerprint = fingerprint or pem_fingerprint(pem)


def distinct(key_files):
    """Each key once (by fingerprint), the first in file-name order."""
    seen = set()
    found = []
    for key in sorted(key_files, key=lambda k: k.name):
        if key.fingerprint not in seen:
            seen.add(key.fingerprint)
            found.append(key)
    return found


def bundle_text(key_files):
    """The PEM bundle: every distinct key once, in file-name order."""
    return "".join(key.pem for key in distinct(key_files))


def jwks_text(key_files):
    """The JWKS document: the JWK of every distinct key that has one, each kid once, in file-name order."""
    members = []
    kids = set()
    for key in distinct(key_files):
        if key.jwk is not None and key.jwk.get("kid") not in kids:
            kids.add(key.jwk.get("kid"))
            members.append(key.jwk)
    return json_text({"keys": members})


def without_jwk(key_files):
    """The distinct keys that have no JWK form (SM2): they are left out of the JWKS document."""
    return [key for key in distinct(key_files) if key.jwk is None]
