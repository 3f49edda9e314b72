#!/usr/bin/env python
"""Seconds from a key rotated in the emulator to the new key in the trust stores of 20 hosts.

Runs the shipped rulebook (extensions/eda/rulebooks/trust_store_sync.yml) under the real
ansible-rulebook against the Huawei Cloud KMS emulator over HTTPS, with 20 local-connection hosts
that each have a trust store of their own. After the first sync, it rotates the key in the
emulator and measures until every store holds the new key. The baseline is the goal: two polling
intervals plus one playbook run, where the playbook run is the same playbook run once by
ansible-playbook on the same hosts (measured here, before the rulebook starts).

Usage: .venv/eda/bin/python benchmarks/eda_rotation.py [--hosts 20] [--interval 5] [--rounds 1]
Needs ansible-rulebook and Java (make venv-eda). Not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402  (makes ansible_collections.keyward.keys importable from the checkout)

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as emu  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer  # noqa: E402

BIN = os.path.dirname(sys.executable)
PLAYBOOK = os.path.join(conftest.COLLECTIONS_ROOT, "ansible_collections", "keyward", "keys", "extensions", "eda",
                        "rulebooks", "playbooks", "trust_store_sync.yml")
KEY_ID = emu.KEY_IDS["rsa2048"]


def stores_hold(stores, pem):
    wanted = pem.strip()

    def holds(directory):
        if not os.path.isdir(directory):
            return False
        for name in os.listdir(directory):
            if name.endswith(".pem"):
                with open(os.path.join(directory, name)) as handle:
                    if handle.read().strip() == wanted:
                        return True
        return False

    return all(holds(directory) for directory in stores)


def wait(predicate, proc, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return time.monotonic()
        if proc is not None and proc.poll() is not None:
            raise SystemExit("ansible-rulebook exited with %s" % proc.returncode)
        time.sleep(0.1)
    raise SystemExit("timed out")


def environment(server, pki, work):
    env = {name: value for name, value in os.environ.items() if not name.startswith(("HUAWEICLOUD_", "HW_", "KEYWARD_"))}
    env.update({"HUAWEICLOUD_SDK_AK": emu.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": emu.SECRET_KEY,
                "HUAWEICLOUD_SDK_REGION": emu.REGION, "HUAWEICLOUD_SDK_PROJECT_ID": emu.PROJECT_ID,
                "HUAWEICLOUD_KMS_ENDPOINT": server.url, "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url,
                "KEYWARD_CA_PATH": pki["ca.pem"], "ANSIBLE_COLLECTIONS_PATH": conftest.COLLECTIONS_ROOT,
                "ANSIBLE_LOCAL_TEMP": os.path.join(work, "ansible-tmp"), "ANSIBLE_NOCOLOR": "1",
                # ansible-rulebook has no --forks: ansible-runner's ansible-playbook reads this.
                "ANSIBLE_FORKS": "20",
                "PATH": BIN + os.pathsep + os.environ.get("PATH", "")})
    return env


def one_round(args, work):
    pki = make_pki(os.path.join(work, "pki"))
    app = emu.HuaweiCloudEmulator()
    server = EmulatorServer(app, tls=pki).start()
    env = environment(server, pki, work)
    hosts = {"host%02d" % index: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                  "trust_store_dir": os.path.join(work, "stores", "host%02d" % index)}
             for index in range(args.hosts)}
    inventory = os.path.join(work, "inventory.json")
    with open(inventory, "w") as handle:
        json.dump({"all": {"hosts": hosts}}, handle)
    stores = [host["trust_store_dir"] for host in hosts.values()]
    try:
        # The baseline's playbook run: the same playbook on the same hosts, by ansible-playbook.
        extra = os.path.join(work, "extra.json")
        with open(extra, "w") as handle:
            json.dump({"keyward_sync_provider": "huaweicloud_kms", "keyward_sync_keys": [KEY_ID],
                       "trust_store_dir": os.path.join(work, "baseline", "{{ inventory_hostname }}")}, handle)
        started = time.monotonic()
        subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-e", "@" + extra, PLAYBOOK],
                       env=env, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, cwd=work)
        playbook_run = time.monotonic() - started

        variables = os.path.join(work, "vars.json")
        with open(variables, "w") as handle:
            json.dump({"keyward_provider": "huaweicloud_kms", "keyward_keys": [KEY_ID],
                       "keyward_interval": args.interval, "keyward_sync_playbook": PLAYBOOK}, handle)
        log = open(os.path.join(work, "rulebook.log"), "w")
        proc = subprocess.Popen([os.path.join(BIN, "ansible-rulebook"), "--rulebook", "keyward.keys.trust_store_sync",
                                 "-i", inventory, "--vars", variables],
                                env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=work)
        try:
            wait(lambda: stores_hold(stores, app.keys[KEY_ID]["public_key"]), proc)
            # The first sync's playbook has ended (its recap is in ansible-rulebook's output).
            wait(lambda: "PLAY RECAP" in open(log.name).read(), proc)
            new_pem = testkeys.spki_pem(testkeys.rsa_key(2048, slot=9))
            app.keys[KEY_ID]["public_key"] = new_pem
            rotated = time.monotonic()
            reached = wait(lambda: stores_hold(stores, new_pem), proc) - rotated
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        return reached, playbook_run
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if not os.path.exists(os.path.join(BIN, "ansible-rulebook")) or not shutil.which("java"):
        raise SystemExit("needs ansible-rulebook and java: run it with .venv/eda/bin/python (make venv-eda)")
    print("rotation -> %d trust stores through the rulebook, polling every %.0fs" % (args.hosts, args.interval))
    print("%-6s %12s %14s %12s %8s" % ("round", "rotation (s)", "playbook (s)", "goal (s)", "ratio"))
    for index in range(args.rounds):
        work = tempfile.mkdtemp(prefix="keyward-eda-bench-")
        try:
            reached, playbook_run = one_round(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        goal = 2 * args.interval + playbook_run
        print("%-6d %12.1f %14.1f %12.1f %8.2f" % (index + 1, reached, playbook_run, goal, reached / goal))
    print("goal: two polling intervals plus one playbook run; ratio = rotation / goal (under 1 meets it)")


if __name__ == "__main__":
    main()
