# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security promises (issue 18) in real ansible-playbook runs against the emulators:

- a credential with a line break is refused before any request and never shown, in lookups,
  modules and a second (would-be cached) lookup, at default verbosity and at -vvvv;
- an OceanBase Cloud failure sent with HTTP 200 is never cached for the next lookup;
- a bearer secret sent to an http:// endpoint warns, naming the endpoint;
- obshell_api masks password-like fields of body, nested and in any case, at every verbosity.
"""

from __future__ import annotations

import pytest

from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw_emu
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as ob_emu
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent
from ansible_collections.keyward.keys.tests.integration._helpers import save_task, saved

KEY = hw_emu.KEY_IDS["rsa2048"]
# The part after the line break is what an attacker would smuggle in as a header.
TOKEN_TAIL = "X-Smuggled-Header-0bca8e1d"


def _hw_env(server, pki):
    return {"HUAWEICLOUD_SDK_REGION": hw_emu.REGION, "HUAWEICLOUD_SDK_PROJECT_ID": hw_emu.PROJECT_ID,
            "HUAWEICLOUD_KMS_ENDPOINT": server.url, "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url,
            "KEYWARD_CA_PATH": pki["ca.pem"], "KEYWARD_RETRIES": "0"}


LINE_BREAK_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: lookup with a broken auth_token
      ansible.builtin.set_fact:
        k: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', key_id, auth_token=bad_token) }}"
      register: r_lookup
      ignore_errors: true

    - name: the same lookup again (a cached failure must not show it either)
      ansible.builtin.set_fact:
        k: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', key_id, auth_token=bad_token) }}"
      register: r_again
      ignore_errors: true

    - name: lookup with a broken security_token beside AK/SK
      ansible.builtin.set_fact:
        k: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', key_id, access_key='AKEXAMPLE',
               secret_key='sk-fine-value', security_token=bad_token) }}"
      register: r_sts
      ignore_errors: true

    - name: module with a broken auth_token
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ key_id }}"
        auth_token: "{{ bad_token }}"
      register: r_module
      ignore_errors: true

    - name: module with a broken password
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ key_id }}"
        username: someone
        domain_name: somewhere
        password: "{{ bad_token }}"
      register: r_password
      ignore_errors: true
%s"""


@pytest.mark.parametrize("verbosity,brk", [(0, "\n"), (4, "\r\n")], ids=["lf-default", "crlf-vvvv"])
def test_a_credential_with_a_line_break_is_refused_unseen(run_playbook, hw, pki, tmp_path, verbosity, brk):
    hw.reset()
    head = "MIIb-token-head-%d-7f3e" % verbosity
    bad_token = head + brk + TOKEN_TAIL
    names = ("r_lookup", "r_again", "r_sts", "r_module", "r_password")
    result = run_playbook(LINE_BREAK_PLAY % save_task(names), env=_hw_env(hw, pki), verbosity=verbosity,
                          extra_vars={"bad_token": bad_token, "key_id": KEY, "out_dir": str(tmp_path)})
    found = saved(tmp_path, result)
    expected_option = {"r_lookup": "auth_token", "r_again": "auth_token", "r_sts": "security_token",
                       "r_module": "auth_token", "r_password": "password"}
    for name in names:
        assert found[name]["failed"] is True, (name, found[name])
        msg = found[name]["msg"]
        assert "huaweicloud" in msg and expected_option[name] in msg and "line break" in msg, msg
        assert "\n" not in msg
    assert hw.count() == 0  # refused before any request
    # Neither part of the token, in any spelling, anywhere in the output.
    for part in (head, TOKEN_TAIL):
        assert part not in result.output, "a part of the credential leaked"
    assert "Traceback" not in result.output


OB_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: wrong secret, answered with HTTP 200 and success false
      ansible.builtin.set_fact:
        k: "{{ lookup('keyward.keys.oceanbase_cloud_api_keys', access_key_secret='obWrongSecret-4242') }}"
      register: r_wrong
      ignore_errors: true

    - name: right secret, same non-secret options
      ansible.builtin.set_fact:
        k: "{{ lookup('keyward.keys.oceanbase_cloud_api_keys') }}"
      register: r_right
%s"""


@pytest.mark.parametrize("body", [
    {"success": False, "errorCode": "UNAUTHORIZED", "errorMessage": "wrong secret"},
    {"successful": False, "message": "wrong secret"},
], ids=["success", "successful"])
def test_a_failure_sent_with_http_200_is_not_cached(run_playbook, pki, tmp_path, body):
    server = EmulatorServer(ob_emu.OceanBaseCloudEmulator(), tls=pki).start()
    try:
        server.faults.add(ob_emu.PATH, [{"status": 200, "body": body}])
        env = {"OCEANBASE_ENDPOINT": server.url, "KEYWARD_CA_PATH": pki["ca.pem"], "KEYWARD_RETRIES": "0",
               "OCEANBASE_ORG_ID": ob_emu.ORG_ID, "OCEANBASE_PROJECT_ID": ob_emu.PROJECT_ID,
               "OCEANBASE_ACCESS_KEY_ID": ob_emu.ACCESS_KEY_ID, "OCEANBASE_ACCESS_KEY_SECRET": ob_emu.ACCESS_KEY_SECRET}
        result = run_playbook(OB_PLAY % save_task(("r_wrong", "r_right")), env=env,
                              extra_vars={"out_dir": str(tmp_path)})
    finally:
        server.stop()
    found = saved(tmp_path, result)
    assert found["r_wrong"]["failed"] is True, found["r_wrong"]
    assert not found["r_right"].get("failed"), found["r_right"]
    assert found["r_right"]["ansible_facts"]["k"], found["r_right"]


PLAIN_HTTP_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: a token over plain http
      ansible.builtin.set_fact:
        k: "{{ lookup('keyward.keys.huaweicloud_kms_public_key', key_id, auth_token=token) }}"
      register: r_lookup

    - name: an IAM password over plain http
      keyward.keys.huaweicloud_kms_public_key_info:
        key_id: "{{ key_id }}"
        username: "{{ user }}"
        domain_name: "{{ domain }}"
        password: "{{ password }}"
      register: r_module
%s"""


