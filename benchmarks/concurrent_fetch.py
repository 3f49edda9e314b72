#!/usr/bin/env python
"""16 keys in one call against 1 key, at 1 s provider latency: concurrency of fetch_records.

Fetches K keys from the Huawei KMS emulator over HTTPS with a fixed answer latency through
fetch_records (what every lookup and *_info module uses) and prints wall times side by side:
one key (the baseline: one latency), K keys with 0.1.0's 4 workers, K keys with today's bound.

Usage: python benchmarks/concurrent_fetch.py [--keys 16] [--latency 1.0] [--rounds 1]
Not a test: it asserts nothing; the machines are noisy, so compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402  (makes ansible_collections.keyward.keys importable from the checkout)

from ansible_collections.keyward.keys.plugins.module_utils.providers import _huaweicloud  # noqa: E402
from ansible_collections.keyward.keys.plugins.module_utils._concurrency import DEFAULT_WORKERS  # noqa: E402
from ansible_collections.keyward.keys.plugins.module_utils._provider import Provider, fetch_records  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as emu  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer  # noqa: E402


def timed_fetch(server, pki, key_ids, workers):
    """fetch_records, the path every lookup and *_info module takes, with a given bound."""
    base = _huaweicloud.PROVIDER
    provider = Provider(base.name, base.var_prefix, base.options, base.make_client, check_term=base.check_term,
                        profile=base.profile, max_workers=workers)
    options = {"region": emu.REGION, "project_id": emu.PROJECT_ID, "endpoint": server.url, "iam_endpoint": server.url,
               "access_key": emu.ACCESS_KEY, "secret_key": emu.SECRET_KEY, "timeout": 10, "retries": 0,
               "validate_certs": True, "ca_path": pki["ca.pem"], "expected_fingerprint": None}
    options.update({name: None for name in base.options if name not in options})
    started = time.perf_counter()
    records = fetch_records(provider, options, key_ids)
    elapsed = time.perf_counter() - started
    assert len(records) == len(key_ids)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=16)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print("collection imported from %s" % conftest.COLLECTIONS_ROOT)
    app = emu.HuaweiCloudEmulator()
    key_ids = []
    for index in range(args.keys):
        key_id = "bench%03d-0000-4000-8000-000000000000" % index
        app.add_key(key_id, emu.testkeys.spki_pem(emu.testkeys.ec_key("secp256r1")), spec="EC_P256")
        key_ids.append(key_id)
    with tempfile.TemporaryDirectory() as workdir:
        pki = make_pki(workdir)
        with EmulatorServer(app, tls=pki) as server:
            server.faults.latency = args.latency
            one = min(timed_fetch(server, pki, key_ids[:1], DEFAULT_WORKERS) for _round in range(args.rounds))
            rows = [("1 key (baseline: one latency)", one)]
            for workers in (4, DEFAULT_WORKERS):
                label = "%d keys, %d workers%s" % (args.keys, workers, " (0.1.0)" if workers == 4 else " (now)")
                rows.append((label, min(timed_fetch(server, pki, key_ids, workers) for _round in range(args.rounds))))
    base = rows[0][1]
    print("Huawei KMS emulator over HTTPS, %.0f ms answer latency, best of %d round(s)" % (args.latency * 1000, args.rounds))
    print("%-36s %9s %12s" % ("case", "wall s", "x baseline"))
    for label, elapsed in rows:
        print("%-36s %9.3f %11.2fx" % (label, elapsed, elapsed / base))


if __name__ == "__main__":
    main()
