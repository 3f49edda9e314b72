# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters keyward.keys.public_key_info and keyward.keys.jwks in a real ansible-playbook run:
in set_fact, in a template file, and failing inside block/rescue.

Keys reach the play as extra vars from a JSON file, so CRLF line endings arrive unchanged.
Outputs are checked against openssl, ssh-keygen and hand-written RFC 7638 thumbprints.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess

from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as tk

OPENSSL = shutil.which("openssl")
SSH_KEYGEN = shutil.which("ssh-keygen")

HUAWEI_DOC_KEY = (
    "-----BEGIN PUBLIC KEY-----\r\nMIICCgKCAgEA3RQAXXwya9k4zV1/Q3AFr37GO8JgFobDKZioAklLQdgElHZ/uxmP\r\n"
    "4bveNHpY6OI0Okk/1Ov8oJf+9W10VqVxbzihWa5n/RMN0720DzLV7KuH4YylCGDb\r\n3JH/+bMbhF2qRArrrKod0kR9rYHrdPkI7O5fYQQprZ3kWnPgrhDoDFC8ja+OelOg\r\n"
    "n4MMOGGYA/DAOb0XyxPnGl26PnUtvvF7aZbMW5x/Yq2yAVFE1cjqLaH7/j1C8KYE\r\naOSYtl2nOif28WoweFavXpgVsb/iICTfqgC91BtCSFC5pT8vqZCimfoHmJCAkZa5\r\n"
    "Z8QIqkOOf9F6iMqqIz7pGKgQSUmoKKY9j6DK3OwXDOB5gKu0vyuz+gW3b4SZn+Xa\r\nKkEN8ZpXsdQdEGpe4SwIzSVyUGYNBOCLrsydBcPR7jWgQ6gs56IJrV2pdAtmBwKd\r\n"
    "6l33z1tQ7+/h3IrZxXuuej/fRRUMlbVcmhTS2l6vle7HXgZj/dWzPsLLg9MGHu0+\r\no9PRr+brxTbrf5e2Zdr1ad35X/b86gx7Grg1sYPkly2aEI4fsnDGPgFrudG+Hzx/\r\n"
    "ABHejYfJEI6P0SXCzB/oDMkjw6XKhTSojMzuncAP/AM+0LVYQxQe750qkb3hjBT0\r\nq/HBl/4zMXA03tMb9QySnLK63uo64JMJiBsEe7wPLhHB3VzBZk9SvvECAwEAAQ==\r\n"
    "-----END PUBLIC KEY-----\r\n"
)
SM2_PEM = (
    "-----BEGIN PUBLIC KEY-----\n"
    + base64.b64encode(bytes.fromhex(
        "3059301306072a8648ce3d020106082a811ccf5501822d034200"
        "0432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7"
        "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0")).decode()
    + "\n-----END PUBLIC KEY-----\n"
)

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Describe keys and build a key set
      ansible.builtin.set_fact:
        huawei_info: "{{ huawei_key | keyward.keys.public_key_info }}"
        record_info: "{{ agent_record | keyward.keys.public_key_info(comment='ci@example') }}"
        ed_info: "{{ ed_pem | keyward.keys.public_key_info(key_id='ed', expected_fingerprint=ed_pin) }}"
        key_set: "{{ [rsa_b64, agent_record, ed_pem, ec_ssh, rsa_b64, huawei_key] | keyward.keys.jwks(use='sig', alg='auto') }}"
        without_sm2: "{{ [sm2_pem, ed_pem] | keyward.keys.jwks(skip_unsupported=true) }}"
        fingerprint_only: "{{ (huawei_key | keyward.keys.public_key_info).fingerprint_sha256 }}"

    - name: Write the results
      ansible.builtin.copy:
        content: >-
          {{ {'huawei': huawei_info, 'record': record_info, 'ed': ed_info, 'jwks': key_set,
              'without_sm2': without_sm2, 'fingerprint_only': fingerprint_only} | to_json }}
        dest: "{{ out_dir }}/results.json"
        mode: "0600"

    - name: Filters inside a template file
      ansible.builtin.template:
        src: "{{ out_dir }}/authorized_keys.j2"
        dest: "{{ out_dir }}/authorized_keys"
        mode: "0600"

    - name: A broken key fails the task with the one-line error
      block:
        - name: Use a broken key
          ansible.builtin.debug:
            msg: "{{ 'not a key!' | keyward.keys.public_key_info(key_id='broken') }}"
      rescue:
        - name: Record the error
          ansible.builtin.copy:
            content: "{{ ansible_failed_result.msg }}"
            dest: "{{ out_dir }}/broken_error.txt"
            mode: "0600"

    - name: An SM2 key in a JWKS fails naming the key
      block:
        - name: Use an SM2 key
          ansible.builtin.debug:
            msg: "{{ [ed_pem, {'provider': 'huaweicloud_kms', 'key_id': 'sm2-key', 'public_key': sm2_pem}] | keyward.keys.jwks }}"
      rescue:
        - name: Record the error
          ansible.builtin.copy:
            content: "{{ ansible_failed_result.msg }}"
            dest: "{{ out_dir }}/sm2_error.txt"
            mode: "0600"

    - name: A pin that does not match fails
      block:
        - name: Pin another key
          ansible.builtin.debug:
            msg: "{{ ed_pem | keyward.keys.public_key_info(key_id='ed', expected_fingerprint='00' * 32) }}"
      rescue:
        - name: Record the error
          ansible.builtin.copy:
            content: "{{ ansible_failed_result.msg }}"
            dest: "{{ out_dir }}/pin_error.txt"
            mode: "0600"
