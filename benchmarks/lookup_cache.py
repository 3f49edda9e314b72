#!/usr/bin/env python
"""How much the run-wide lookup cache saves when many hosts evaluate the same lookup.

Runs three real ansible-playbook runs over N local hosts against an emulated obshell agent
that answers with a fixed latency (a stand-in for the network), and prints wall time and the
requests the agent received for each, with ratios against the baseline measured in the same run:

  baseline   the same play with a plain set_fact (Ansible's own per-host cost)
  cache=on   lookup('keyward.keys.obshell_public_key', agent)   (the default)
  cache=off  the same lookup with cache=false

Usage: python benchmarks/lookup_cache.py [--hosts 50] [--latency 0.05] [--forks 5]
Not a test: it asserts nothing; the machines are noisy, so compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402  (makes ansible_collections.keyward.keys importable from the checkout)

from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent  # noqa: E402

PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - set_fact:
        agent_key: {value}
"""


def run(inventory, value, workdir, forks):
    play = os.path.join(workdir, "play.yml")
    with open(play, "w") as handle:
        handle.write(PLAY.format(value=json.dumps(value)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS_ROOT, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_LOCAL_TEMP=tempfile.mkdtemp(dir=workdir))
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-f", str(forks), play]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit("ansible-playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the agent takes per request")
    parser.add_argument("--forks", type=int, default=5)
    args = parser.parse_args()

    agent = ObshellAgent()
    with EmulatorServer(agent) as server, tempfile.TemporaryDirectory() as workdir:
        server.faults.latency = args.latency
        inventory = os.path.join(workdir, "inventory.json")
        hosts = {"h%03d" % i: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                 for i in range(args.hosts)}
        with open(inventory, "w") as handle:
            json.dump({"all": {"hosts": hosts}}, handle)
        term = "127.0.0.1:%d" % server.port
        cases = [
            ("baseline (set_fact)", "plain"),
            ("lookup, cache=on", "{{ lookup('keyward.keys.obshell_public_key', '%s') }}" % term),
            ("lookup, cache=off", "{{ lookup('keyward.keys.obshell_public_key', '%s', cache=false) }}" % term),
        ]
        results = []
        for label, value in cases:
            before = server.count("^/api/v1/secret$")
            elapsed = run(inventory, value, workdir, args.forks)
            results.append((label, elapsed, server.count("^/api/v1/secret$") - before))

    base = results[0][1]
    print("%d hosts, %d forks, agent latency %.0f ms" % (args.hosts, args.forks, args.latency * 1000))
    print("%-22s %9s %9s %10s" % ("case", "wall s", "x base", "requests"))
    for label, elapsed, requests in results:
        print("%-22s %9.2f %9.2f %10d" % (label, elapsed, elapsed / base, requests))
    on, off = results[1][1], results[2][1]
    print("cache=off / cache=on wall time: %.2f; requests: %d vs %d" % (off / on, results[2][2], results[1][2]))


if __name__ == "__main__":
    main()
