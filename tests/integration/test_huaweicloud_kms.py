"""Huawei Cloud KMS lookup and module: real ansible-playbook runs against the emulator over HTTPS.

Three playbook runs (each assertion group shares one run to keep the suite quick):
  1. lookups (and the module) configured by environment variables and keyward_huaweicloud_*
     variables, on four hosts: every key shape, the run-wide cache, template use, the three
     authentication methods' precedence, first-found-wins environment variables;
  2. lookup failures at -vvvv: bad signature, unknown key, disabled key, symmetric key, expired
     token, invalid key ID, 5xx then success; secrets never in the output;
  3. the module with module_defaults through group/keyward.keys.huaweicloud and
     group/keyward.keys.all: AK/SK, password login (one token for all keys), token, failures,
     check mode, pins; the password lookup; at -vvvv, secrets never in the output.
"""

from __future__ import annotations

import re

import pytest

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as emu
from ansible_collections.keyward.keys.tests.integration._helpers import one_line_error, results_by_host, save_task

KEY = emu.KEY_IDS
SHAPES = ["rsa2048", "rsa3072_pkcs1", "rsa4096_crlf", "doc_example", "ec_p256", "ec_p384", "sm2"]
EXPECTED = {
    "rsa2048": ("RSA", 2048, None), "rsa3072_pkcs1": ("RSA", 3072, None), "rsa4096_crlf": ("RSA", 4096, None),
    "doc_example": ("RSA", 4096, None), "ec_p256": ("EC", 256, "secp256r1"), "ec_p384": ("EC", 384, "secp384r1"),
    "sm2": ("SM2", 256, "sm2p256v1"),
}
BAD_SECRET = "bad-secret-key-that-must-not-leak-0001"


@pytest.fixture
def hws(hw):
    hw.reset()
    return hw


def _one_line_error(result, key_id, status, code):
    return one_line_error(result, "huaweicloud_kms", status, code, key=key_id, request_id="[0-9a-f]{32}")


def _assert_no_secrets(result, secrets):
    for secret in secrets:
        assert secret not in result.output, "a secret leaked into the output"


# --- 1. lookups configured by environment and variables --------------------------------------------

PLAYBOOK_LOOKUPS = r"""
- hosts: all
  gather_facts: false
  tasks:
    - name: a key as PEM
      ansible.builtin.set_fact:
        pem: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', keys.rsa2048) }}"
      register: r_pem

    - name: every shape as key records
      ansible.builtin.set_fact:
        records: "{{ query('keyward.keys.huaweicloud_kms_public_key', *shape_ids, return_format='dict') }}"
      register: r_records

    - name: raw
      ansible.builtin.set_fact:
        raw: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', keys.doc_example, return_format='raw') }}"
      register: r_raw

    - name: copy content from a lookup
      ansible.builtin.copy:
        content: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', keys.rsa2048) }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.pem"
        mode: "0644"

    - name: template
      ansible.builtin.template:
        src: "{{ out_dir }}/keys.conf.j2"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.conf"
        mode: "0644"

    - name: temporary keys from variables win over the environment
      vars:
        keyward_huaweicloud_access_key: "{{ temp_ak }}"
        keyward_huaweicloud_secret_key: "{{ temp_sk }}"
        keyward_huaweicloud_security_token: "{{ temp_token }}"
      ansible.builtin.set_fact:
        temp_pem: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', keys.ec_p384) }}"
      register: r_temp

    - name: auth_token wins over AK/SK
      ansible.builtin.set_fact:
        token_record: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', keys.ec_p256, auth_token=hw_token,
                                 return_format='dict') }}"
      register: r_token

    - name: module with the environment only
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.sm2 }}"
      register: r_module_env
""" + save_task(["r_pem", "r_records", "r_raw", "r_temp", "r_token", "r_module_env"])

TEMPLATE = """# written by keyward.keys
ec_p256_fingerprint: {{ lookup('keyward.keys.huaweicloud_kms_public_key', keys.ec_p256, return_format='dict').fingerprint_sha256 }}
ec_p256: |
  {{ lookup('keyward.keys.huaweicloud_kms_public_key', keys.ec_p256) | indent(2) }}
"""


