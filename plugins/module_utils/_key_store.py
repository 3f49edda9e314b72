# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A directory of public-key files: what should be in it, what is in it, and safe writes.

The logic of the public_key_store module, kept apart from AnsibleModule so that it can be
tested on its own and so that the action plugin can run the very same checks on the
controller before anything reaches a host. Standard library only: hosts need nothing else.

- build(): key items -> the files the directory should hold (one <name>.pem per key, an
  optional PEM bundle and JWKS document), or KeyStoreError listing every problem at once.
- plan(): compare those files with the directory and its manifest -> per-file changes.
- write_temp() / fsync_dir() / read_manifest() / manifest_text(): the pieces of an atomic write.

The manifest (MANIFEST, a hidden JSON file in the directory) lists the files this module
wrote. Only files listed there are ever removed, and only when the caller asks (exclusive).

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import binascii
import errno
import json
import os
import re
import stat
import tempfile

from . import _der, _keys
from ._errors import KeyFormatError, KeywardError, OptionError

MANIFEST = ".keyward-manifest.json"
KEY_SUFFIX = ".pem"
TEMP_PREFIX = ".keyward-tmp-"
_NAME_CHARS = "A-Za-z0-9._@+-"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][%s]*$" % _NAME_CHARS)
_UNSAFE_RUN = re.compile(r"[^%s]+" % _NAME_CHARS)
_MAX_NAME = 200


class KeyStoreError(KeywardError):
    """One or more keys or file names are unusable; nothing may be written."""

    def __init__(self, errors, path=None):
        self.errors = list(errors)
        where = " to %s" % path if path else ""
        super().__init__("nothing was written%s: %s" % (where, "; ".join(self.errors)))


# --- names ----------------------------------------------------------------------------------

def check_file_name(name, what="file name"):
    """Raise OptionError unless name is a plain file name that stays inside the directory."""
    if not isinstance(name, str) or not name:
        raise OptionError("%s is empty" % what)
    shown = repr(name)
    if "\x00" in name:
        reason = "contains a NUL character"
    elif "/" in name or "\\" in name:
        reason = "contains a path separator"
    elif ".." in name:
        reason = "contains '..'"
    elif name.startswith("."):
        reason = "starts with a dot (hidden names are reserved for the store's own files)"
    elif len(name) > _MAX_NAME + len(KEY_SUFFIX):
        reason = "is longer than %d characters" % _MAX_NAME
    elif not _SAFE_NAME.match(name):
        reason = "may only hold ASCII letters, digits and . _ - @ +, starting with a letter, digit or _"
    else:
        return name
    raise OptionError("%s %s %s" % (what, shown, reason))


def name_from_key_id(key_id):
    """A safe file stem from a provider's key id: '10.0.0.5:2886' -> '10.0.0.5_2886'."""
    text = _UNSAFE_RUN.sub("_", str(key_id))
    text = re.sub(r"\.{2,}", "_", text).strip("._")
    return text[:_MAX_NAME]


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
        return check_file_name(str(name), "key %s: name" % label)
    key_id = item.get("key_id")
    if key_id in (None, ""):
        raise OptionError("key %s has neither a name nor a key_id to name its file after" % label)
    stem = name_from_key_id(key_id)
    if not stem:
        raise OptionError("key %s: key_id %r leaves no usable file name; give a name" % (label, key_id))
    return check_file_name(stem, "key %s: name derived from key_id" % label)


# --- keys -----------------------------------------------------------------------------------

def pem_to_der(text, provider=None, label=None):
    """A PEM public key -> its SubjectPublicKeyInfo DER (stdlib only), else KeyFormatError.

    Takes exactly one 'PUBLIC KEY' block (or PKCS#1 RSA under 'PUBLIC KEY' / 'RSA PUBLIC KEY')
    and nothing around it. The action plugin hands the module canonical SPKI PEM; this is the
    host's own check that nothing else ever lands in the directory.
    """
    def fail(reason):
        raise KeyFormatError("not a PEM public key: %s" % reason, provider=provider, key=label)

    if not isinstance(text, str) or not text.strip():
        fail("no key text was given")
    body = text.strip()
    if not body.startswith("-----BEGIN ") or not body.endswith("-----"):
        fail("it does not consist of one PEM block")
    try:
        blocks = _der.pem_blocks(body)
    except (binascii.Error, ValueError):
        fail("its PEM body is not valid base64")
    if len(blocks) != 1:
        fail("it holds %d PEM blocks; give one key at a time" % len(blocks))
    pem_label, der = blocks[0]
    if "PRIVATE" in pem_label:
        fail("it is a private key (%s)" % pem_label)
    if pem_label not in ("PUBLIC KEY", "RSA PUBLIC KEY"):
        fail("PEM label %r is not a public key" % pem_label)
    if _der.is_pkcs1_rsa(der):
        der = _der.rsa_spki_from_pkcs1(der)
    try:
        _der.spki_parts(der)
    except _der.DerError as exc:
        fail("the DER is not a SubjectPublicKeyInfo (%s)" % exc)
    return der


