# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup options as an attacker or a careless operator would give them (issue 9, items 4, 5, 8):
values are data, not templates; secrets never reach a message; a misspelt option is an error.

Real ansible-playbook runs against the Huawei Cloud KMS emulator (IAM password login) over HTTPS.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.keyward.keys.tests.emulators import huaweicloud as emu
from ansible_collections.keyward.keys.tests.integration._helpers import save_task

LOOKUP = "keyward.keys.huaweicloud_kms_public_key"
# A password that is also a Jinja template whose evaluation would run a command.
HOSTILE = "pw{{ 6*7 }}{{ lookup('ansible.builtin.pipe', 'touch %s') }}"


def _env(server, pki, password):
    return {"HW_USER_NAME": emu.USERNAME, "HW_USER_PASSWORD": password, "HW_DOMAIN_NAME": emu.DOMAIN_NAME,
            "HUAWEICLOUD_SDK_REGION": emu.REGION, "HUAWEICLOUD_KMS_ENDPOINT": server.url,
            "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url, "KEYWARD_CA_PATH": pki["ca.pem"], "KEYWARD_RETRIES": "0"}


@pytest.mark.parametrize("source", ["env", "kwarg"])
def test_a_password_with_template_syntax_is_used_as_given(run_playbook, hw, pki, tmp_path, source):
    marker = tmp_path / "pwned"
    password = HOSTILE % marker
    hw.reset()
    hw.app.add_user(emu.USERNAME, password)
    kwarg = ", password=hostile_password" if source == "kwarg" else ""
    # The keyword argument comes from an !unsafe variable, which Ansible itself never templates:
    # the lookup must not either.
    playbook = """
- hosts: localhost
  gather_facts: false
  vars:
    hostile_password: !unsafe %s
  tasks:
    - name: fetch with the hostile password
      ansible.builtin.set_fact:
        record: "{{ lookup('%s', key_id, return_format='dict'%s) }}"
      register: r_fetch
%s""" % (json.dumps(password), LOOKUP, kwarg, save_task(["r_fetch"]))
    env = _env(hw, pki, password if source == "env" else "unused-env-password")
    extra = {"key_id": emu.KEY_IDS["rsa2048"], "out_dir": str(tmp_path)}
    result = run_playbook(playbook, env=env, extra_vars=extra)
    assert result.rc == 0, result
    assert not marker.exists(), "the password was evaluated as a template and ran a command"
    logins = [r for r in hw.requests if r["path"].endswith("/v3/auth/tokens")]
    assert len(logins) == 1  # the IAM emulator accepted the password exactly as written
    hw.app.add_user(emu.USERNAME, emu.PASSWORD)


def test_a_misspelt_option_is_an_error_naming_it(run_playbook, hw, pki, tmp_path):
    hw.reset()
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: a misspelt pin must never mean "no pin"
      ansible.builtin.debug:
        msg: "{{ lookup('%s', key_id, expected_fingerprnt='00' * 32) }}"
      register: r_typo
      ignore_errors: true
%s""" % (LOOKUP, save_task(["r_typo"]))
    result = run_playbook(playbook, env=_env(hw, pki, emu.PASSWORD),
                          extra_vars={"key_id": emu.KEY_IDS["rsa2048"], "out_dir": str(tmp_path)})
    assert result.rc == 0, result
    found = json.loads((tmp_path / "results-localhost.json").read_text())["r_typo"]
    assert found.get("failed"), found
    assert "unknown option expected_fingerprnt (did you mean expected_fingerprint?)" in found["msg"]
    assert not [r for r in hw.requests if r["path"].endswith("/kms/get-publickey")]  # nothing was fetched


def test_a_secret_of_the_wrong_type_is_not_printed(run_playbook, hw, pki, tmp_path):
    hw.reset()
    secret = "Wrong-Type-Secret-77"
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: a secret given as a mapping
      ansible.builtin.debug:
        msg: "{{ lookup('%s', key_id, password={'nested': wrong_type_secret}) }}"
""" % LOOKUP
    result = run_playbook(playbook, env=_env(hw, pki, emu.PASSWORD), verbosity=4,
                          extra_vars={"key_id": emu.KEY_IDS["rsa2048"], "wrong_type_secret": secret,
                                      "out_dir": str(tmp_path)})
    assert result.rc != 0
    assert secret not in result.output.replace('"wrong_type_secret": "%s"' % secret, ""), \
        "the secret given with the wrong type was printed"


def test_a_provider_error_that_echoes_the_password_is_masked(run_playbook, hw, pki, tmp_path):
    hw.reset()
    password = "Echoed-Passw0rd-31"
    hw.faults.add("/v3/auth/tokens", [{"status": 401, "body": {"error": {
        "code": 401, "message": "wrong password %s for user" % password, "title": "Unauthorized"}}}])
    playbook = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: the IAM answer repeats the password
      ansible.builtin.debug:
        msg: "{{ lookup('%s', key_id) }}"
""" % LOOKUP
    result = run_playbook(playbook, env=_env(hw, pki, password), verbosity=4,
                          extra_vars={"key_id": emu.KEY_IDS["rsa2048"]})
    assert result.rc != 0
    assert password not in result.output
    assert "wrong password ******** for user" in result.output


def test_keyward_variables_are_templated_before_their_types_are_checked(run_playbook, hw, pki, tmp_path):
    hw.reset()
    playbook = """
- hosts: localhost
  gather_facts: false
  vars:
    vault_password: %s
    zero: 0
    keyward_huaweicloud_password: "{{ vault_password }}"
    keyward_huaweicloud_retries: "{{ zero }}"
    keyward_huaweicloud_validate_certs: "{{ zero == 0 }}"
  tasks:
    - name: options from templated keyward_huaweicloud_* variables
      ansible.builtin.set_fact:
        record: "{{ lookup('%s', key_id, return_format='dict') }}"
      register: r_vars
%s""" % (json.dumps(emu.PASSWORD), LOOKUP, save_task(["r_vars"]))
    env = _env(hw, pki, "not-the-password")
    result = run_playbook(playbook, env=env, extra_vars={"key_id": emu.KEY_IDS["ec_p256"], "out_dir": str(tmp_path)})
    assert result.rc == 0, result
    found = json.loads((tmp_path / "results-localhost.json").read_text())["r_vars"]
    assert found["ansible_facts"]["record"]["curve"] == "secp256r1"
