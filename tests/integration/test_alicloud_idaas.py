"""Alibaba Cloud IDaaS lookup and module: real ansible-playbook runs against the emulator over HTTPS.

Two playbook runs, both at -vvvv (no secret may appear in the output, and no traceback):
  1. what works: lookups configured by environment variables (first one set wins) and
     keyward_alicloud_* variables on two hosts (the run-wide cache shares one request per key),
     PEM, records, raw, pins, STS from variables; the module through module_defaults
     (group/keyward.keys.alicloud and group/keyward.keys.all): every key of an application
     across three pages, chosen ids, STS, check mode, trusting every enabled key on disk;
  2. what fails, each as one line with HTTP status, Alibaba's code and the request id: wrong
     secret, unknown key, unknown application, invalid id (no request), pin mismatch, clock
     skew, throttling then success (lookup and module), throttling that never ends.
"""

from __future__ import annotations

import json
import re

import pytest

from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.integration._helpers import one_line_error, save_task, saved

KEY = emu.KEY_IDS
BIG_APPLICATION_ID = "app_kw0big0application000000000a"
BIG_COUNT = 205  # three pages of MaxResults=100
BIG_IDS = [emu.make_key_id("big/%d" % index) for index in range(BIG_COUNT)]
BAD_SECRET = "WrongSecretThatMustNotLeak000001"
LOOKUP = "keyward.keys.alicloud_idaas_client_public_key"
REQUEST_ID = r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}"


@pytest.fixture(scope="module")
def ali(pki):
    app = emu.AlibabaIdaasEmulator()
    pem = emu.standard_keys()[0][1]["PublicKey"]
    for key_id in BIG_IDS:
        app.add_key(BIG_APPLICATION_ID, pem, key_id=key_id)
    server = EmulatorServer(app, tls=pki).start()
    yield server
    server.stop()


@pytest.fixture
def alis(ali):
    ali.reset()
    return ali


def _one_line_error(result, key_id, status, code):
    return one_line_error(result, "alicloud_idaas", status, code, key=key_id, request_id=REQUEST_ID, at_end=True)


def _no_secrets(result, secrets):
    for secret in secrets:
        assert secret not in result.output, "a secret leaked into the output"
    assert "Traceback" not in result.output


# --- 1. what works ----------------------------------------------------------------------------------

