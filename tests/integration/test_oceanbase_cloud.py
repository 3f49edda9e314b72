"""OceanBase Cloud lookup and module: real ansible-playbook runs against the emulator over HTTPS.

  1. the lookup on four hosts and the module, configured by environment variables (first found
     wins), keyward_oceanbase_cloud_* variables and module_defaults through the action groups:
     many pages, each key once, expired / expiring / never-expiring keys, expiring_within_days,
     one listing for all hosts (the run-wide cache), check mode;
  2. the clock: a key that expires during the run is reported expired by a later lookup served
     from the cache (expired and expires_in_days are computed per call, never cached);
  3. failures at -vvvv: wrong secret, missing organization and project, unknown project, both
     error shapes, a 2xx that says it failed, bad options; one-line errors naming the provider,
     code and request id, no traceback, no secret and no API key value in the output.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.integration._helpers import one_line_error, results_by_host, save_task

KEY = emu.KEY_IDS
TOTAL = len(KEY) + emu.FILLER_KEYS
BAD_SECRET = "obBadSecretThatMustNeverLeak-0042"
HOSTS = ["h1", "h2", "h3", "h4"]


@pytest.fixture(scope="module")
def ob_server(pki):
    server = EmulatorServer(emu.OceanBaseCloudEmulator(), tls=pki).start()
    yield server
    server.stop()


@pytest.fixture
def obs(ob_server):
    ob_server.reset()
    ob_server.faults.clear()
    ob_server.app.reset()
    ob_server.app.error_style = "errorCode"
    return ob_server


def _env(server, pki, **more):
    env = {
        "OCEANBASE_ENDPOINT": server.url, "KEYWARD_CA_PATH": pki["ca.pem"],
        "OCEANBASE_ORG_ID": emu.ORG_ID, "OCEANBASE_PROJECT_ID": emu.PROJECT_ID,
        # first found wins: the second name of each pair holds a wrong value
        "OCEANBASE_ACCESS_KEY_ID": emu.ACCESS_KEY_ID, "OCEANBASE_ACCESS_KEY": "OBWRONGACCESSKEY",
        "OCEANBASE_ACCESS_KEY_SECRET": emu.ACCESS_KEY_SECRET, "OCEANBASE_SECRET_KEY": BAD_SECRET,
        "OCEANBASE_SITE": "china",  # overridden by the endpoint
    }
    env.update(more)
    return env


def _assert_clean(result, server, secrets=()):
    for secret in (emu.ACCESS_KEY_SECRET, BAD_SECRET) + tuple(secrets):
        assert secret not in result.output, "a secret leaked into the output"
    for value in server.app.api_key_values():
        assert value not in result.output, "an API key value leaked into the output"
    assert "apiKey" not in result.output
    assert "Traceback" not in result.output


def _one_line_error(result, status, code):
    return one_line_error(result, "oceanbase_cloud", status, code, at_end=True)


def _by_id(records):
    return {r["id"]: r for r in records}


def _check_records(records, server):
    assert [r["id"] for r in records] == [item["id"] for item in server.app.keys()]
    fields = {"id", "name", "created_at", "updated_at", "expires_at", "expired", "expires_in_days"}
    assert all(set(r) == fields for r in records)
    by_id = _by_id(records)
    expired = by_id[KEY["expired"]]
    assert expired["expired"] is True and expired["expires_in_days"] < 0
    assert by_id[KEY["expiring_2d"]]["expires_in_days"] == 2 and not by_id[KEY["expiring_2d"]]["expired"]
    assert by_id[KEY["expiring_10d"]]["expires_in_days"] == 10
    assert by_id[KEY["long_lived"]]["expires_in_days"] == 199  # 200 days and a quarter second, at creation
    for name in ("never_null", "never_missing", "never_empty"):
        assert by_id[KEY[name]]["expires_at"] is None and by_id[KEY[name]]["expires_in_days"] is None
        assert by_id[KEY[name]]["expired"] is False
    for record in records:
        for field in ("created_at", "updated_at", "expires_at"):
            assert record[field] is None or re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", record[field])


# --- 1. lookup on many hosts, and the module ----------------------------------------------------------

PLAYBOOK = r"""
- hosts: all
  gather_facts: false
  vars:
    keyward_oceanbase_cloud_page_size: 10
  tasks:
    - name: every key through the lookup
      ansible.builtin.set_fact:
        api_keys: "{{ query('keyward.keys.oceanbase_cloud_api_keys') }}"
      register: r_lookup

    - name: lookup with wantlist, in a loop
      ansible.builtin.set_fact:
        names: "{{ (names | default([])) + [item.name] }}"
      loop: "{{ lookup('keyward.keys.oceanbase_cloud_api_keys', wantlist=true) }}"
      loop_control:
        label: "{{ item.id }}"

    - name: alert before a key expires, as the docs do
      ansible.builtin.assert:
        that: api_keys | rejectattr('expires_in_days', 'none') | selectattr('expires_in_days', 'lt', 30) | list | length == 0
        fail_msg: "Rotate: {{ api_keys | rejectattr('expires_in_days', 'none') | selectattr('expires_in_days', 'lt', 30)
                   | map(attribute='name') | join(', ') }}"
      ignore_errors: true
      register: r_alert
