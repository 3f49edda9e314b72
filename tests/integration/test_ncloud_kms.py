"""NAVER Cloud KMS lookup and module: real ansible-playbook runs against the emulator over HTTPS.

Two playbook runs (each assertion group shares one run to keep the suite quick):
  1. lookups configured by environment variables and keyward_ncloud_* variables on three hosts
     (the run-wide cache, versions, return formats, pins, first-found-wins environment variables,
     a blank NCLOUD_SITE), then the module through group/keyward.keys.ncloud and
     group/keyward.keys.all module_defaults: several keys fetched concurrently, key_version, pins,
     check mode;
  2. failures of the lookup and the module at -vvvv: a bad signature, a stale clock (a second
     emulator whose clock is 10 minutes ahead), a disabled version, a key type without a public
     key, an unknown key, a 2xx whose envelope is not SUCCESS, an invalid keyTag (no request);
     each a one-line message naming provider, keyTag, HTTP status, code and request id, no
     traceback, no secret anywhere in the output.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from ansible_collections.keyward.keys.tests.emulators import ncloud_kms as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.integration._helpers import one_line_error, results_by_host, save_task

TAG = emu.KEY_TAGS
# Generated once per session: RSA key generation is the slow part of the emulator.
STANDARD_KEYS = emu.standard_keys()
BAD_SECRET = "ncp_iam_BPKMKRbadSecretThatMustNotLeak0000000007"


@pytest.fixture(scope="module")
def ncp(pki):
    server = EmulatorServer(emu.NcloudKmsEmulator(keys=STANDARD_KEYS), tls=pki).start()
    yield server
    server.stop()


@pytest.fixture
def ncps(ncp):
    ncp.reset()
    ncp.app.clock = time.time
    ncp.app.delay = 0.0
    yield ncp
    ncp.app.delay = 0.0


def _kms_requests(server):
    return [r for r in server.requests if r["path"].endswith("/get-pub-key")]


def _one_line_error(result, key_tag, status, code):
    return one_line_error(result, "ncloud_kms", status, code, key=key_tag, request_id="[0-9a-f]{32}")


# --- 1. lookups and the module, working ---------------------------------------------------------

PLAYBOOK_WORKING = r"""
- name: Lookups from the environment and keyward_ncloud_* variables
  hosts: all
  gather_facts: false
  vars:
    lk: keyward.keys.ncloud_kms_public_key
  tasks:
    - name: a key as PEM (latest version)
      ansible.builtin.set_fact:
        pem: "{{ lookup(lk, kt.rsa) }}"
      register: r_pem

    - name: several keys as records
      ansible.builtin.set_fact:
        records: "{{ query(lk, kt.rsa, kt.ecdsa, kt.doc_example, return_format='dict') }}"
      register: r_records

    - name: version 1 of the ECDSA key from a variable, raw
      vars:
        keyward_ncloud_key_version: 1
      ansible.builtin.set_fact:
        raw_v1: "{{ lookup(lk, kt.ecdsa, return_format='raw') }}"
      register: r_raw_v1

    - name: pinned, a keyword key_version and the hex pin in upper case with colons
      ansible.builtin.set_fact:
        pinned: "{{ lookup(lk, kt.rsa, key_version=1, expected_fingerprint=rsa_v1_pin, return_format='dict') }}"
      register: r_pinned
""" + save_task(["r_pem", "r_records", "r_raw_v1", "r_pinned"]) + r"""
- name: The module through group/keyward.keys.ncloud
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyward.keys.ncloud:
      endpoint: "{{ ncp_endpoint }}"
      access_key: "{{ ak }}"
      secret_key: "{{ sk }}"
      ca_path: "{{ ca }}"
  tasks:
    - name: module several keys
      keyward.keys.ncloud_kms_public_key_info:
        key_tags: "{{ four_tags }}"
      register: r_module

    - name: module one key, one version, pinned
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.rsa }}"
        key_version: 3
        expected_fingerprint: "{{ r_module.public_keys[0].pin_sha256 }}"
      register: r_module_v3

    - name: module in check mode
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.ecdsa }}"
        key_version: 1
      check_mode: true
      register: r_module_check

- name: The module through group/keyward.keys.all, site given and endpoint from the group
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyward.keys.all:
      site: gov
      endpoint: "{{ ncp_url }}"
      access_key: "{{ ak }}"
      secret_key: "{{ sk }}"
      ca_path: "{{ ca }}"
  tasks:
    - name: module via all
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.doc_example }}"
      register: r_module_all

    - name: save the module results
      ansible.builtin.copy:
        content: "{{ {'r_module': r_module, 'r_module_v3': r_module_v3, 'r_module_check': r_module_check,
                      'r_module_all': r_module_all} | to_json }}"
        dest: "{{ out_dir }}/modules.json"
        mode: "0600"
