"""The shipped rulebook under the real ansible-rulebook (drools in a JVM) against the Huawei
Cloud KMS emulator over HTTPS: the first poll brings the key onto the host; a key rotated in the
emulator makes the rulebook run the playbook, and the host's trust store holds the new key (the
old one retiring beside it) within two polling intervals of the rotation plus one playbook run.
An IDaaS application watched without keys (ListClientPublicKeys): a key added to it reaches the
store through the playbook's listing module.

Runs in .venv/eda (`make eda`): ansible-rulebook, ansible-core and the collection's requirements.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import ansible_collections.keyward.keys as collection
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as ali
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

BIN = os.path.dirname(sys.executable)
RULEBOOK_CLI = os.path.join(BIN, "ansible-rulebook")
CHECKOUT = list(collection.__path__)[0]
PLAYBOOK = os.path.join(CHECKOUT, "extensions", "eda", "rulebooks", "playbooks", "trust_store_sync.yml")
INTERVAL = 4.0


def wait_for(predicate, timeout, proc, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        if proc.poll() is not None:
            pytest.fail("ansible-rulebook exited (%s):\n%s" % (proc.returncode, open(log).read()[-6000:]))
        time.sleep(0.2)
    pytest.fail("timed out after %.0fs:\n%s" % (timeout, open(log).read()[-6000:]))


def store_holds(directory, pem):
    """True when a .pem file of the store holds exactly that key (whatever its file name)."""
    if not os.path.isdir(directory):
        return False
    wanted = pem.strip()
    for name in os.listdir(directory):
        if name.endswith(".pem"):
            with open(os.path.join(directory, name)) as handle:
                if handle.read().strip() == wanted:
                    return True
    return False


def rulebook_environment(tmp_path, provider_env):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("HUAWEICLOUD_", "HW_", "ALIBABA_CLOUD_", "ALICLOUD_", "NCLOUD_", "OCEANBASE_",
                                   "OB_ROOT_PASSWORD", "OBSHELL_", "KEYWARD_"))}
    env.update(provider_env)
    env.update({
        "KEYWARD_RETRIES": "0",
        "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    })
    return env


class Rulebook(object):
    """ansible-rulebook running the shipped rulebook against one local host with its own store."""

    def __init__(self, tmp_path, provider_env, variables):
        self.store = str(tmp_path / "trust")
        inventory = tmp_path / "inventory.json"
        inventory.write_text(json.dumps({"all": {"hosts": {"web1": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "trust_store_dir": self.store}}}}))
        path = tmp_path / "vars.json"
        path.write_text(json.dumps(dict(variables, keyward_interval=INTERVAL, keyward_sync_playbook=PLAYBOOK)))
        self.log = str(tmp_path / "rulebook.log")
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [RULEBOOK_CLI, "--rulebook", "keyward.keys.trust_store_sync", "-i", str(inventory), "--vars", str(path)],
                cwd=str(tmp_path), env=rulebook_environment(tmp_path, provider_env),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_for_key(self, pem, timeout):
        return wait_for(lambda: store_holds(self.store, pem), timeout, self.proc, self.log)

    def holds(self, pem):
        return store_holds(self.store, pem)

    def output(self):
        return open(self.log).read()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def rulebook(tmp_path):
    assert shutil.which("java"), "ansible-rulebook needs Java 17+ (make eda installs it)"
    started = []

    def start(provider_env, variables):
        started.append(Rulebook(tmp_path, provider_env, variables))
        return started[-1]

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def pki_dir(tmp_path):
    return make_pki(str(tmp_path / "pki"))


@pytest.fixture
def huawei(pki_dir):
    server = EmulatorServer(hw.HuaweiCloudEmulator(), tls=pki_dir).start()
    yield server, pki_dir
    server.stop()


def test_a_rotated_key_reaches_the_trust_store_through_the_rulebook(huawei, rulebook, tmp_path):
    server, pki = huawei
    key_id = hw.KEY_IDS["rsa2048"]
    old_pem = server.app.keys[key_id]["public_key"]
    running = rulebook(
        # What the huaweicloud credential type injects, plus the test CA.
        {"HUAWEICLOUD_SDK_AK": hw.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": hw.SECRET_KEY,
         "HUAWEICLOUD_SDK_REGION": hw.REGION, "HUAWEICLOUD_SDK_PROJECT_ID": hw.PROJECT_ID,
         "HUAWEICLOUD_KMS_ENDPOINT": server.url, "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url,
         "KEYWARD_CA_PATH": pki["ca.pem"]},
        {"keyward_provider": "huaweicloud_kms", "keyward_keys": [key_id],
         "keyward_state_file": str(tmp_path / "state.json")})
    # The first poll announces the key; the playbook writes it (JVM start-up included).
    started = time.monotonic()
    running.wait_for_key(old_pem, 120)
    first_sync = time.monotonic() - started
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["keys"][key_id]["fingerprint_sha256"]

    new_pem = testkeys.spki_pem(testkeys.rsa_key(2048, slot=7))
    server.app.keys[key_id]["public_key"] = new_pem
    rotated = time.monotonic()
    # Two polling intervals, plus one playbook run (measured above, JVM start-up included).
    reached = running.wait_for_key(new_pem, 2 * INTERVAL + max(first_sync, 30))
    print("rotation reached the trust store in %.1fs (interval %.0fs)" % (reached - rotated, INTERVAL))
    # trust_store_retire_after: the old key stays, retiring, beside the new one.
    assert running.holds(old_pem)
    assert hw.SECRET_KEY not in running.output()


def test_a_key_added_to_an_idaas_application_reaches_the_trust_store(pki_dir, rulebook, tmp_path):
    app = ali.AlibabaIdaasEmulator()
    server = EmulatorServer(app, tls=pki_dir).start()
    try:
        first = app.keys_of()[0]["PublicKey"]
        running = rulebook(
            {"ALIBABA_CLOUD_ACCESS_KEY_ID": ali.ACCESS_KEY_ID, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ali.ACCESS_KEY_SECRET,
             "ALIBABA_CLOUD_IDAAS_ENDPOINT": server.url, "KEYWARD_CA_PATH": pki_dir["ca.pem"]},
            {"keyward_provider": "alicloud_idaas", "keyward_alicloud_instance_id": ali.INSTANCE_ID,
             "keyward_alicloud_application_id": ali.APPLICATION_ID})
        running.wait_for_key(first, 120)
        new_pem = testkeys.spki_pem(testkeys.rsa_key(2048, slot=8))
        app.add_key(ali.APPLICATION_ID, PublicKey=new_pem)
        running.wait_for_key(new_pem, 2 * INTERVAL + 60)
        assert ali.ACCESS_KEY_SECRET not in running.output()
    finally:
        server.stop()
