# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded concurrency for fetching several keys in one module or lookup call.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

DEFAULT_WORKERS = 4  # enough to hide latency, few enough not to trip provider rate limits


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