"""

TEMPLATE = """{% for key in [ed_pem, rsa_b64, ec_ssh] %}
{{ (key | keyward.keys.public_key_info(comment='key' ~ loop.index)).openssh }}
{% endfor %}
# kids: {{ ([ed_pem, rsa_b64] | keyward.keys.jwks)['keys'] | map(attribute='kid') | join(',') }}
"""


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _thumbprint(jwk):
    if jwk["kty"] == "RSA":
        canonical = '{"e":"%s","kty":"RSA","n":"%s"}' % (jwk["e"], jwk["n"])
    elif jwk["kty"] == "EC":
        canonical = '{"crv":"%s","kty":"EC","x":"%s","y":"%s"}' % (jwk["crv"], jwk["x"], jwk["y"])
    else:
        canonical = '{"crv":"%s","kty":"OKP","x":"%s"}' % (jwk["crv"], jwk["x"])
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _spki_der_of_pkcs1(der):
    if OPENSSL:
        return subprocess.run([OPENSSL, "rsa", "-RSAPublicKey_in", "-inform", "DER", "-pubout", "-outform", "DER"],
                              input=der, capture_output=True, check=True).stdout
    key = serialization.load_der_public_key(der)  # pragma: no cover - fallback oracle
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_filters_in_a_playbook(run_playbook, tmp_path):
    rsa_key, ec_key, ed_key = tk.rsa_key(1024), tk.ec_key("secp256r1"), tk.ed25519_key()
    ed_der = tk.spki_der(ed_key)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "authorized_keys.j2").write_text(TEMPLATE)
    agent_record = {
        "provider": "obshell", "key_id": "10.0.0.1:2886", "public_key": tk.spki_pem(rsa_key),
        "public_key_raw": tk.pkcs1_b64(rsa_key), "key_type": "RSA", "key_size": 1024, "curve": None,
        "fingerprint_sha256": hashlib.sha256(tk.spki_der(rsa_key)).hexdigest(), "pin_sha256": "",
        "metadata": {"ip": "10.0.0.1", "port": 2886, "trace_id": "672cc42c132a4b90"},
    }
    extra_vars = {
        "out_dir": str(out_dir),
        "huawei_key": HUAWEI_DOC_KEY,
        "rsa_b64": tk.pkcs1_b64(rsa_key),
        "agent_record": agent_record,
        "ed_pem": tk.spki_pem(ed_key),
        "ed_pin": "sha256//" + base64.b64encode(hashlib.sha256(ed_der).digest()).decode(),
        "ec_ssh": ec_key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode(),
        "sm2_pem": SM2_PEM,
    }
    result = run_playbook(PLAYBOOK, extra_vars=extra_vars, callback="default")  # results are read from files
    assert result.rc == 0, result

    results = json.loads((out_dir / "results.json").read_text())

    # Huawei's documentation key (PKCS#1 under PUBLIC KEY, CRLF), fingerprint from openssl.
    body = "".join(line for line in HUAWEI_DOC_KEY.split("\r\n") if line and not line.startswith("-----"))
    huawei_spki = _spki_der_of_pkcs1(base64.b64decode(body))
    huawei = results["huawei"]
    assert (huawei["key_type"], huawei["key_size"], huawei["curve"]) == ("RSA", 4096, None)
    assert huawei["fingerprint_sha256"] == hashlib.sha256(huawei_spki).hexdigest() == results["fingerprint_only"]
    assert huawei["public_key"].endswith("-----END PUBLIC KEY-----\n") and "\r" not in huawei["public_key"]
    assert "provider" not in huawei and "key_id" not in huawei

    record = results["record"]
    assert (record["provider"], record["key_id"], record["metadata"], record["public_key_raw"]) == (
        "obshell", "10.0.0.1:2886", agent_record["metadata"], agent_record["public_key_raw"])
    assert record["openssh"].startswith("ssh-rsa ") and record["openssh"].endswith(" ci@example")
    assert record["jwk"]["kid"] == _thumbprint(record["jwk"])

    ed = results["ed"]
    assert ed["key_id"] == "ed" and ed["key_type"] == "ED25519"
    assert ed["jwk"]["x"] == _b64url(ed_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    # JWKS: the RSA key appears once although listed three times (bare base64, record, again).
    keys = results["jwks"]["keys"]
    assert [(k["kty"], k.get("crv"), k["alg"], k["use"]) for k in keys] == [
        ("RSA", None, "RS256", "sig"), ("OKP", "Ed25519", "EdDSA", "sig"), ("EC", "P-256", "ES256", "sig"), ("RSA", None, "RS256", "sig")]
    assert all(k["kid"] == _thumbprint(k) for k in keys)
    assert keys[0]["kid"] == record["jwk"]["kid"] and keys[3]["kid"] == huawei["jwk"]["kid"]
    assert [k["kty"] for k in results["without_sm2"]["keys"]] == ["OKP"]

    # The template: one authorized_keys line per key, which ssh-keygen accepts.
    text = (out_dir / "authorized_keys").read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert [line.split()[0] for line in lines] == ["ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256"]
    assert [line.split()[2] for line in lines] == ["key1", "key2", "key3"]
    assert "# kids: %s,%s" % (ed["jwk"]["kid"], keys[0]["kid"]) in text
    if SSH_KEYGEN:
        listing = subprocess.run([SSH_KEYGEN, "-l", "-f", str(out_dir / "authorized_keys")], capture_output=True, text=True, check=True).stdout
        assert [line.split()[-1] for line in listing.splitlines()] == ["(ED25519)", "(RSA)", "(ECDSA)"]

    # Failures surface as the filter's one-line message.
    broken = (out_dir / "broken_error.txt").read_text()
    assert "keyward.keys: key broken: the public key is not usable: it is neither PEM, OpenSSH nor base64-encoded DER" in broken
    sm2 = (out_dir / "sm2_error.txt").read_text()
    assert "huaweicloud_kms: key sm2-key: JWK has no form for SM2 keys" in sm2 and "skip_unsupported" in sm2
    pin = (out_dir / "pin_error.txt").read_text()
    assert "keyward.keys: key ed: fingerprint mismatch: the key has sha256 %s" % hashlib.sha256(ed_der).hexdigest() in pin
