# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run-wide record cache (_cache.py, _record_cache.py): entries, secrecy, stampedes across forked workers,
crashes mid-fetch, error caching and expiry.

Forked workers are real processes (os.fork), as Ansible's are; fetch calls are counted in a
file shared by all of them, not in memory.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._errors import (
    KeywardError, OptionError, ProviderError, TimedOutError, UnreachableError,
)
from ansible_collections.keyward.keys.plugins.plugin_utils import _cache, _record_cache
from ansible_collections.keyward.keys.plugins.plugin_utils._record_cache import RecordCache

SECRET = "SENTINEL-SECRET-7f3a9c-do-not-store"
MATERIAL = {"provider": "huaweicloud_kms", "endpoint": "https://kms.cn-north-4.myhuaweicloud.com",
            "project_id": "PROJECT-0a1b2c", "access_key": "AKID-PUBLIC-42", "key_id": "0d0466b0-e727-4d9c-b35d-f84bb474a37f"}
RECORD = {"provider": "huaweicloud_kms", "key_id": MATERIAL["key_id"], "public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork"),
    # Emulator threads of other test modules may still be winding down when these tests fork; the
    # children only touch files, flock and json, like Ansible's forked workers do.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]


class Clock(object):
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


class CountingFetch(object):
    """fetch() that appends a line to a file per call (visible across processes)."""

    def __init__(self, path, value=None, delay=0.0, error=None):
        self.path = str(path)
        self.value = RECORD if value is None else value
        self.delay = delay
        self.error = error

    def __call__(self):
        with open(self.path, "a") as handle:
            handle.write("%d\n" % os.getpid())
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.value

    @property
    def calls(self):
        try:
            with open(self.path) as handle:
                return len(handle.read().splitlines())
        except OSError:
            return 0


def _never():
    raise AssertionError("fetch must not be called: the entry is cached")


def test_get_or_fetch_stores_and_returns(tmp_path):
    cache = RecordCache(directory=str(tmp_path / "c"))
    fetch = CountingFetch(tmp_path / "calls")
    assert cache.get_or_fetch(MATERIAL, fetch) == RECORD
    assert cache.get_or_fetch(MATERIAL, _never) == RECORD
    # Another cache object on the same directory (another worker) sees the entry too.
    assert RecordCache(directory=str(tmp_path / "c")).get_or_fetch(MATERIAL, _never) == RECORD
    assert fetch.calls == 1


def test_material_key_order_does_not_matter(tmp_path):
    cache = RecordCache(directory=str(tmp_path / "c"))
    cache.get_or_fetch({"a": 1, "b": "x"}, lambda: {"v": 1})
    assert cache.get_or_fetch({"b": "x", "a": 1}, _never) == {"v": 1}


def test_different_material_gives_different_entries(tmp_path):
    cache = RecordCache(directory=str(tmp_path / "c"))
    other = dict(MATERIAL, key_id="11111111-2222-3333-4444-555555555555")
    version = dict(MATERIAL, key_version=2)
    assert cache.get_or_fetch(MATERIAL, lambda: {"v": 1}) == {"v": 1}
    assert cache.get_or_fetch(other, lambda: {"v": 2}) == {"v": 2}
    assert cache.get_or_fetch(version, lambda: {"v": 3}) == {"v": 3}
    assert cache.get_or_fetch(MATERIAL, _never) == {"v": 1}
    entries = [n for n in os.listdir(str(tmp_path / "c")) if n.endswith(".json")]
    assert len(entries) == 3