""" + save_task(["r_lookup", "r_alert", "names"]) + r"""
- hosts: h1
  gather_facts: false
  module_defaults:
    group/keyward.keys.oceanbase_cloud:
      page_size: 25
  tasks:
    - name: module, every key
      keyward.keys.oceanbase_cloud_api_key_info:
      register: r_module

    - name: module, expiring within 14 days
      keyward.keys.oceanbase_cloud_api_key_info:
        expiring_within_days: 14
      register: r_within

    - name: module, expired only, in check mode, through group/keyward.keys.all
      module_defaults:
        group/keyward.keys.all:
          page_size: 100
      keyward.keys.oceanbase_cloud_api_key_info:
        expiring_within_days: 0
      check_mode: true
      register: r_expired_only

    - name: module, explicit options win over the environment
      keyward.keys.oceanbase_cloud_api_key_info:
        project_id: "{{ empty_project }}"
        access_key_id: "{{ other_ak }}"
        access_key_secret: "{{ other_sk }}"
      register: r_empty

    - name: save the module's results
      ansible.builtin.copy:
        content: "{{ {'r_module': r_module, 'r_within': r_within, 'r_expired_only': r_expired_only,
                      'r_empty': r_empty} | to_json }}"
        dest: "{{ out_dir }}/module-{{ inventory_hostname }}.json"
        mode: "0600"
"""


def test_lookup_and_module(obs, pki, run_playbook, tmp_path):
    extra = {"out_dir": str(tmp_path), "empty_project": emu.EMPTY_PROJECT_ID,
             "other_ak": emu.OTHER_ACCESS_KEY_ID, "other_sk": emu.OTHER_ACCESS_KEY_SECRET}
    result = run_playbook(PLAYBOOK, hosts=HOSTS, extra_vars=extra, env=_env(obs, pki), forks=4)
    per_host = results_by_host(result, tmp_path)
    assert sorted(per_host) == HOSTS
    for host, res in per_host.items():
        _check_records(res["r_lookup"]["ansible_facts"]["api_keys"], obs)
        assert len(res["names"]) == TOTAL and res["names"][0] == "expired-three-days-ago"
        alert = res["r_alert"]
        assert alert["failed"] and "Rotate: expired-three-days-ago, expiring-in-two-days, expiring-in-ten-days" \
            in alert["msg"]

    res = json.loads((tmp_path / "module-h1.json").read_text())
    module = res["r_module"]
    assert module["changed"] is False
    _check_records(module["api_keys"], obs)
    assert [r["id"] for r in res["r_within"]["api_keys"]] == [KEY["expired"], KEY["expiring_2d"], KEY["expiring_10d"]]
    assert [r["id"] for r in res["r_expired_only"]["api_keys"]] == [KEY["expired"]]
    assert res["r_expired_only"]["changed"] is False
    assert res["r_empty"]["api_keys"] == []

    calls = obs.app.calls
    lookups = [c for c in calls if c["page_size"] == 10]
    # The run-wide cache: four hosts, two lookups each, one listing (14 pages of 10).
    assert [c["page_number"] for c in lookups] == list(range(1, 15))
    # The module runs on the host and shares no cache: 6 pages of 25, twice, one for the empty
    # project, then 2 pages of 100 (the task's group/keyward.keys.all defaults).
    assert len([c for c in calls if c["page_size"] == 25]) == 13
    assert len([c for c in calls if c["page_size"] == 100]) == 2
    assert all(c["page_size"] <= 100 for c in calls)
    assert {c["access_key_id"] for c in calls} == {emu.ACCESS_KEY_ID, emu.OTHER_ACCESS_KEY_ID}
    assert [c["project_id"] for c in calls if c["access_key_id"] == emu.OTHER_ACCESS_KEY_ID] == [emu.EMPTY_PROJECT_ID]
    assert len({c["request_id"] for c in calls}) == len(calls)  # a fresh X-Request-Id per request
    _assert_clean(result, obs, [emu.OTHER_ACCESS_KEY_SECRET])


# --- 2. the clock: expiry is computed per call, not cached ---------------------------------------------

PLAYBOOK_CLOCK = r"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: before expiry
      ansible.builtin.set_fact:
        before: "{{ query('keyward.keys.oceanbase_cloud_api_keys') }}"

    - name: wait until the short-lived key has expired
      ansible.builtin.command:
        argv: ["{{ ansible_playbook_python }}", "-c",
               "import time; time.sleep(max(0.0, {{ expires_epoch }} - time.time() + 1.0))"]
      changed_when: false

    - name: after expiry, from the cache
      ansible.builtin.set_fact:
        after: "{{ query('keyward.keys.oceanbase_cloud_api_keys') }}"
""" + save_task(["before", "after"])


