#!/usr/bin/env python
"""What the trust_store_report playbook costs over a plain trust_store_info run of the same fleet.

Builds N local hosts (ansible_connection=local), each with its own trust store: one store is
written by the role keyward.keys.trust_store and copied N times (a few hosts then drift: one
key removed, one file edited, one store missing). Then it times, in alternating rounds, two
real ansible-playbook runs over the same inventory and forks:

  baseline   one task, keyward.keys.trust_store_info on every host (what any inventory costs)
  report     the playbook keyward.keys.trust_store_report (the same read, then the comparison and
             the Markdown and HTML rendering, once, on the controller)

and prints the medians with the ratio report / baseline (goal: at most 1.2) and the report's size.

Usage: python benchmarks/trust_store_report.py [--hosts 500] [--forks 10] [--rounds 1]
Not a test: it asserts nothing; the machines are noisy, so compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402  (makes ansible_collections.keyward.keys importable from the checkout)

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys  # noqa: E402

BASELINE = """
- name: Plain trust_store_info
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the trust store
      keyward.keys.trust_store_info:
        path: "{{ trust_store_report_dir }}"
      register: trust_store_report_info
"""

REPORT = """
- name: The report
  ansible.builtin.import_playbook: keyward.keys.trust_store_report
"""

WRITE = """
- name: Write one store
  hosts: localhost
  gather_facts: false
  roles:
    - role: keyward.keys.trust_store
      vars:
        trust_store_keys: "{{ bench_keys }}"
        trust_store_bundle: bundle.pem
"""


def playbook(workdir, inventory, text, extra=None, forks=10):
    """One ansible-playbook run -> wall seconds (exits with its output if it fails)."""
    play = os.path.join(workdir, "play-%d.yml" % abs(hash(text)))
    with open(play, "w") as handle:
        handle.write(text)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-f", str(forks), play]
    if extra:
        path = os.path.join(workdir, "extra.json")
        with open(path, "w") as handle:
            json.dump(extra, handle)
        cmd += ["-e", "@" + path]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS_ROOT, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_LOCAL_TEMP=tempfile.mkdtemp(dir=workdir))
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit("ansible-playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return elapsed


def build_fleet(workdir, count):
    """N stores copied from one the role wrote; a few drift. -> (inventory path, desired keys)."""
    keys = [{"name": "app-%d" % i, "public_key": testkeys.spki_pem(testkeys.rsa_key(2048, slot=500 + i))} for i in range(3)]
    template = os.path.join(workdir, "template")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    seed = os.path.join(workdir, "seed.json")
    with open(seed, "w") as handle:
        json.dump({"all": {"hosts": {"localhost": local}}}, handle)
    playbook(workdir, seed, WRITE, {"bench_keys": keys, "trust_store_dir": template})
    hosts = {}
    for index in range(count):
        name = "h%03d" % index
        store = os.path.join(workdir, "stores", name)
        if index != 3:  # h003 has no store: absent
            shutil.copytree(template, store)
        hosts[name] = dict(local, trust_store_report_dir=store)
    os.remove(os.path.join(workdir, "stores", "h001", "app-2.pem"))  # missing key
    with open(os.path.join(workdir, "stores", "h002", "app-1.pem"), "a") as handle:  # edited file
        handle.write("# edited\n")
    inventory = os.path.join(workdir, "inventory.json")
    with open(inventory, "w") as handle:
        json.dump({"all": {"hosts": hosts}}, handle)
    return inventory, keys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print("collection imported from %s; %d local hosts, %d forks" % (conftest.COLLECTIONS_ROOT, args.hosts, args.forks),
          flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        inventory, keys = build_fleet(workdir, args.hosts)
        output = os.path.join(workdir, "report")
        extra = {"trust_store_report_keys": keys, "trust_store_report_output": output}
        times = {"baseline": [], "report": []}
        for round_index in range(args.rounds):
            # alternate the order, so a machine that slows down during a round hurts both alike
            order = ("baseline", "report") if round_index % 2 == 0 else ("report", "baseline")
            for case in order:
                text = BASELINE if case == "baseline" else REPORT
                times[case].append(playbook(workdir, inventory, text, extra if case == "report" else None, args.forks))
            print("round %d: baseline %.1f s, report %.1f s" % (round_index + 1, times["baseline"][-1], times["report"][-1]),
                  flush=True)
        baseline = statistics.median(times["baseline"])
        report = statistics.median(times["report"])
        with open(os.path.join(output, "trust_store_report.md")) as handle:
            summary = handle.read().splitlines()[2].split(" (")[0]
        sizes = dict((suffix, os.path.getsize(os.path.join(output, "trust_store_report." + suffix))) for suffix in ("md", "html"))
        print("%-44s %8.1f s" % ("baseline: trust_store_info on every host", baseline))
        print("%-44s %8.1f s  %.2fx baseline (goal: at most 1.2x)" % ("report: keyward.keys.trust_store_report", report,
                                                                      report / baseline))
        print("report: %s; trust_store_report.md %d bytes, trust_store_report.html %d bytes"
              % (summary, sizes["md"], sizes["html"]))


if __name__ == "__main__":
    main()