"""


def test_lookups_and_module(ncps, pki, run_playbook, tmp_path):
    app = ncps.app
    env = {
        # first found wins: the second name of each pair holds a wrong value
        "NCLOUD_ACCESS_KEY_ID": emu.ACCESS_KEY, "NCLOUD_ACCESS_KEY": "ncp_iam_WRONGACCESSKEY",
        "NCLOUD_SECRET_ACCESS_KEY": emu.SECRET_KEY, "NCLOUD_SECRET_KEY": BAD_SECRET,
        # blank, as an AWX credential injects an empty field: the default site
        "NCLOUD_SITE": "",
        "NCLOUD_KMS_ENDPOINT": ncps.url + emu.BASE_PATH,
        "KEYWARD_CA_PATH": pki["ca.pem"],
    }
    rsa_v1 = app.fingerprint(TAG["rsa"], 1)
    four = [TAG["rsa"], TAG["ecdsa"], TAG["doc_example"], "kwEcdsaOneVersionAddedForThisTest00000000000000000007"]
    app.add_key(four[3], "ECDSA", {1: STANDARD_KEYS[TAG["ecdsa"]]["versions"][1]["private_key"]})
    extra = {"kt": TAG, "out_dir": str(tmp_path), "four_tags": four, "ncp_url": ncps.url,
             "ncp_endpoint": ncps.url + emu.BASE_PATH, "ak": emu.ACCESS_KEY, "sk": emu.SECRET_KEY,
             "ca": pki["ca.pem"], "rsa_v1_pin": ":".join(re.findall("..", rsa_v1.upper()))}
    app.delay = 0.3  # so that concurrent requests overlap
    hosts = ["h1", "h2", "h3"]
    result = run_playbook(PLAYBOOK_WORKING, hosts=hosts + ["localhost"], extra_vars=extra, env=env, forks=4)
    per_host = results_by_host(result, tmp_path)
    assert sorted(per_host) == sorted(hosts + ["localhost"])

    for host, res in per_host.items():
        assert res["r_pem"]["ansible_facts"]["pem"] == app.public_key(TAG["rsa"], 3), host
        records = res["r_records"]["ansible_facts"]["records"]
        assert [r["key_id"] for r in records] == [TAG["rsa"], TAG["ecdsa"], TAG["doc_example"]]
        assert [(r["key_type"], r["key_size"], r["curve"]) for r in records] == [
            ("RSA", 2048, None), ("EC", 256, "secp256r1"), ("RSA", 2048, None)]
        assert [r["fingerprint_sha256"] for r in records] == [
            app.fingerprint(TAG["rsa"], 3), app.fingerprint(TAG["ecdsa"], 2), app.fingerprint(TAG["doc_example"], 2)]
        for record in records:
            assert record["provider"] == "ncloud_kms" and record["metadata"] == {"key_version": None, "latest": True}
            assert set(record) == {"provider", "key_id", "public_key", "public_key_raw", "key_type", "key_size",
                                   "curve", "fingerprint_sha256", "pin_sha256", "metadata"}
        assert res["r_raw_v1"]["ansible_facts"]["raw_v1"] == app.public_key(TAG["ecdsa"], 1)
        pinned = res["r_pinned"]["ansible_facts"]["pinned"]
        assert pinned["fingerprint_sha256"] == rsa_v1 and pinned["metadata"] == {"key_version": 1, "latest": False}

    local = json.loads((tmp_path / "modules.json").read_text())
    module = local["r_module"]
    assert module["changed"] is False and "keys" not in module
    assert [k["key_id"] for k in module["public_keys"]] == four
    assert [k["fingerprint_sha256"] for k in module["public_keys"]] == [
        app.fingerprint(TAG["rsa"], 3), app.fingerprint(TAG["ecdsa"], 2), app.fingerprint(TAG["doc_example"], 2),
        app.fingerprint(TAG["ecdsa"], 1)]
    v3 = local["r_module_v3"]["public_keys"][0]
    assert v3["metadata"] == {"key_version": 3, "latest": False} and v3["fingerprint_sha256"] == module["public_keys"][0]["fingerprint_sha256"]
    check = local["r_module_check"]
    assert check["changed"] is False and check["public_keys"][0]["metadata"]["key_version"] == 1
    assert local["r_module_all"]["public_keys"][0]["key_type"] == "RSA"

    # The run-wide cache: one request per distinct (keyTag, version) for the lookups of four
    # hosts (rsa, ecdsa, doc_example latest; ecdsa v1; rsa v1), plus one per key of each module call.
    by_version = {}
    for tag, version, access_key in app.fetched:
        assert access_key == emu.ACCESS_KEY
        by_version[(tag, version)] = by_version.get((tag, version), 0) + 1
    assert by_version == {
        (TAG["rsa"], None): 2, (TAG["ecdsa"], None): 2, (TAG["doc_example"], None): 3, (four[3], None): 1,
        (TAG["ecdsa"], 1): 2, (TAG["rsa"], 1): 1, (TAG["rsa"], 3): 1}, by_version
    # the body only when a version is asked for
    for request in _kms_requests(ncps):
        headers = {k.lower(): v for k, v in request["headers"].items()}
        assert headers[emu.ACCESS_KEY_HEADER] == emu.ACCESS_KEY
        assert request["target"].startswith("/kms/v1/keys/")
    # keys of one call were fetched at the same time (the module's four, the lookups' three)
    assert app.max_in_flight >= 3, app.max_in_flight
    for secret in (emu.SECRET_KEY, BAD_SECRET):
        assert secret not in result.output


# --- 2. failures ---------------------------------------------------------------------------------

PLAYBOOK_FAILURES = r"""
- name: Lookup failures
  hosts: localhost
  gather_facts: false
  vars:
    lk: keyward.keys.ncloud_kms_public_key
  tasks:
    - name: bad signature
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.rsa, secret_key=bad_secret, cache=false) }}"
      ignore_errors: true
      register: r_bad_signature

    - name: stale clock
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.ecdsa, endpoint=skewed_url) }}"
      ignore_errors: true
      register: r_stale

    - name: disabled version
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.rsa, key_version=2) }}"
      ignore_errors: true
      register: r_disabled_version

    - name: key type without a public key
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.aes) }}"
      ignore_errors: true
      register: r_aes

    - name: unknown key
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.rsa, unknown_tag) }}"
      ignore_errors: true
      register: r_unknown

    - name: invalid keyTag, checked before any request
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.doc_example, '../../keys/x') }}"
      ignore_errors: true
      register: r_invalid

    - name: key_version out of range
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.doc_example, key_version=101) }}"
      ignore_errors: true
      register: r_version_range

    - name: queue an answer with HTTP 200 that is not SUCCESS
      ansible.builtin.uri:
        url: "{{ ncp_url }}/__emulator__/ncloud/envelope-fault"
        method: POST
        body_format: json
        body: {code: FAILURE, msg: "The request could not be processed.", status: 200}
        ca_path: "{{ ca }}"

    - name: envelope not SUCCESS
      ansible.builtin.debug:
        msg: "{{ lookup(lk, kt.doc_example, cache=false) }}"
      ignore_errors: true
      register: r_envelope

