# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The emulators as a test kit users run (issue 17, item 7; docs/testing.md, "The emulators").

Every provider emulator in tests/emulators/ (found on the file system, so a new one is covered)
starts on its own with `python -m ...emulators.<name> --tls DIR --env-file FILE`, and a real
ansible-playbook whose environment is only what that file exports (sourced by a shell) runs the
example lookup the emulator prints.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EMULATOR_DIR = os.path.join(ROOT, "tests", "emulators")
# Test helpers, not provider APIs: the relay is a man in the middle between a client and an agent.
NOT_EMULATORS = {"obshell_relay"}
EMULATORS = sorted(name[:-3] for name in os.listdir(EMULATOR_DIR)
                   if name.endswith(".py") and not name.startswith("_") and name[:-3] not in NOT_EMULATORS)
PACKAGE = "ansible_collections.keyward.keys.tests.emulators."

PLAY = """
- name: use a standalone emulator through the environment it printed
  hosts: localhost
  gather_facts: false
  tasks:
    - name: the emulator's example lookup
      ansible.builtin.set_fact:
        answer: "{{ %s }}"

    - name: it answered
      ansible.builtin.assert:
        that: answer | length > 0
"""


def test_every_provider_has_an_emulator():
    assert {"huaweicloud", "alicloud_idaas", "ncloud_kms", "obshell", "oceanbase_cloud"} <= set(EMULATORS), EMULATORS


@pytest.fixture
def standalone(tmp_path):
    started = []

    def start(name):
        env_file = tmp_path / ("%s.env" % name)
        environ = dict(os.environ, PYTHONPATH=os.environ["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0])
        proc = subprocess.Popen([sys.executable, "-m", PACKAGE + name, "--tls", str(tmp_path / "pki"),
                                 "--env-file", str(env_file)],
                                env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        started.append(proc)
        ready, _w, _x = select.select([proc.stdout], [], [], 120)
        assert ready, "%s printed nothing in 120 s" % name
        line = proc.stdout.readline()
        assert line, "%s exited: %s" % (name, proc.stderr.read())
        return json.loads(line), env_file

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(timeout=30)


def sourced(env_file):
    """The environment a shell has after sourcing env_file (what docs/testing.md tells users to do)."""
    out = subprocess.run(["bash", "-c", '. "$1" && exec "$2" -c "import json, os; print(json.dumps(dict(os.environ)))"',
                          "_", str(env_file), sys.executable], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("name", EMULATORS)
def test_emulator_runs_standalone_for_a_playbook(name, standalone, run_playbook):
    facts, env_file = standalone(name)
    assert facts["url"].startswith("https://") and os.path.exists(facts["ca_path"]), facts
    assert facts["env"]["KEYWARD_CA_PATH"] == facts["ca_path"]
    environment = sourced(env_file)
    env = {variable: environment[variable] for variable in facts["env"]}
    assert env == facts["env"]
    result = run_playbook(PLAY % facts["lookup"], env=env)
    assert result.rc == 0, result
