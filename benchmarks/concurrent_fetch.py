#!/usr/bin/env python
"""What bounded concurrency buys when a module fetches several keys in one call.

The huaweicloud_kms_public_key_info module fetches its key_ids with map_bounded (4 threads).
This measures the same client code against the Huawei Cloud KMS emulator over HTTPS, with a
fixed answer latency standing in for the network, one worker (the baseline, sequential) against
the default bound, in the same run. Every request is signed (SDK-HMAC-SHA256) and checked.

Usage: python benchmarks/concurrent_fetch.py [--keys 8] [--latency 0.1] [--rounds 3]
Not a test: it asserts nothing; compare the ratio, not the seconds.
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

from ansible_collections.keyward.keys.plugins.module_utils._concurrency import DEFAULT_WORKERS, map_bounded  # noqa: E402
from ansible_collections.keyward.keys.plugins.module_utils._huaweicloud import HuaweiKmsClient  # noqa: E402
from ansible_collections.keyward.keys.plugins.module_utils._transport import Transport  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as emu  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer  # noqa: E402


def timed_fetch(server, pki, key_ids, workers):
    options = {"region": emu.REGION, "project_id": emu.PROJECT_ID, "endpoint": server.url, "iam_endpoint": server.url,
               "access_key": emu.ACCESS_KEY, "secret_key": emu.SECRET_KEY}
    client = HuaweiKmsClient.from_options(options, Transport("huaweicloud_kms", ca_path=pki["ca.pem"], retries=0))
    started = time.perf_counter()
    records = map_bounded(client.get_public_key, key_ids, workers=workers)
    elapsed = time.perf_counter() - started
    assert len(records) == len(key_ids)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
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
            rows = []
            for workers in (1, DEFAULT_WORKERS):
                best = min(timed_fetch(server, pki, key_ids, workers) for _round in range(args.rounds))
                rows.append((workers, best))
    base = rows[0][1]
    print("%d keys over HTTPS, %.0f ms answer latency, best of %d rounds" % (args.keys, args.latency * 1000, args.rounds))
    print("%-28s %9s %12s" % ("case", "wall s", "speed-up"))
    for workers, elapsed in rows:
        label = "sequential (baseline)" if workers == 1 else "map_bounded, %d workers" % workers
        print("%-28s %9.3f %11.2fx" % (label, elapsed, base / elapsed))


if __name__ == "__main__":
    main()
