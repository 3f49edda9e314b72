# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: obshell_public_key
short_description: Public keys of OceanBase obshell agents
version_added: 0.1.0
author:
  - keyward.keys developers (@keyward)
description:
  - Fetches the RSA public key of each OceanBase obshell agent named in the terms from its unauthenticated
    C(GET /api/v1/secret) API. Clients use that key for obshell's hybrid encryption (C(X-OCS-Header)).
  - The agent answers with bare base64 of a PKCS#1 key; the lookup returns it as SubjectPublicKeyInfo PEM,
    as the whole key record, or exactly as the agent sent it (O(return_format)).
  - Keys under 1024 bits (agents built before obshell 4.4.1.1) are accepted with a warning unless
    O(min_key_size) refuses them.
  - Optionally sends an encrypted request that only the holder of the served key's private key can answer
    (O(verify=key)), with the password too (O(verify=password)). Without a pin this shows only that whoever answered
    holds the key it served, not that the key is the agent's; over plain HTTP a man in the middle can serve its own
    key and relay. Pin the key (O(expected_fingerprint)) or use HTTPS with O(validate_certs=true) for that.
  - A password is only ever encrypted to a trusted key. O(verify=password) needs O(expected_fingerprint) or HTTPS
    with O(validate_certs=true), else it fails before its first encrypted request (see O(allow_unpinned_password)).
  - Keys are fetched once per C(ansible-playbook) run and agent (O(cache)), however many hosts evaluate the lookup.
    Pins, O(min_key_size) and O(verify) are applied on every evaluation.
requirements:
  - requests (Python library, on the controller)
  - cryptography (Python library, on the controller)
