# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A controller-wide cache of public key records, shared by Ansible's forked workers.

Ansible evaluates a lookup once per host and task, each time in a new forked worker, so an
in-memory cache never hits. Entries live as files in a directory that belongs to the run:
Ansible's per-run local temp dir (DEFAULT_LOCAL_TMP), which the main process creates before
forking and removes when the run ends. So a key is fetched once per run, never reused by the
next run (a rotated key is seen on the next run), and nothing outlives the run.

- One request in flight per entry: an exclusive flock on the entry's lock file while fetching;
  other workers wait for it, then read the entry.
- A worker that dies mid-write leaves no partial entry: entries are written to a temporary
  file in the same directory and renamed into place; its lock goes with the process.
- Entry names are SHA-256 of the cache material, which callers build from public data only
  (endpoint, key id, access key id, project, version, ...), never from a secret.
- Failures are kept briefly (ERROR_TTL) so a dead endpoint costs one timeout per key, not one
  per host; the message stored is the same one-line error the user sees.

Controller side only.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import stat
import tempfile
import time

from ansible_collections.keyward.keys.plugins.module_utils._errors import (
    KeywardError, OptionError, ProviderError, error_from_dict,
)

ENTRY_TTL = 3600.0  # a single run rarely lasts longer; past this a key is fetched again
ERROR_TTL = 30.0
_SUBDIR = "keyward-keys-cache"


def run_cache_dir():
    """The cache directory of this ansible-playbook run (inside Ansible's per-run temp dir)."""
    from ansible import constants as C

    return os.path.join(C.DEFAULT_LOCAL_TMP, _SUBDIR)


def cache_name(material):
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class RecordCache(object):
    def __init__(self, directory=None, ttl=ENTRY_TTL, error_ttl=ERROR_TTL, clock=time.time):
        self.directory = directory or run_cache_dir()
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._clock = clock

    def _ensure_dir(self):
        try:
            os.makedirs(self.directory, mode=0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise
        info = os.lstat(self.directory)
        # Refuse a directory someone else planted (a symlink, or another user's).
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise OptionError("cache directory %s is not a directory owned by this user" % self.directory)

    def _read(self, path):
        try:
            with open(path, "r", encoding="utf-8") as handle:
                entry = json.load(handle)
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("expires", 0) < self._clock():
            return None
        return entry

    def _write(self, path, entry):
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def peek(self, material):
        """The cached value for `material` without waiting for a lock: ('value', v), ('error', e) or None."""
        try:
            self._ensure_dir()
        except (OSError, OptionError):
            return None
        entry = self._read(os.path.join(self.directory, cache_name(material) + ".json"))
        if entry is None:
            return None
        if "error" in entry:
            return "error", error_from_dict(entry["error"])
        return "value", entry["value"]

    def get_or_fetch(self, material, fetch, secrets=()):
        """The cached value for `material`, or fetch() under the entry's lock and store it.

        secrets: values masked in a failure before it is stored (a provider may echo them).
        """
        self._ensure_dir()
        name = cache_name(material)
        path = os.path.join(self.directory, name + ".json")
        entry = self._read(path)
        if entry is None:
            with open(os.path.join(self.directory, name + ".lock"), "a") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                try:
                    # Another worker may have filled it while we waited for the lock.
                    entry = self._read(path)
                    if entry is None:
                        entry = self._fetch_entry(fetch, secrets)
                        self._write(path, entry)
                finally:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        if "error" in entry:
            raise error_from_dict(entry["error"])
        return entry["value"]

    def _fetch_entry(self, fetch, secrets=()):
        now = self._clock()
        try:
            return {"value": fetch(), "expires": now + self.ttl}
        except OptionError:
            raise  # the user's own mistake: nothing to remember
        except ProviderError as exc:
            return {"error": (exc.scrubbed(secrets) if secrets else exc).to_dict(), "expires": now + self.error_ttl}
        except KeywardError:
            raise