def test_no_secret_and_no_material_in_file_names_or_content(tmp_path):
    directory = tmp_path / "c"
    cache = RecordCache(directory=str(directory))

    def fetch_with_secret(secret=SECRET):
        assert secret  # the secret is used to sign the request but is not part of the answer
        return RECORD

    def failing_fetch(secret=SECRET):
        raise ProviderError("access denied", provider="huaweicloud_kms", key=MATERIAL["key_id"], status=403)

    cache.get_or_fetch(MATERIAL, fetch_with_secret)
    with pytest.raises(ProviderError):
        cache.get_or_fetch(dict(MATERIAL, key_id="other"), failing_fetch)
    names = os.listdir(str(directory))
    assert names
    for name in names:
        assert SECRET not in name
        for value in MATERIAL.values():
            assert value not in name  # names are digests, not material
        with open(str(directory / name), "rb") as handle:
            assert SECRET.encode() not in handle.read()


def test_directory_is_private_and_symlinks_are_refused(tmp_path):
    directory = tmp_path / "c"
    RecordCache(directory=str(directory)).get_or_fetch(MATERIAL, lambda: RECORD)
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) == 0o700
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OptionError, match="not a directory owned by this user"):
        RecordCache(directory=str(link)).get_or_fetch(MATERIAL, lambda: RECORD)
    assert os.listdir(str(target)) == []


def test_the_hit_path_reads_nothing_through_a_planted_directory(tmp_path):
    """A hit (plugin_utils/_cache.read_entry) refuses a symlink or another user's directory too:
    an entry planted there is never served."""
    real = tmp_path / "real"
    RecordCache(directory=str(real)).get_or_fetch(MATERIAL, lambda: RECORD)
    now = time.time()
    assert _cache.read_entry(str(real), MATERIAL, now)["value"] == RECORD
    link = tmp_path / "link"
    link.symlink_to(real)
    assert _cache.read_entry(str(link), MATERIAL, now) is None
    if os.getuid() == 0:  # only root can give the directory to another user
        os.chown(str(real), 12345, 12345)
        assert _cache.read_entry(str(real), MATERIAL, now) is None
    assert _cache.read_entry(str(tmp_path / "missing"), MATERIAL, now) is None


def test_default_directory_is_inside_ansibles_run_temp_dir():
    from ansible import constants as C

    directory = RecordCache().directory
    assert os.path.dirname(directory) == C.DEFAULT_LOCAL_TMP
    assert directory == _cache.run_cache_dir()


# --- many workers at once ------------------------------------------------------------------------