def check_pins(der, expected, provider=None, label=None):
    """FingerprintMismatchError unless the key's SHA-256 matches one pin (no pins: pass)."""
    record = {"fingerprint_sha256": _keys.fingerprint_sha256(der), "provider": provider, "key_id": label}
    _keys.check_pins(record, _keys.normalize_pins(expected))


_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")


def key_jwk(der, given=None, provider=None, label=None):
    """The JWK for a key: derived from the DER, or `given` once it is shown to be the same key.

    A given JWK may carry extra members (use, alg, ...), which are kept; its kid defaults to
    the RFC 7638 thumbprint. None when JWK has no form for the key (SM2) and none was given.
    """
    derived = _der.spki_to_jwk(der)
    if derived is not None:
        derived["kid"] = _keys.jwk_thumbprint(derived)
    if given is None:
        return derived
    if not isinstance(given, dict):
        raise KeyFormatError("jwk must be a dict, not %s" % type(given).__name__, provider=provider, key=label)
    private = sorted(m for m in _PRIVATE_JWK_MEMBERS if m in given)
    if private:
        raise KeyFormatError("jwk holds private key members (%s); a trust store takes public keys only"
                             % ", ".join(private), provider=provider, key=label)
    try:
        thumbprint = _keys.jwk_thumbprint(given)
    except (KeyError, TypeError):
        raise KeyFormatError("jwk lacks the members RFC 7638 requires for its kty %r" % given.get("kty"),
                             provider=provider, key=label)
    if derived is not None and thumbprint != derived["kid"]:
        raise KeyFormatError("jwk describes a different key than public_key (thumbprint %s, expected %s)"
                             % (thumbprint, derived["kid"]), provider=provider, key=label)
    jwk = dict(given)
    jwk.setdefault("kid", thumbprint)
    return jwk


# --- what the directory should hold --------------------------------------------------------

class Entry(object):
    __slots__ = ("stem", "der", "jwk", "item")

    def __init__(self, stem, der, jwk, item):
        self.stem = stem
        self.der = der
        self.jwk = jwk
        self.item = item

    @property
    def file_name(self):
        return self.stem + KEY_SUFFIX

    @property
    def pem(self):
        return _der.pem_encode(self.der)


class Store(object):
    """The outcome of build(): entries in file-name order, {file name: bytes}, warnings."""

    def __init__(self, entries, files, warnings):
        self.entries = entries
        self.files = files
        self.warnings = warnings


def _key_kind(der):
    alg, param, _bits = _der.spki_parts(der)
    if _der.OID_SM2 in (alg, param):
        return "an SM2 key"
    if param in _der.EC_CURVES:
        return "an EC %s key" % _der.EC_CURVES[param][0]
    return "algorithm %s" % alg


def json_text(data):
    """Deterministic JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def document_bytes(content):
    """A document's content -> bytes: text as given, lists and dicts as deterministic JSON."""
    if isinstance(content, (dict, list)):
        return json_text(content).encode("utf-8")
    if content is None:
        return b""
    return str(content).encode("utf-8")


def build(items, bundle=None, jwks=None, parse=None, path=None, documents=None):
    """Key items -> Store; KeyStoreError naming every unusable key, pin or name.

    items: dicts with public_key and name or key_id; optional expected_fingerprint and jwk.
    documents: more files managed alongside the keys ({name, content}), e.g. an index.
    parse(text, provider, label) -> SPKI DER; default: the stdlib PEM check above. The
    action plugin passes a parser that takes every accepted key shape (cryptography).
    """
    parse = parse or pem_to_der
    errors = []
    entries = []
    if not isinstance(items, (list, tuple)):
        raise KeyStoreError(["keys must be a list, not %s" % type(items).__name__], path)
    for position, item in enumerate(items, 1):
        if not isinstance(item, dict):
            errors.append("key #%d is a %s, not a dict with name and public_key" % (position, type(item).__name__))
            continue
        label = describe(item, position)
        provider = item.get("provider")
        try:
            stem = key_stem(item, position)
            der = parse(item.get("public_key"), provider, label)
            check_pins(der, item.get("expected_fingerprint"), provider, label)
            jwk = key_jwk(der, item.get("jwk"), provider, label) if jwks or item.get("jwk") is not None else None
        except KeywardError as exc:
            errors.append(str(exc))
            continue
        entries.append(Entry(stem, der, jwk, item))

    taken = {}
    for entry in entries:
        if entry.file_name in taken:
            errors.append("keys %s and %s would both be written to %s"
                          % (describe(taken[entry.file_name].item, 0), describe(entry.item, 0), entry.file_name))
        taken[entry.file_name] = entry
    extra = {}
    named = [("bundle", bundle), ("jwks", jwks)]
    for position, doc in enumerate(documents or [], 1):
        if not isinstance(doc, dict) or "name" not in doc:
            errors.append("document #%d must be a dict with name and content" % position)
            continue
        named.append(("document", doc["name"]))
    for option, name in named:
        if name in (None, ""):
            continue
        try:
            check_file_name(name, option)
        except OptionError as exc:
            errors.append(str(exc))
            continue
        if name in taken or name in extra:
            errors.append("%s %r is also the file name of %s" % (
                option, name, "key %s" % taken[name].stem if name in taken else extra[name]))
        extra[name] = option
    if errors:
        raise KeyStoreError(errors, path)

    entries.sort(key=lambda e: e.file_name)
    files = {entry.file_name: entry.pem.encode("ascii") for entry in entries}
    warnings = []
    # The bundle and the JWKS hold every distinct key once, in file-name order.
    distinct = []
    seen = set()
    for entry in entries:
        if entry.der not in seen:
            seen.add(entry.der)
            distinct.append(entry)
    if bundle:
        files[bundle] = "".join(entry.pem for entry in distinct).encode("ascii")
    if jwks:
        members = []
        kids = set()
        for entry in distinct:
            if entry.jwk is None:
                warnings.append("key %s has no JWK form (%s); it is left out of %s"
                                % (entry.stem, _key_kind(entry.der), jwks))
            elif entry.jwk.get("kid") not in kids:
                kids.add(entry.jwk.get("kid"))
                members.append(entry.jwk)
        files[jwks] = json_text({"keys": members}).encode("ascii")
    for doc in documents or []:
        files[doc["name"]] = document_bytes(doc.get("content"))
    return Store(entries, dict(sorted(files.items())), warnings)