- name: Module failures
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyward.keys.ncloud:
      ca_path: "{{ ca }}"
  tasks:
    - name: module bad signature
      keyward.keys.ncloud_kms_public_key_info:
        key_tags: ["{{ kt.ecdsa }}", "{{ kt.rsa }}"]
        secret_key: "{{ bad_secret }}"
      ignore_errors: true
      register: r_module_bad_signature

    - name: module stale clock
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.rsa }}"
        endpoint: "{{ skewed_url }}"
      ignore_errors: true
      register: r_module_stale

    - name: module disabled version
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.rsa }}"
        key_version: 2
      ignore_errors: true
      register: r_module_disabled_version

    - name: module key type without a public key
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.aes }}"
      ignore_errors: true
      register: r_module_aes

    - name: module pin mismatch
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.ecdsa }}"
        expected_fingerprint: "{{ '00' * 32 }}"
      ignore_errors: true
      register: r_module_mismatch

    - name: module invalid keyTag
      keyward.keys.ncloud_kms_public_key_info:
        key_tags: ["{{ kt.ecdsa }}", "key tag with spaces"]
      ignore_errors: true
      register: r_module_invalid

    - name: module both key_tag and key_tags
      keyward.keys.ncloud_kms_public_key_info:
        key_tag: "{{ kt.ecdsa }}"
        key_tags: ["{{ kt.rsa }}"]
      ignore_errors: true
      register: r_module_exclusive
