# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a public_key_store directory holds, read from its manifest: trust_store_info's answer.

Runs on hosts: standard library only, Python 3.6 and later. Reads; never writes, never follows
a symlink, never parses a key (a fingerprint the manifest lacks, from a store written by an
earlier release, is the SHA-256 of the DER inside the file's canonical PEM).

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.keyward.keys.plugins.module_utils import _key_bundle, _key_store


def _own_file(name):
    """The store's own bookkeeping: its manifest and the temp files of a run under way."""
    return name == _key_store.MANIFEST or name.startswith(_key_store.TEMP_PREFIX)


def inventory(directory):
    """{exists, keys, unmanaged, bundle, jwks} plus the manifest's warnings (a list)."""
    if not os.path.isdir(directory):
        return {"exists": False, "keys": [], "unmanaged": [], "bundle": None, "jwks": None}, []
    manifest = _key_store.read_manifest(directory)
    warnings = [manifest.warning] if manifest.warning else []
    keys = []
    named = {"bundle": None, "jwks": None}
    for name in sorted(manifest.records):
        rec = manifest.records[name]
        path = os.path.join(directory, name)
        found, data = _key_store.read_existing(path)
        intact = found == "file" and _key_store.still_ours(data, rec["sha256"], manifest.version)
        kind = rec["kind"] or (_key_store.kind_of(data) if found == "file" else None)
        if kind in named:
            named[kind] = named[kind] or name
        if kind != "key":
            continue
        keys.append({
            "name": _key_store.key_name(name),
            "path": path,
            "fingerprint_sha256": rec["fingerprint_sha256"] or (_key_bundle.pem_fingerprint(data) if intact else None),
            "state": "retiring" if rec["retiring_since"] else "active",
            "written_at": rec["written_at"] or (_key_store.mtime_text(path) if intact else None),
            "retiring_since": rec["retiring_since"],
            "retire_at": rec["retire_at"],
            "intact": intact,
        })
    unmanaged = sorted(name for name in os.listdir(directory)
                       if name not in manifest.records and not _own_file(name))
    result = {"exists": True, "keys": keys, "unmanaged": unmanaged, "bundle": named["bundle"], "jwks": named["jwks"]}
    return result, warnings
