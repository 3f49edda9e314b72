# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""public_key_store in real ansible-playbook runs (issue 18): every jwk it would write is checked
against its key before the host is touched, and a symlinked path lends nothing to its target."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _keys
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K
from ansible_collections.keyward.keys.tests.integration._helpers import save_task, saved
from ansible_collections.keyward.keys.tests.unit.plugins.action.test_public_key_store_action import sm2_pem

STORE_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: store
      keyward.keys.public_key_store:
        path: "{{ store_dir }}"
        keys: "{{ store_keys }}"
        jwks: jwks.json
%(extra)s      register: r_store
      ignore_errors: true
%(save)s"""


def _jwk(key):
    return _keys.to_jwk(_keys.parse_public_key(K.spki_pem(key)))


def _p224_jwk():
    numbers = K.ec_key("secp224r1").public_key().public_numbers()

    def b64(value):
        return _keys._b64url_uint(value, 28)

    return {"kty": "EC", "crv": "P-224", "x": b64(numbers.x), "y": b64(numbers.y)}


CASES = {
    "other_rsa_key": lambda: ({"name": "a", "public_key": K.spki_pem(K.rsa_key(2048, 0)), "jwk": _jwk(K.rsa_key(2048, 1))},
                              "different key"),
    "rsa_jwk_on_ec_key": lambda: ({"name": "a", "public_key": K.spki_pem(K.ec_key("secp256r1")),
                                   "jwk": _jwk(K.rsa_key(2048, 0))}, "different key"),
    "secp224r1": lambda: ({"name": "a", "public_key": K.spki_pem(K.ec_key("secp224r1")), "jwk": _p224_jwk()},
                          "JWK cannot express"),
    "sm2": lambda: ({"name": "a", "public_key": sm2_pem(),
                     "jwk": {"kty": "EC", "crv": "SM2", "x": "AAAA", "y": "AAAA"}}, "JWK cannot express"),
    "alg_of_another_kind": lambda: ({"name": "a", "public_key": K.spki_pem(K.rsa_key(2048, 0)),
                                     "jwk": dict(_jwk(K.rsa_key(2048, 0)), alg="ES256")}, "does not fit"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_jwk_that_does_not_fit_its_key_is_an_error_and_nothing_is_written(run_playbook, tmp_path, case):
    item, needle = CASES[case]()
    good = {"name": "good", "public_key": K.spki_pem(K.rsa_key(2048, 2))}
    store_dir = tmp_path / "store"
    result = run_playbook(STORE_PLAY % {"extra": "", "save": save_task(["r_store"])},
                          extra_vars={"store_dir": str(store_dir), "store_keys": [good, item], "out_dir": str(tmp_path)})
    found = saved(tmp_path, result)["r_store"]
    assert found["failed"] is True and needle in found["msg"] and "\n" not in found["msg"], found
    assert not store_dir.exists() or os.listdir(str(store_dir)) == []


def test_a_matching_jwk_with_a_fitting_alg_is_written(run_playbook, tmp_path):
    key = K.ec_key("secp256r1")
    item = {"name": "a", "public_key": K.spki_pem(key), "jwk": dict(_jwk(key), alg="ES256", use="sig")}
    store_dir = tmp_path / "store"
    result = run_playbook(STORE_PLAY % {"extra": "", "save": save_task(["r_store"])},
                          extra_vars={"store_dir": str(store_dir), "store_keys": [item], "out_dir": str(tmp_path)})
    found = saved(tmp_path, result)["r_store"]
    assert not found.get("failed") and '"alg": "ES256"' in (store_dir / "jwks.json").read_text(), found


def test_a_symlinked_path_lends_nothing_to_its_target(run_playbook, tmp_path):
    target = tmp_path / "private"
    target.mkdir(mode=0o700)
    os.chmod(str(target), 0o700)
    link = tmp_path / "store"
    os.symlink(str(target), str(link))
    before = os.stat(str(target))
    extra = '        dir_mode: "0755"\n        owner: "%d"\n        group: "%d"\n' % (os.getuid(), os.getgid())
    result = run_playbook(STORE_PLAY % {"extra": extra, "save": save_task(["r_store"])},
                          extra_vars={"store_dir": str(link), "out_dir": str(tmp_path),
                                      "store_keys": [{"name": "a", "public_key": K.spki_pem(K.rsa_key(2048, 0))}]})
    found = saved(tmp_path, result)["r_store"]
    after = os.stat(str(target))
    assert stat.S_IMODE(after.st_mode) == 0o700, oct(after.st_mode)
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert os.path.islink(str(link))
    if not found.get("failed"):
        assert any("symlink" in warning for warning in found.get("warnings", [])), found
        assert (target / "a.pem").exists()
