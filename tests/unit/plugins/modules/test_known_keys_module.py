# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""known_keys as it runs on a host: concurrent runs lose no pin, a symlinked file is refused."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _known_keys
from ansible_collections.keyward.keys.plugins.modules import known_keys
from ansible_collections.keyward.keys.tests.unit.plugins.modules._module_process import run_concurrently, run_module as call

FP = ["%064x" % (index + 1) for index in range(4)]


@pytest.fixture
def run_module(capsys):
    def run(**args):
        return call(known_keys, capsys, **args)
    return run


def test_concurrent_runs_lose_no_pin(tmp_path):
    # A run whose read of the file is slow: without a lock around read-modify-write, runs that
    # start together all read the same file and each writes back only its own pin.
    path = str(tmp_path / "pins" / "known.json")
    runs = [{"path": path, "keys": [{"id": "agent%d:2886" % index, "fingerprint_sha256": FP[index]}]}
            for index in range(4)]
    for out, err in run_concurrently(known_keys, _known_keys, "load", runs):
        assert json.loads(out.decode())["changed"] is True, (out, err)
    with open(path) as handle:
        pins = json.load(handle)
    assert sorted(pins) == ["agent%d:2886" % index for index in range(4)]


def test_a_symlinked_known_keys_file_is_refused(tmp_path, run_module):
    # Whoever can plant the link chooses the pins: its target pins agent0 to the attacker's key.
    planted = tmp_path / "elsewhere.json"
    planted.write_text(json.dumps({"agent0:2886": {"fingerprint_sha256": FP[3]}}))
    link = tmp_path / "known.json"
    os.symlink(str(planted), str(link))
    result = run_module(path=str(link), keys=[{"id": "agent0:2886", "fingerprint_sha256": FP[3]}])
    assert result["failed"] is True and "symlink" in result["msg"] and str(link) in result["msg"], result
    assert os.path.islink(str(link))  # left alone, not replaced
    assert json.loads(planted.read_text()) == {"agent0:2886": {"fingerprint_sha256": FP[3]}}


def test_a_dangling_symlink_is_refused_too(tmp_path, run_module):
    link = tmp_path / "known.json"
    os.symlink(str(tmp_path / "missing.json"), str(link))
    result = run_module(path=str(link), keys=[{"id": "agent0:2886", "fingerprint_sha256": FP[0]}])
    assert result["failed"] is True and "symlink" in result["msg"], result
    assert not (tmp_path / "missing.json").exists()


def test_a_regular_file_still_works_and_check_mode_makes_no_directory(tmp_path, run_module):
    path = tmp_path / "new" / "known.json"
    result = run_module(path=str(path), keys=[{"id": "a:1", "fingerprint_sha256": FP[0]}], _ansible_check_mode=True)
    assert result["changed"] is True and not (tmp_path / "new").exists()
    result = run_module(path=str(path), keys=[{"id": "a:1", "fingerprint_sha256": FP[0]}])
    assert result["changed"] is True and json.loads(path.read_text())["a:1"]["fingerprint_sha256"] == FP[0]