def test_expiry_is_computed_at_call_time_from_the_cached_listing(pki, run_playbook, tmp_path):
    now = time.time()
    expires = now + 15
    keys = [emu._key("ak-kw-seconds-0001", "expires-during-the-run", now - 86400, now - 86400, expires),
            emu._key("ak-kw-never-0002", "never", now - 86400, now - 86400, None)]
    app = emu.OceanBaseCloudEmulator(keys=keys)
    with EmulatorServer(app, tls=pki) as server:
        result = run_playbook(PLAYBOOK_CLOCK, extra_vars={"out_dir": str(tmp_path), "expires_epoch": expires},
                              env=_env(server, pki))
        res = results_by_host(result, tmp_path)["localhost"]
        assert len(app.calls) == 1  # the second lookup was served from the cache
    before, after = _by_id(res["before"]), _by_id(res["after"])
    assert before["ak-kw-seconds-0001"]["expired"] is False and before["ak-kw-seconds-0001"]["expires_in_days"] == 0
    assert after["ak-kw-seconds-0001"]["expired"] is True and after["ak-kw-seconds-0001"]["expires_in_days"] == -1
    assert before["ak-kw-seconds-0001"]["expires_at"] == after["ak-kw-seconds-0001"]["expires_at"]
    assert after["ak-kw-never-0002"]["expires_in_days"] is None and after["ak-kw-never-0002"]["expired"] is False


# --- 3. failures -----------------------------------------------------------------------------------------

PLAYBOOK_FAILURES = r"""
- hosts: localhost
  gather_facts: false
  vars:
    lk: keyward.keys.oceanbase_cloud_api_keys
  tasks:
    - name: lookup, wrong secret
      ansible.builtin.debug:
        msg: "{{ query(lk, access_key_secret=bad_secret) }}"
      ignore_errors: true
      register: r_lookup_wrong

    - name: lookup, the right secret afterwards (cache=false, see test_cached_failure_of_a_wrong_secret)
      ansible.builtin.set_fact:
        good: "{{ query(lk, cache=false) | length }}"
      register: r_lookup_good

    - name: lookup, missing organization
      ansible.builtin.debug:
        msg: "{{ query(lk, org_id='') }}"
      ignore_errors: true
      register: r_lookup_no_org

    - name: lookup, unknown project, in the successful/message error shape
      ansible.builtin.debug:
        msg: "{{ query(lk, project_id='proj-nope') }}"
      ignore_errors: true
      register: r_lookup_unknown

    - name: lookup, terms are refused
      ansible.builtin.debug:
        msg: "{{ query(lk, 'some-key') }}"
      ignore_errors: true
      register: r_lookup_terms

    - name: lookup, misspelt option
      ansible.builtin.debug:
        msg: "{{ query(lk, page_sise=10) }}"
      ignore_errors: true
      register: r_lookup_misspelt

    - name: module, wrong secret
      keyward.keys.oceanbase_cloud_api_key_info:
        access_key_secret: "{{ bad_secret }}"
      ignore_errors: true
      register: r_module_wrong

    - name: module, missing project
      keyward.keys.oceanbase_cloud_api_key_info:
        project_id: ""
      ignore_errors: true
      register: r_module_no_project

    - name: inject an HTTP 200 that says it failed
      ansible.builtin.uri:
        url: "{{ ob_url }}/__emulator__/faults"
        method: POST
        body_format: json
        body:
          path: "^/api/v2/maas/apikeys$"
          actions:
            - status: 200
              body: {success: false, errorCode: E001R000, errorMessage: Unknown Error, requestId: rid-e001}
        ca_path: "{{ ca }}"

    - name: module, HTTP 200 with success false
      keyward.keys.oceanbase_cloud_api_key_info:
      ignore_errors: true
      register: r_module_200

    - name: module, page_size above 100 is refused before any request
      keyward.keys.oceanbase_cloud_api_key_info:
        page_size: 500
      ignore_errors: true
      register: r_module_page_size

    - name: module, negative days
      keyward.keys.oceanbase_cloud_api_key_info:
        expiring_within_days: -1
      ignore_errors: true
      register: r_module_days
""" + save_task(["r_lookup_wrong", "r_lookup_good", "r_lookup_no_org", "r_lookup_unknown", "r_lookup_terms",
                 "r_lookup_misspelt", "r_module_wrong", "r_module_no_project", "r_module_200",
                 "r_module_page_size", "r_module_days"])