PLAYBOOK_OK = r"""
- name: Lookups from the environment and keyward_alicloud_* variables
  hosts: all
  gather_facts: false
  vars:
    keyward_alicloud_instance_id: "{{ instance_id }}"
    keyward_alicloud_application_id: "{{ application_id }}"
  tasks:
    - name: a key as PEM
      ansible.builtin.set_fact:
        pem: "{{ lookup('keyward.keys.alicloud_idaas_client_public_key', keys.primary) }}"
      register: r_pem

    - name: every key as records
      ansible.builtin.set_fact:
        records: "{{ query('keyward.keys.alicloud_idaas_client_public_key', *key_ids, return_format='dict') }}"
      register: r_records

    - name: raw
      ansible.builtin.set_fact:
        raw: "{{ lookup('keyward.keys.alicloud_idaas_client_public_key', keys.secondary_crlf, return_format='raw') }}"
      register: r_raw

    - name: pinned, one of two pins matches
      ansible.builtin.set_fact:
        pinned: "{{ lookup('keyward.keys.alicloud_idaas_client_public_key', keys.primary,
                           expected_fingerprint=[records[0].pin_sha256, '00' * 32]) }}"
      register: r_pinned

    - name: STS credentials from variables win over the environment
      vars:
        keyward_alicloud_access_key_id: "{{ sts_ak }}"
        keyward_alicloud_access_key_secret: "{{ sts_sk }}"
        keyward_alicloud_security_token: "{{ sts_token }}"
      ansible.builtin.set_fact:
        sts_record: "{{ lookup('keyward.keys.alicloud_idaas_client_public_key', keys.rsa4096, return_format='dict') }}"
      register: r_sts
""" + save_task(["r_pem", "r_records", "r_raw", "r_pinned", "r_sts"]).replace("results-", "lookups-") + r"""

- name: The module through group/keyward.keys.alicloud
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyward.keys.alicloud:
      instance_id: "{{ instance_id }}"
      application_id: "{{ application_id }}"
      endpoint: "{{ ali_url }}"
      ca_path: "{{ ca }}"
      access_key_id: "{{ ak }}"
      access_key_secret: "{{ sk }}"
  tasks:
    - name: every key of the application
      keyward.keys.alicloud_idaas_client_public_key_info:
      register: r_all

    - name: trust every enabled key (a rotation keeps old and new side by side)
      ansible.builtin.copy:
        dest: "{{ out_dir }}/trusted/{{ item.key_id }}.pem"
        content: "{{ item.public_key }}"
        mode: "0644"
      loop: "{{ r_all.public_keys | selectattr('metadata.status', 'eq', 'enabled') }}"
      loop_control:
        label: "{{ item.key_id }}"

    - name: every key of a large application, across pages
      keyward.keys.alicloud_idaas_client_public_key_info:
        application_id: "{{ big_application_id }}"
      register: r_big

    - name: chosen keys, pinned
      keyward.keys.alicloud_idaas_client_public_key_info:
        client_public_key_ids: ["{{ keys.ec_p256 }}", "{{ keys.primary }}", "{{ keys.ec_p256 }}"]
        expected_fingerprint: ["{{ r_all.public_keys[0].fingerprint_sha256 }}",
                               "{{ r_all.public_keys[5].fingerprint_sha256 | upper }}"]
      register: r_ids

    - name: STS parameters
      keyward.keys.alicloud_idaas_client_public_key_info:
        client_public_key_ids: ["{{ keys.rsa3072 }}"]
        access_key_id: "{{ sts_ak }}"
        access_key_secret: "{{ sts_sk }}"
        security_token: "{{ sts_token }}"
      register: r_mod_sts

    - name: check mode
      keyward.keys.alicloud_idaas_client_public_key_info:
        application_id: "{{ empty_application_id }}"
      check_mode: true
      register: r_check

- name: The module through group/keyward.keys.all, region and credentials from the environment
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyward.keys.all:
      instance_id: "{{ instance_id }}"
      application_id: "{{ application_id }}"
      ca_path: "{{ ca }}"
  tasks:
    - name: one key
      keyward.keys.alicloud_idaas_client_public_key_info:
        client_public_key_ids: ["{{ keys.never_used }}"]
      register: r_env
""" + save_task(["r_all", "r_big", "r_ids", "r_mod_sts", "r_check", "r_env"])


