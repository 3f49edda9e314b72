# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run-wide lookup cache: what names an entry, and how a cache hit reads one (and the
lookups' option definitions, saved there for the run's later workers).

Entries are files in Ansible's per-run temp dir, shared by the forked workers, named by SHA-256
of public material: the provider, the term and every option whose name does not say it is a
secret. _record_cache.py fills them (one lock per entry, atomic writes, the failure policy).
A hit runs this in every forked worker, which compiles it first: keep it short.
docs/decisions.md says why.

Controller side only.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time

_SUBDIR = "keyward-keys-cache"
# Option names that hold secrets (never part of an entry's name); a unit test checks every
# provider's no_log options against this rule. allow_* flags about secrets are not secrets.
SECRET_NAME_PARTS = ("password", "secret", "token", "passphrase", "private")
# Options applied after the cache: they do not change what is fetched.
NOT_IN_CACHE_KEY = frozenset(("return_format", "cache", "expected_fingerprint"))


def is_secret_name(name):
    return any(part in name for part in SECRET_NAME_PARTS) and not name.startswith("allow_")


def cache_material(provider, term, options, term_options=()):
    """The provider, the term and every non-secret option (but those a canonical term holds)."""
    keyed = {name: value for name, value in options.items()
             if name not in NOT_IN_CACHE_KEY and name not in term_options and not is_secret_name(name)}
    return {"provider": provider, "term": term, "options": keyed}


def cache_name(material):
    canonical = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def run_cache_dir():
    from ansible import constants as C

    return os.path.join(C.DEFAULT_LOCAL_TMP, _SUBDIR)


def is_ours(directory):
    """False for anything but a directory of this user (a planted symlink, another user's)."""
    info = os.lstat(directory)
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()


def read_entry(directory, material, now):
    """The live entry for material ({value|error, expires}), or None."""
    try:
        if not is_ours(directory):
            return None
        with open(os.path.join(directory, cache_name(material) + ".json"), encoding="utf-8") as handle:
            entry = json.load(handle)
    except (OSError, ValueError):
        return None
    return entry if isinstance(entry, dict) and entry.get("expires", 0) >= now else None


def option_defs_path(directory, module_name, documentation):
    """Where this run keeps a lookup's option definitions, named by its module and documentation."""
    digest = hashlib.sha256((module_name + "\n" + documentation).encode("utf-8")).hexdigest()
    return os.path.join(directory, "options-%s.json" % digest)


def register_option_defs(module_name, documentation):
    """Give Ansible's config manager the option definitions an earlier worker of this run saved
    (RecordCache.save_option_defs). Ansible's plugin loader parses a plugin's documentation and
    doc fragments only when no definitions are registered under its name, and that parse is most
    of what a cache hit costs. True when registered; on any doubt the loader parses as usual."""
    from ansible import constants as C

    try:
        directory = run_cache_dir()
        if not is_ours(directory):
            return False
        with open(option_defs_path(directory, module_name, documentation), encoding="utf-8") as handle:
            saved = json.load(handle)  # {name: the plugin loader's name for it, defs}
    except (OSError, ValueError, TypeError):  # TypeError: no per-run temp dir
        return False
    if not isinstance(saved, dict) or not isinstance(saved.get("name"), str) or not isinstance(saved.get("defs"), dict):
        return False
    C.config.initialize_plugin_configuration_definitions("lookup", saved["name"], saved["defs"])
    return True


def cached_value(material):
    """A cache hit's value for material; None for no entry or a cached failure."""
    entry = read_entry(run_cache_dir(), material, time.time())
    return None if entry is None else entry.get("value")