""" + save_task(["r_bad_signature", "r_stale", "r_disabled_version", "r_aes", "r_unknown", "r_invalid",
                 "r_version_range", "r_envelope", "r_module_bad_signature", "r_module_stale",
                 "r_module_disabled_version", "r_module_aes", "r_module_mismatch", "r_module_invalid",
                 "r_module_exclusive"])


def test_failures(ncps, pki, run_playbook, tmp_path):
    # The bad-signature lookup runs with cache=false: the run-wide cache keys entries on every
    # option but the secrets, so a failure caused by a wrong secret_key would otherwise be served
    # (for ERROR_TTL) to the next lookup of the same key with the right one.
    skewed = EmulatorServer(emu.NcloudKmsEmulator(keys=STANDARD_KEYS, clock=lambda: time.time() + 600), tls=pki).start()
    try:
        env = {"NCLOUD_ACCESS_KEY": emu.ACCESS_KEY, "NCLOUD_SECRET_KEY": emu.SECRET_KEY,
               "NCLOUD_KMS_ENDPOINT": ncps.url, "KEYWARD_CA_PATH": pki["ca.pem"], "KEYWARD_RETRIES": "1"}
        extra = {"kt": TAG, "out_dir": str(tmp_path), "bad_secret": BAD_SECRET, "unknown_tag": emu.UNKNOWN_KEY_TAG,
                 "skewed_url": skewed.url, "ncp_url": ncps.url, "ca": pki["ca.pem"]}
        result = run_playbook(PLAYBOOK_FAILURES, extra_vars=extra, env=env, verbosity=4)
        res = results_by_host(result, tmp_path)["localhost"]
        skewed_requests = len(_kms_requests(skewed))
    finally:
        skewed.stop()

    for name, tag in (("r_bad_signature", TAG["rsa"]), ("r_stale", TAG["ecdsa"]),
                      ("r_module_bad_signature", TAG["ecdsa"]), ("r_module_stale", TAG["rsa"])):
        msg = _one_line_error(res[name], tag, 401, "200")
        assert "Authentication Failed" in msg and "5 minutes" in msg and "NTP" in msg, (name, msg)
        # a wrong secret is the usual cause: the credentials come before the clock
        assert msg.index("check access_key and secret_key") < msg.index("clock"), (name, msg)
    assert "Invalid authentication information." in res["r_bad_signature"]["msg"]
    assert "Invalid timestamp." in res["r_stale"]["msg"] and "Invalid timestamp." in res["r_module_stale"]["msg"]
    assert skewed_requests == 2
    for name in ("r_disabled_version", "r_module_disabled_version"):
        assert "Invalid status" in _one_line_error(res[name], TAG["rsa"], 422, "UNPROCESSABLE_ENTITY")
    for name in ("r_aes", "r_module_aes"):
        assert "Invalid request" in _one_line_error(res[name], TAG["aes"], 400, "INVALID_REQUEST")
    assert "Key not found" in _one_line_error(res["r_unknown"], emu.UNKNOWN_KEY_TAG, 404, "NOT_FOUND")
    assert "could not be processed" in _one_line_error(res["r_envelope"], TAG["doc_example"], 200, "FAILURE")

    module = res["r_module_bad_signature"]
    assert module["error"]["provider"] == "ncloud_kms" and module["error"]["code"] == "200"
    assert module["error"]["status"] == 401 and len(module["error"]["request_id"]) == 32
    mismatch = res["r_module_mismatch"]
    assert mismatch["failed"] and "fingerprint" in mismatch["msg"] and mismatch["error"]["key"] == TAG["ecdsa"]
    assert res["r_invalid"]["failed"] and "ncloud_kms: key ../../keys/x: not a KMS keyTag" in res["r_invalid"]["msg"]
    assert res["r_module_invalid"]["failed"] and "key key tag with spaces: not a KMS keyTag" in res["r_module_invalid"]["msg"]
    assert res["r_version_range"]["failed"] and "key_version must be a whole number from 1 to 100" in res["r_version_range"]["msg"]
    assert res["r_module_exclusive"]["failed"] and "mutually exclusive" in res["r_module_exclusive"]["msg"]

    # Requests that reached the gateway: lookups 5 (the unknown-key lookup fetched rsa too, in one
    # call) + the envelope one; the module 2 + 1 + 1 + 1 (mismatch). None for the invalid keyTags,
    # the version out of range or the exclusive options, even for their valid keyTags; no retries for 4xx.
    assert len(_kms_requests(ncps)) == 6 + 5
    assert "Traceback" not in result.output
    for secret in (emu.SECRET_KEY, BAD_SECRET):
        assert secret not in result.output, "a secret leaked into the output"
