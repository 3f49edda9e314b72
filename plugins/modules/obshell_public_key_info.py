#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: obshell_public_key_info
short_description: Public key of an OceanBase obshell agent
version_added: 0.1.0
author:
  - keyward.keys developers (@keyward)
description:
  - Fetches the RSA public key of an OceanBase obshell agent from its unauthenticated C(GET /api/v1/secret) API and
    returns it as a key record (SubjectPublicKeyInfo PEM, size, fingerprints, what the agent reported).
  - By default it asks the agent on the managed node itself (V(127.0.0.1)), so the key is read over loopback
    and cannot be swapped on the network.
  - Optionally sends a hybrid-encrypted request that only the holder of the served key's private key can answer
    (O(verify=key)), with the password too (O(verify=password)). Without a pin this shows only that whoever answered
    holds the key it served, not that the key is the agent's; with O(expected_fingerprint) (or HTTPS with
    O(validate_certs=true)) it shows that the agent holds the key you trust.
  - O(verify=password) sends a password, so it needs O(expected_fingerprint) or HTTPS with O(validate_certs=true);
    without either it fails before any request (see O(allow_unpinned_password)).
  - Keys under 1024 bits (agents built before obshell 4.4.1.1) are returned with a warning unless
    O(min_key_size) refuses them.
options:
  host:
    description:
      - Host name or IP address of the agent, as seen from the managed node. C(host:port) and C([ipv6]:port)
        are accepted too; a port given here wins over O(port).
    type: str
    default: 127.0.0.1
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.obshell
  - keyward.keys.obshell.verify
  - keyward.keys.attributes.INFO_MODULE
  - keyward.keys.attributes.ACTION_GROUP_OBSHELL
requirements:
  - requests
  - cryptography
notes:
  - The module runs on the managed node, which needs the Python libraries C(requests) and C(cryptography).
seealso:
  - plugin: keyward.keys.obshell_public_key
    plugin_type: lookup
  - module: keyward.keys.obshell_api
"""

EXAMPLES = r"""
- name: Read the local agent's key over loopback (nothing on the network can swap it there)
  keyward.keys.obshell_public_key_info:
  register: agent

- name: Show its fingerprint
  ansible.builtin.debug:
    msg: "{{ agent.public_keys[0].fingerprint_sha256 }}"

- name: Prove the agent holds the pinned key and that the root password is right
  keyward.keys.obshell_public_key_info:
    port: 2886
    verify: password
    password: "{{ vault_ob_root_password }}"
    expected_fingerprint: "{{ agent.public_keys[0].fingerprint_sha256 }}"
    min_key_size: 1024
  register: agent

- name: An HTTPS agent on another address, pinned
  keyward.keys.obshell_public_key_info:
    host: "[fd00::3]:2886"
    scheme: https
    ca_path: /etc/pki/ob-ca.pem
    expected_fingerprint: "{{ known_fingerprints['fd00::3'] }}"

- name: Defaults for all obshell modules of a play
  module_defaults:
    group/keyward.keys.obshell:
      port: 2886
      verify: key
  block:
    - name: Key with a key check
      keyward.keys.obshell_public_key_info:
"""

RETURN = r"""
public_keys:
  description: The agent's key record (a list of one, like every C(*_info) module of this collection).
  returned: success
  type: list
  elements: dict
  contains:
    provider:
      description: Always C(obshell).
      type: str
      sample: obshell
    key_id:
      description: The agent as C(host:port) (IPv6 in brackets), as addressed by the module.
      type: str
      sample: 127.0.0.1:2886
    public_key:
      description: SubjectPublicKeyInfo PEM (C(\n) line endings, trailing newline).
      type: str
      sample: "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC...\n-----END PUBLIC KEY-----\n"
    public_key_raw:
      description: Exactly the string the agent returned (base64 of PKCS#1 DER).
      type: str
      sample: MIGJAoGBAL...
    key_type:
      description: Always C(RSA) for obshell.
      type: str
      sample: RSA
    key_size:
      description: RSA modulus size in bits.
      type: int
      sample: 1024
    curve:
      description: Always null for RSA keys.
      type: str
      sample: null
    fingerprint_sha256:
      description: Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
      type: str
      sample: 9a1c0f6b2d6e4c0d8f3b3a6f1e2d4c5b6a7980716253443526170819a0b1c2d3
    pin_sha256:
      description: C(sha256//) and the base64 of the same digest.
      type: str
      sample: sha256//mhwPay1uTA2POzpvHi1MW2p5gHFiU0Q1JhcIGaCxwtM=
    metadata:
      description: What the agent reported with the key.
      type: dict
      contains:
        ip:
          description: The agent's own IP address, as reported in C(/api/v1/secret).
          type: str
          sample: 10.0.0.1
        port:
          description: The agent's own port, as reported.
          type: int
          sample: 2886
        trace_id:
          description: Trace id of the C(/api/v1/secret) answer.
          type: str
          sample: 672cc42c132a4b90
verified:
  description: The check that passed (O(verify)).
  returned: success
  type: str
  sample: key
agent:
  description:
    - The agent's C(/api/v1/info) data (identity, version, ip, port, security, ...), as the encrypted key check
      returned it.
  returned: when O(verify) is V(key) or V(password)
  type: dict
  sample: {"identity": "CLUSTER AGENT", "version": "4.5.0.0", "ip": "10.0.0.1", "port": 2886, "security": false}
"""

from ansible_collections.keyward.keys.plugins.module_utils import _module

from ansible_collections.keyward.keys.plugins.module_utils.providers import _obshell, _obshell_rules
from ansible_collections.keyward.keys.plugins.module_utils._endpoints import format_host_port, parse_host_port


def run(module):
    params = module.params
    host, port = parse_host_port(params["host"], params["port"], option="host")
    agents = _obshell.ObshellAgents(params, _module.transport(module, _obshell.PROVIDER), warn=module.warn)
    client = agents.agent("%s://%s" % (params["scheme"], format_host_port(host, port)))
    result = {"verified": params["verify"], "changed": False}
    if params["verify"] == "key":
        result["agent"] = client.verify_key()
    elif params["verify"] == "password":
        result["agent"], _ob_info = client.verify_password()
    record = client.record  # fetched, pinned and size-checked (again, if the key changed meanwhile)
    _obshell_rules.check_record(record, params, module.warn)
    result["public_keys"] = [record]
    return result


def main():
    module = _module.provider_module(_obshell.PROVIDER, extra=dict(host=dict(type="str", default="127.0.0.1")))
    _module.run(module, lambda: run(module))


if __name__ == "__main__":
    main()
