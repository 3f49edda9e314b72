# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded concurrency for fetching several keys in one module or lookup call.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

# Concurrent requests of one lookup or module call. 16 keys at 1 s latency take about one
# latency; the bound keeps one call under the per-account rate limits the providers publish
# (Huawei KMS and Alibaba IDaaS allow tens of requests per second per account). A provider
# with a lower limit declares its own max_workers.
DEFAULT_WORKERS = 16


def map_bounded(func, items, workers=DEFAULT_WORKERS):
    """[func(item) for item in items], run by at most `workers` threads, results in order.

    If calls fail, the error of the first failing item (in input order) is raised, so the
    message the user sees does not depend on thread timing.
    """
    items = list(items)
    if len(items) <= 1 or workers <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        futures = [pool.submit(func, item) for item in items]
        return [future.result() for future in futures]
