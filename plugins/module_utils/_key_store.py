# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A directory of files written by public_key_store: names, the manifest, plans and safe writes.

Runs on hosts: standard library only, Python 3.6 and later, and no key parsing at all. The
action plugin validates the keys and renders every file on the controller; the module gets
each file's name and text and only decides what to write, remove or leave alone.

- check_file_name() / key_stem(): the naming rules (the action plugin names files with them,
  the module re-checks every name it is given).
- plan(): the wanted files against the directory and its manifest -> per-file changes.
- locked(), write_temp(), fsync_dir(), read_existing(): the pieces of a safe, atomic update.

The manifest (MANIFEST, a hidden JSON file in the directory) lists the files this module
wrote, each with the SHA-256 of what it wrote. A listed file is removed (with exclusive) only
while it is still a regular file holding exactly those bytes; nothing else is ever removed.

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

MANIFEST = ".keyward-manifest.json"
MANIFEST_VERSION = 2
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


def json_text(data):
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


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

class Manifest(object):
    """hashes: {file name: sha256 hex, or None for entries of a version 1 manifest}."""

    def __init__(self, hashes=None, raw=None, version=MANIFEST_VERSION, warning=None):
        self.hashes = dict(hashes or {})
        self.raw = raw
        self.version = version
        self.warning = warning


def read_manifest(directory):
    """The directory's manifest; a missing one is empty, an unreadable or foreign one lists nothing.

    Names that fail check_file_name are dropped: a hand-edited manifest cannot point outside
    the directory or at the store's own hidden files.
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
        hashes = data.get("sha256", {}) if version >= MANIFEST_VERSION else {}
        if not isinstance(names, list) or not isinstance(hashes, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, AttributeError):
        return Manifest(raw=raw, warning="%s is not a manifest this module wrote; no file will be removed" % path)
    listed = {}
    for name in names:
        try:
            check_file_name(name)
        except FileNameError:
            continue
        recorded = hashes.get(name)
        listed[name] = recorded if isinstance(recorded, str) and _HEX64.match(recorded) else None
    return Manifest(listed, raw, version)


def manifest_text(hashes):
    """The manifest's bytes for {file name: sha256 hex}."""
    return json_text({
        "comment": "Files written by keyward.keys.public_key_store. Only these are ever removed, "
                   "and only while they still hold the bytes recorded here.",
        "files": sorted(hashes),
        "sha256": dict((name, digest) for name, digest in hashes.items() if digest),
        "version": MANIFEST_VERSION,
    }).encode("ascii")


def _looks_like_ours(data):
    """For version 1 manifests (no hashes): only a PEM or JWKS file as this module writes them."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return False
    if _PEM_FILE.match(text):
        return True
    try:
        document = json.loads(text)
    except ValueError:
        return False
    return isinstance(document, dict) and set(document) == {"keys"} and isinstance(document["keys"], list)


def still_ours(data, recorded, version):
    """Whether a listed file still holds what the module wrote (so exclusive may remove it)."""
    if data is None:
        return False
    if recorded:
        return sha256_hex(data) == recorded
    # An entry without a hash in a current manifest was added by hand: never removed.
    return version < MANIFEST_VERSION and _looks_like_ours(data)


# --- the plan -------------------------------------------------------------------------------

class Change(object):
    __slots__ = ("name", "path", "state", "before", "after", "kind")

    def __init__(self, name, path, state, before, after, kind):
        self.name = name
        self.path = path
        self.state = state
        self.before = before
        self.after = after
        self.kind = kind


class Plan(object):
    """changes in name order; manifest: what was read; hashes_after: what the manifest should list."""

    def __init__(self, changes, manifest, hashes_after, warnings):
        self.changes = changes
        self.manifest = manifest
        self.hashes_after = hashes_after
        self.warnings = warnings

    @property
    def managed(self):
        return sorted(self.manifest.hashes)

    @property
    def manifest_names(self):
        return sorted(self.hashes_after)

    @property
    def manifest_before(self):
        return self.manifest.raw

    @property
    def manifest_after(self):
        return manifest_text(self.hashes_after)


def plan(directory, files, exclusive=False):
    """Compare the wanted files ({name: bytes}) with the directory -> Plan.

    A wanted name held by a symlink is replaced by a regular file (the link is neither
    followed nor read); a wanted name held by a directory or device is an error. With
    exclusive, listed files no longer wanted are removed while still_ours() holds.
    """
    manifest = read_manifest(directory)
    warnings = [manifest.warning] if manifest.warning else []
    changes = []
    hashes_after = {}
    problems = []
    for name, content in files.items():
        path = os.path.join(directory, name)
        kind, before = read_existing(path)
        if kind == "absent":
            state = "created"
        elif kind == "link":
            state, before = "updated", b""
        elif kind == "other":
            problems.append("%s exists and is not a regular file" % path)
            continue
        else:
            state = "unchanged" if before == content else "updated"
        changes.append(Change(name, path, state, before, content, kind))
        hashes_after[name] = sha256_hex(content)
    if problems:
        raise KeyStoreError(problems, directory)
    for name in sorted(manifest.hashes):
        if name in files:
            continue
        recorded = manifest.hashes[name]
        path = os.path.join(directory, name)
        kind, before = read_existing(path)
        if kind == "absent":
            continue
        if kind != "file":
            warnings.append("%s is listed in the manifest but is no longer a regular file; left alone" % path)
            continue
        if not exclusive:
            hashes_after[name] = recorded
        elif still_ours(before, recorded, manifest.version):
            changes.append(Change(name, path, "removed", before, None, kind))
        else:
            warnings.append("%s is listed in the manifest but no longer holds what this module wrote; left alone"
                            % path)
    changes.sort(key=lambda c: c.name)
    return Plan(changes, manifest, hashes_after, warnings)


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