def test_failures(obs, pki, run_playbook, tmp_path):
    obs.app.error_style = "successful"
    extra = {"out_dir": str(tmp_path), "bad_secret": BAD_SECRET, "ob_url": obs.url, "ca": pki["ca.pem"]}
    result = run_playbook(PLAYBOOK_FAILURES, extra_vars=extra, env=_env(obs, pki), verbosity=4)
    res = results_by_host(result, tmp_path)["localhost"]

    # The newer error shape carries no code: the line names provider, status and request id.
    assert "AccessKey ID or secret is wrong" in _one_line_error(res["r_lookup_wrong"], 401, None)
    assert res["r_lookup_good"]["ansible_facts"]["good"] == str(TOTAL) or \
        res["r_lookup_good"]["ansible_facts"]["good"] == TOTAL
    no_org = res["r_lookup_no_org"]
    assert no_org["failed"] and "oceanbase_cloud: missing org_id (OCEANBASE_ORG_ID)" in no_org["msg"]
    assert "project proj-nope does not exist" in _one_line_error(res["r_lookup_unknown"], 404, None)
    assert "takes no terms" in res["r_lookup_terms"]["msg"]
    assert "page_sise (did you mean page_size?)" in res["r_lookup_misspelt"]["msg"]

    assert "AccessKey ID or secret is wrong" in _one_line_error(res["r_module_wrong"], 401, None)
    assert res["r_module_wrong"]["error"]["status"] == 401
    no_project = res["r_module_no_project"]
    assert no_project["failed"] and "missing project_id (OCEANBASE_PROJECT_ID)" in no_project["msg"]
    msg = _one_line_error(res["r_module_200"], 200, "E001R000")
    assert "Unknown Error" in msg and "request id rid-e001" in msg
    assert "page_size 500 is out of range" in res["r_module_page_size"]["msg"]
    assert "expiring_within_days must be 0 or more" in res["r_module_days"]["msg"]

    # Requests: the two wrong-secret attempts (challenge + refused answer each), one listing of
    # two pages for the right secret, the unknown project (challenge + 404), the injected 200;
    # nothing for option errors.
    assert obs.count("^/api/v2/maas/apikeys$") == 2 * 2 + 3 + 2 + 1
    _assert_clean(result, obs)


def test_wrong_secret_in_the_documented_error_shape(obs, pki, run_playbook, tmp_path):
    playbook = r"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: module, wrong secret from the environment
      keyward.keys.oceanbase_cloud_api_key_info:
      ignore_errors: true
      register: r_wrong
""" + save_task(["r_wrong"])
    env = _env(obs, pki, OCEANBASE_ACCESS_KEY_SECRET=BAD_SECRET)
    result = run_playbook(playbook, extra_vars={"out_dir": str(tmp_path)}, env=env, verbosity=4)
    res = results_by_host(result, tmp_path)["localhost"]
    msg = _one_line_error(res["r_wrong"], 401, "UNAUTHORIZED")
    assert "check access_key_id and access_key_secret" in msg
    _assert_clean(result, obs)


def test_cached_failure_of_a_wrong_secret_is_not_served_to_the_right_secret(obs, pki, run_playbook, tmp_path):
    playbook = r"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: wrong secret
      ansible.builtin.debug:
        msg: "{{ query('keyward.keys.oceanbase_cloud_api_keys', access_key_secret=bad_secret) }}"
      ignore_errors: true

    - name: right secret, same public options
      ansible.builtin.set_fact:
        good: "{{ query('keyward.keys.oceanbase_cloud_api_keys') | length }}"
"""
    result = run_playbook(playbook, extra_vars={"bad_secret": BAD_SECRET}, env=_env(obs, pki))
    assert result.rc == 0, result
