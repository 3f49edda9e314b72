# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_key_lifetime (durations, manifest times, the retiring rule) and _key_bundle (bundle, JWKS, fingerprints)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _key_bundle, _key_lifetime, _keys
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K

RSA = K.rsa_key(2048, 0)
ED = K.ed25519_key(0)
EC = K.ec_key("secp384r1", 0)


@pytest.mark.parametrize("value, seconds", [
    (None, None), (0, 0), (90, 90), ("90", 90), ("90s", 90), ("15m", 900), ("12h", 43200), ("7d", 604800),
    (" 2s ", 2), ("0s", 0),
])
def test_durations(value, seconds):
    assert _key_lifetime.parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "5w", "1.5h", "-1", -1, True, False, 1.5, "7 days", "s"])
def test_bad_durations(value):
    with pytest.raises(_key_lifetime.DurationError, match="retire_after must"):
        _key_lifetime.parse_duration(value)


def test_times_round_trip_and_odd_text_is_no_time():
    assert _key_lifetime.utc_text(0) == "1970-01-01T00:00:00Z"
    assert _key_lifetime.parse_utc("2026-12-07T13:45:00Z") == 1796651100
    for text in ("2026-12-07 13:45:00", "2026-13-07T13:45:00Z", "yesterday", None, 5):
        assert _key_lifetime.parse_utc(text) is None
        assert _key_lifetime.valid_time(text) is None


def test_the_retiring_rule():
    first = _key_lifetime.retirement(None, 60, 1000.2)
    assert (first.since, first.retire_at, first.remove) == (1001, 1061, False)   # rounded up: never shorter
    since = _key_lifetime.utc_text(1001)
    assert _key_lifetime.retirement(since, 60, 1060.9).remove is False
    assert _key_lifetime.retirement(since, 60, 1061).remove is True
    # 0: kept by the run that unlists it, removed by the next even within the same second.
    assert _key_lifetime.retirement(None, 0, 1000.2).remove is False
    assert _key_lifetime.retirement(_key_lifetime.utc_text(1001), 0, 1000.5).remove is True
    # The grace is measured with the run's retire_after, from the recorded start.
    assert _key_lifetime.retirement(since, 10, 1011).remove is True


def test_pem_fingerprint_is_the_key_record_fingerprint():
    for key in (RSA, ED, EC):
        pem = K.spki_pem(key)
        assert _key_bundle.pem_fingerprint(pem) == _keys.fingerprint_sha256(K.spki_der(key))
        assert _key_bundle.pem_fingerprint(pem.encode()) == _key_bundle.pem_fingerprint(pem)
    for text in (K.spki_pem(RSA) + K.spki_pem(ED), K.spki_pem(RSA).replace("\n", "\r\n"), "x", b"\xff", ""):
        assert _key_bundle.pem_fingerprint(text) is None


def test_bundle_and_jwks_hold_each_key_once_in_file_name_order():
    jwk = {"kty": "OKP", "kid": "ed"}
    keys = [_key_bundle.KeyFile("b.pem", K.spki_pem(ED), jwk), _key_bundle.KeyFile("a.pem", K.spki_pem(RSA), None),
            _key_bundle.KeyFile("c.pem", K.spki_pem(ED), dict(jwk, use="sig"))]
    assert _key_bundle.bundle_text(keys) == K.spki_pem(RSA) + K.spki_pem(ED)
    assert json.loads(_key_bundle.jwks_text(keys)) == {"keys": [jwk]}
    assert [k.name for k in _key_bundle.without_jwk(keys)] == ["a.pem"]
