# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One comparison of two key sets, shared by the trust_store_drift filter and the
public_key_changes event source, so that "what changed at the provider" and "what differs on a
host" cannot disagree about what a change is.

A key set is a mapping identity -> entry (a dict). The event source keys its sets on the
provider's key id and asks which ids were added, removed or changed (another fingerprint, or for
records without one another expiry or name); the drift filter keys both sets on the fingerprint,
so "missing" is what the wanted set has and the host lacks ("removed" from wanted to held) and
"extra" what the host holds beyond it ("added"). Standard library only.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

# What makes two entries of the same identity differ, in order of preference: a key record's
# fingerprint; for records with no fingerprint (OceanBase Cloud API keys), expiry and name.
FINGERPRINT = "fingerprint_sha256"
WITHOUT_FINGERPRINT = ("expires_at", "name")


class KeySetChanges(object):
    """added / removed / changed / unchanged: lists of identities, in a stable order (the
    order of `after` for added, changed and unchanged; of `before` for removed)."""

    __slots__ = ("added", "removed", "changed", "unchanged")

    def __init__(self, added, removed, changed, unchanged):
        self.added = added
        self.removed = removed
        self.changed = changed
        self.unchanged = unchanged

    def __bool__(self):
        return bool(self.added or self.removed or self.changed)

    __nonzero__ = __bool__

    def as_dict(self):
        return {"added": list(self.added), "removed": list(self.removed), "changed": list(self.changed),
                "unchanged": list(self.unchanged)}

    def __repr__(self):
        return "KeySetChanges(%r)" % (self.as_dict(),)


def entry_differs(old, new):
    """True when two entries of one identity describe different keys (or API-key records)."""
    if old.get(FINGERPRINT) or new.get(FINGERPRINT):
        return old.get(FINGERPRINT) != new.get(FINGERPRINT)
    return any(old.get(field) != new.get(field) for field in WITHOUT_FINGERPRINT)


def compare(before, after, differs=entry_differs):
    """The changes from key set `before` to key set `after` (mappings identity -> entry)."""
    added, changed, unchanged = [], [], []
    for identity, entry in after.items():
        if identity not in before:
            added.append(identity)
        elif differs(before[identity], entry):
            changed.append(identity)
        else:
            unchanged.append(identity)
    removed = [identity for identity in before if identity not in after]
    return KeySetChanges(added, removed, changed, unchanged)


def index_by(entries, field):
    """A key set from a list of entries: entry[field] -> entry (the first entry wins on a repeat;
    entries without the field are skipped)."""
    out = {}
    for entry in entries:
        identity = entry.get(field)
        if identity not in (None, "") and identity not in out:
            out[identity] = entry
    return out


def expiring(key_set, within_days):
    """Identities whose `expires_in_days` is at most within_days, already expired ones
    included; entries that never expire (None) are left out."""
    if within_days is None:
        return []
    return [identity for identity, entry in key_set.items()
            if entry.get("expires_in_days") is not None and entry["expires_in_days"] <= within_days]


class StoreDrift(object):
    """How one host's trust store differs from the wanted keys, every field a list of
    fingerprints: `held` (wanted keys the host holds intact, active or retiring), `missing`
    (wanted keys with no file on the host), `extra` (keys the host holds intact and active
    beyond the wanted ones), `tampered` (managed files that no longer hold what the store
    wrote) and `retiring` (keys the host keeps only through their grace period)."""

    __slots__ = ("held", "missing", "extra", "tampered", "retiring")

    def __init__(self, held, missing, extra, tampered, retiring):
        self.held = held
        self.missing = missing
        self.extra = extra
        self.tampered = tampered
        self.retiring = retiring

    @property
    def in_sync(self):
        """Every wanted key held intact and nothing else active (a retiring extra is no drift)."""
        return not (self.missing or self.extra or self.tampered)

    def as_dict(self):
        return {"held": list(self.held), "missing": list(self.missing), "extra": list(self.extra),
                "tampered": list(self.tampered), "retiring": list(self.retiring)}

    def __repr__(self):
        return "StoreDrift(%r)" % (self.as_dict(),)


RETIRING = "retiring"


def store_drift(wanted, entries):
    """A host's trust store against the wanted keys.

    wanted: a key set fingerprint -> entry; entries: the `keys` of a trust_store_info result
    ({fingerprint_sha256, state, intact, name, ...}). Only a file that is reported intact counts
    as holding its key: a changed file may hold anything, so it is `tampered` and its key is not
    held (and not `missing` either: the file is there, it is just not the key); one without a
    fingerprint is `tampered` as "file:<name>". A host may hold one key under two file names;
    keys are matched by fingerprint, never by name.
    """
    intact, tampered = [], []
    for entry in entries:
        if entry.get("intact") is True and entry.get(FINGERPRINT):
            intact.append(entry)
            continue
        # A changed file whose fingerprint is unknown still has to show: named by its file.
        identity = entry.get(FINGERPRINT) or "file:%s" % entry.get("name")
        if identity not in tampered:
            tampered.append(identity)
    held = index_by(intact, FINGERPRINT)
    active = index_by([entry for entry in intact if entry.get("state") != RETIRING], FINGERPRINT)
    changes = compare(wanted, held)
    missing = [fp for fp in changes.removed if fp not in tampered]
    extra = [fp for fp in changes.added if fp in active]
    retiring = [fp for fp in held if fp not in active]
    return StoreDrift([fp for fp in wanted if fp in held], missing, extra, tampered, retiring)
