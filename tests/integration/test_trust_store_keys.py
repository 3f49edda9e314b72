# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's trust_store_keys: PEM strings as entries, and entries of the wrong shape, real runs.

A key given as a string (what a public-key lookup returns by default; here through the Huawei
Cloud lookup against its emulator) is written to sha256-<16 hex>.pem; an entry of any other
shape fails its host with one line naming it and the accepted shapes, never Ansible's
argument-spec dump, and writes nothing.
"""

from __future__ import annotations

import json
import os

from ansible_collections.keyward.keys.plugins.module_utils import _keys
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as emu
from ansible_collections.keyward.keys.tests.integration._helpers import TRUST_STORE_PLAY
from ansible_collections.keyward.keys.tests.integration.conftest import write_inventory


ED = K.ed25519_key(20)
SHAPES = "an entry is a key record, a dict {name, public_key, expected_fingerprint?} or a PEM string"


def file_name(pem):
    return "sha256-%s.pem" % _keys.fingerprint_sha256(_keys.parse_public_key(pem).spki_der)[:16]


def test_pem_strings_and_entries_of_the_wrong_shape(run_playbook, tmp_path, hw, pki):
    hw.reset()
    dirs = {h: str(tmp_path / h) for h in ("good", "number", "nameless", "text")}
    lookup = "{{ lookup('keyward.keys.huaweicloud_kms_public_key', '%s') }}" % emu.KEY_IDS["rsa2048"]
    host_vars = {
        "good": {"trust_store_keys": [lookup, K.spki_pem(ED).replace("\n", "\r\n"),
                                      {"name": "named", "public_key": K.spki_pem(ED)}],
                 "trust_store_jwks": "jwks.json"},
        "number": {"trust_store_keys": [K.spki_pem(ED), 42]},
        "nameless": {"trust_store_keys": [{"public_key": K.spki_pem(ED)}]},
        "text": {"trust_store_keys": [K.spki_pem(ED), "signer-2025"]},
    }
    for host, extra in host_vars.items():
        extra.update(trust_store_dir=dirs[host])
    inventory = write_inventory(str(tmp_path / "inventory.json"), list(host_vars), host_vars=host_vars)
    results = tmp_path / "results"
    results.mkdir()
    env = {"HUAWEICLOUD_SDK_AK": emu.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": emu.SECRET_KEY,
           "HUAWEICLOUD_SDK_REGION": emu.REGION, "HUAWEICLOUD_KMS_ENDPOINT": hw.url,
           "HUAWEICLOUD_SDK_IAM_ENDPOINT": hw.url, "KEYWARD_CA_PATH": pki["ca.pem"]}
    result = run_playbook(TRUST_STORE_PLAY, inventory=inventory, extra_vars={"results_dir": str(results)}, env=env)
    assert result.rc == 0, result
    out = {p.stem: json.loads(p.read_text()) for p in results.iterdir()}

    good = out["good"]
    assert good["changed"] is True, good
    ed_file = file_name(K.spki_pem(ED))
    files = sorted(os.listdir(dirs["good"]))
    assert ed_file in files and "named.pem" in files and "jwks.json" in files
    kms_files = [f for f in files if f.startswith("sha256-") and f != ed_file]
    assert len(kms_files) == 1
    kms_pem = open(os.path.join(dirs["good"], kms_files[0])).read()
    assert kms_files[0] == file_name(kms_pem)
    assert open(os.path.join(dirs["good"], ed_file)).read() == K.spki_pem(ED)

    for host, needle in (("number", "keys entry #2 (index 1) is a number"),
                         ("nameless", "keys entry #1 (index 0) has a public_key but no name"),
                         ("text", "keys entry #2 (index 1) is a string but not a public key")):
        msg = out[host]["msg"]
        assert out[host]["failed"] is True
        assert msg.startswith("nothing was written to %s: %s" % (dirs[host], needle)), msg
        assert msg.endswith(SHAPES) and "\n" not in msg, msg
        assert "argument_spec" not in json.dumps(out[host]) and "Validation of arguments failed" not in msg
        assert not os.path.exists(dirs[host])
    assert "argument_spec_data" not in result.stdout
