# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The public_key_changes event source's state file: the last snapshot, so that a restart
announces only what changed meanwhile.

JSON with a `version`: the provider, each key's id with its fingerprint (or, for OceanBase Cloud
API keys, name and expiry) and the expiry dates already announced. Never a key text, a record or
a secret. Written atomically (a temporary file in the same directory, then a rename) with mode
0600; a symlink at the path is replaced, never followed.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import json
import os
import tempfile

VERSION = 1
# What the snapshot keeps of an entry: enough to tell a change, nothing secret.
ENTRY_FIELDS = ("fingerprint_sha256", "name", "expires_at")


class StateError(Exception):
    """The state file cannot be read as this plugin's state."""


def entry(record, fields=ENTRY_FIELDS):
    """The snapshot entry of a key record or API-key record."""
    return {field: record[field] for field in fields if record.get(field) is not None}


def load(path, provider_name):
    """(keys, announced_expiring) from the file, or None when there is no file or it belongs to
    another provider (then the next poll starts afresh)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError("state_file %s cannot be read (%s); remove it to start afresh"
                         % (path, type(exc).__name__))
    keys = data.get("keys") if isinstance(data, dict) else None
    expiring = data.get("expiring", []) if isinstance(data, dict) else None
    if (not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(keys, dict)
            or not all(isinstance(value, dict) for value in keys.values()) or not isinstance(expiring, list)
            or not all(isinstance(item, list) and len(item) == 2 for item in expiring)):
        raise StateError("state_file %s is not a version %d state of this event source; remove it to start afresh"
                         % (path, VERSION))
    if data.get("provider") != provider_name:
        return None
    clean = {str(key_id): {field: value[field] for field in ENTRY_FIELDS if field in value}
             for key_id, value in keys.items()}
    return clean, {(str(key_id), str(expires_at)) for key_id, expires_at in expiring}


def save(path, provider_name, keys, announced_expiring):
    """Write the snapshot atomically with mode 0600."""
    data = {"version": VERSION, "provider": provider_name, "keys": keys,
            "expiring": sorted([key_id, expires_at] for key_id, expires_at in announced_expiring)}
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)
            json.dump(data, handle, indent=1, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
