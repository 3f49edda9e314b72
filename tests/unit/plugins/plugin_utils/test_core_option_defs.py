# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option definitions saved for a run's later workers (_cache.register_option_defs,
RecordCache.save_option_defs): a later worker gets exactly what Ansible parsed, without the parse.

The real plugin loader runs in a fresh interpreter that forks its workers as ansible-playbook does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ansible_collections.keyward.keys.plugins.plugin_utils import _cache, _record_cache

LOOKUPS = ["alicloud_idaas_client_public_key", "huaweicloud_kms_public_key", "ncloud_kms_public_key",
           "obshell_public_key", "oceanbase_cloud_api_keys"]

# Two workers per lookup, one after the other: the first has the loader parse the documentation and
# reads its options (which saves them); the second only loads the plugin.
WORKERS = r'''
import json, os, sys
from ansible.plugins.loader import init_plugin_loader, lookup_loader
init_plugin_loader([sys.argv[1]])
from ansible import constants as C


def worker(name, read_options):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        plugin = lookup_loader.get("keyward.keys." + name)
        registered = type(plugin)._saved_option_defs  # before read_options saves them
        if read_options:
            plugin.read_options({}, {})
        fragments = sorted(m for m in sys.modules if ".doc_fragments." in m)
        with os.fdopen(w, "w") as out:
            json.dump({"registered": registered, "fragments": fragments,
                       "defs": C.config.get_configuration_definitions("lookup", plugin._load_name)}, out)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as handle:
        data = json.load(handle)
    os.waitpid(pid, 0)
    return data


print(json.dumps({name: [worker(name, True), worker(name, False)] for name in sys.argv[2:]}))
'''


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    # The directory that holds ansible_collections/keyward/keys, wherever the tests run from.
    collections_root = _cache.__file__
    for _level in range(6):
        collections_root = os.path.dirname(collections_root)
    env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(tmp_path_factory.mktemp("ansible-tmp")))
    proc = subprocess.run([sys.executable, "-c", WORKERS, collections_root] + LOOKUPS, env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("name", LOOKUPS)
def test_a_later_worker_gets_the_parsed_options_without_parsing(workers, name):
    first, later = workers[name]
    assert first["registered"] is False and first["fragments"], "the first worker had the loader parse the documentation"
    assert first["defs"]["cache"]["type"] == "bool" and first["defs"]["cache"]["default"] is True
    assert later["registered"] is True
    assert later["fragments"] == []  # the loader read no doc fragment: it parsed nothing
    assert later["defs"] == first["defs"]


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    directory = tmp_path / "keyward-keys-cache"
    monkeypatch.setattr(_cache, "run_cache_dir", lambda: str(directory))
    monkeypatch.setattr(_record_cache, "run_cache_dir", lambda: str(directory))
    return directory


MODULE = "ansible_collections.example.test.plugins.lookup.probe"
DEFS = {"cache": {"type": "bool", "default": True, "env": [{"name": "EXAMPLE_CACHE"}]}}


def test_saved_definitions_are_registered_under_the_loaders_name(run_dir):
    from ansible import constants as C

    _record_cache.RecordCache().save_option_defs(MODULE, "doc", "example.test.probe", DEFS)
    assert oct(os.stat(run_dir).st_mode & 0o777) == "0o700"
    assert _cache.register_option_defs(MODULE, "doc") is True
    assert C.config.get_configuration_definitions("lookup", "example.test.probe") == DEFS


def test_definitions_saved_for_other_documentation_are_not_used(run_dir):
    _record_cache.RecordCache().save_option_defs(MODULE, "the documentation as it was", "example.test.probe", DEFS)
    assert _cache.register_option_defs(MODULE, "the documentation now") is False
    assert _cache.register_option_defs(MODULE.replace("probe", "other"), "the documentation as it was") is False


def test_definitions_json_would_change_are_not_saved(run_dir):
    _record_cache.RecordCache().save_option_defs(MODULE, "doc", "example.test.probe", {"cache": {"choices": (1, 2)}})
    _record_cache.RecordCache().save_option_defs(MODULE, "doc2", "example.test.probe", {"cache": {"default": {1: "x"}}})
    assert not run_dir.exists() or not os.listdir(run_dir)


@pytest.mark.parametrize("content", ["[1, 2]", '{"name": "example.test.probe", "defs": []}', "{not json", ""])
def test_a_damaged_file_is_ignored(run_dir, content):
    run_dir.mkdir(mode=0o700)
    (run_dir / os.path.basename(_cache.option_defs_path(str(run_dir), MODULE, "doc"))).write_text(content)
    assert _cache.register_option_defs(MODULE, "doc") is False


def test_a_planted_directory_is_not_read(run_dir, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(str(elsewhere), str(run_dir))
    (elsewhere / os.path.basename(_cache.option_defs_path(str(run_dir), MODULE, "doc"))).write_text(
        json.dumps({"name": "example.test.probe", "defs": DEFS}))
    assert _cache.register_option_defs(MODULE, "doc") is False