def test_lookups_from_environment_and_variables(hws, pki, run_playbook, tmp_path):
    (tmp_path / "keys.conf.j2").write_text(TEMPLATE)
    token = hws.app.issue_token()
    env = {
        # first found wins: the second name of each pair holds a wrong value
        "HUAWEICLOUD_SDK_AK": emu.ACCESS_KEY, "HW_ACCESS_KEY": "WRONGACCESSKEY",
        "HUAWEICLOUD_SDK_SK": emu.SECRET_KEY, "HW_SECRET_KEY": BAD_SECRET,
        "HW_REGION_NAME": emu.REGION,
        "HUAWEICLOUD_KMS_ENDPOINT": hws.url, "HUAWEICLOUD_SDK_IAM_ENDPOINT": hws.url,
        "KEYWARD_CA_PATH": pki["ca.pem"],
    }
    extra = {"keys": KEY, "shape_ids": [KEY[n] for n in SHAPES], "out_dir": str(tmp_path), "hw_token": token,
             "temp_ak": emu.TEMP_ACCESS_KEY, "temp_sk": emu.TEMP_SECRET_KEY, "temp_token": emu.TEMP_SECURITY_TOKEN}
    hosts = ["h1", "h2", "h3", "h4"]
    result = run_playbook(PLAYBOOK_LOOKUPS, hosts=hosts, extra_vars=extra, env=env, forks=4, callback="default")
    per_host = results_by_host(result, tmp_path)
    assert sorted(per_host) == hosts

    rsa2048 = testkeys.spki_pem(testkeys.rsa_key(2048))
    ec384 = testkeys.spki_pem(testkeys.ec_key("secp384r1"))
    for host, res in per_host.items():
        assert res["r_pem"]["ansible_facts"]["pem"] == rsa2048
        records = res["r_records"]["ansible_facts"]["records"]
        assert [r["key_id"] for r in records] == [KEY[n] for n in SHAPES]
        for name, record in zip(SHAPES, records):
            assert (record["key_type"], record["key_size"], record["curve"]) == EXPECTED[name], name
            assert record["provider"] == "huaweicloud_kms"
            assert record["public_key"].startswith("-----BEGIN PUBLIC KEY-----\n") and "\r" not in record["public_key"]
            assert record["metadata"] == {"project_id": emu.PROJECT_ID, "region": emu.REGION}
        assert res["r_raw"]["ansible_facts"]["raw"] == emu.DOC_EXAMPLE_PUBLIC_KEY
        assert (tmp_path / ("%s.pem" % host)).read_text() == rsa2048
        conf = (tmp_path / ("%s.conf" % host)).read_text()
        assert "ec_p256: |\n  -----BEGIN PUBLIC KEY-----\n" in conf and re.search(r"fingerprint: [0-9a-f]{64}\n", conf)
        assert res["r_temp"]["ansible_facts"]["temp_pem"] == ec384
        assert res["r_token"]["ansible_facts"]["token_record"]["key_type"] == "EC"
        module = res["r_module_env"]
        assert module["public_keys"][0]["key_type"] == "SM2" and module["changed"] is False

    kms = [r for r in hws.requests if r["path"].endswith("/kms/get-publickey")]
    by_ak = [r for r in kms if "Access=%s," % emu.ACCESS_KEY in r["headers"].get("Authorization", "")]
    # the run-wide cache: one request per distinct key for the lookups of four hosts (ec_p256 is
    # the template's), plus one per module call (modules run on hosts and share no cache)
    assert len(by_ak) == len(set(SHAPES) | {"ec_p256"}) + len(hosts), len(by_ak)
    assert len([r for r in kms if "Access=%s," % emu.TEMP_ACCESS_KEY in r["headers"].get("Authorization", "")]) == 1
    # the cache key is the term and every non-secret option, never a secret: the token lookup's key
    # was already fetched with the same public options (the AK from the environment), so the
    # token is never sent at all
    assert len([r for r in kms if r["headers"].get("X-Auth-Token") == token]) == 0
    assert not [r for r in kms if "WRONGACCESSKEY" in r["headers"].get("Authorization", "")]
    _assert_no_secrets(result, [emu.SECRET_KEY, emu.TEMP_SECRET_KEY, emu.TEMP_SECURITY_TOKEN, token, BAD_SECRET])