options:
  _terms:
    description:
      - Agents as C(host), C(host:port), C([ipv6]:port) or a bare IPv6 address. Terms without a port use O(port).
      - A URL such as C(https://10.0.0.1:2886) also sets the scheme for that term.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.connection.plugins
  - keyward.keys.connection.lookup
  - keyward.keys.connection.cache
  - keyward.keys.obshell
  - keyward.keys.obshell.verify
  - keyward.keys.obshell.plugins
notes:
  - Every option can also come from a variable C(keyward_obshell_<option>) (for example C(keyward_obshell_password)
    as an AWX credential's extra var), then from the environment variables listed with it.
  - The cache holds public data only. Entries are keyed by the term and every option that is not a secret
    (scheme, port, TLS settings, ...); passwords are never part of it.
  - O(verify=key) and O(verify=password) cost one or two requests per evaluation (they are not cached), because
    they must prove something about the agent at the time of the task.
seealso:
  - module: keyward.keys.obshell_public_key_info
  - module: keyward.keys.obshell_api
  - name: obshell hybrid encryption for API operations
    description: How obshell clients encrypt requests with the agent's public key.
    link: https://en.oceanbase.com/docs/common-oceanbase-database-10000000001314068
"""

EXAMPLES = r"""
- name: Key of the agent on this host's address, as PEM
  ansible.builtin.debug:
    msg: "{{ lookup('keyward.keys.obshell_public_key', ansible_host) }}"

- name: Several agents, one PEM each, in a template variable
  ansible.builtin.set_fact:
    agent_keys: "{{ query('keyward.keys.obshell_public_key', '10.0.0.1', '10.0.0.2:2886', '[fd00::3]:2886') }}"

- name: The whole key record (fingerprints, size, the agent's ip and port)
  ansible.builtin.set_fact:
    agent_key: "{{ lookup('keyward.keys.obshell_public_key', '10.0.0.1', return_format='dict') }}"

- name: Exactly what the agent served (base64 of PKCS#1 DER), for obshell's own SDKs
  ansible.builtin.copy:
    dest: /etc/obshell/keys/10.0.0.1_2886.b64
    content: "{{ lookup('keyward.keys.obshell_public_key', '10.0.0.1', return_format='raw') }}"

- name: Refuse anything but the key we recorded earlier (hex or sha256// pins)
  ansible.builtin.debug:
    msg: >-
      {{ lookup('keyward.keys.obshell_public_key', '10.0.0.1:2886',
                expected_fingerprint='sha256//kB0Ve6Yq6uxq7Bx5+o5A3mR8hfdTlJ1pY3MrkGQqtS8=') }}

- name: Refuse 512-bit keys of old agents, and prove that the pinned key's holder answers
  ansible.builtin.debug:
    msg: >-
      {{ lookup('keyward.keys.obshell_public_key', inventory_hostname, min_key_size=1024, verify='key',
                expected_fingerprint=known_fingerprints[inventory_hostname]) }}

- name: HTTPS agents signed by a private CA
  ansible.builtin.debug:
    msg: "{{ lookup('keyward.keys.obshell_public_key', 'https://ob1.example.com:2886', ca_path='/etc/pki/ob-ca.pem') }}"

# Options from variables, for example set by an AWX credential or in group_vars. The password is
# only sent encrypted to the pinned key (here pins recorded earlier with keyward.keys.known_keys):
#   keyward_obshell_port: 2886
#   keyward_obshell_password: "{{ vault_ob_root_password }}"
#   keyward_obshell_verify: password
#   keyward_obshell_expected_fingerprint: "{{ known_fingerprints[inventory_hostname] }}"
- name: Key, key and root password proven
  ansible.builtin.debug:
    msg: "{{ lookup('keyward.keys.obshell_public_key', ansible_host) }}"
"""

RETURN = r"""
_raw:
  description:
    - One entry per term.
    - With O(return_format=pem), the key as SubjectPublicKeyInfo PEM (C(\n) line endings, trailing newline).
    - With O(return_format=raw), the key exactly as the agent returned it in C(data.public_key) (base64 of PKCS#1 DER).
    - With O(return_format=dict), the key record described below.
  type: list
  elements: raw
  contains:
    provider:
      description: Always C(obshell).
      type: str
      sample: obshell
    key_id:
      description: The agent as C(host:port) (IPv6 in brackets), as addressed by the term.
      type: str
      sample: 10.0.0.1:2886
    public_key:
      description: SubjectPublicKeyInfo PEM.
      type: str
      sample: "-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC...\n-----END PUBLIC KEY-----\n"
    public_key_raw:
      description: Exactly the string the agent returned.
      type: str
      sample: MIGJAoGBAL...
    key_type:
      description: Always C(RSA) for obshell.
      type: str
      sample: RSA
    key_size:
      description: RSA modulus size in bits (1024 on current agents, 512 on old ones).
      type: int
      sample: 1024
    curve:
      description: Always null for RSA keys.
      type: str
      sample: null
    fingerprint_sha256:
      description: Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER (C(openssl pkey -pubin -outform DER | sha256sum)).
      type: str
      sample: 9a1c0f6b2d6e4c0d8f3b3a6f1e2d4c5b6a7980716253443526170819a0b1c2d3
    pin_sha256:
      description: C(sha256//) and the base64 of the same digest (curl C(--pinnedpubkey) form).
      type: str
      sample: sha256//mhwPay1uTA2POzpvHi1MW2p5gHFiU0Q1JhcIGaCxwtM=
    metadata:
      description: What the agent reported with the key.
      type: dict
      contains:
        ip:
          description: The agent's own IP address, as it reports it in C(/api/v1/secret).
          type: str
          sample: 10.0.0.1
        port:
          description: The agent's own port, as it reports it.
          type: int
          sample: 2886
        trace_id:
          description: The trace id of the C(/api/v1/secret) answer (also in the agent's log).
          type: str
          sample: 672cc42c132a4b90
"""

from ansible.utils.display import Display

from ansible_collections.keyward.keys.plugins.plugin_utils._lookup import KeywardLookupBase

display = Display()


class LookupModule(KeywardLookupBase):
    PROVIDER = "obshell"
    # Agent terms have one canonical spelling, and min_key_size and the weak-key warning apply to
    # cached records too.
    CACHE_RULES = "providers._obshell_rules"

    def after_records(self, pairs, options):
        """verify=key|password: an encrypted request to each agent, with the key it served."""
        verify = options.get("verify") or "none"
        if verify == "none":
            return
        from ansible_collections.keyward.keys.plugins.module_utils.providers import _obshell
        agents = _obshell.ObshellAgents(options, _obshell.PROVIDER.transport(options, display.warning, display.vvv),
                                        warn=display.warning)
        for term, record in pairs:
            client = agents.agent(term)
            client.use_record(record)
            if verify == "key":
                client.verify_key()
            else:
                client.verify_password()
            if client.record is not record:
                # The agent's key changed since it was fetched (and the new one passed the pins):
                # return the key that works.
                record.clear()
                record.update(client.record)
