"""Integration harness: real ansible-playbook runs against emulators on loopback.

Emulators run in the pytest process (threads) so tests can inject faults and count requests;
ansible-playbook runs as a subprocess from the same virtualenv as pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from ansible_collections.keyward.keys.tests.emulators import huaweicloud as huaweicloud_emulator
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

ANSIBLE_BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """Test CA + server certificate: {'ca.pem', 'server.pem', 'server.key'} -> paths."""
    return make_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def hw(pki):
    """A Huawei Cloud KMS (and IAM) emulator over HTTPS, one per test module."""
    server = EmulatorServer(huaweicloud_emulator.HuaweiCloudEmulator(), tls=pki).start()
    yield server
    server.stop()


class PlaybookResult(object):
    def __init__(self, proc, callback):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = proc.stdout + proc.stderr
        self.json = None
        if callback == "json":
            start = proc.stdout.find("{")
            if start >= 0:
                try:
                    self.json = json.loads(proc.stdout[start:])
                except ValueError:
                    self.json = None

    def task_results(self, task_name):
        """{host: result} for the task of that name in the json callback output."""
        found = {}
        for play in (self.json or {}).get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == task_name:
                    found.update(task["hosts"])
        return found

    def __repr__(self):
        return "PlaybookResult(rc=%s)\n--- stdout ---\n%s\n--- stderr ---\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


def write_inventory(path, hosts, group="all", host_vars=None):
    """A YAML inventory of local-connection hosts running modules with this Python."""
    hosts_block = {}
    for name in hosts:
        hv = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        hv.update((host_vars or {}).get(name, {}))
        hosts_block[name] = hv
    data = {"all": {"children": {group: {"hosts": hosts_block}}}} if group != "all" else {"all": {"hosts": hosts_block}}
    with open(path, "w") as handle:
        json.dump(data, handle)
    return path


@pytest.fixture
def run_playbook(tmp_path):
    """run_playbook(playbook_yaml, hosts=[...] | inventory=path, extra_vars={}, ...) -> PlaybookResult."""

    def run(playbook, hosts=("localhost",), inventory=None, extra_vars=None, env=None, verbosity=0,
            check=False, diff=False, callback="default", forks=5, timeout=600, args=()):
        play_path = tmp_path / "playbook.yml"
        play_path.write_text(playbook)
        if inventory is None:
            inventory = write_inventory(str(tmp_path / "inventory.json"), hosts)
        local_tmp = tempfile.mkdtemp(dir=str(tmp_path), prefix="ansible-local-")
        environ = dict(os.environ)
        environ.update({
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCAL_TEMP": local_tmp,
            "ANSIBLE_STDOUT_CALLBACK": callback,
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "PATH": ANSIBLE_BIN + os.pathsep + environ.get("PATH", ""),
        })
        # Never let a developer's own credentials leak into a test run.
        for name in list(environ):
            if name.startswith(("HUAWEICLOUD_", "HW_", "ALIBABA_CLOUD_", "ALICLOUD_", "NCLOUD_",
                                "OCEANBASE_", "OB_ROOT_PASSWORD", "OBSHELL_", "KEYWARD_")):
                del environ[name]
        environ.update(env or {})
        cmd = [os.path.join(ANSIBLE_BIN, "ansible-playbook"), "-i", str(inventory), "-f", str(forks), str(play_path)]
        if extra_vars:
            vars_path = tmp_path / "extra_vars.json"
            vars_path.write_text(json.dumps(extra_vars))
            cmd += ["-e", "@%s" % vars_path]
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        cmd += list(args)
        # stdin from /dev/null explicitly: ansible-core 2.19+ workers detach from stdio and die when
        # fd 0 is closed, which an in-process Ansible run (pytest-ansible's tests) can leave behind.
        proc = subprocess.run(cmd, env=environ, cwd=str(tmp_path), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)
        return PlaybookResult(proc, callback)

    return run
