#!/usr/bin/env python
"""CPU time of a cache hit: what one lookup costs per host and task once its key is cached.

Ansible forks a worker per host and task, and each worker compiles and imports the lookup
afresh, so what a hit imports is paid on every host. This runs real ansible-playbook runs over
N local hosts and measures the CPU time (user + system) of the whole ansible-playbook process
tree, which is steadier than wall time on a shared machine, for one task per host evaluating:

  env        lookup('ansible.builtin.env', 'HOME')                (the baseline)
  same docs  a lookup that returns a constant but carries the Huawei lookup's documentation
             (Ansible parses its documentation and doc fragments in every worker)
  huawei     lookup('keyward.keys.huaweicloud_kms_public_key', id) (a hit: warmed by a run_once task)
  obshell    lookup('keyward.keys.obshell_public_key', agent)      (a hit; applies its cache rules:
             agent address, key size)

Each case runs twice: the play that warms the cache once (run_once), and the same play plus the
measured task on every host. Their difference, divided by the hosts, is the CPU one host-task
costs; the fixed costs (start-up, parsing the play, the single fetch that warms the cache) cancel
out instead of being spread over the hosts. It prints that per case and above the env baseline,
all measured side by side in one run, with the minor page faults per host-task above env: the
pages a worker touches for the first time, its own new memory and the parent's pages it writes
to after the fork (copy-on-write), which instruction counts do not show.

The same-docs lookup is not a floor: Ansible parses its documentation in every worker, while
this collection's lookups register the option definitions the run's first worker saved
(docs/decisions.md).

Usage: python benchmarks/cache_hit_cpu.py [--hosts 60] [--forks 10] [--rounds 5] [--only WORD] [--before DIR] [--in-worker]
Not a test: it asserts nothing; compare the differences, not the seconds.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402  (makes ansible_collections.keyward.keys importable from the checkout)

from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent  # noqa: E402

WARM = """
- hosts: all
  gather_facts: false
  tasks:
    - name: warm the cache once
      run_once: true
      ansible.builtin.set_fact:
        warm: "{expr}"
"""
MEASURED = WARM + """
    - name: the measured task
      ansible.builtin.set_fact:
        value: "{expr}"
"""


# --in-worker: the same task with a probe lookup just before and just after the measured one, in
# the same template and so in the same worker: what the lookup call alone costs that worker.
PROBED = WARM + """
    - name: the measured task between two probes
      ansible.builtin.set_fact:
        value: "{{{{ [lookup('bench.docs.usage', 'start'), {inner}, lookup('bench.docs.usage', 'end')] }}}}"
"""
USAGE = """
import json, os, resource

from ansible.plugins.lookup import LookupBase

DOCUMENTATION = "{name: usage, short_description: CPU and faults of this worker from start to end, author: [bench]}"
START = []


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        usage = resource.getrusage(resource.RUSAGE_SELF)
        now = (usage.ru_utime + usage.ru_stime, usage.ru_minflt)
        if terms == ["start"]:
            START[:] = now
        else:
            with open(os.environ["BENCH_USAGE_LOG"], "a") as log:
                log.write(json.dumps([now[0] - START[0], now[1] - START[1]]) + "\\n")
        return ["-"]
"""

SAME_DOCS = """
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = %r


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return ["constant"]
"""


def same_docs_collection(workdir):
    """A collection bench.docs whose lookup same_docs does nothing but has the Huawei lookup's docs."""
    source = os.path.join(ROOT, "plugins", "lookup", "huaweicloud_kms_public_key.py")
    with open(source) as handle:
        tree = ast.parse(handle.read())
    documentation = next(node.value.value for node in tree.body if isinstance(node, ast.Assign)
                         and getattr(node.targets[0], "id", None) == "DOCUMENTATION")
    documentation = documentation.replace("name: huaweicloud_kms_public_key", "name: same_docs")
    root = os.path.join(workdir, "collections")
    lookup_dir = os.path.join(root, "ansible_collections", "bench", "docs", "plugins", "lookup")
    os.makedirs(lookup_dir)
    with open(os.path.join(lookup_dir, "same_docs.py"), "w") as handle:
        handle.write(SAME_DOCS % documentation)
    with open(os.path.join(lookup_dir, "usage.py"), "w") as handle:
        handle.write(USAGE)
    return root