def test_lookups_and_module(alis, pki, run_playbook, tmp_path):
    env = {
        # first found wins: the second name of each pair holds a wrong value
        "ALIBABA_CLOUD_ACCESS_KEY_ID": emu.ACCESS_KEY_ID, "ALICLOUD_ACCESS_KEY": "LTAI5tWrongKey",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": emu.ACCESS_KEY_SECRET, "ALICLOUD_SECRET_KEY": BAD_SECRET,
        "ALICLOUD_REGION_ID": "cn-hangzhou", "ALIBABA_CLOUD_IDAAS_ENDPOINT": alis.url,
        # an AWX credential without a token injects an empty one: unset, not an empty token
        "ALIBABA_CLOUD_SECURITY_TOKEN": "",
        "KEYWARD_CA_PATH": pki["ca.pem"],
    }
    extra = {"keys": KEY, "key_ids": list(KEY.values()), "instance_id": emu.INSTANCE_ID,
             "application_id": emu.APPLICATION_ID, "big_application_id": BIG_APPLICATION_ID,
             "empty_application_id": emu.EMPTY_APPLICATION_ID, "ali_url": alis.url, "ca": pki["ca.pem"],
             "ak": emu.ACCESS_KEY_ID, "sk": emu.ACCESS_KEY_SECRET, "sts_ak": emu.STS_ACCESS_KEY_ID,
             "sts_sk": emu.STS_ACCESS_KEY_SECRET, "sts_token": emu.SECURITY_TOKEN, "out_dir": str(tmp_path)}
    hosts = ["localhost", "h2"]
    (tmp_path / "trusted").mkdir()
    result = run_playbook(PLAYBOOK_OK, hosts=hosts, extra_vars=extra, env=env, verbosity=4, forks=2)
    assert result.rc == 0, result
    fingerprints = alis.app.fingerprints()

    for host in hosts:
        res = json.loads((tmp_path / ("lookups-%s.json" % host)).read_text())
        pem = res["r_pem"]["ansible_facts"]["pem"]
        assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and pem.endswith("-----END PUBLIC KEY-----\n")
        records = res["r_records"]["ansible_facts"]["records"]
        assert [r["key_id"] for r in records] == list(KEY.values())
        assert [r["fingerprint_sha256"] for r in records] == [fingerprints[k] for k in KEY.values()]
        assert set(records[0]) == {"provider", "key_id", "public_key", "public_key_raw", "key_type", "key_size",
                                   "curve", "fingerprint_sha256", "pin_sha256", "metadata"}
        assert records[0]["metadata"] == {
            "application_id": emu.APPLICATION_ID, "instance_id": emu.INSTANCE_ID, "algorithm_type": "RSA-2048",
            "status": "enabled", "primary": True, "create_time": "2024-11-11T06:15:55Z",
            "last_used_time": "2024-12-21T06:15:55Z"}
        assert [r["metadata"]["status"] for r in records].count("disabled") == 1
        assert res["r_raw"]["ansible_facts"]["raw"] == alis.app.key(KEY["secondary_crlf"])["PublicKey"]
        assert "\r\n" in res["r_raw"]["ansible_facts"]["raw"]
        assert res["r_pinned"]["ansible_facts"]["pinned"] == pem
        assert res["r_sts"]["ansible_facts"]["sts_record"]["key_size"] == 4096

    res = saved(tmp_path, result)
    listed = res["r_all"]["public_keys"]
    assert res["r_all"]["changed"] is False
    assert [r["key_id"] for r in listed] == list(KEY.values())
    enabled = {r["key_id"] for r in listed if r["metadata"]["status"] == "enabled"}
    assert {p.stem for p in (tmp_path / "trusted").glob("*.pem")} == enabled == set(KEY.values()) - {KEY["disabled"]}
    assert [r["key_id"] for r in res["r_big"]["public_keys"]] == BIG_IDS
    assert [r["key_id"] for r in res["r_ids"]["public_keys"]] == [KEY["ec_p256"], KEY["primary"], KEY["ec_p256"]]
    assert res["r_mod_sts"]["public_keys"][0]["key_size"] == 3072
    assert res["r_check"]["public_keys"] == [] and res["r_check"]["changed"] is False
    assert res["r_env"]["public_keys"][0]["metadata"]["last_used_time"] is None

    gets = [params for action, _ak, params in alis.app.fetched if action == "GetClientPublicKey"]
    lists = [params for action, _ak, params in alis.app.fetched if action == "ListClientPublicKeys"]
    by = {}
    for action, access_key_id, params in alis.app.fetched:
        by.setdefault(access_key_id, []).append(action)
    # lookups on two hosts: one request per distinct key (the run-wide cache), one more for STS;
    # the module: ec_p256 and primary once each (deduplicated), rsa3072 with STS, never_used
    assert len(gets) == len(KEY) + 1 + 2 + 1 + 1
    assert by[emu.STS_ACCESS_KEY_ID] == ["GetClientPublicKey"] * 2
    # the standard and the empty application one page each, the large one three
    assert len(lists) == 1 + 3 + 1
    assert "LTAI5tWrongKey" not in by
    _no_secrets(result, [emu.ACCESS_KEY_SECRET, emu.STS_ACCESS_KEY_SECRET, emu.SECURITY_TOKEN, BAD_SECRET])


# --- 2. what fails -----------------------------------------------------------------------------------

