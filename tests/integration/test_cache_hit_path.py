# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cache hit imports only the hit path (issue 8, item 8).

Ansible compiles every module a lookup imports in every forked worker, so what a hit imports is
what it costs. Each play warms the cache once, then every host evaluates the lookup followed,
in the same template and so in the same worker, by a probe lookup that lists the collection's
modules the worker has imported. Real ansible-playbook runs against the emulators.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw_emu
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as ob_emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent

PLUGINS = "ansible_collections.keyward.keys.plugins."
HOSTS = ["h1", "h2", "h3"]
# Every hit imports the lookup, its base class and the cache reader (and the packages above them).
HIT_PATH = {"plugin_utils._lookup", "plugin_utils._cache"}

PROBE = '''
import sys

from ansible.plugins.lookup import LookupBase

DOCUMENTATION = """
name: modules
short_description: the keyward.keys modules this worker has imported
description: [Test probe.]
author: [test]
"""


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        prefix = "ansible_collections.keyward.keys.plugins."
        return [sorted(name[len(prefix):] for name in sys.modules if name.startswith(prefix))]
'''

PLAY = """
- name: one fetch, then a hit on every host
  hosts: all
  gather_facts: false
  tasks:
    - name: the one fetch of the run
      ansible.builtin.set_fact:
        warm: "{{ %(warm)s }}"
      run_once: true

    - name: a hit on every host, then the probe in the same worker
      ansible.builtin.set_fact:
        hit: "{{ [%(expr)s, lookup('probe.loaded.modules')] }}"

    - name: save
      run_once: true
      ansible.builtin.copy:
        content: "{{ ansible_play_hosts | map('extract', hostvars, 'hit') | list | to_json }}"
        dest: "{{ out_dir }}/hits.json"
        mode: "0600"
"""


@pytest.fixture(scope="module")
def probe_collections(tmp_path_factory):
    root = tmp_path_factory.mktemp("probe")
    lookup_dir = root / "ansible_collections" / "probe" / "loaded" / "plugins" / "lookup"
    lookup_dir.mkdir(parents=True)
    (lookup_dir / "modules.py").write_text(PROBE)
    return os.pathsep.join([os.environ["ANSIBLE_COLLECTIONS_PATH"], str(root)])


