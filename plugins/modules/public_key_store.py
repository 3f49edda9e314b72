#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: public_key_store
short_description: Write a set of public keys to a directory in one atomic, idempotent call
version_added: 0.1.0
description:
  - Manages a directory of public-key files on a host in one call. Each key becomes C(<name>.pem), holding the
    key as SubjectPublicKeyInfo PEM. Optionally the directory also gets a PEM bundle of all keys
    (O(bundle)) and a JWKS document of all keys (O(jwks)).
  - Every key, pin and file name is checked B(on the controller, before the host is contacted), by the
    module's action plugin. It accepts every key shape the collection reads (SPKI PEM, PKCS#1 RSA under
    a C(PUBLIC KEY) label, C(\r\n) line endings, bare base64 DER, OpenSSH lines) and key records from any
    keyward.keys lookup or module. When any key is unusable, any pin fails or any name is unsafe, the task
    fails naming every problem and nothing is written.
  - New and changed files are written atomically (a temporary file in the same directory, fsync, rename),
    then given O(owner), O(group), O(mode) and SELinux context the way M(ansible.builtin.copy) does.
    Unchanged files are not rewritten.
  - The module keeps a manifest, C(.keyward-manifest.json), in the directory, listing the files it wrote.
    With O(exclusive=true) it removes listed files that are no longer wanted. It never removes, replaces or
    follows anything else in the directory.
  - Every file (key PEMs, bundle, JWKS, documents) is rendered on the controller. On the host the module only
    writes the rendered bytes; it needs only Python's standard library (Python 3.6 or later) and parses no keys.
    It checks again that every name is a plain file name before it writes anything.
  - A symlink planted under a managed name is replaced, never written through, and the new file never takes
    the link target's owner, group or mode. Runs on one directory are serialised with a lock on the
    directory, so concurrent runs lose no manifest entries.
author:
  - keyward.keys developers (@keyward)
