# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Options of every obshell lookup and module. Kept in step with OPTIONS in
    # plugins/module_utils/providers/_obshell.py (types, defaults, choices, env names, no_log).
    DOCUMENTATION = r"""
options:
  port:
    description:
      - TCP port of the obshell agent.
      - In the lookup this is the port of terms that do not name one.
    type: int
    default: 2886
  scheme:
    description:
      - V(http) (what obshell serves by default) or V(https) (an agent that found a certificate and key in
        its C(ca/) directory).
      - With V(https) the agent's certificate is verified (O(validate_certs), O(ca_path)).
    type: str
    default: http
    choices: [http, https]
  password:
    description:
      - The password of C(root@sys) of the OceanBase cluster the agent manages. It travels RSA-encrypted
        inside the C(X-OCS-Header) request header, never in clear text, and never appears in any message.
      - Not needed to fetch a key; only for encrypted requests that must prove the password.
      - It is only ever encrypted to a key you trust. A call that sends it needs O(expected_fingerprint), a
        pinned C(public_key), or O(scheme=https) with O(validate_certs=true), else it fails before its first
        encrypted request (unless O(allow_unpinned_password=true)). The same holds for O(agent_password).
      - In modules, the environment variable E(OB_ROOT_PASSWORD) of the host is used when this is not set
        (the variable obd passes to obshell).
    type: str
  agent_password:
    description:
      - The obshell agent password (set with C(POST /api/v1/agent/password), obshell 4.2.6 and later).
        Requests then carry C(X-OCS-Agent-Header) instead of C(X-OCS-Header).
      - When both O(password) and O(agent_password) are set, the agent password is used if the agent reports
        that one is set (C(security) in C(/api/v1/info)), else the root password; this is what the official
        SDK does.
      - In modules, the environment variable E(OBSHELL_AGENT_PASSWORD) of the host is used when this is not set.
    type: str
  min_key_size:
    description:
      - Refuse agent keys smaller than this many bits.
      - Agents built before obshell 4.4.1.1 (release 4.4.2.0) serve 512-bit RSA keys; current ones serve
        1024-bit keys. Keys under 1024 bits are accepted by default with a warning; set V(1024) to refuse them.
    type: int
    default: 512
  allow_unpinned_password:
    description:
      - Send O(password) or O(agent_password) encrypted to a key that is neither pinned (O(expected_fingerprint),
        a pinned C(public_key)) nor served over HTTPS with O(validate_certs=true).
      - B(Unsafe over plain HTTP), which is obshell's default. Anyone on the path can answer C(/api/v1/secret) with a
        key of their own, read the password, and relay the request to the real agent, so that every check
        succeeds. Without this option such a call fails before its first encrypted request.
      - Pin the agent's key instead, for example with the M(keyward.keys.known_keys) module or the
        C(keyward.keys.obshell_hybrid_encryption) role.
    type: bool
    default: false
"""

    # Environment and variable sources for lookups (Ansible's config manager reads them on the
    # controller). Every option a lookup takes has a keyward_obshell_<option> variable.
    PLUGINS = r"""
options:
  port:
    vars:
      - name: keyward_obshell_port
  scheme:
    vars:
      - name: keyward_obshell_scheme
  password:
    env:
      - name: OB_ROOT_PASSWORD
    vars:
      - name: keyward_obshell_password
  agent_password:
    env:
      - name: OBSHELL_AGENT_PASSWORD
    vars:
      - name: keyward_obshell_agent_password
  min_key_size:
    vars:
      - name: keyward_obshell_min_key_size
  allow_unpinned_password:
    vars:
      - name: keyward_obshell_allow_unpinned_password
  verify:
    vars:
      - name: keyward_obshell_verify
  timeout:
    vars:
      - name: keyward_obshell_timeout
  retries:
    vars:
      - name: keyward_obshell_retries
  validate_certs:
    vars:
      - name: keyward_obshell_validate_certs
  ca_path:
    vars:
      - name: keyward_obshell_ca_path
  expected_fingerprint:
    vars:
      - name: keyward_obshell_expected_fingerprint
  return_format:
    vars:
      - name: keyward_obshell_return_format
  cache:
    vars:
      - name: keyward_obshell_cache
"""

    # The proof of possession after a fetch (lookup obshell_public_key, module obshell_public_key_info).
    VERIFY = r"""
options:
  verify:
    description:
      - V(none) only fetches the key from C(GET /api/v1/secret).
      - V(key) also sends a hybrid-encrypted C(GET /api/v1/info) with an empty password, which is answered only
        by whoever can decrypt the header with the private key of the key that was served. It needs no password.
      - Without a pin, V(key) shows only that the agent that answered holds the key it served. It does B(not)
        show that the key was not swapped; over plain HTTP a man in the middle serves its own key, decrypts the
        check, re-encrypts it to the real agent's key and relays it, and the check passes. Only a pin
        (O(expected_fingerprint), for example recorded with M(keyward.keys.known_keys)) or HTTPS with
        O(validate_certs=true) ties the key to the agent; the check then shows that this agent holds it.
      - V(password) additionally sends an encrypted C(GET /api/v1/ob/info) with O(password) or O(agent_password),
        proving key and password. Because it sends a password it needs a trusted key (see
        O(allow_unpinned_password)); without one it fails before its first encrypted request. An agent that is
        not in a cluster (identity C(SINGLE)) and has no agent password accepts any password; a warning says so.
      - When the agent cannot decrypt the header, its key is fetched again once (it may have changed) and the
        request retried once.
    type: str
    default: none
    choices: [none, key, password]
"""