def cpu_of_run(inventory, expr, workdir, forks, env, play_text=MEASURED, collections_root=None):
    play = os.path.join(workdir, "play.yml")
    with open(play, "w") as handle:
        handle.write(play_text.format(expr=expr, inner=expr[2:-2].strip()))
    collections = os.pathsep.join([collections_root or conftest.COLLECTIONS_ROOT, os.path.join(workdir, "collections")])
    environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_LOCAL_TEMP=tempfile.mkdtemp(dir=workdir), **env)
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "-f", str(forks), play]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=environ, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit("ansible-playbook failed:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
    return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            after.ru_minflt - before.ru_minflt)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=60)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", action="append", default=[], metavar="WORD",
                        help="measure only the cases whose label contains WORD (env is always measured)")
    parser.add_argument("--in-worker", action="store_true",
                        help="also run each case with probes around the lookup, in its worker: the CPU and faults"
                             " of the lookup call alone (steadier on a busy machine: no parent, no other tasks)")
    parser.add_argument("--before", metavar="DIR",
                        help="also measure the hits with the collection checked out in DIR (for example"
                             " `git archive <commit> | tar -x -C DIR`), in the same rounds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        pki = make_pki(os.path.join(workdir, "pki"))
        kms = EmulatorServer(hw.HuaweiCloudEmulator(), tls=pki).start()
        agent = EmulatorServer(ObshellAgent()).start()
        try:
            same_docs_collection(workdir)
            inventory = os.path.join(workdir, "inventory.json")
            hosts = {"h%03d" % i: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                     for i in range(args.hosts)}
            with open(inventory, "w") as handle:
                json.dump({"all": {"hosts": hosts}}, handle)
            env = {"HUAWEICLOUD_SDK_AK": hw.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": hw.SECRET_KEY,
                   "HUAWEICLOUD_SDK_REGION": hw.REGION, "HUAWEICLOUD_SDK_PROJECT_ID": hw.PROJECT_ID,
                   "HUAWEICLOUD_KMS_ENDPOINT": kms.url, "KEYWARD_CA_PATH": pki["ca.pem"]}
            cases = [
                ("env (baseline)", "{{ lookup('ansible.builtin.env', 'HOME') }}"),
                ("same docs, no work", "{{ lookup('bench.docs.same_docs', 'x') }}"),
                ("huawei, cache hit", "{{ lookup('keyward.keys.huaweicloud_kms_public_key', '%s') }}"
                 % hw.KEY_IDS["rsa2048"]),
                ("obshell, cache hit", "{{ lookup('keyward.keys.obshell_public_key', '127.0.0.1:%d') }}" % agent.port),
            ]
            roots = {}
            if args.before:
                # The same FQCNs from the other checkout: its own collections root, used for its cases only.
                link = os.path.join(workdir, "before", "ansible_collections", "keyward", "keys")
                os.makedirs(os.path.dirname(link))
                os.symlink(os.path.abspath(args.before), link)
                for label, expr in cases[2:]:
                    cases.append(("before: " + label, expr))
                    roots["before: " + label] = os.path.join(workdir, "before")
            cases = [case for case in cases if case is cases[0] or not args.only
                     or any(word in case[0] for word in args.only)]
            # Each round measures every case, one after the other, so that a noisy neighbour hits
            # them alike. A case's cost per host-task is its run with the measured task minus its
            # run without it (adjacent in time): the fixed costs (start-up, parsing the play, the
            # one fetch that warms the cache) cancel out instead of being spread over the hosts.
            rounds, in_worker = [], []
            for _round in range(args.rounds):
                per_host, whole, faults, calls = {}, {}, {}, {}
                for label, expr in cases:
                    root = roots.get(label)
                    warm_cpu, warm_faults = cpu_of_run(inventory, expr, workdir, args.forks, env, WARM, root)
                    cpu, run_faults = cpu_of_run(inventory, expr, workdir, args.forks, env, MEASURED, root)
                    per_host[label] = (cpu - warm_cpu) * 1000.0 / args.hosts
                    whole[label] = cpu * 1000.0 / args.hosts
                    faults[label] = (run_faults - warm_faults) / float(args.hosts)
                    if args.in_worker:
                        calls[label] = lookup_call(inventory, expr, workdir, args.forks, env, root)
                rounds.append((per_host, whole, faults))
                in_worker.append(calls)
        finally:
            kms.stop()
            agent.stop()
    report(cases, rounds, args)
    if args.in_worker:
        report_in_worker(cases, in_worker)


def lookup_call(inventory, expr, workdir, forks, env, root):
    """(ms of CPU, minor faults) of the lookup call alone in each host's worker: medians over the hosts."""
    log = os.path.join(workdir, "usage.log")
    if os.path.exists(log):
        os.unlink(log)
    cpu_of_run(inventory, expr, workdir, forks, dict(env, BENCH_USAGE_LOG=log), PROBED, root)
    with open(log) as handle:
        calls = [json.loads(line) for line in handle]
    return statistics.median(cpu for cpu, _faults in calls) * 1000.0, statistics.median(n for _cpu, n in calls)


def report_in_worker(cases, in_worker):
    base = cases[0][0]
    print("In the worker (--in-worker): the lookup call alone, between two probes in the same template;")
    print("medians over the hosts, then over the rounds (min-max of the rounds).")
    print("%-30s %12s %22s %16s" % ("case", "ms", "ms over env", "faults over env"))
    for label, _expr in cases:
        over = sorted(calls[label][0] - calls[base][0] for calls in in_worker)
        print("%-30s %12.1f %8.1f (%4.1f to %4.1f) %16.0f" % (
            label, statistics.median(calls[label][0] for calls in in_worker), statistics.median(over), over[0],
            over[-1], statistics.median(calls[label][1] - calls[base][1] for calls in in_worker)))


def report(cases, rounds, args):
    base = cases[0][0]
    print("%d hosts, %d forks, %d rounds: CPU (user + system) and minor page faults of the whole"
          " ansible-playbook process tree" % (args.hosts, args.forks, args.rounds))
    print("per host-task: (run with the task - run without) / hosts; whole run: run with the task / hosts,")
    print("so it also spreads the warm-up fetch over the hosts. Medians of each round's difference to env (min-max).")
    print("%-30s %16s %26s %26s %12s %16s" % (
        "case", "ms per host-task", "over env, per host-task", "over env, whole run", "/ same docs",
        "faults over env"))
    docs = cases[1][0] if len(cases) > 1 and "docs" in cases[1][0] else None
    for label, _expr in cases:
        over = sorted(per_host[label] - per_host[base] for per_host, _whole, _faults in rounds)
        over_whole = sorted(whole[label] - whole[base] for _per_host, whole, _faults in rounds)
        # The cost over env as a multiple of the do-nothing lookup's, each round on its own: steadier
        # than milliseconds when the machine's speed drifts.
        ratio = sorted((per_host[label] - per_host[base]) / (per_host[docs] - per_host[base])
                       for per_host, _whole, _faults in rounds if per_host[docs] > per_host[base]) if docs else []
        # Minor page faults per host-task over env: pages a worker touches for the first time, its
        # own new memory and the parent's pages it writes to after the fork (copy-on-write).
        faults = statistics.median(faults[label] - faults[base] for _per_host, _whole, faults in rounds)
        print("%-30s %16.1f %12.1f (%4.1f to %4.1f) %12.1f (%4.1f to %4.1f) %12s %16.0f" % (
            label, statistics.median(per_host[label] for per_host, _whole, _faults in rounds),
            statistics.median(over), over[0], over[-1], statistics.median(over_whole), over_whole[0], over_whole[-1],
            "%.2f" % statistics.median(ratio) if ratio and label != base else "-", faults))


if __name__ == "__main__":
    main()
