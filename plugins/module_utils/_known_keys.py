# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trust on first use for public keys, like SSH's known_hosts, in a JSON file.

The file maps an id (for obshell agents 'host:port') to the pinned key's SHA-256 fingerprint,
type, size and the time it was first seen. Standard library only; runs on hosts with Python 3.6 and later.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import json
import os
import re

from ._key_size import too_small
from ._key_store import locked, read_existing, write_temp

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class KnownKeysError(Exception):
    pass


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def locked_store(path, create=True):
    """Hold an exclusive lock on the file's directory around a read-modify-write of the pins, so two
    runs never both read the file, each add a pin and write it back without the other's.
    create=False (check mode): a missing directory is not made, and nothing is locked."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        if not create:
            yield
            return
        os.makedirs(directory, exist_ok=True)
    fd = locked(directory)
    try:
        yield
    finally:
        os.close(fd)


def load(path):
    """The pins in path -> {id: entry}; a missing file is an empty store.

    The file is the source of trust: a symlink (whoever planted it chooses the pins) or anything
    but a regular file is refused, and it is read without following links."""
    try:
        kind, raw = read_existing(path)
    except OSError as exc:
        raise KnownKeysError("cannot read known keys file %s: %s" % (path, exc.strerror))
    if kind == "absent":
        return {}
    if kind == "link":
        raise KnownKeysError("known keys file %s is a symlink; refusing it as the source of pins "
                             "(give the real file's path)" % path)
    if kind != "file" or raw is None:
        raise KnownKeysError("known keys file %s is not a regular file of a sane size" % path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise KnownKeysError("known keys file %s is not valid JSON (%s); fix or remove it" % (path, exc))
    if not isinstance(data, dict) or not all(isinstance(v, dict) and "fingerprint_sha256" in v for v in data.values()):
        raise KnownKeysError("known keys file %s does not map ids to pinned fingerprints" % path)
    return data


def dumps(store):
    return json.dumps(store, indent=2, sort_keys=True) + "\n"


def save(path, store):
    """Write atomically: a temp file in the same directory, fsync, rename (keeping the file's mode)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    tmp = write_temp(directory, dumps(store).encode("utf-8"))
    try:
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def reconcile(store, keys, accept_changes=False, label="key", hint=None, now=None):
    """Compare presented keys with the pins -> (new store, per-key results, refusal message or None).

    Nothing is decided half-way: if any key changed without acceptance, the caller writes nothing.
    """
    now = now or utc_now()
    updated = dict(store)
    results = []
    refused = []
    seen = set()
    for item in keys:
        key_id = str(item.get("id") or "").strip()
        fingerprint = str(item.get("fingerprint_sha256") or "").replace(":", "").lower()
        if not key_id:
            raise KnownKeysError("every key needs an id")
        if key_id in seen:
            raise KnownKeysError("%s %s is listed twice" % (label, key_id))
        seen.add(key_id)
        if not _HEX64.match(fingerprint):
            raise KnownKeysError("%s %s: fingerprint_sha256 must be 64 hex digits" % (label, key_id))
        entry = {"fingerprint_sha256": fingerprint, "first_seen": now}
        for field in ("key_type", "key_size"):
            if item.get(field) is not None:
                entry[field] = item[field]
        pinned = store.get(key_id)
        if pinned is None:
            updated[key_id] = entry
            results.append({"id": key_id, "state": "new", "fingerprint_sha256": fingerprint})
        elif pinned["fingerprint_sha256"] == fingerprint:
            results.append({"id": key_id, "state": "unchanged", "fingerprint_sha256": fingerprint,
                            "first_seen": pinned.get("first_seen")})
        elif accept_changes:
            entry["replaced_fingerprint_sha256"] = pinned["fingerprint_sha256"]
            updated[key_id] = entry
            results.append({"id": key_id, "state": "changed", "fingerprint_sha256": fingerprint,
                            "previous_fingerprint_sha256": pinned["fingerprint_sha256"]})
        else:
            refused.append("%s %s: key changed: pinned sha256 %s (first seen %s), now sha256 %s" % (
                label, key_id, pinned["fingerprint_sha256"], pinned.get("first_seen", "unknown"), fingerprint))
            results.append({"id": key_id, "state": "refused", "fingerprint_sha256": fingerprint,
                            "previous_fingerprint_sha256": pinned["fingerprint_sha256"]})
    message = None
    if refused:
        message = "; ".join(refused)
        if hint:
            message += "; " + hint
    return updated, results, message


def size_findings(keys, min_key_size=None, warn_key_size=None, label="key", hint=None):
    """Keys below the refusal and warning sizes -> {'refuse': [messages], 'warn': [messages]}."""
    found = {"refuse": [], "warn": []}
    suffix = "; " + hint if hint else ""
    for item in keys:
        size = item.get("key_size")
        if size is None:
            continue
        size = int(size)
        key_type = item.get("key_type")
        if too_small(key_type, size, min_key_size):
            found["refuse"].append("%s %s: its %d-bit key is smaller than the minimum of %d bits%s" % (
                label, item.get("id"), size, min_key_size, suffix))
        elif too_small(key_type, size, warn_key_size):
            found["warn"].append("%s %s serves a %d-bit key, weaker than %d bits%s" % (
                label, item.get("id"), size, warn_key_size, suffix))
    return found