# --- 2. lookup failures ------------------------------------------------------------------------------

PLAYBOOK_FAILURES = r"""
- hosts: localhost
  gather_facts: false
  vars:
    lk: keyward.keys.huaweicloud_kms_public_key
  tasks:
    - name: bad signature
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.rsa2048, secret_key=bad_secret, project_id=project_id) }}"
      ignore_errors: true
      register: r_bad_signature

    - name: unknown key
      ansible.builtin.debug:
        msg: "{{ lookup(lk, unknown_key) }}"
      ignore_errors: true
      register: r_unknown

    - name: disabled key
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.disabled) }}"
      ignore_errors: true
      register: r_disabled

    - name: symmetric key
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.symmetric) }}"
      ignore_errors: true
      register: r_symmetric

    - name: expired token
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.rsa2048, auth_token=expired_token, project_id=project_id) }}"
      ignore_errors: true
      register: r_expired

    - name: wrong password
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.rsa2048, access_key='', secret_key='', username=user, password=bad_secret,
                        domain_name=domain) }}"
      ignore_errors: true
      register: r_wrong_password

    - name: invalid key id
      ansible.builtin.debug:
        msg: "{{ lookup(lk, keys.rsa2048, 'alias/not-a-key-id') }}"
      ignore_errors: true
      register: r_invalid

    - name: inject 503 then 500
      ansible.builtin.uri:
        url: "{{ hw_url }}/__emulator__/faults"
        method: POST
        body_format: json
        body:
          path: "/kms/get-publickey$"
          actions:
            - status: 503
              body: {error_msg: "Service Unavailable", error_code: "APIGW.0203", request_id: "r503"}
            - status: 500
              body: {error: {error_code: "KMS.0101", error_msg: "kms error."}}
        ca_path: "{{ ca }}"

    - name: 5xx then success
      ansible.builtin.set_fact:
        after_retries: "{{ lookup(lk, keys.ec_p256, cache=false, return_format='dict') }}"
      register: r_retried
""" + save_task(["r_bad_signature", "r_unknown", "r_disabled", "r_symmetric", "r_expired", "r_wrong_password",
                 "r_invalid", "r_retried"])


def test_lookup_failures(hws, pki, run_playbook, tmp_path):
    expired = hws.app.issue_token(ttl=-60)
    env = {"HUAWEICLOUD_SDK_AK": emu.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": emu.SECRET_KEY,
           "HUAWEICLOUD_SDK_REGION": emu.REGION, "HUAWEICLOUD_KMS_ENDPOINT": hws.url,
           "HUAWEICLOUD_SDK_IAM_ENDPOINT": hws.url, "KEYWARD_CA_PATH": pki["ca.pem"]}
    extra = {"keys": KEY, "unknown_key": emu.UNKNOWN_KEY_ID, "bad_secret": BAD_SECRET, "project_id": emu.PROJECT_ID,
             "expired_token": expired, "hw_url": hws.url, "ca": pki["ca.pem"], "out_dir": str(tmp_path),
             "user": emu.USERNAME, "domain": emu.DOMAIN_NAME}
    result = run_playbook(PLAYBOOK_FAILURES, extra_vars=extra, env=env, verbosity=4, callback="default")
    res = results_by_host(result, tmp_path)["localhost"]

    assert "verify aksk signature fail" in _one_line_error(res["r_bad_signature"], KEY["rsa2048"], 401, "APIGW.0301")
    assert "The key does not exist." in _one_line_error(res["r_unknown"], emu.UNKNOWN_KEY_ID, 404, "KMS.0207")
    assert "disabled" in _one_line_error(res["r_disabled"], KEY["disabled"], 400, "KMS.0209")
    _one_line_error(res["r_symmetric"], KEY["symmetric"], 400, "KMS.0308")
    assert "token expires" in _one_line_error(res["r_expired"], KEY["rsa2048"], 401, "APIGW.0301")
    wrong = res["r_wrong_password"]
    assert wrong["failed"] and "IAM login of %s@%s failed" % (emu.USERNAME, emu.DOMAIN_NAME) in wrong["msg"]
    invalid = res["r_invalid"]
    assert invalid["failed"] and "huaweicloud_kms: key alias/not-a-key-id: not a KMS key ID" in invalid["msg"]
    assert res["r_retried"]["ansible_facts"]["after_retries"]["curve"] == "secp256r1"
    assert not any(rule["actions"] for rule in hws.faults._rules)
    # 5 refused requests above (the invalid key ID made none, not even for the valid first term),
    # then 503, 500 and the success
    assert hws.count("/kms/get-publickey$") == 8
    _assert_no_secrets(result, [emu.SECRET_KEY, BAD_SECRET, expired])
    assert "Traceback" not in result.output


