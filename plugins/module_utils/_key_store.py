# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A directory of files written by public_key_store: names, the manifest, plans and safe writes.

Runs on hosts: standard library only, Python 3.6 and later, and no key parsing at all. The
action plugin validates the keys and renders each key's PEM and JWK on the controller; the
module gets each file's name, kind and text and only decides what to write, keep, remove or
leave alone (assembling the bundle and JWKS with _key_bundle, retiring keys included).

- check_file_name() / key_stem(): the naming rules (the action plugin names files with them,
  the module re-checks every name it is given).
- plan(): the wanted files against the directory and its manifest -> per-file changes, with
  unlisted keys kept as retiring under retire_after (_key_lifetime's rule, the host's clock).
- locked(), write_temp(), fsync_dir(), read_existing(): the pieces of a safe, atomic update.

The manifest (MANIFEST, a hidden JSON file in the directory) lists the files this module
wrote, each with the SHA-256 of what it wrote and a record (kind; for keys fingerprint, JWK
and times). A listed file is removed (with exclusive) only while it is still a regular file
holding exactly those bytes; nothing else is ever removed.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import tempfile
import time

from ansible_collections.keyward.keys.plugins.module_utils import _key_bundle, _key_lifetime

MANIFEST = ".keyward-manifest.json"
MANIFEST_VERSION = 3
KEY_SUFFIX = ".pem"
TEMP_PREFIX = ".keyward-tmp-"
MAX_STEM = 200
# One limit for every file name, applied when writing and when reading the manifest back, so
# a name the module writes is never dropped from the manifest later.
MAX_FILE_NAME = MAX_STEM + len(KEY_SUFFIX)
# Files larger than this are never ours (keys, a bundle, a JWKS); they are not read whole.
MAX_READ = 16 * 1024 * 1024
_NAME_CHARS = "A-Za-z0-9._@+-"
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][%s]*\Z" % _NAME_CHARS)
_UNSAFE_RUN = re.compile(r"[^%s]+" % _NAME_CHARS)
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
# What the module writes for keys and bundles: PUBLIC KEY blocks of 64-column base64, nothing else.
_PEM_FILE = re.compile(r"(?:-----BEGIN PUBLIC KEY-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END PUBLIC KEY-----\n)+\Z")


class KeyStoreError(Exception):
    """One or more keys, files or names are unusable; nothing may be written."""

    def __init__(self, errors, path=None):
        self.errors = [" ".join(str(e).split()) for e in errors]
        where = " to %s" % path if path else ""
        super(KeyStoreError, self).__init__("nothing was written%s: %s" % (where, "; ".join(self.errors)))


class FileNameError(ValueError):
    """A file name that could leave the directory, hide, or clash with the store's own files."""


# --- names ----------------------------------------------------------------------------------

def check_file_name(name, what="file name", limit=MAX_FILE_NAME):
    """Return name, or raise FileNameError unless it is a plain file name inside the directory."""
    if not isinstance(name, str) or not name:
        raise FileNameError("%s is empty" % what)
    if "\x00" in name:
        reason = "contains a NUL character"
    elif "/" in name or "\\" in name:
        reason = "contains a path separator"
    elif ".." in name:
        reason = "contains '..'"
    elif name.startswith("."):
        reason = "starts with a dot (hidden names are reserved for the store's own files)"
    elif len(name) > limit:
        reason = "is longer than %d characters" % limit
    elif not _SAFE_NAME.match(name):
        reason = "may only hold ASCII letters, digits and . _ - @ +, starting with a letter, digit or _"
    else:
        return name
    raise FileNameError("%s %r %s" % (what, name, reason))


def name_from_key_id(key_id):
    """A safe file stem from a provider's key id: '10.0.0.5:2886' -> '10.0.0.5_2886'."""
    text = _UNSAFE_RUN.sub("_", str(key_id))
    text = re.sub(r"\.{2,}", "_", text).strip("._")
    return text[:MAX_STEM]