@pytest.fixture(scope="module")
def agent():
    server = EmulatorServer(ObshellAgent()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ob_cloud(pki):
    server = EmulatorServer(ob_emu.OceanBaseCloudEmulator(), tls=pki).start()
    yield server
    server.stop()


def _hits(run_playbook, tmp_path, expr, env, warm=None):
    play = PLAY % {"expr": expr, "warm": warm or expr}
    result = run_playbook(play, hosts=HOSTS, extra_vars={"out_dir": str(tmp_path)}, env=env)
    assert result.rc == 0, result
    hits = json.loads((tmp_path / "hits.json").read_text())
    assert len(hits) == len(HOSTS)
    return hits


def _only_modules(hits, extra):
    """Every host imported the hit path plus `extra`; nothing else of the collection but its packages.
    No doc fragment either: the run's first worker saved the lookup's option definitions, so
    Ansible's plugin loader parsed no documentation in the hosts' workers."""
    for _value, modules in hits:
        leaves = {name for name in modules if "." in name}
        assert leaves == HIT_PATH | set(extra), modules


def _kms_env(hw, pki, collections):
    return {"ANSIBLE_COLLECTIONS_PATH": collections, "HUAWEICLOUD_SDK_AK": hw_emu.ACCESS_KEY,
            "HUAWEICLOUD_SDK_SK": hw_emu.SECRET_KEY, "HUAWEICLOUD_SDK_REGION": hw_emu.REGION,
            "HUAWEICLOUD_SDK_PROJECT_ID": hw_emu.PROJECT_ID, "HUAWEICLOUD_KMS_ENDPOINT": hw.url,
            "KEYWARD_CA_PATH": pki["ca.pem"]}


def test_a_huawei_hit_imports_no_provider_transport_or_key_model(run_playbook, hw, pki, probe_collections, tmp_path):
    hw.reset()
    key_id = hw_emu.KEY_IDS["rsa2048"]
    hits = _hits(run_playbook, tmp_path, "lookup('keyward.keys.huaweicloud_kms_public_key', '%s')" % key_id,
                 _kms_env(hw, pki, probe_collections))
    _only_modules(hits, ["lookup.huaweicloud_kms_public_key"])
    expected = key_record("huaweicloud_kms", key_id, hw.app.keys[key_id]["public_key"])["public_key"]
    assert {value for value, _modules in hits} == {expected}
    assert hw.count("/kms/get-publickey$") == 1


def test_a_pinned_hit_adds_only_the_pins(run_playbook, hw, pki, probe_collections, tmp_path):
    hw.reset()
    key_id = hw_emu.KEY_IDS["ec_p256"]
    pin = key_record("huaweicloud_kms", key_id, hw.app.keys[key_id]["public_key"])["pin_sha256"]
    expr = "lookup('keyward.keys.huaweicloud_kms_public_key', '%s', expected_fingerprint='%s')" % (key_id, pin)
    hits = _hits(run_playbook, tmp_path, expr, _kms_env(hw, pki, probe_collections))
    _only_modules(hits, ["lookup.huaweicloud_kms_public_key", "module_utils._pins"])
    assert hw.count("/kms/get-publickey$") == 1


def test_an_obshell_hit_applies_its_rules_without_the_provider(run_playbook, agent, probe_collections, tmp_path):
    agent.reset()
    # Warmed under one spelling, hit under three others (the port from the option for the last):
    # one entry, one request; the rules module canonicalises them without the provider.
    warm = "lookup('keyward.keys.obshell_public_key', '127.0.0.1:%d')" % agent.port
    expr = ("lookup('keyward.keys.obshell_public_key', 'http://127.0.0.1:%d', '127.0.0.1:%d', '127.0.0.1', "
            "port=%d, return_format='dict')" % (agent.port, agent.port, agent.port))
    hits = _hits(run_playbook, tmp_path, expr, {"ANSIBLE_COLLECTIONS_PATH": probe_collections}, warm=warm)
    _only_modules(hits, ["lookup.obshell_public_key", "module_utils.providers", "module_utils.providers._obshell_rules",
                         "module_utils._endpoints", "module_utils._key_size"])
    expected = key_record("obshell", agent.address, agent.app.public_key_b64)["fingerprint_sha256"]
    assert all([r["fingerprint_sha256"] for r in value] == [expected] * 3 for value, _modules in hits)
    assert agent.count("/api/v1/secret") == 1


def test_an_oceanbase_cloud_hit_computes_expiry_without_the_provider(run_playbook, ob_cloud, pki, probe_collections,
                                                                     tmp_path):
    ob_cloud.reset()
    ob_cloud.app.reset()
    env = {"ANSIBLE_COLLECTIONS_PATH": probe_collections, "OCEANBASE_ENDPOINT": ob_cloud.url,
           "KEYWARD_CA_PATH": pki["ca.pem"], "OCEANBASE_ORG_ID": ob_emu.ORG_ID,
           "OCEANBASE_PROJECT_ID": ob_emu.PROJECT_ID, "OCEANBASE_ACCESS_KEY_ID": ob_emu.ACCESS_KEY_ID,
           "OCEANBASE_ACCESS_KEY_SECRET": ob_emu.ACCESS_KEY_SECRET}
    hits = _hits(run_playbook, tmp_path, "query('keyward.keys.oceanbase_cloud_api_keys')", env)
    _only_modules(hits, ["lookup.oceanbase_cloud_api_keys", "module_utils.providers",
                         "module_utils.providers._oceanbase_cloud_expiry"])
    for value, _modules in hits:
        expired = {record["id"]: record["expired"] for record in value}
        assert expired[ob_emu.KEY_IDS["expired"]] is True and expired[ob_emu.KEY_IDS["expiring_2d"]] is False
        assert all("expires_in_days" in record for record in value)
    pages = {call["page_number"] for call in ob_cloud.app.calls}
    assert len(ob_cloud.app.calls) == len(pages)  # every page fetched once: the listing came from the cache


CHECKS = """
- name: cached records get every check a fetched one gets, in the same order
  hosts: all
  gather_facts: false
  tasks:
    # min_key_size is part of the cache key (it is an option), pins are not: one warm-up each.
    - name: the fetch for the checked options (its checks fail, its records are cached)
      ansible.builtin.set_fact:
        warm: "{{ lookup(lookup_name, small, big, min_key_size=1024, expected_fingerprint=small_pin) }}"
      run_once: true
      ignore_errors: true

    - name: the fetch for the default options
      ansible.builtin.set_fact:
        warm: "{{ lookup(lookup_name, small, big) }}"
      run_once: true

    - name: pins and min_key_size on hits
      ansible.builtin.set_fact:
        checked: "{{ lookup(lookup_name, small, big, min_key_size=1024, expected_fingerprint=small_pin) }}"
      ignore_errors: true
      register: r_hit

    - name: the same without the cache
      ansible.builtin.set_fact:
        checked: "{{ lookup(lookup_name, small, big, min_key_size=1024, expected_fingerprint=small_pin, cache=false) }}"
      ignore_errors: true
      register: r_fetch

    - name: a pin the cached key does not match
      ansible.builtin.set_fact:
        checked: "{{ lookup(lookup_name, big, expected_fingerprint=small_pin) }}"
      ignore_errors: true
      register: r_pin

    - name: the weak-key warning on a hit
      ansible.builtin.set_fact:
        weak: "{{ lookup(lookup_name, small) }}"

    - name: save
      ansible.builtin.copy:
        content: "{{ {'hit': r_hit, 'fetch': r_fetch, 'pin': r_pin} | to_json }}"
        dest: "{{ out_dir }}/checks-{{ inventory_hostname }}.json"
        mode: "0600"
"""


def _lookup_error(result):
    assert result.get("failed"), result
    match = re.search(r"(obshell: key \S+: [^\n\"]*)", result["msg"])
    assert match, result["msg"]
    assert "Traceback" not in result["msg"]
    return match.group(1)


def test_cached_records_are_checked_like_fetched_ones(run_playbook, tmp_path):
    small = EmulatorServer(ObshellAgent(key_bits=512)).start()
    big = EmulatorServer(ObshellAgent()).start()
    try:
        small_pin = key_record("obshell", small.address, small.app.public_key_b64)["pin_sha256"]
        extra = {"lookup_name": "keyward.keys.obshell_public_key", "small": small.address, "big": big.address,
                 "small_pin": small_pin, "out_dir": str(tmp_path)}
        result = run_playbook(CHECKS, hosts=HOSTS, extra_vars=extra)
        assert result.rc == 0, result
        for host in HOSTS:
            saved = json.loads((tmp_path / ("checks-%s.json" % host)).read_text())
            # The first record passes its pin and fails min_key_size: the same error either way.
            hit, fetch = _lookup_error(saved["hit"]), _lookup_error(saved["fetch"])
            assert hit == fetch
            assert "key 127.0.0.1:%d" % small.port in hit and "smaller than min_key_size 1024" in hit
            assert "fingerprint mismatch" in _lookup_error(saved["pin"])
        assert result.output.count("512-bit RSA key") >= len(HOSTS)  # the warning on every host's hit
        # Two warm-up fetches per agent, one per host and agent for cache=false, none for the hits.
        assert small.count("/api/v1/secret") == 2 + len(HOSTS)
        assert big.count("/api/v1/secret") == 2 + len(HOSTS)
    finally:
        small.stop()
        big.stop()
