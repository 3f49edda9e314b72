# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of keyward.keys.public_key_store: every key is parsed and every file rendered here.

On the controller, with module_utils/_keys.py (the collection's one key parser): each key is
parsed (any accepted shape), its pins compared, its file name checked, and every file the
directory should hold is rendered: one canonical SPKI PEM per key, the bundle, the JWKS
document and any extra documents. Only when all of that passes is the module sent to the
host, with nothing but file names and their text (the hidden `_files` option); the host
parses no keys. A host whose key list has any problem is not contacted at all.
Why an action plugin and not tasks in the role: docs/docsite/rst/trust_store.rst.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.keyward.keys.plugins.module_utils import _key_bundle, _key_lifetime, _key_store, _keys, _pins
from ansible_collections.keyward.keys.plugins.module_utils._errors import KeyFormatError, KeywardError

MODULE = "keyward.keys.public_key_store"
# Task arguments that the controller consumes; the module receives the rendered files instead.
RENDERED_ARGS = ("keys", "bundle", "jwks", "documents")
_PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
ACCEPTED_SHAPES = "a key record, a dict {name, public_key, expected_fingerprint?} or a PEM string"
# The file stem of a key given as a bare string: its fingerprint's first 16 hex digits.
PEM_STRING_STEM = "sha256-%s"


class Entry(object):
    """One key: its file stem, the parsed key, its JWK (or None) and the item it came from."""

    __slots__ = ("stem", "parsed", "jwk", "item")

    def __init__(self, stem, parsed, jwk, item):
        self.stem = stem
        self.parsed = parsed
        self.jwk = jwk
        self.item = item

    @property
    def file_name(self):
        return self.stem + _key_store.KEY_SUFFIX


def key_jwk(parsed, given=None, provider=None, label=None):
    """The key's JWK (_keys.to_jwk), or `given` once it is shown to describe the same key.

    A given JWK may carry extra members (use, alg, ...), which are kept; its kid defaults to
    the RFC 7638 thumbprint. None when JWK has no form for the key (SM2) and none was given.
    """
    derived = _keys.to_jwk(parsed)
    if given is None:
        return derived
    if not isinstance(given, Mapping):
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
    if derived is None:
        raise KeyFormatError("jwk is given for %s, which JWK cannot express; nothing is written" % _kind(parsed),
                             provider=provider, key=label)
    if thumbprint != derived["kid"]:
        raise KeyFormatError("jwk describes a different key than public_key (thumbprint %s, expected %s)"
                             % (thumbprint, derived["kid"]), provider=provider, key=label)
    _check_jwk_alg(given, parsed, provider, label)
    jwk = dict(given)
    jwk.setdefault("kid", thumbprint)
    return jwk


class ShapeError(ValueError):
    """A keys entry that is none of the accepted shapes."""

    def __init__(self, position, problem):
        super(ShapeError, self).__init__("keys entry #%d (index %d) %s; an entry is %s"
                                         % (position, position - 1, problem, ACCEPTED_SHAPES))


# isinstance, not type(): ansible-core 2.19+ hands plugins tagged subclasses (_AnsibleTaggedInt, ...).
_TYPE_NAMES = ((bool, "a boolean"), ((int, float), "a number"), ((list, tuple), "a list"))


def _type_name(value):
    if value is None:
        return "null"
    for types, name in _TYPE_NAMES:
        if isinstance(value, types):
            return name
    return "a %s" % type(value).__name__


def _pem_string_entry(text, position, want_jwk):
    """A bare key string (what a public-key lookup returns by default): file sha256-<16 hex>.pem."""
    try:
        parsed = _keys.parse_public_key(text, key_id="#%d" % position)
    except KeyFormatError as exc:
        raise ShapeError(position, "is a string but not a public key (%s)" % exc.detail)
    stem = PEM_STRING_STEM % _keys.fingerprint_sha256(parsed.spki_der)[:16]
    return Entry(stem, parsed, _keys.to_jwk(parsed) if want_jwk else None, {"name": stem})


# The JWS/JWE "alg" values (RFC 7518, RFC 8037) that each kind of key can serve.
_ALG_PREFIXES = {"RSA": ("RS", "PS", "RSA"), "EC": ("ES", "ECDH"), "ED25519": ("EdDSA", "Ed25519")}
_EC_ALGS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512", "secp256k1": "ES256K"}


def _check_jwk_alg(given, parsed, provider, label):
    """A given JWK's alg must be one its key can serve (an RSA key is never 'ES256')."""
    alg = given.get("alg")
    if alg is None:
        return
    alg = str(alg)
    fits = alg.startswith(_ALG_PREFIXES.get(parsed.key_type, ()))
    if fits and parsed.key_type == "EC" and alg.startswith("ES"):
        fits = alg == _EC_ALGS.get(parsed.curve)
    if not fits:
        raise KeyFormatError("jwk alg %s does not fit %s" % (alg, _kind(parsed)), provider=provider, key=label)


def _entry(item, position, want_jwk):
    label = _key_store.describe(item, position)
    named = "" if label.startswith("#") else " (%s)" % label
    provider = item.get("provider")
    text = _keys.key_text(item, provider, label)
    if text is None:
        raise ShapeError(position, "is a dict%s with no public_key (or public_key_raw)" % named)
    if item.get("name") in (None, "") and item.get("key_id") in (None, ""):
        raise ShapeError(position, "has a public_key but no name (or key_id) to name its file after")
    stem = _key_store.key_stem(item, position)
    parsed = _keys.parse_public_key(text, provider=provider, key_id=label)
    record = {"fingerprint_sha256": _keys.fingerprint_sha256(parsed.spki_der), "provider": provider, "key_id": label}
    _pins.check_pins(record, _pins.normalize_pins(item.get("expected_fingerprint")))
    jwk = key_jwk(parsed, item.get("jwk"), provider, label) if want_jwk or item.get("jwk") is not None else None
    return Entry(stem, parsed, jwk, item)


def _kind(parsed):
    if parsed.key_type == "SM2":
        return "an SM2 key"
    return "an %s key" % " ".join(part for part in (parsed.key_type, parsed.curve) if part)


def document_text(content):
    """A document's content -> text: strings as given, lists and dicts as deterministic JSON."""
    if isinstance(content, (Mapping, list)):
        return _key_store.json_text(content)
    if content is None:
        return ""
    return str(content)


def render_wire(keys, bundle=None, jwks=None, documents=None, path=None):
    """Key items -> (the module's `_files`, warnings); KeyStoreError naming every problem.

    keys: key records, public_key_info results or {name, public_key, expected_fingerprint?, jwk?}.
    The bundle and the JWKS hold every distinct key once, in file-name order.
    """
    if keys is None:
        keys = []
    if not isinstance(keys, (list, tuple)):
        raise _key_store.KeyStoreError(["keys must be a list, not %s" % type(keys).__name__], path)
    if _keys.CRYPTOGRAPHY_IMPORT_ERROR:
        raise _key_store.KeyStoreError(
            ["the Python library 'cryptography' is required on the controller to check the keys"], path)
    errors = []
    entries = []
    for position, item in enumerate(keys, 1):
        try:
            if isinstance(item, (str, bytes)):
                entries.append(_pem_string_entry(item, position, bool(jwks)))
            elif isinstance(item, Mapping):
                entries.append(_entry(dict(item), position, bool(jwks)))
            else:
                raise ShapeError(position, "is %s" % _type_name(item))
        except (KeywardError, _key_store.FileNameError, ShapeError) as exc:
            errors.append(str(exc))

    taken = {}
    for entry in entries:
        if entry.file_name in taken:
            errors.append("keys %s and %s would both be written to %s"
                          % (_key_store.describe(taken[entry.file_name].item, 0),
                             _key_store.describe(entry.item, 0), entry.file_name))
        taken[entry.file_name] = entry
    extra = {}
    named = [("bundle", bundle), ("jwks", jwks)]
    for position, doc in enumerate(documents or [], 1):
        if not isinstance(doc, Mapping) or "name" not in doc:
            errors.append("document #%d must be a dict with name and content" % position)
            continue
        named.append(("document", doc["name"]))
    for option, name in named:
        if name in (None, ""):
            continue
        try:
            _key_store.check_file_name(name, option)
        except _key_store.FileNameError as exc:
            errors.append(str(exc))
            continue
        if name in taken or name in extra:
            errors.append("%s %r is also the file name of %s" % (
                option, name, "key %s" % taken[name].stem if name in taken else extra[name]))
        extra[name] = option
    if errors:
        raise _key_store.KeyStoreError(errors, path)

    entries.sort(key=lambda e: e.file_name)
    key_files = [_key_bundle.KeyFile(entry.file_name, entry.parsed.pem, entry.jwk) for entry in entries]
    by_file = dict((entry.file_name, entry) for entry in entries)
    warnings = []
    if jwks:
        for key in _key_bundle.without_jwk(key_files):
            entry = by_file[key.name]
            warnings.append("key %s has no JWK form (%s); it is left out of %s" % (entry.stem, _kind(entry.parsed), jwks))
    wire = [{"name": key.name, "content": key.pem, "kind": "key", "jwk": key.jwk} for key in key_files]
    # The bundle and the JWKS document are assembled on the host (_key_bundle), which alone
    # knows the keys that are retiring and stay in both.
    if bundle:
        wire.append({"name": bundle, "content": "", "kind": "bundle"})
    if jwks:
        wire.append({"name": jwks, "content": "", "kind": "jwks"})
    for doc in documents or []:
        wire.append({"name": doc["name"], "content": document_text(doc.get("content")), "kind": "document"})
    wire.sort(key=lambda item: item["name"])
    return wire, warnings


def render(keys, bundle=None, jwks=None, documents=None, path=None):
    """Key items -> ({file name: text} in name order, warnings): every file as a store that
    holds no retiring key gets it, bundle and JWKS assembled by the host's code."""
    wire, warnings = render_wire(keys, bundle, jwks, documents, path)
    key_files = [_key_bundle.KeyFile(item["name"], item["content"], item["jwk"]) for item in wire if item["kind"] == "key"]
    assemble = {"bundle": _key_bundle.bundle_text, "jwks": _key_bundle.jwks_text}
    files = dict((item["name"], assemble[item["kind"]](key_files) if item["kind"] in assemble else item["content"])
                 for item in wire)
    return dict(sorted(files.items())), warnings


def prepare(args):
    """Task args -> (module args, warnings, None) or (None, [], KeyStoreError). Controller only.

    The module args are the task's own minus keys/bundle/jwks/documents, plus `_files`: one
    {name, content, kind, jwk?} per file the directory should hold: a key's canonical PEM and
    JWK, a document's exact text, and the names of the bundle and JWKS document, which the
    host assembles (see render_wire).
    """
    try:
        # Checked here too, so a bad value fails before the host is contacted.
        _key_lifetime.parse_duration(args.get("retire_after"))
    except _key_lifetime.DurationError as exc:
        return None, [], _key_store.KeyStoreError([str(exc)], args.get("path"))
    try:
        wire, warnings = render_wire(args.get("keys"), args.get("bundle"), args.get("jwks"), args.get("documents"),
                                     path=args.get("path"))
    except _key_store.KeyStoreError as exc:
        return None, [], exc
    module_args = dict((k, v) for k, v in args.items() if k not in RENDERED_ARGS)
    module_args["_files"] = wire
    return module_args, warnings, None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        if "_files" in self._task.args:
            result.update(failed=True, changed=False, msg="_files is set by the action plugin, not by tasks")
            return result
        module_args, warnings, error = prepare(self._task.args)
        if error is not None:
            result.update(failed=True, changed=False, msg=str(error), errors=error.errors)
            return result
        try:
            result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if warnings:
            result["warnings"] = warnings + list(result.get("warnings") or [])
        return result