def describe(item, position):
    """How to name a key item in messages: its name, else its key_id, else its position."""
    if isinstance(item, dict):
        for field in ("name", "key_id"):
            if item.get(field) not in (None, ""):
                return str(item[field])
    return "#%d" % position


def key_stem(item, position):
    """The file stem of a key item: its name (checked, never altered), else a safe form of key_id."""
    label = describe(item, position)
    name = item.get("name")
    if name not in (None, ""):
        return check_file_name(str(name), "key %s: name" % label, MAX_STEM)
    key_id = item.get("key_id")
    if key_id in (None, ""):
        raise FileNameError("key %s has neither a name nor a key_id to name its file after" % label)
    stem = name_from_key_id(key_id)
    if not stem:
        raise FileNameError("key %s: key_id %r leaves no usable file name; give a name" % (label, key_id))
    return check_file_name(stem, "key %s: name derived from key_id" % label, MAX_STEM)


def key_name(file_name):
    """A key file's name without its .pem suffix: the name a key is listed and reported under."""
    return file_name[:-len(KEY_SUFFIX)] if file_name.endswith(KEY_SUFFIX) else file_name


json_text = _key_bundle.json_text


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


# --- reading without following links --------------------------------------------------------

_NOFOLLOW = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


def read_existing(path):
    """('absent' | 'file' | 'link' | 'other', bytes or None). Never reads through a symlink.

    The file is opened with O_NOFOLLOW and checked with fstat, so a symlink swapped in after
    the lstat is refused rather than read. A file over MAX_READ gives 'file' with None.
    """
    try:
        info = os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "absent", None
        raise
    if stat.S_ISLNK(info.st_mode):
        return "link", None
    if not stat.S_ISREG(info.st_mode):
        return "other", None  # never opened: a FIFO or device could block or have side effects
    try:
        fd = os.open(path, _NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK):  # EMLINK: FreeBSD's answer to O_NOFOLLOW
            return "link", None
        if exc.errno == errno.ENOENT:
            return "absent", None
        raise
    with os.fdopen(fd, "rb") as handle:
        opened = os.fstat(handle.fileno())
        if not stat.S_ISREG(opened.st_mode):
            return "other", None
        data = handle.read(MAX_READ + 1)
    if len(data) > MAX_READ:
        return "file", None
    return "file", data


# --- the manifest ---------------------------------------------------------------------------

# What a file of the store is; version 2 manifests did not say, so takeover guesses (kind_of).
KINDS = ("key", "bundle", "jwks", "document")
# Per-file facts a version 3 manifest keeps beside the hash (see record()).
_RECORD_FIELDS = ("kind", "fingerprint_sha256", "jwk", "written_at", "retiring_since", "retire_at")


def record(sha256=None, kind=None, fingerprint_sha256=None, jwk=None, written_at=None, retiring_since=None,
           retire_at=None):
    """What the manifest knows of one file: the SHA-256 of what was written, what the file is,
    for keys their fingerprint and JWK (so a retiring key stays in the JWKS document), when it
    was written, and since when it is unlisted and retiring (None while it is listed)."""
    return {"sha256": sha256, "kind": kind, "fingerprint_sha256": fingerprint_sha256, "jwk": jwk,
            "written_at": written_at, "retiring_since": retiring_since, "retire_at": retire_at}


def _clean_record(recorded, facts):
    """A manifest entry as read back: every field checked, anything odd dropped (hand edits)."""
    facts = facts if isinstance(facts, dict) else {}
    kind = facts.get("kind") if facts.get("kind") in KINDS else None
    fingerprint = facts.get("fingerprint_sha256")
    jwk = facts.get("jwk")
    return record(
        sha256=recorded if isinstance(recorded, str) and _HEX64.match(recorded) else None,
        kind=kind,
        fingerprint_sha256=fingerprint if isinstance(fingerprint, str) and _HEX64.match(fingerprint) else None,
        jwk=jwk if kind == "key" and isinstance(jwk, dict) else None,
        written_at=_key_lifetime.valid_time(facts.get("written_at")),
        retiring_since=_key_lifetime.valid_time(facts.get("retiring_since")),
        retire_at=_key_lifetime.valid_time(facts.get("retire_at")),
    )