# --- 3. the module, with module_defaults through the action groups --------------------------------

PLAYBOOK_MODULE = r"""
- name: AK/SK through group/keyward.keys.huaweicloud
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyward.keys.huaweicloud:
      region: "{{ region }}"
      endpoint: "{{ hw_url }}"
      iam_endpoint: "{{ hw_url }}"
      ca_path: "{{ ca }}"
      access_key: "{{ ak }}"
      secret_key: "{{ sk }}"
  tasks:
    - name: module keys
      keyward.keys.huaweicloud_kms_public_key_info:
        key_ids: "{{ shape_ids }}"
      register: r_keys

    - name: module one pinned
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.rsa2048 }}"
        expected_fingerprint: "{{ r_keys['public_keys'][0].pin_sha256 }}"
      register: r_one

    - name: module check mode
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.ec_p384 }}"
      check_mode: true
      register: r_check

    - name: module pin mismatch
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.rsa2048 }}"
        expected_fingerprint: "{{ '00' * 32 }}"
      ignore_errors: true
      register: r_mismatch

    - name: module unknown key
      keyward.keys.huaweicloud_kms_public_key_info:
        key_ids: ["{{ keys.rsa2048 }}", "{{ unknown_key }}"]
      ignore_errors: true
      register: r_unknown

    - name: module disabled key
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.disabled }}"
      ignore_errors: true
      register: r_disabled

    - name: module bad signature
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.rsa2048 }}"
        secret_key: "{{ bad_secret }}"
      ignore_errors: true
      register: r_bad_signature

    - name: module invalid key id
      keyward.keys.huaweicloud_kms_public_key_info:
        key_ids: ["{{ keys.rsa2048 }}", "0D0466B0-E727-4D9C-B35D-F84BB474A37F"]
      ignore_errors: true
      register: r_invalid

    - name: inject 502 then 504
      ansible.builtin.uri:
        url: "{{ hw_url }}/__emulator__/faults"
        method: POST
        body_format: json
        body:
          path: "/kms/get-publickey$"
          actions:
            - {status: 502, body: {error_msg: "Bad Gateway", error_code: "APIGW.0202", request_id: "r502"}}
            - {status: 504, body: {error: {error_code: "KMS.0101", error_msg: "kms error."}}}
        ca_path: "{{ ca }}"

    - name: module 5xx then success
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.ec_p256 }}"
      register: r_retried

- name: Password login and token through group/keyward.keys.all
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyward.keys.all:
      region: "{{ region }}"
      endpoint: "{{ hw_url }}"
      iam_endpoint: "{{ hw_url }}"
      ca_path: "{{ ca }}"
      username: "{{ user }}"
      password: "{{ password }}"
      domain_name: "{{ domain }}"
  tasks:
    - name: module password
      keyward.keys.huaweicloud_kms_public_key_info:
        key_ids: "{{ shape_ids[:5] }}"
      register: r_password

    - name: module token
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.ec_p384 }}"
        auth_token: "{{ hw_token }}"
      register: r_token

    - name: module expired token
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.ec_p384 }}"
        auth_token: "{{ expired_token }}"
      ignore_errors: true
      register: r_expired

    - name: module wrong password
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ keys.ec_p384 }}"
        password: "{{ bad_secret }}"
      ignore_errors: true
      register: r_wrong_password

- name: Password lookup
  hosts: localhost
  gather_facts: false
  tasks:
    - name: lookup password
      ansible.builtin.set_fact:
        pw_records: "{{ query('keyward.keys.huaweicloud_kms_public_key', *shape_ids[:3], return_format='dict',
                               username=user, password=password, domain_name=domain, region=region,
                               endpoint=hw_url, iam_endpoint=hw_url) }}"
      register: r_lookup_password
""" + save_task(["r_keys", "r_one", "r_check", "r_mismatch", "r_unknown", "r_disabled", "r_bad_signature", "r_invalid",
                 "r_retried", "r_password", "r_token", "r_expired", "r_wrong_password", "r_lookup_password"])


