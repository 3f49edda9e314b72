#!/usr/bin/env python
"""Instructions a cache hit executes in a forked Ansible worker, counted by valgrind.

CPU time on a shared machine is noisy; instruction counts are not (the same Python, inputs and
environment give the same count, whatever else the machine does). This starts the emulators,
then runs one Python process under `valgrind --tool=callgrind` that prepares itself like the
parent of Ansible's workers (plugin loader initialised, per-run temp dir resolved), warms the
cache in a forked child, and then forks one child per case that does what a worker does for a
lookup in a template: `lookup_loader.get(name)` (import and read the documentation), then
`run([term])`. A case's cost is its child's count minus that of a child that does nothing.

  env        ansible.builtin.env (the baseline)
  same docs  a lookup that returns a constant but carries the Huawei lookup's documentation
  huawei     keyward.keys.huaweicloud_kms_public_key, a cache hit
  pinned     the same with expected_fingerprint
  obshell    keyward.keys.obshell_public_key, a cache hit (its cache rules: agent spelling, key size)
  oceanbase  keyward.keys.oceanbase_cloud_api_keys, a cache hit (its cache rules: expiry fields)

Usage: python benchmarks/cache_hit_instructions.py
Needs valgrind (Debian package `valgrind`); says so and exits 0 without it. Not a test.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import cache_hit_cpu as cpu_bench  # noqa: E402  (the emulators, the same-docs collection)

from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as ob_emu  # noqa: E402

# Runs under valgrind. It must not import the checkout through sys.path (conftest does): Ansible's
# collection loader imports the collection, as in a real worker.
WORKER = r'''
import json, os, sys
setup = json.load(open(sys.argv[1]))
os.environ.update(setup["env"])
from ansible.plugins.loader import init_plugin_loader, lookup_loader
init_plugin_loader(setup["collections"])
from ansible import constants as C
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
C.DEFAULT_LOCAL_TMP  # the per-run temp dir, resolved before the fork as ansible-playbook does
loader = DataLoader()
templar = Templar(loader=loader)


def child(case):
    pid = os.fork()
    if pid == 0:
        if case is not None:
            plugin = lookup_loader.get(case["lookup"], loader=loader, templar=templar)
            plugin.run(case["terms"], variables={}, **case["kwargs"])
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


for case in setup["cases"].values():
    if case["warm"]:
        child(case)
pids = {"nothing": child(None)}
for label, case in setup["cases"].items():
    pids[label] = child(case)
json.dump(pids, open(setup["pids"], "w"))
'''


def case(lookup, terms=(), warm=True, **kwargs):
    return {"lookup": lookup, "terms": list(terms), "kwargs": kwargs, "warm": warm}


def totals(directory):
    """{pid: instructions} of every callgrind output file in directory."""
    found = {}
    for path in glob.glob(os.path.join(directory, "callgrind.out.*")):
        with open(path) as handle:
            text = handle.read()
        match = re.search(r"^(?:totals|summary):\s*(\d+)", text, re.M)
        if match:
            found[int(path.rsplit(".", 1)[1])] = int(match.group(1))
    return found


def main():
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian package valgrind): nothing measured")
        return
    with tempfile.TemporaryDirectory() as workdir:
        pki = cpu_bench.make_pki(os.path.join(workdir, "pki"))
        hw = cpu_bench.hw
        kms = cpu_bench.EmulatorServer(hw.HuaweiCloudEmulator(), tls=pki).start()
        agent = cpu_bench.EmulatorServer(cpu_bench.ObshellAgent()).start()
        cloud = cpu_bench.EmulatorServer(ob_emu.OceanBaseCloudEmulator(), tls=pki).start()
        try:
            cpu_bench.same_docs_collection(workdir)
            key_id = hw.KEY_IDS["rsa2048"]
            pin = key_record("huaweicloud_kms", key_id, kms.app.keys[key_id]["public_key"])["pin_sha256"]
            setup = {
                "env": {"HUAWEICLOUD_SDK_AK": hw.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": hw.SECRET_KEY,
                        "HUAWEICLOUD_SDK_REGION": hw.REGION, "HUAWEICLOUD_SDK_PROJECT_ID": hw.PROJECT_ID,
                        "HUAWEICLOUD_KMS_ENDPOINT": kms.url, "KEYWARD_CA_PATH": pki["ca.pem"],
                        "OCEANBASE_ENDPOINT": cloud.url, "OCEANBASE_ORG_ID": ob_emu.ORG_ID,
                        "OCEANBASE_PROJECT_ID": ob_emu.PROJECT_ID, "OCEANBASE_ACCESS_KEY_ID": ob_emu.ACCESS_KEY_ID,
                        "OCEANBASE_ACCESS_KEY_SECRET": ob_emu.ACCESS_KEY_SECRET,
                        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-tmp")},
                "collections": [cpu_bench.conftest.COLLECTIONS_ROOT, os.path.join(workdir, "collections")],
                "cases": {
                    "env (baseline)": case("ansible.builtin.env", ["HOME"], warm=False),
                    "same docs, no work": case("bench.docs.same_docs", ["x"], warm=False),
                    "huawei, cache hit": case("keyward.keys.huaweicloud_kms_public_key", [key_id]),
                    "huawei, pinned hit": case("keyward.keys.huaweicloud_kms_public_key", [key_id],
                                               expected_fingerprint=pin),
                    "obshell, cache hit": case("keyward.keys.obshell_public_key", ["127.0.0.1:%d" % agent.port]),
                    "oceanbase, cache hit": case("keyward.keys.oceanbase_cloud_api_keys"),
                },
                "pids": os.path.join(workdir, "pids.json"),
            }
            setup_path = os.path.join(workdir, "setup.json")
            with open(setup_path, "w") as handle:
                json.dump(setup, handle)
            worker = os.path.join(workdir, "worker.py")
            with open(worker, "w") as handle:
                handle.write(WORKER)
            out = os.path.join(workdir, "callgrind")
            os.makedirs(out)
            proc = subprocess.run(
                ["valgrind", "--tool=callgrind", "--callgrind-out-file=%s/callgrind.out.%%p" % out,
                 sys.executable, worker, setup_path], capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                sys.exit("the worker failed under valgrind:\n%s" % proc.stderr[-3000:])
            with open(setup["pids"]) as handle:
                pids = json.load(handle)
            counts = totals(out)
        finally:
            kms.stop()
            agent.stop()
            cloud.stop()
    nothing = counts[pids.pop("nothing")]
    cost = {label: (counts[pid] - nothing) / 1e6 for label, pid in pids.items()}
    base = cost["env (baseline)"]
    print("Instructions (millions) one forked worker executes for the lookup, Python %d.%d" % sys.version_info[:2])
    print("%-22s %12s %12s" % ("case", "M instr", "over env"))
    for label, value in cost.items():
        print("%-22s %12.1f %12.1f" % (label, value, value - base))


if __name__ == "__main__":
    main()