PLAYBOOK_FAILURES = r"""
- hosts: localhost
  gather_facts: false
  vars:
    lk: keyward.keys.alicloud_idaas_client_public_key
    keyward_alicloud_instance_id: "{{ instance_id }}"
    keyward_alicloud_application_id: "{{ application_id }}"
    keyward_alicloud_endpoint: "{{ ali_url }}"
    keyward_alicloud_access_key_id: "{{ ak }}"
    keyward_alicloud_access_key_secret: "{{ sk }}"
  module_defaults:
    group/keyward.keys.alicloud:
      instance_id: "{{ instance_id }}"
      application_id: "{{ application_id }}"
      endpoint: "{{ ali_url }}"
      ca_path: "{{ ca }}"
      access_key_id: "{{ ak }}"
      access_key_secret: "{{ sk }}"
  tasks:
    - name: lookup wrong secret
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.primary, access_key_secret=bad_secret) }}"
      ignore_errors: true
      register: r_bad_secret

    - name: lookup unknown key
      ansible.builtin.debug:
        msg: "{{ lookup(lk, unknown_key) }}"
      ignore_errors: true
      register: r_unknown

    - name: lookup invalid key id (no request, not even for the valid first term)
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.primary, 'KEY/../../etc') }}"
      ignore_errors: true
      register: r_invalid

    - name: lookup pin mismatch
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.primary, expected_fingerprint='sha256//' + 'A' * 43 + '=') }}"
      ignore_errors: true
      register: r_mismatch

    - name: lookup with a misspelt option
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.primary, expected_fingerprints='00') }}"
      ignore_errors: true
      register: r_misspelt

    - name: throttle the next two calls
      ansible.builtin.uri:
        url: "{{ ali_url }}/__emulator__/alicloud/throttle"
        method: POST
        body_format: json
        body: {times: 2, retry_after_ms: 200}
        ca_path: "{{ ca }}"

    - name: lookup throttled, then success
      ansible.builtin.set_fact:
        after_throttling: "{{ lookup(lk, keys.rsa3072, return_format='dict') }}"
      register: r_lookup_throttled

    - name: throttle the next two calls again
      ansible.builtin.uri:
        url: "{{ ali_url }}/__emulator__/alicloud/throttle"
        method: POST
        body_format: json
        body: {times: 2, code: Throttling.Api}
        ca_path: "{{ ca }}"

    - name: module throttled, then success
      keyward.keys.alicloud_idaas_client_public_key_info:
      register: r_module_throttled

    - name: throttle for good
      ansible.builtin.uri:
        url: "{{ ali_url }}/__emulator__/alicloud/throttle"
        method: POST
        body_format: json
        body: {times: 2}
        ca_path: "{{ ca }}"

    - name: module throttled beyond its retries
      keyward.keys.alicloud_idaas_client_public_key_info:
        client_public_key_ids: ["{{ keys.primary }}"]
        retries: 1
      ignore_errors: true
      register: r_module_throttled_out

    - name: module wrong secret
      keyward.keys.alicloud_idaas_client_public_key_info:
        client_public_key_ids: ["{{ keys.primary }}"]
        access_key_secret: "{{ bad_secret }}"
      ignore_errors: true
      register: r_module_bad_secret

    - name: module unknown key among known ones
      keyward.keys.alicloud_idaas_client_public_key_info:
        client_public_key_ids: ["{{ keys.primary }}", "{{ unknown_key }}"]
      ignore_errors: true
      register: r_module_unknown

    - name: module unknown application
      keyward.keys.alicloud_idaas_client_public_key_info:
        application_id: app_kw0nothere
      ignore_errors: true
      register: r_module_no_app

    - name: module without an endpoint or region
      keyward.keys.alicloud_idaas_client_public_key_info:
        endpoint: ""
      ignore_errors: true
      register: r_module_no_region

    - name: skew the service's clock by 20 minutes
      ansible.builtin.uri:
        url: "{{ ali_url }}/__emulator__/alicloud/skew"
        method: POST
        body_format: json
        body: {seconds: 1200}
        ca_path: "{{ ca }}"

    - name: module with a skewed clock
      keyward.keys.alicloud_idaas_client_public_key_info:
        client_public_key_ids: ["{{ keys.primary }}"]
      ignore_errors: true
      register: r_module_skew
""" + save_task(["r_bad_secret", "r_unknown", "r_invalid", "r_mismatch", "r_misspelt", "r_lookup_throttled",
                 "r_module_throttled", "r_module_throttled_out", "r_module_bad_secret", "r_module_unknown",
                 "r_module_no_app", "r_module_no_region", "r_module_skew"])