def test_module_with_module_defaults(hws, pki, run_playbook, tmp_path):
    token = hws.app.issue_token()
    expired = hws.app.issue_token(ttl=-60)
    extra = {"keys": KEY, "shape_ids": [KEY[n] for n in SHAPES], "unknown_key": emu.UNKNOWN_KEY_ID,
             "region": emu.REGION, "hw_url": hws.url, "ca": pki["ca.pem"], "out_dir": str(tmp_path),
             "ak": emu.ACCESS_KEY, "sk": emu.SECRET_KEY, "bad_secret": BAD_SECRET,
             "user": emu.USERNAME, "password": emu.PASSWORD, "domain": emu.DOMAIN_NAME,
             "hw_token": token, "expired_token": expired}
    result = run_playbook(PLAYBOOK_MODULE, extra_vars=extra, env={"KEYWARD_CA_PATH": pki["ca.pem"]}, verbosity=4,
                          callback="default")
    res = results_by_host(result, tmp_path)["localhost"]

    keys = res["r_keys"]
    assert keys["changed"] is False
    assert [(k["key_type"], k["key_size"], k["curve"]) for k in keys["public_keys"]] == [EXPECTED[n] for n in SHAPES]
    assert keys["public_keys"][SHAPES.index("doc_example")]["public_key_raw"] == emu.DOC_EXAMPLE_PUBLIC_KEY
    assert res["r_one"]["public_keys"][0]["key_id"] == KEY["rsa2048"]
    assert res["r_check"]["changed"] is False and res["r_check"]["public_keys"][0]["curve"] == "secp384r1"
    mismatch = res["r_mismatch"]
    assert mismatch["failed"] and "fingerprint mismatch" in mismatch["msg"]
    assert mismatch["error"]["key"] == KEY["rsa2048"]
    assert "The key does not exist." in _one_line_error(res["r_unknown"], emu.UNKNOWN_KEY_ID, 404, "KMS.0207")
    assert res["r_unknown"]["error"]["code"] == "KMS.0207" and res["r_unknown"]["error"]["status"] == 404
    _one_line_error(res["r_disabled"], KEY["disabled"], 400, "KMS.0209")
    _one_line_error(res["r_bad_signature"], KEY["rsa2048"], 401, "APIGW.0301")
    assert res["r_invalid"]["failed"] and "not a KMS key ID" in res["r_invalid"]["msg"]
    assert res["r_retried"]["public_keys"][0]["curve"] == "secp256r1"
    assert not any(rule["actions"] for rule in hws.faults._rules)

    assert [k["key_id"] for k in res["r_password"]["public_keys"]] == [KEY[n] for n in SHAPES[:5]]
    assert res["r_token"]["public_keys"][0]["curve"] == "secp384r1"
    assert "token expires" in _one_line_error(res["r_expired"], KEY["ec_p384"], 401, "APIGW.0301")
    wrong = res["r_wrong_password"]
    assert wrong["failed"] and "IAM login of %s@%s failed" % (emu.USERNAME, emu.DOMAIN_NAME) in wrong["msg"]
    assert "HTTP 401" in wrong["msg"]
    pw_records = res["r_lookup_password"]["ansible_facts"]["pw_records"]
    assert [r["key_type"] for r in pw_records] == ["RSA", "RSA", "RSA"]
    # one login for the module's five keys, one for the lookup's three, one refused (wrong password)
    assert hws.app.logins == 3
    _assert_no_secrets(result, [emu.SECRET_KEY, emu.PASSWORD, token, expired, BAD_SECRET])
    assert "Traceback" not in result.output
