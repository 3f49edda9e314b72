# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every key-record RETURN block lists exactly the record's fields (Ansible has no RETURN
fragments, so each plugin repeats the block; this keeps the copies honest).

Plugins are discovered from the file system and the provider registry, so new providers are
covered without editing this file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _keys, _registry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PLUGINS = os.path.join(ROOT, "plugins")
# ansible-test units runs without the console scripts: fall back to the CLI's entry point.
_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
_ANSIBLE_DOC = [_BIN] if os.path.exists(_BIN) else [
    sys.executable, "-c", "import sys; from ansible.cli.doc import main; sys.argv[0] = 'ansible-doc'; main()"]


def discover(kind):
    directory = os.path.join(PLUGINS, kind)
    return sorted(name[:-3] for name in os.listdir(directory) if name.endswith(".py") and not name.startswith("_"))


_RETURNS = {}


def returns(kind, names):
    """{name: RETURN} for every plugin of a type, from one `ansible-doc --json` call."""
    if kind not in _RETURNS:
        cmd = _ANSIBLE_DOC + ["--json", "-t", kind] + ["keyward.keys.%s" % n for n in names]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr
        _RETURNS[kind] = {fqcn.split(".", 2)[2]: value.get("return") or {} for fqcn, value in json.loads(proc.stdout).items()}
    return _RETURNS[kind]


def record_providers():
    return [name for name in _registry.PROVIDERS if _registry.load(name).records]


LOOKUPS = discover("lookup")
MODULES = discover("modules")


@pytest.mark.parametrize("name", MODULES)
def test_module_public_keys_list_exactly_the_record_fields(name):
    block = returns("module", MODULES)[name].get("public_keys")
    if block is None:
        pytest.skip("%s returns no key records" % name)
    assert block.get("elements") == "dict" and block.get("type") == "list"
    assert sorted(block.get("contains") or {}) == sorted(_keys.RECORD_FIELDS)


@pytest.mark.parametrize("name", LOOKUPS)
def test_key_lookup_raw_lists_exactly_the_record_fields(name):
    block = returns("lookup", LOOKUPS)[name].get("_raw") or {}
    contains = block.get("contains") or {}
    if "fingerprint_sha256" not in contains:
        pytest.skip("%s returns no key records" % name)
    assert sorted(contains) == sorted(_keys.RECORD_FIELDS)


def test_every_key_record_provider_documents_its_records():
    modules = returns("module", MODULES)
    lookups = returns("lookup", LOOKUPS)
    for provider in record_providers():
        prefix = _registry.load(provider).var_prefix
        assert any(name.startswith(prefix) and "public_keys" in ret for name, ret in modules.items()), provider
        assert any(name.startswith(prefix) and "fingerprint_sha256" in ((ret.get("_raw") or {}).get("contains") or {})
                   for name, ret in lookups.items()), provider
