# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filling the run-wide lookup cache (entries are named and read by _cache.py).

- One request in flight per entry: an exclusive flock on the entry's lock file while fetching;
  other workers wait for it, then read the entry.
- A worker that dies mid-write leaves no partial entry: entries are written to a temporary
  file in the same directory and renamed into place; its lock goes with the process.
- Only records are cached, and failures that got no answer at all (no connection, a timeout, a
  failed TLS handshake: UnreachableError), briefly (ERROR_TTL), so a dead endpoint costs one
  timeout per key, not one per host; the message stored is the same one-line error the user
  sees, secrets masked. An answer that says "failed" is never kept, whatever its HTTP status
  (OceanBase Cloud reports a wrong secret with HTTP 200): it may depend on a secret, and
  secrets are not part of an entry's name.
- Entries live for ENTRY_TTL at most, and never beyond the run (the directory is the run's).

Controller side only.
"""

from __future__ import annotations

import fcntl
import json
import os
import time

from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, UnreachableError, error_from_dict
from ansible_collections.keyward.keys.plugins.module_utils._key_store import write_temp
from ansible_collections.keyward.keys.plugins.plugin_utils._cache import (
    cache_name, is_ours, option_defs_path, read_entry, run_cache_dir)

ENTRY_TTL = 3600.0  # a single run rarely lasts longer; past this a key is fetched again
ERROR_TTL = 30.0


class RecordCache(object):
    def __init__(self, directory=None, ttl=ENTRY_TTL, error_ttl=ERROR_TTL, clock=time.time):
        self.directory = directory or run_cache_dir()
        self.ttl = ttl
        self.error_ttl = error_ttl
        self._clock = clock

    def _ensure_dir(self):
        try:
            os.makedirs(self.directory, mode=0o700)
        except FileExistsError:
            pass
        # Refuse a directory someone else planted (a symlink, or another user's).
        if not is_ours(self.directory):
            raise OptionError("cache directory %s is not a directory owned by this user" % self.directory)

    def _entry(self, material):
        return read_entry(self.directory, material, self._clock())

    def get_or_fetch(self, material, fetch, secrets=()):
        """The cached value for `material`, or fetch() under the entry's lock and store it.

        secrets: values masked in a failure before it is stored (a provider may echo them).
        """
        self._ensure_dir()
        entry = self._entry(material)
        if entry is None:
            name = cache_name(material)
            with open(os.path.join(self.directory, name + ".lock"), "a") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                try:
                    # Another worker may have filled it while we waited for the lock.
                    entry = self._entry(material)
                    if entry is None:
                        entry = self._fetch_entry(fetch, secrets)
                        self._write(os.path.join(self.directory, name + ".json"), entry)
                finally:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
        if "error" in entry:
            raise error_from_dict(entry["error"])
        return entry["value"]

    def _fetch_entry(self, fetch, secrets=()):
        """Run fetch() -> the entry to store. Only an UnreachableError (no answer at all) is stored;
        any other failure (an answer saying "failed", an OptionError) propagates, unremembered."""
        now = self._clock()
        try:
            return {"value": fetch(), "expires": now + self.ttl}
        except UnreachableError as exc:
            return {"error": (exc.scrubbed(secrets) if secrets else exc).to_dict(), "expires": now + self.error_ttl}

    def save_option_defs(self, module_name, documentation, load_name, defs):
        """Save the option definitions Ansible parsed from a lookup's documentation, for the run's
        later workers (_cache.register_option_defs). Only definitions JSON gives back unchanged."""
        try:
            if json.loads(json.dumps(defs)) != defs:
                return
            self._ensure_dir()
            self._write(option_defs_path(self.directory, module_name, documentation), {"name": load_name, "defs": defs})
        except (TypeError, ValueError, OSError, OptionError):
            pass  # the next worker has Ansible parse the documentation, as without this

    def _write(self, path, entry):
        tmp = write_temp(self.directory, json.dumps(entry).encode("utf-8"))
        try:
            os.replace(tmp, path)
        except OSError:
            os.unlink(tmp)
            raise