# --- what the directory holds ---------------------------------------------------------------

def read_manifest(directory):
    """(managed file names, the manifest's bytes or None, warning or None).

    Names that fail check_file_name are dropped: a hand-edited manifest cannot point outside
    the directory or at the store's own hidden files.
    """
    path = os.path.join(directory, MANIFEST)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return [], None, None
        return [], None, "cannot read %s (%s); no file will be removed" % (path, exc.strerror or exc)
    try:
        data = json.loads(raw.decode("utf-8"))
        names = data["files"]
        if not isinstance(names, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return [], raw, "%s is not a manifest this module wrote; no file will be removed" % path
    managed = []
    for name in names:
        try:
            managed.append(check_file_name(name))
        except OptionError:
            continue
    return sorted(set(managed)), raw, None


def manifest_text(names):
    return json_text({
        "comment": "Files written by keyward.keys.public_key_store. Only these are ever removed.",
        "files": sorted(set(names)),
        "version": 1,
    }).encode("ascii")


def read_existing(path):
    """('absent' | 'file' | 'other', bytes or None). Symlinks count as 'other': never followed."""
    try:
        info = os.lstat(path)
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return "absent", None
        raise
    if not stat.S_ISREG(info.st_mode):
        return "other", None
    with open(path, "rb") as handle:
        return "file", handle.read()


class Change(object):
    __slots__ = ("name", "path", "state", "before", "after")

    def __init__(self, name, path, state, before, after):
        self.name = name
        self.path = path
        self.state = state
        self.before = before
        self.after = after


class Plan(object):
    """changes; managed: names the manifest lists now; manifest_names: what it should list after."""

    def __init__(self, changes, managed, manifest_names, manifest_before, warnings):
        self.changes = changes
        self.managed = managed
        self.manifest_names = manifest_names
        self.manifest_before = manifest_before
        self.warnings = warnings

    @property
    def manifest_after(self):
        return manifest_text(self.manifest_names)


def plan(directory, files, exclusive=False):
    """Compare the wanted files with the directory -> Plan (changes in file-name order).

    A wanted name held by a symlink is replaced by a regular file (the link is not followed);
    a wanted name held by a directory or device is an error. With exclusive, manifest-listed
    regular files that are no longer wanted are removed; nothing else ever is.
    """
    managed, manifest_raw, warning = read_manifest(directory)
    warnings = [warning] if warning else []
    changes = []
    for name, content in files.items():
        path = os.path.join(directory, name)
        kind, before = read_existing(path)
        if kind == "absent":
            state = "created"
        elif kind == "other":
            if os.path.islink(path):
                state = "updated"
                before = b""
            else:
                raise KeyStoreError(["%s exists and is not a regular file" % path], directory)
        else:
            state = "unchanged" if before == content else "updated"
        changes.append(Change(name, path, state, before, content))
    keep = set(files)
    for name in managed:
        if name in keep:
            continue
        path = os.path.join(directory, name)
        kind, before = read_existing(path)
        if kind == "absent":
            continue
        if kind == "other":
            warnings.append("%s is listed in the manifest but is no longer a regular file; left alone" % path)
            continue
        if exclusive:
            changes.append(Change(name, path, "removed", before, None))
        else:
            keep.add(name)
    changes.sort(key=lambda c: c.name)
    return Plan(changes, managed, sorted(keep), manifest_raw, warnings)


# --- writing --------------------------------------------------------------------------------

def write_temp(directory, data):
    """Write data to a new temp file in directory and fsync it -> its path (rename it into place)."""
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