options:
  _files:
    description:
      - Internal. The files the action plugin rendered on the controller from O(keys), O(bundle), O(jwks) and
        O(documents); the module writes them and parses nothing. Do not set it in a task.
    type: list
    elements: dict
    suboptions:
      name:
        description: File name inside O(path).
        type: str
        required: true
      content:
        description: The exact text of the file (empty for the bundle and the JWKS document, which the host assembles).
        type: str
        required: true
      kind:
        description: What the file is. The host assembles the V(bundle) and V(jwks) files from the V(key) files.
        type: str
        choices: [key, bundle, jwks, document]
        default: document
        version_added: 0.2.0
      jwk:
        description: For a V(key), its JWK, kept in the manifest so that the key stays in the JWKS document while it retires.
        type: dict
        version_added: 0.2.0
  path:
    description:
      - The directory, as an absolute path. It is created with its parents when missing.
    type: path
    required: true
  keys:
    description:
      - The keys the directory should hold, one file C(<name>.pem) each.
      - Key records from any keyward.keys lookup (C(return_format=dict)) or C(*_info) module can be given as
        they are. Their other fields (C(provider), C(metadata), ...) are ignored, as is C(public_key_raw) when
        C(public_key) is set.
      - With O(exclusive=false) files of keys dropped from this list stay; see O(exclusive) and O(retire_after).
      - An item may also be the key itself as a string, what every keyward.keys public-key lookup returns by
        default (added in 0.2.0). It is written to C(sha256-<first 16 hex digits of its fingerprint>.pem).
      - An item of any other shape fails the task with one line naming its position and index and the accepted
        shapes; nothing is written.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - File name without the C(.pem) suffix.
          - "Must be a plain name of at most 200 characters: ASCII letters, digits and C(. _ - @ +), not starting with a dot, without C(..).
            Anything else (C(../x), C(a/b), an empty name) fails the task before the host is contacted."
          - When not given, a safe form of O(keys[].key_id) is used (runs of other characters become C(_),
            so C(10.0.0.5:2886) gives C(10.0.0.5_2886)).
        type: str
      key_id:
        description: The provider's key id, used for the file name when O(keys[].name) is not given.
        type: str
      public_key:
        description:
          - The key in any accepted shape. It is written as SubjectPublicKeyInfo PEM.
          - A key record's C(public_key_raw) is used when this is missing.
        type: str
        required: true
      expected_fingerprint:
        description:
          - Pins for this key. It must match one of them, else the task fails and nothing is written.
          - Each entry is the hex SHA-256 of the key's SubjectPublicKeyInfo DER (colons and case are ignored)
            or a C(sha256//<base64>) pin. A string with commas is read as a list.
        type: list
        elements: str
      jwk:
        description:
          - The key's JWK for the O(jwks) document, for example the C(jwk) of the
            P(keyward.keys.public_key_info#filter) filter with C(use) or C(alg) members added.
          - It must describe the same key as O(keys[].public_key) (same RFC 7638 thumbprint) and must not
            hold private members. Its C(kid) defaults to the thumbprint.
          - When not given, the JWK is derived from the key. SM2 keys have no JWK form and are left out of
            the JWKS document with a warning.
        type: dict
  bundle:
    description:
      - File name (in O(path)) of a PEM bundle holding every distinct key once, in file-name order.
      - Same naming rules as O(keys[].name); it must not clash with a key's file.
    type: str
  jwks:
    description:
      - File name (in O(path)) of a JWKS document (RFC 7517) of every key, in file-name order, each C(kid)
        once. Written as JSON with sorted keys and a trailing newline.
      - Same naming rules as O(keys[].name); it must not clash with a key's file.
    type: str
  documents:
    description:
      - More files to keep in O(path) beside the keys, for example an index that maps ids to keys.
      - They are written, tracked in the manifest and removed by O(exclusive) exactly like key files.
      - Same naming rules as O(keys[].name); a name must not clash with a key's file, O(bundle) or O(jwks).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: File name in O(path).
        type: str
        required: true
      content:
        description: The file's content. Text is written as given; a dict or list as JSON with sorted keys and a trailing newline.
        type: raw
        required: true
  exclusive:
    description:
      - Remove files this module wrote earlier (listed in its manifest) that are no longer wanted, that is
        files of keys dropped from O(keys) and a bundle or JWKS document no longer asked for.
      - Files the module did not write are never removed, whatever their names. The manifest records the
        SHA-256 of every file written; a listed file is removed only while it is still a regular file holding
        exactly those bytes (a file changed since, or replaced by a symlink, is left alone with a warning).
      - With V(false) such files stay and remain in the manifest, so a later exclusive run can remove them.
      - See O(retire_after) to keep unlisted keys for a grace period instead of removing them at once.
    type: bool
    default: false
  retire_after:
    description:
      - A grace period for keys during a rotation. A key file this module wrote whose key is no longer in
        O(keys) stays in O(path), in the bundle and in the JWKS document, with state V(retiring), until it has been
        unlisted this long; the first run after that removes it. It is never removed by the run that stops listing it.
      - Whole seconds as an integer, or a number with a unit, V(90s), V(15m), V(12h) or V(7d).
        V(0) keeps the key through the run that stops listing it and removes it in the next run.
      - The grace is measured from the run that first found the key unlisted, on the host's clock; the times are
        kept in the store's manifest (the controller's clock never enters). A retiring key listed again is active
        again, and a later unlisting starts a new grace.
      - Setting it implies O(exclusive=true). Other files no longer wanted (bundle, JWKS, documents) go at once.
      - Without it, O(exclusive=true) removes unlisted keys in the run that stops listing them.
      - A key file from a store written before 0.2.0 that retires before any run of 0.2.0 has listed it stays in
        the bundle but not in the JWKS document (its JWK was never recorded); a warning says so.
    type: raw
    version_added: 0.2.0
  dir_mode:
    description:
      - Permissions of the directory O(path), in any form O(mode) takes (for example V('0755')).
      - When not set, a new directory gets the default permissions and an existing one is left as it is.
      - The directory also gets O(owner), O(group) and the SELinux options, like the files.
      - When O(path) is a symlink to a directory, the keys are written there but the directory it points to keeps
        its own permissions, owner and group (a warning says so when any of these is set); a link lends nothing.
    type: raw
  mode:
    description:
      - Permissions of the key files, the bundle and the JWKS document.
      - When not set, new files get the default permissions and existing ones keep theirs.
notes:
  - The module is not transactional across files. Should the host fail half-way (a full disk), a
    later run completes the work; no file is ever half-written.
  - The manifest is bookkeeping. Updating it alone (for example adopting an identical file that was
    already there) does not make the task changed. A key moving between active and retiring does
    (O(retire_after)), and shows in diff mode as a change of the key's state.
  - The bundle and the JWKS document are assembled on the host from the keys' PEM and JWK texts rendered on
    the controller, because only the host's manifest knows which keys are retiring.
  - The reasons for validating in an action plugin rather than in the role, and how retiring keys are kept, are
    in the collection's guide R(How trust_store and public_key_store work,ansible_collections.keyward.keys.docsite.trust_store).
  - The role C(keyward.keys.trust_store) calls this module once per host, with handler wiring.
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details: Keys, pins and names are checked on the controller before the host is contacted.
  async:
    description: Supports being used with the C(async) keyword.
    support: none
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Shows the content of every created, updated and removed file (public keys only) and attribute changes.
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
seealso:
  - plugin: keyward.keys.public_key_info
    plugin_type: filter
  - plugin: keyward.keys.jwks
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Write two keys, a bundle and a JWKS document
  keyward.keys.public_key_store:
    path: /etc/myapp/trust
    keys:
      - name: signer-2024
        public_key: "{{ lookup('file', 'keys/signer-2024.pem') }}"
      - name: signer-2025
        public_key: "{{ lookup('file', 'keys/signer-2025.pem') }}"
        expected_fingerprint: 3b:9a:...:e1
    bundle: signers.pem
    jwks: jwks.json
    owner: root
    group: myapp
    mode: "0640"
    dir_mode: "0750"
  notify: Reload myapp

- name: Key records from a lookup are taken as they are (file name from key_id)
  keyward.keys.public_key_store:
    path: /etc/myapp/kms
    keys: "{{ query('keyward.keys.huaweicloud_kms_public_key', key_a, key_b, return_format='dict') }}"
    exclusive: true

- name: Rotation - a key dropped from the list stays (file, bundle, JWKS) for 7 days, then goes
  keyward.keys.public_key_store:
    path: /etc/myapp/trust
    keys:
      - name: signer-2025
        public_key: "{{ signer_pem }}"
    bundle: signers.pem
    jwks: jwks.json
    retire_after: 7d
  register: store

- name: A JWKS document with use and alg members, through the public_key_info filter
  keyward.keys.public_key_store:
    path: /srv/www/.well-known
    keys:
      - name: token-signer
        public_key: "{{ signer_pem }}"
        jwk: "{{ (signer_pem | keyward.keys.public_key_info).jwk | combine({'use': 'sig', 'alg': 'RS256'}) }}"
    jwks: jwks.json
"""

RETURN = r"""
path:
  description: The directory.
  returned: always
  type: str
  sample: /etc/myapp/trust
files:
  description:
    - One entry for each file asked for (keys, O(bundle), O(jwks)), each key retiring and each file removed, in
      file-name order.
      Files kept from earlier runs without O(exclusive) and the manifest itself are not listed.
    - In check mode, what would happen.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
      sample: /etc/myapp/trust/signer-2025.pem
    state:
      description:
        - V(created), V(updated) (content, owner, group, mode or SELinux context changed), V(unchanged),
          V(removed) (O(exclusive=true) or O(retire_after) only), or V(retiring) (a key no longer listed, kept
          within its O(retire_after) grace; added in 0.2.0).
      type: str
      sample: created
  sample:
    - path: /etc/myapp/trust/jwks.json
      state: updated
    - path: /etc/myapp/trust/signer-2024.pem
      state: unchanged
    - path: /etc/myapp/trust/signer-2025.pem
      state: created
    - path: /etc/myapp/trust/signers.pem
      state: updated
retiring:
  description:
    - The keys kept as V(retiring) (see O(retire_after)), in file-name order. Empty without O(retire_after).
    - In check mode, what would be kept.
  returned: always
  type: list
  elements: dict
  version_added: 0.2.0
  contains:
    name:
      description: The key's name, its file name without C(.pem).
      type: str
      sample: signer-2024
    fingerprint_sha256:
      description: Lowercase hex SHA-256 of the key's SubjectPublicKeyInfo DER.
      type: str
      sample: 8fce41e59e1a537aea8475d1d81637ee0d1f76046f853ed9326b6742e2c660cc
    retiring_since:
      description: When a run first found the key unlisted (ISO-8601 UTC, host clock, whole seconds).
      type: str
      sample: "2026-12-07T09:30:00Z"
    retire_at:
      description: From this time on, the next run removes the key (O(retire_after) after RV(retiring[].retiring_since)).
      type: str
      sample: "2026-12-14T09:30:00Z"
errors:
  description: Every problem found in the keys, pins and names, when the task failed for them.
  returned: on failure before anything was written
  type: list
  elements: str
  sample:
    - "keyward.keys: key signer-2025: fingerprint mismatch: the key has sha256 ..."
"""

import errno
import os
import stat

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyward.keys.plugins.module_utils import _key_lifetime, _key_store

ARGUMENT_SPEC = dict(
    path=dict(type="path", required=True),
    # keys, bundle, jwks and documents are consumed by the action plugin on the controller and
    # arrive here rendered, as _files; they stay in the spec for the documentation.
    keys=dict(type="list", elements="dict", default=[], no_log=False, options=dict(
        name=dict(type="str"),
        key_id=dict(type="str"),
        public_key=dict(type="str", required=True, no_log=False),
        expected_fingerprint=dict(type="list", elements="str", no_log=False),
        jwk=dict(type="dict"),
    )),
    bundle=dict(type="str"),
    jwks=dict(type="str"),
    documents=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        content=dict(type="raw", required=True),
    )),
    exclusive=dict(type="bool", default=False),
    retire_after=dict(type="raw"),
    dir_mode=dict(type="raw"),
    # Set by the action plugin only: every file the directory should hold, as {name, content},
    # with its kind and, for keys, the JWK (the host assembles the bundle and JWKS from them).
    _files=dict(type="list", elements="dict", options=dict(
        name=dict(type="str", required=True),
        content=dict(type="str", required=True, no_log=False),
        kind=dict(type="str", default="document", choices=list(_key_store.KINDS)),
        jwk=dict(type="dict", no_log=False),
    )),
)

# Rename failures that AnsibleModule.atomic_move knows how to work around (bind mounts, odd filesystems).
_RENAME_WORKAROUNDS = (errno.EPERM, errno.EXDEV, errno.EACCES, errno.ETXTBSY, errno.EBUSY)


def wanted_files(params, path):
    """The rendered files -> {name: bytes}; KeyStoreError for a bad or repeated name."""
    if params["_files"] is None:
        raise _key_store.KeyStoreError(["public_key_store runs only through its action plugin "
                                        "(it renders the files on the controller)"], path)
    files = {}
    errors = []
    for item in params["_files"]:
        try:
            name = _key_store.check_file_name(item["name"])
        except _key_store.FileNameError as exc:
            errors.append(str(exc))
            continue
        if name in files:
            errors.append("file name %r is given twice" % name)
        files[name] = _key_store.Wanted(item["content"].encode("utf-8"), item["kind"], item["jwk"])
    if errors:
        raise _key_store.KeyStoreError(errors, path)
    return files


def dir_attributes_requested(params):
    """True when the task asks for any attribute of the directory itself."""
    return any(params.get(name) is not None
               for name in ("dir_mode", "owner", "group", "seuser", "serole", "selevel", "setype", "attributes"))


class StoreRun(object):
    """One invocation: ensure the directory, apply the plan, collect results and diffs."""

    def __init__(self, module):
        self.module = module
        self.path = module.params["path"]
        self.check = module.check_mode
        self.diffs = []
        self.changed = False

    def file_args(self, path, mode):
        args = self.module.load_file_common_arguments(self.module.params, path=path)
        args["mode"] = mode
        return args

    def set_attributes(self, path, mode, show=True):
        """Owner, group, mode, SELinux, attributes -> True when something changed (or would)."""
        diff = {"before": {"path": path}, "after": {"path": path}} if self.module._diff and show else None
        changed = self.module.set_fs_attributes_if_different(self.file_args(path, mode), False, diff=diff, expand=False)
        if changed and diff is not None and len(diff["before"]) > 1:
            diff["before_header"] = diff["after_header"] = "%s (attributes)" % path
            self.diffs.append(diff)
        return changed

    def ensure_directory(self):
        path = self.path
        dir_mode = self.module.params["dir_mode"]
        if os.path.lexists(path) and not os.path.isdir(path):
            raise _key_store.KeyStoreError(["%s exists and is not a directory" % path])
        if not os.path.isdir(path):
            self.changed = True
            if self.module._diff:
                self.diffs.append({"before_header": path, "after_header": path,
                                   "before": {"path": path, "state": "absent"},
                                   "after": {"path": path, "state": "directory"}})
            if self.check:
                return
            os.makedirs(path, 0o700 if dir_mode is not None else 0o777)
        if os.path.islink(path):
            # A symlink lends nothing: whoever planted it (or a later retarget) must not get a
            # directory elsewhere re-moded or re-owned. The files are written into it; the
            # directory it points to keeps its own mode, owner and group.
            if dir_attributes_requested(self.module.params):
                self.module.warn("path %s is a symlink; dir_mode, owner, group and SELinux options are not applied "
                                 "to the directory it points to (give the real directory as path to manage it)" % path)
            return
        if self.set_attributes(path, dir_mode):
            self.changed = True

    def prepare_temp(self, tmp, dest):
        """Give the temp file its final owner, group, mode and SELinux context before the rename.

        An update keeps the file's own attributes (from lstat, never a link target's); a new
        file, or one replacing a planted symlink, starts from the defaults. Then the requested
        owner, group and mode apply, so the file is never visible with anything else.
        """
        try:
            info = os.lstat(dest)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
            info = None
        regular = info is not None and stat.S_ISREG(info.st_mode)
        if regular:
            try:
                os.chown(tmp, info.st_uid, info.st_gid)
            except OSError as exc:
                if exc.errno != errno.EPERM:
                    raise
            os.chmod(tmp, stat.S_IMODE(info.st_mode))
        else:
            os.chmod(tmp, _key_store.default_file_mode())
        params = self.module.params
        self.module.set_owner_if_different(tmp, params["owner"], False)
        self.module.set_group_if_different(tmp, params["group"], False)
        self.module.set_mode_if_different(tmp, params["mode"], False)
        if self.module.selinux_enabled():
            context = self.module.selinux_context(dest) if regular else self.module.selinux_default_context(dest)
            self.module.set_context_if_different(tmp, context, False)
        return regular

    def write(self, name, data):
        dest = os.path.join(self.path, name)
        tmp = _key_store.write_temp(self.path, data)
        try:
            regular = self.prepare_temp(tmp, dest)
            try:
                # rename replaces a symlink itself; it never writes through it.
                os.rename(tmp, dest)
            except OSError as exc:
                if exc.errno not in _RENAME_WORKAROUNDS or not regular:
                    raise
                self.module.atomic_move(tmp, dest, unsafe_writes=self.module.params["unsafe_writes"])
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def write_manifest(self, records):
        data = _key_store.manifest_text(records)
        self.write(_key_store.MANIFEST, data)
        return data

    def run(self):
        params = self.module.params
        files = wanted_files(params, self.path)
        try:
            self.retire_after = _key_lifetime.parse_duration(params["retire_after"])
        except _key_lifetime.DurationError as exc:
            raise _key_store.KeyStoreError([str(exc)], self.path)
        self.ensure_directory()
        lock = None
        if not self.check:
            lock = _key_store.locked(self.path)
        try:
            return self.apply(files)
        finally:
            if lock is not None:
                os.close(lock)

    def apply(self, files):
        params = self.module.params
        # A directory that does not exist yet (check mode) plans as empty: every file is created.
        plan_ = _key_store.plan(self.path, files, params["exclusive"], self.retire_after)
        for warning in plan_.warnings:
            self.module.warn(warning)
        mode = params["mode"]

        manifest_on_disk = plan_.manifest_before
        if not self.check:
            # Write-ahead: list new files in the manifest before creating them, so a run that
            # fails half-way still knows them next time.
            ahead = dict(plan_.manifest.records)
            new = [c for c in plan_.changes if c.state == "created" and c.name not in ahead]
            if new:
                ahead.update((c.name, plan_.records_after[c.name]) for c in new)
                manifest_on_disk = self.write_manifest(ahead)

        results = []
        for change in plan_.changes:
            state = change.state
            if state in ("created", "updated") and not self.check:
                self.write(change.name, change.after)
            if state == "removed" and not self.check:
                os.unlink(change.path)
            if state in ("updated", "unchanged") or (state == "created" and not self.check):
                if self.set_attributes(change.path, mode) and state == "unchanged":
                    state = "updated"
            if change.lifecycle:
                # A key moving between active and retiring changes what the store promises.
                self.changed = True
                if self.module._diff:
                    self.diffs.append(self.lifecycle_diff(change, plan_.records_after[change.name]))
            if state not in ("unchanged", "retiring"):
                self.changed = True
                if self.module._diff and change.state != "unchanged":
                    self.diffs.append({
                        "before_header": change.path, "after_header": change.path,
                        "before": (change.before or b"").decode("utf-8", "replace"),
                        "after": (change.after or b"").decode("utf-8", "replace"),
                    })
            results.append({"path": change.path, "state": state})

        if not self.check:
            if plan_.manifest_after != manifest_on_disk:
                self.write_manifest(plan_.records_after)
            # Bookkeeping: the manifest follows the files' attributes without counting as a change.
            self.set_attributes(os.path.join(self.path, _key_store.MANIFEST), mode, show=False)
            _key_store.fsync_dir(self.path)

        result = {"changed": self.changed, "path": self.path, "files": results,
                  "retiring": [retiring_entry(c.name, plan_.records_after[c.name]) for c in plan_.retiring]}
        if self.module._diff:
            result["diff"] = self.diffs
        return result

    @staticmethod
    def lifecycle_diff(change, rec):
        before, after = change.lifecycle
        header = "%s (state)" % change.path
        describe = {"active": "active\n",
                    "retiring": "retiring since %s, removed from %s\n" % (rec["retiring_since"], rec["retire_at"])}
        return {"before_header": header, "after_header": header,
                "before": describe["active"] if before == "active" else "retiring\n",
                "after": describe[after]}


def retiring_entry(file_name, rec):
    """One item of the returned `retiring` list."""
    return {"name": _key_store.key_name(file_name), "fingerprint_sha256": rec["fingerprint_sha256"],
            "retiring_since": rec["retiring_since"], "retire_at": rec["retire_at"]}


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, add_file_common_args=True, supports_check_mode=True)
    path = module.params["path"]
    if not os.path.isabs(path):
        module.fail_json(msg="path must be absolute, not %r" % path)
    try:
        result = StoreRun(module).run()
    except _key_store.KeyStoreError as exc:
        module.fail_json(msg=str(exc), errors=exc.errors)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot update %s: %s" % (getattr(exc, "filename", None) or path, exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
