"""The shipped rulebook under the real ansible-rulebook (drools in a JVM) against the Huawei
Cloud KMS emulator over HTTPS: the first poll brings the key onto the host; a key rotated in the
emulator makes the rulebook run the playbook, and the host's trust store holds the new key (the
old one retiring beside it) within two polling intervals of the rotation plus one playbook run.

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


def rulebook_environment(server, pki, tmp_path):
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("HUAWEICLOUD_", "HW_", "ALIBABA_CLOUD_", "ALICLOUD_", "NCLOUD_", "OCEANBASE_",
                                   "OB_ROOT_PASSWORD", "OBSHELL_", "KEYWARD_"))}
    env.update({
        # What the huaweicloud credential type injects, plus the test CA.
        "HUAWEICLOUD_SDK_AK": hw.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": hw.SECRET_KEY,
        "HUAWEICLOUD_SDK_REGION": hw.REGION, "HUAWEICLOUD_SDK_PROJECT_ID": hw.PROJECT_ID,
        "HUAWEICLOUD_KMS_ENDPOINT": server.url, "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url,
        "KEYWARD_CA_PATH": pki["ca.pem"], "KEYWARD_RETRIES": "0",
        "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    })
    return env


@pytest.fixture
def huawei(tmp_path):
    pki = make_pki(str(tmp_path / "pki"))
    server = EmulatorServer(hw.HuaweiCloudEmulator(), tls=pki).start()
    yield server, pki
    server.stop()


def test_a_rotated_key_reaches_the_trust_store_through_the_rulebook(huawei, tmp_path):
    assert shutil.which("java"), "ansible-rulebook needs Java 17+ (make eda installs it)"
    server, pki = huawei
    key_id = hw.KEY_IDS["rsa2048"]
    emulator = server.app
    old_pem = emulator.keys[key_id]["public_key"]
    store = tmp_path / "trust"
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"web1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "trust_store_dir": str(store)}}}}))
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({
        "keyward_provider": "huaweicloud_kms", "keyward_keys": [key_id], "keyward_interval": INTERVAL,
        "keyward_state_file": str(tmp_path / "state.json"), "keyward_sync_playbook": PLAYBOOK}))
    log = str(tmp_path / "rulebook.log")
    with open(log, "w") as out:
        proc = subprocess.Popen([RULEBOOK_CLI, "--rulebook", "keyward.keys.trust_store_sync", "-i", str(inventory),
                                 "--vars", str(variables), "-v"],
                                cwd=str(tmp_path), env=rulebook_environment(server, pki, tmp_path),
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        # The first poll announces the key; the playbook writes it (JVM start-up included).
        started = time.monotonic()
        wait_for(lambda: store_holds(str(store), old_pem), 120, proc, log)
        first_sync = time.monotonic() - started
        state = json.loads((tmp_path / "state.json").read_text())
        assert state["keys"][key_id]["fingerprint_sha256"]

        new_pem = testkeys.spki_pem(testkeys.rsa_key(2048, slot=7))
        emulator.keys[key_id]["public_key"] = new_pem
        rotated = time.monotonic()
        # Two polling intervals, plus one playbook run (measured above, JVM start-up included).
        reached = wait_for(lambda: store_holds(str(store), new_pem), 2 * INTERVAL + max(first_sync, 30), proc, log)
        print("rotation reached the trust store in %.1fs (interval %.0fs)" % (reached - rotated, INTERVAL))
        # trust_store_retire_after: the old key stays, retiring, beside the new one.
        assert store_holds(str(store), old_pem)
        text = open(log).read()
        assert hw.SECRET_KEY not in text
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