class Manifest(object):
    """records: {file name: record()}; hashes: {file name: sha256 hex, or None (version 1, hand edits)}."""

    def __init__(self, records=None, raw=None, version=MANIFEST_VERSION, warning=None):
        self.records = dict(records or {})
        self.raw = raw
        self.version = version
        self.warning = warning

    @property
    def hashes(self):
        return dict((name, rec["sha256"]) for name, rec in self.records.items())


def read_manifest(directory):
    """The directory's manifest; a missing one is empty, an unreadable or foreign one lists nothing.

    Names that fail check_file_name are dropped: a hand-edited manifest cannot point outside
    the directory or at the store's own hidden files. Versions 1 and 2 are read as they are
    (no records beyond the hash) and rewritten as the current version by the next run.
    """
    path = os.path.join(directory, MANIFEST)
    try:
        kind, raw = read_existing(path)
    except (IOError, OSError) as exc:
        return Manifest(warning="cannot read %s (%s); no file will be removed" % (path, exc.strerror or exc))
    if kind == "absent":
        return Manifest()
    if kind != "file" or raw is None:
        return Manifest(warning="%s is not a regular file this module wrote; no file will be removed" % path)
    try:
        data = json.loads(raw.decode("utf-8"))
        names = data["files"]
        version = data.get("version", 1)
        hashes = data.get("sha256", {}) if version >= 2 else {}
        facts = data.get("records", {}) if version >= 3 else {}
        if not isinstance(names, list) or not isinstance(hashes, dict) or not isinstance(facts, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        return Manifest(raw=raw, warning="%s is not a manifest this module wrote; no file will be removed" % path)
    listed = {}
    for name in names:
        try:
            check_file_name(name)
        except FileNameError:
            continue
        listed[name] = _clean_record(hashes.get(name), facts.get(name))
    return Manifest(listed, raw, version)


def manifest_text(records):
    """The manifest's bytes for {file name: record()} (or {file name: sha256 hex})."""
    records = dict((name, rec if isinstance(rec, dict) else record(rec)) for name, rec in records.items())
    return json_text({
        "comment": "Files written by keyward.keys.public_key_store. Only these are ever removed, "
                   "and only while they still hold the bytes recorded here.",
        "files": sorted(records),
        "sha256": dict((name, rec["sha256"]) for name, rec in records.items() if rec["sha256"]),
        "records": dict((name, dict((field, rec.get(field)) for field in _RECORD_FIELDS))
                        for name, rec in records.items()),
        "version": MANIFEST_VERSION,
    }).encode("ascii")


def _looks_like_ours(data):
    """For version 1 manifests (no hashes): only a PEM or JWKS file as this module writes them."""
    return kind_of(data) != "document"


def kind_of(data):
    """What a file holds, for manifests older than version 3: 'key' (one canonical PUBLIC KEY
    block), 'bundle' (several), 'jwks' (a JSON object with only "keys"), else 'document'."""
    try:
        text = data.decode("ascii")
    except (UnicodeDecodeError, AttributeError):
        return "document"
    if _key_bundle.pem_fingerprint(text):
        return "key"
    if _PEM_FILE.match(text):
        return "bundle"
    try:
        document = json.loads(text)
    except ValueError:
        return "document"
    if isinstance(document, dict) and set(document) == {"keys"} and isinstance(document["keys"], list):
        return "jwks"
    return "document"


def still_ours(data, recorded, version):
    """Whether a listed file still holds what the module wrote (so exclusive may remove it)."""
    if data is None:
        return False
    if recorded:
        return sha256_hex(data) == recorded
    # An entry without a hash in a current manifest was added by hand: never removed.
    return version < 2 and _looks_like_ours(data)


def mtime_text(path):
    """A file's modification time as a manifest time: when a file the store took over was written."""
    try:
        return _key_lifetime.utc_text(int(os.lstat(path).st_mtime))
    except OSError:
        return None


# --- the plan -------------------------------------------------------------------------------

class Wanted(object):
    """A file the run wants: content (bytes; None for a bundle or JWKS, assembled by plan()),
    kind (one of KINDS) and, for keys, the JWK rendered on the controller."""

    __slots__ = ("content", "kind", "jwk")

    def __init__(self, content, kind="document", jwk=None):
        self.content = content
        self.kind = kind
        self.jwk = jwk


class Change(object):
    """One file's fate. state: created, updated, unchanged, removed or retiring. lifecycle:
    (before, after) when the key moves between active and retiring, else None."""

    __slots__ = ("name", "path", "state", "before", "after", "kind", "lifecycle")

    def __init__(self, name, path, state, before, after, kind, lifecycle=None):
        self.name = name
        self.path = path
        self.state = state
        self.before = before
        self.after = after
        self.kind = kind
        self.lifecycle = lifecycle


class Plan(object):
    """changes in name order; manifest: what was read; records_after: what the manifest should list."""

    def __init__(self, changes, manifest, records_after, warnings):
        self.changes = changes
        self.manifest = manifest
        self.records_after = records_after
        self.warnings = warnings

    @property
    def hashes_after(self):
        return dict((name, rec["sha256"]) for name, rec in self.records_after.items())

    @property
    def managed(self):
        return sorted(self.manifest.records)

    @property
    def manifest_names(self):
        return sorted(self.records_after)

    @property
    def manifest_before(self):
        return self.manifest.raw

    @property
    def manifest_after(self):
        return manifest_text(self.records_after)

    @property
    def retiring(self):
        return [c for c in self.changes if c.state == "retiring"]


def _wanted_change(directory, name, content, problems):
    """The Change writing content to name, or None (after noting the problem) when it cannot."""
    path = os.path.join(directory, name)
    kind, before = read_existing(path)
    if kind == "absent":
        state = "created"
    elif kind == "link":
        state, before = "updated", b""
    elif kind == "other":
        problems.append("%s exists and is not a regular file" % path)
        return None
    else:
        state = "unchanged" if before == content else "updated"
    return Change(name, path, state, before, content, kind)


def _written_at(change, old, now_text):
    if change.state in ("created", "updated"):
        return now_text
    return old.get("written_at") or mtime_text(change.path)


def plan(directory, files, exclusive=False, retire_after=None, now=None):
    """Compare the wanted files ({name: Wanted or bytes}) with the directory -> Plan.

    A wanted name held by a symlink is replaced by a regular file (the link is neither
    followed nor read); a wanted name held by a directory or device is an error. With
    exclusive, listed files no longer wanted are removed while still_ours() holds. With
    retire_after (seconds; implies exclusive), a managed key no longer wanted stays, retiring,
    until _key_lifetime.retirement() says its grace is over; it stays in the bundle and JWKS
    document, which are assembled here from the keys listed and the keys retiring. now: the
    host's clock (epoch seconds).
    """
    now = time.time() if now is None else now
    now_text = _key_lifetime.utc_text(int(now))
    files = dict((name, w if isinstance(w, Wanted) else Wanted(w)) for name, w in files.items())
    exclusive = exclusive or retire_after is not None
    manifest = read_manifest(directory)
    warnings = [manifest.warning] if manifest.warning else []
    changes = []
    records_after = {}
    problems = []
    key_files = []
    for name in sorted(files):
        wanted = files[name]
        if wanted.kind in ("bundle", "jwks"):
            continue
        change = _wanted_change(directory, name, wanted.content, problems)
        if change is None:
            continue
        old = manifest.records.get(name) or record()
        rec = record(sha256_hex(wanted.content), wanted.kind, written_at=_written_at(change, old, now_text))
        if wanted.kind == "key":
            rec["fingerprint_sha256"] = _key_bundle.pem_fingerprint(wanted.content)
            if rec["fingerprint_sha256"] is None:
                # The controller renders keys as one canonical PEM block; anything else is no key.
                problems.append("%s is given as a key but is not one canonical PUBLIC KEY PEM block" % name)
                continue
            rec["jwk"] = wanted.jwk
            key_files.append(_key_bundle.KeyFile(name, wanted.content.decode("ascii"), wanted.jwk,
                                                 rec["fingerprint_sha256"]))
            if old.get("retiring_since"):
                change.lifecycle = ("retiring", "active")
        changes.append(change)
        records_after[name] = rec
    for name in sorted(manifest.records):
        if name in files:
            continue
        old = manifest.records[name]
        path = os.path.join(directory, name)
        kind, before = read_existing(path)
        if kind == "absent":
            continue
        if kind != "file":
            warnings.append("%s is listed in the manifest but is no longer a regular file; left alone" % path)
            continue
        if not exclusive:
            records_after[name] = old
            continue
        if not still_ours(before, old["sha256"], manifest.version):
            warnings.append("%s is listed in the manifest but no longer holds what this module wrote; left alone"
                            % path)
            continue
        # Only a file that is one canonical PEM block retires into the bundle, whatever the manifest says.
        fingerprint = _key_bundle.pem_fingerprint(before)
        if retire_after is None or (old["kind"] or kind_of(before)) != "key" or fingerprint is None:
            changes.append(Change(name, path, "removed", before, None, kind))
            continue
        fate = _key_lifetime.retirement(old["retiring_since"], retire_after, now)
        if fate.remove:
            changes.append(Change(name, path, "removed", before, None, kind))
            continue
        rec = dict(old, sha256=sha256_hex(before), kind="key", fingerprint_sha256=fingerprint,
                   written_at=old["written_at"] or mtime_text(path),
                   retiring_since=_key_lifetime.utc_text(fate.since), retire_at=_key_lifetime.utc_text(fate.retire_at))
        records_after[name] = rec
        changes.append(Change(name, path, "retiring", before, before, kind,
                              None if old["retiring_since"] else ("active", "retiring")))
        key_files.append(_key_bundle.KeyFile(name, before.decode("ascii"), rec["jwk"], rec["fingerprint_sha256"]))
        if rec["jwk"] is None and any(w.kind == "jwks" for w in files.values()):
            warnings.append("%s is retiring but its JWK was never recorded (written by an earlier release); "
                            "it stays in the bundle, not in the JWKS document" % path)
    for name in sorted(files):
        wanted = files[name]
        if wanted.kind not in ("bundle", "jwks"):
            continue
        text = _key_bundle.bundle_text(key_files) if wanted.kind == "bundle" else _key_bundle.jwks_text(key_files)
        content = text.encode("ascii")
        change = _wanted_change(directory, name, content, problems)
        if change is None:
            continue
        old = manifest.records.get(name) or record()
        changes.append(change)
        records_after[name] = record(sha256_hex(content), wanted.kind, written_at=_written_at(change, old, now_text))
    if problems:
        raise KeyStoreError(problems, directory)
    changes.sort(key=lambda c: c.name)
    return Plan(changes, manifest, records_after, warnings)


# --- writing --------------------------------------------------------------------------------

def locked(directory):
    """An exclusive lock on the directory (held until the returned fd is closed).

    Serialises runs on one directory, so two concurrent runs never both read the manifest,
    each add their files and write it back without the other's entries.
    """
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_temp(directory, data):
    """Write data to a new temp file (mode 0600, ours) in directory and fsync it -> its path."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return tmp


def default_file_mode():
    """The mode a new file gets: 0666 less the umask (what atomic_move gives new files)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_dir(directory):
    """Make renames and removals in directory durable (best effort where O_DIRECTORY is missing)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
