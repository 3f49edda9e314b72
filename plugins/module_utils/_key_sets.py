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