def test_bearer_secrets_over_plain_http_warn(run_playbook, tmp_path):
    server = EmulatorServer(hw_emu.HuaweiCloudEmulator()).start()
    try:
        password = "Iam-Pass-Plain-9931"
        server.app.add_user(hw_emu.USERNAME, password)
        token = server.app.issue_token()
        env = {"HUAWEICLOUD_SDK_REGION": hw_emu.REGION, "HUAWEICLOUD_SDK_PROJECT_ID": hw_emu.PROJECT_ID,
               "HUAWEICLOUD_KMS_ENDPOINT": server.url, "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url,
               "KEYWARD_RETRIES": "0"}
        result = run_playbook(PLAIN_HTTP_PLAY % save_task(("r_lookup", "r_module")), env=env, extra_vars={
            "key_id": KEY, "token": token, "password": password, "user": hw_emu.USERNAME,
            "domain": hw_emu.DOMAIN_NAME, "out_dir": str(tmp_path)})
    finally:
        server.stop()
    found = saved(tmp_path, result)
    endpoint = "http://%s" % server.address
    # ansible-core 2.16 wraps warnings over several lines: compare with white space folded.
    flat = " ".join(result.output.split())
    assert "auth_token is sent in clear text to %s" % endpoint in flat, result
    module_warnings = " ".join(found["r_module"].get("warnings", []))
    assert "password" in module_warnings and endpoint in module_warnings, found["r_module"]
    assert token not in result.output and password not in result.output


OBSHELL_PW = "Mq7-root!Pw-obshell-18"


class EchoAgent(ObshellAgent):
    """An agent that answers POST /api/v1/echo with the (decrypted) body it received: a server
    that echoes what it is sent, so the module's results carry the body's secrets too."""

    def _route(self, request):
        if (request.method, request.path) == ("POST", "/api/v1/echo"):
            return lambda request, context: (200, self._bind_json(context))
        return super()._route(request)


BODY_SECRETS = {
    "rootPwd": "body-rootpwd-a1b2c3",
    "ROOTPWD": "body-upperpwd-d4e5f6",
    "pwd": "body-pwd-g7h8i9",
    "Passwd": "body-passwd-j1k2l3",
    "secret": "body-secret-m4n5o6",
    "token": "body-token-p7q8r9",
    "password": "body-password-s1t2u3",
}

OBSHELL_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: a body full of secrets, nested, echoed back
      keyward.keys.obshell_api:
        port: %(port)d
        method: POST
        path: /api/v1/echo
        password: "{{ root_pw }}"
        allow_unpinned_password: true
        body:
          rootPwd: "{{ s.rootPwd }}"
          config:
            ROOTPWD: "{{ s.ROOTPWD }}"
            list:
              - pwd: "{{ s.pwd }}"
              - {Passwd: "{{ s.Passwd }}"}
          Secret: {value: "{{ s.secret }}"}
          Token: "{{ s.token }}"
      register: r_dict

    - name: the same as a JSON string, to a route that fails (the failure's results)
      keyward.keys.obshell_api:
        port: %(port)d
        method: POST
        path: /api/v1/no/such/route
        password: "{{ root_pw }}"
        allow_unpinned_password: true
        body: '{"outer": {"password": "{{ s.password }}", "rootpwd": "{{ s.rootPwd }}"}}'
      register: r_string
      ignore_errors: true
%(save)s"""


@pytest.mark.parametrize("verbosity", [0, 4])
def test_obshell_api_masks_body_secrets(run_playbook, tmp_path, verbosity):
    server = EmulatorServer(EchoAgent(password=OBSHELL_PW)).start()
    try:
        play = OBSHELL_PLAY % {"port": server.port, "save": save_task(("r_dict", "r_string"))}
        result = run_playbook(play, verbosity=verbosity, extra_vars={
            "root_pw": OBSHELL_PW, "s": BODY_SECRETS, "out_dir": str(tmp_path)})
    finally:
        server.stop()
    found = saved(tmp_path, result)
    assert not found["r_dict"].get("failed") and found["r_string"]["failed"] is True, found
    assert found["r_dict"]["data"]["config"]["list"], found["r_dict"]  # the echo came back
    for value in list(BODY_SECRETS.values()) + [OBSHELL_PW]:
        assert value not in result.output, "a body secret leaked at -%s" % ("v" * verbosity)
        for name in ("r_dict", "r_string"):
            assert value not in str(found[name]), (name, value)