def _fork(child):
    """Run child() in a forked process; its exit status is 0 when it returned True."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            code = 0 if child() else 3
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    return pid


def _wait_all(pids, timeout=60):
    deadline = time.monotonic() + timeout
    codes = {}
    while pids and time.monotonic() < deadline:
        for pid in list(pids):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                codes[pid] = os.waitstatus_to_exitcode(status)
                pids.remove(pid)
        time.sleep(0.01)
    for pid in pids:  # pragma: no cover - only on a hang
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        codes[pid] = "hung"
    return codes


def _stampede(tmp_path, workers=20):
    directory = str(tmp_path / "c")
    fetch = CountingFetch(tmp_path / "calls", delay=0.3)
    go = str(tmp_path / "go")

    def worker():
        while not os.path.exists(go):
            time.sleep(0.002)
        return RecordCache(directory=directory).get_or_fetch(MATERIAL, fetch) == RECORD

    pids = [_fork(worker) for dummy in range(workers)]
    time.sleep(0.2)  # let every worker reach the start line
    open(go, "w").close()
    codes = _wait_all(pids)
    assert sorted(codes.values()) == [0] * workers, codes
    return fetch.calls


def test_stampede_of_forked_workers_fetches_once(tmp_path):
    assert _stampede(tmp_path) == 1


def test_stampede_harness_detects_a_missing_lock(tmp_path, monkeypatch):
    # Negative control: with the per-entry lock disabled the same stampede fetches several times,
    # so the test above would catch a cache that lost its locking.
    monkeypatch.setattr(_record_cache.fcntl, "flock", lambda fd, op: None)
    assert _stampede(tmp_path) > 1


def test_stampede_on_different_keys_fetches_each_once(tmp_path):
    directory = str(tmp_path / "c")
    fetches = [CountingFetch(tmp_path / ("calls%d" % i), value={"i": i}, delay=0.1) for i in range(3)]

    def worker(i):
        return lambda: RecordCache(directory=directory).get_or_fetch(dict(MATERIAL, key_id=str(i)), fetches[i]) == {"i": i}

    pids = [_fork(worker(n % 3)) for n in range(12)]
    assert sorted(_wait_all(pids).values()) == [0] * 12
    assert [f.calls for f in fetches] == [1, 1, 1]


def _entries(directory):
    return [n for n in os.listdir(directory) if not n.endswith(".lock")]


@pytest.mark.parametrize("how", ["sigkill", "os_exit"])
def test_worker_dying_mid_fetch_leaves_no_entry(tmp_path, how):
    directory = str(tmp_path / "c")
    started = tmp_path / "started"

    def dying_fetch():
        started.write_text("x")
        if how == "os_exit":
            os._exit(9)
        time.sleep(30)
        return {"never": True}

    pid = _fork(lambda: RecordCache(directory=directory).get_or_fetch(MATERIAL, dying_fetch))
    deadline = time.monotonic() + 20
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.exists()
    if how == "sigkill":
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert _entries(directory) == []  # nothing half-written, no temp file left behind
    fetch = CountingFetch(tmp_path / "calls")
    began = time.monotonic()
    assert RecordCache(directory=directory).get_or_fetch(MATERIAL, fetch) == RECORD
    assert time.monotonic() - began < 5  # the dead worker's lock went with it
    assert fetch.calls == 1


def test_failed_write_leaves_no_partial_entry(tmp_path):
    """The entry is written to a temporary file and renamed: a write that dies half-way leaves nothing."""
    directory = str(tmp_path / "c")
    cache = RecordCache(directory=directory)
    with pytest.raises(TypeError):
        # json.dump has written '{"value": {"ok": 1, "bad": ' when it meets the object.
        cache.get_or_fetch(MATERIAL, lambda: {"ok": 1, "bad": object()})
    assert _entries(directory) == []
    assert cache.get_or_fetch(MATERIAL, lambda: RECORD) == RECORD


def test_corrupt_entry_is_fetched_again(tmp_path):
    directory = tmp_path / "c"
    cache = RecordCache(directory=str(directory))
    cache.get_or_fetch(MATERIAL, lambda: RECORD)
    entry = [n for n in os.listdir(str(directory)) if n.endswith(".json")][0]
    (directory / entry).write_text('{"value": {"provider": "huawei')  # what a torn write would look like
    fetch = CountingFetch(tmp_path / "calls", value={"fresh": True})
    assert cache.get_or_fetch(MATERIAL, fetch) == {"fresh": True}
    assert fetch.calls == 1
    with open(str(directory / entry)) as handle:
        assert json.load(handle)["value"] == {"fresh": True}


# --- failures and expiry ---------------------------------------------------------------------------

def test_unreachable_error_is_cached_for_error_ttl_then_refetched(tmp_path):
    clock = Clock()
    cache = RecordCache(directory=str(tmp_path / "c"), ttl=3600, error_ttl=30, clock=clock)
    error = TimedOutError("timed out: no complete answer from 10.0.0.1:2886 within 2s", provider="obshell",
                          key="10.0.0.1:2886", request_id="trace-1")
    failing = CountingFetch(tmp_path / "calls", error=error)
    with pytest.raises(TimedOutError) as first:
        cache.get_or_fetch(MATERIAL, failing)
    clock.now += 29
    with pytest.raises(TimedOutError) as second:
        cache.get_or_fetch(MATERIAL, failing)
    assert failing.calls == 1
    assert str(second.value) == str(first.value) == str(error)
    assert (second.value.provider, second.value.key, second.value.status, second.value.request_id) == (
        "obshell", "10.0.0.1:2886", None, "trace-1")
    clock.now += 2  # past error_ttl
    fetch = CountingFetch(tmp_path / "calls2")
    assert cache.get_or_fetch(MATERIAL, fetch) == RECORD
    assert fetch.calls == 1


@pytest.mark.parametrize("error", [OptionError("region is required"), KeywardError("generic"), RuntimeError("bug")])
def test_option_errors_and_other_failures_are_not_cached(tmp_path, error):
    cache = RecordCache(directory=str(tmp_path / "c"))
    failing = CountingFetch(tmp_path / "calls", error=error)
    for dummy in range(2):
        with pytest.raises(type(error)):
            cache.get_or_fetch(MATERIAL, failing)
    assert failing.calls == 2
    assert _entries(str(tmp_path / "c")) == []
    assert cache.get_or_fetch(MATERIAL, lambda: RECORD) == RECORD


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 429, 500, 503, None])
def test_answers_about_the_request_are_not_cached(tmp_path, status):
    # Any answer saying "failed" may depend on a secret (a wrong password, reported with HTTP 200
    # by OceanBase Cloud), and secrets are not part of an entry's name: a later call with the
    # right secret must not be served this failure. Only records and no-answer failures are kept.
    cache = RecordCache(directory=str(tmp_path / "c"))
    error = ProviderError("refused", provider="huaweicloud_kms", key="k", status=status, code="APIGW.0301")
    failing = CountingFetch(tmp_path / "calls", error=error)
    with pytest.raises(ProviderError):
        cache.get_or_fetch(MATERIAL, failing)
    assert _entries(str(tmp_path / "c")) == []
    assert cache.get_or_fetch(MATERIAL, lambda: RECORD) == RECORD


@pytest.mark.parametrize("error_class", [UnreachableError, TimedOutError])
def test_endpoint_failures_are_cached_with_secrets_masked(tmp_path, error_class):
    cache = RecordCache(directory=str(tmp_path / "c"))
    error = error_class("cannot connect echoing pw-Secret#1", provider="obshell", key="k")
    failing = CountingFetch(tmp_path / "calls", error=error)
    for _dummy in range(2):
        with pytest.raises(ProviderError) as info:
            cache.get_or_fetch(MATERIAL, failing, secrets=["pw-Secret#1"])
        assert "pw-Secret#1" not in str(info.value) and "********" in str(info.value)
    assert failing.calls == 1
    for name in _entries(str(tmp_path / "c")):
        with open(os.path.join(str(tmp_path / "c"), name)) as handle:
            assert "pw-Secret#1" not in handle.read()


def test_entries_expire_after_ttl(tmp_path):
    clock = Clock()
    cache = RecordCache(directory=str(tmp_path / "c"), ttl=100, clock=clock)
    cache.get_or_fetch(MATERIAL, lambda: {"v": 1})
    clock.now += 99
    assert cache.get_or_fetch(MATERIAL, _never) == {"v": 1}
    clock.now += 2
    assert cache.get_or_fetch(MATERIAL, lambda: {"v": 2}) == {"v": 2}
    clock.now += 50
    assert cache.get_or_fetch(MATERIAL, _never) == {"v": 2}


def test_cache_is_usable_from_a_fresh_interpreter(tmp_path):
    """A worker started from scratch (not forked) reads what this process wrote."""
    import subprocess

    directory = str(tmp_path / "c")
    RecordCache(directory=directory).get_or_fetch(MATERIAL, lambda: RECORD)
    code = (
        "import json, sys\n"
        "from ansible_collections.keyward.keys.plugins.plugin_utils._record_cache import RecordCache\n"
        "def never():\n    raise SystemExit('fetched')\n"
        "print(json.dumps(RecordCache(directory=%r).get_or_fetch(json.loads(%r), never)))\n"
    ) % (directory, json.dumps(MATERIAL))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == RECORD