def test_failures(alis, pki, run_playbook, tmp_path):
    extra = {"keys": KEY, "unknown_key": emu.UNKNOWN_KEY_ID, "instance_id": emu.INSTANCE_ID,
             "application_id": emu.APPLICATION_ID, "ali_url": alis.url, "ca": pki["ca.pem"],
             "ak": emu.ACCESS_KEY_ID, "sk": emu.ACCESS_KEY_SECRET, "bad_secret": BAD_SECRET, "out_dir": str(tmp_path)}
    # ca_path from the environment: a templated keyward_alicloud_ca_path variable is resolved as
    # a path before it is templated (a core issue, reported), which the lookups here avoid
    result = run_playbook(PLAYBOOK_FAILURES, extra_vars=extra, env={"KEYWARD_CA_PATH": pki["ca.pem"]}, verbosity=4)
    assert result.rc == 0, result
    res = saved(tmp_path, result)

    msg = _one_line_error(res["r_bad_secret"], KEY["primary"], 400, "SignatureDoesNotMatch")
    assert "access_key_secret does not belong to access_key_id" in msg and "string to sign" not in msg
    msg = _one_line_error(res["r_unknown"], emu.UNKNOWN_KEY_ID, 404, "EntityNotExists.ClientPublicKey")
    assert "The specified client public key does not exist." in msg
    invalid = res["r_invalid"]
    assert invalid["failed"] and "alicloud_idaas: key KEY/../../etc: not a ClientPublicKeyId" in invalid["msg"]
    mismatch = res["r_mismatch"]
    assert mismatch["failed"] and "fingerprint mismatch" in mismatch["msg"]
    misspelt = res["r_misspelt"]
    assert misspelt["failed"] and "did you mean expected_fingerprint?" in misspelt["msg"]
    assert res["r_lookup_throttled"]["ansible_facts"]["after_throttling"]["key_size"] == 3072
    assert [r["key_id"] for r in res["r_module_throttled"]["public_keys"]] == list(KEY.values())

    out = res["r_module_throttled_out"]
    _one_line_error(out, KEY["primary"], 400, "Throttling.User")
    assert out["error"]["code"] == "Throttling.User" and out["error"]["status"] == 400
    bad = res["r_module_bad_secret"]
    assert "proxy changed the request" in _one_line_error(bad, KEY["primary"], 400, "SignatureDoesNotMatch")
    assert bad["error"]["provider"] == "alicloud_idaas" and re.fullmatch(REQUEST_ID, bad["error"]["request_id"])
    _one_line_error(res["r_module_unknown"], emu.UNKNOWN_KEY_ID, 404, "EntityNotExists.ClientPublicKey")
    msg = _one_line_error(res["r_module_no_app"], None, 404, "EntityNotExists.Application")
    assert "listing the client public keys of app_kw0nothere failed" in msg
    no_region = res["r_module_no_region"]
    assert no_region["failed"] and "set region_id (for example cn-hangzhou) or endpoint" in no_region["msg"]
    msg = _one_line_error(res["r_module_skew"], KEY["primary"], 400, "InvalidTimeStamp.Expired")
    assert "more than 15 minutes" in msg and "synchronise it" in msg

    # Requests that reached the API: wrong secret 1, unknown 1, mismatch 1 (a refused key is never
    # cached, so primary is fetched again), lookup throttled 2 + 1, module throttled 2 + 1 page,
    # throttled out 2 (retries: 1), module wrong secret 1, primary + unknown 2, no application 1,
    # skew 1; the invalid id, the misspelt option and the missing region made none.
    assert alis.count("^/$") == 16
    # of which past authentication and throttling: unknown, mismatch, lookup throttled, primary + unknown
    assert alis.app.calls == {"GetClientPublicKey": 5, "ListClientPublicKeys": 2}
    _no_secrets(result, [emu.ACCESS_KEY_SECRET, BAD_SECRET])
