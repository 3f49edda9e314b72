#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: obshell_api
short_description: Send one hybrid-encrypted request to an OceanBase obshell agent
version_added: 0.1.0
author:
  - keyward.keys developers (@keyward)
description:
  - Sends one request to the obshell agent API the way obshell's own clients do (hybrid encryption). A random
    AES-128 key encrypts the JSON body, and a header with the password, an expiry time, the exact request path
    and the AES key, RSA-encrypted with the agent's public key, travels as C(X-OCS-Header)
    (root@sys password) or C(X-OCS-Agent-Header) (agent password).
  - The agent's key comes from C(GET /api/v1/secret), or from O(public_key) when you pin it. When the agent cannot
    decrypt the header with a fetched key, the key is fetched again once (it may have changed) and the request
    sent once more; with a pinned key that is an error instead.
  - The password (O(password) or O(agent_password)) is only ever encrypted to a key you trust, so the module
    needs O(public_key), O(expected_fingerprint), or O(scheme=https) with O(validate_certs=true). Without one it
    fails before anything is sent, check mode included, unless O(allow_unpinned_password=true).
  - Fails when the agent answers C(successful=false), with the agent's C(errCode), message and trace id.
options:
  host:
    description:
      - Host name or IP address of the agent, as seen from the managed node. C(host:port) and C([ipv6]:port)
        are accepted too; a port given here wins over O(port).
    type: str
    default: 127.0.0.1
  method:
    description:
      - HTTP method.
      - V(GET) requests report RV(ignore:changed=false); the other methods report RV(ignore:changed=true) when they
        succeed (use C(changed_when) to refine that).
    type: str
    default: GET
    choices: [GET, POST, PUT, PATCH, DELETE]
  path:
    description:
      - Request path with any query string, for example C(/api/v1/ob/info) or C(/api/v1/tenant/t1/variables?filter=ob_%).
      - It is signed exactly as sent; write percent-encoding the way the agent should see it.
    type: str
    required: true
  body:
    description:
      - Request body. A dict or list is sent as JSON, a string as it is. It is AES-encrypted before it is sent.
      - Values under keys that name a secret (C(password), C(passwd), C(pwd), C(secret), C(token), C(private_key),
        C(access_key) and names containing them, in any case and at any depth, for example C(root_password) or
        C(rootPwd)) are masked in the task's output (its invocation and its results) like C(no_log) options, also
        when the body is given as a JSON string. Set C(no_log=true) on the task for secrets under other names.
    type: raw
  public_key:
    description:
      - The agent's public key, pinned, in any accepted shape (PEM, bare base64 as C(/api/v1/secret) serves it, or a
        key record from M(keyward.keys.obshell_public_key_info) or the lookup). No C(/api/v1/secret) request is made then.
      - It is checked against O(expected_fingerprint) and O(min_key_size) before any request.
    type: raw
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.obshell
  - keyward.keys.attributes.ACTION_GROUP_OBSHELL
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: partial
    details: V(GET) requests run normally in check mode; requests with any other method are not sent and the task
      reports skipped.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing) in diff mode.
    support: none
requirements:
  - requests
  - cryptography
notes:
  - Requests that change something (every method but GET) are retried only when the agent certainly did not act on
    them (the connection was never made, or HTTP 429 or 503), so a write is never applied twice. GET requests are
    retried after any connection error and HTTP 429, 500, 502, 503 and 504 answers.
  - The module runs on the managed node, which needs the Python libraries C(requests) and C(cryptography).
seealso:
  - module: keyward.keys.obshell_public_key_info
  - plugin: keyward.keys.obshell_public_key
    plugin_type: lookup
  - name: obshell API reference
    description: The agent's API operations.
    link: https://en.oceanbase.com/docs/common-oceanbase-database-10000000001783590
"""

EXAMPLES = r"""
- name: Cluster information from the local agent (pinned key, password and path are all checked)
  keyward.keys.obshell_api:
    path: /api/v1/ob/info
    password: "{{ vault_ob_root_password }}"
    # recorded earlier, for example by keyward.keys.known_keys or the obshell_hybrid_encryption role
    expected_fingerprint: "{{ known_fingerprints[inventory_hostname] }}"
  register: ob

- name: Show the cluster name
  ansible.builtin.debug:
    msg: "{{ ob.data.obcluster_info.name }}"

- name: Set the agent password (root@sys password proves the right to do so)
  keyward.keys.obshell_api:
    method: POST
    path: /api/v1/agent/password
    body:
      password: "{{ vault_obshell_agent_password }}"
    password: "{{ vault_ob_root_password }}"
    expected_fingerprint: "{{ known_fingerprints[inventory_hostname] }}"

- name: Use a key recorded earlier instead of asking /api/v1/secret
  keyward.keys.obshell_api:
    host: 10.0.0.1
    path: /api/v1/agent/host-info
    agent_password: "{{ vault_obshell_agent_password }}"
    public_key: "{{ lookup('ansible.builtin.file', 'keys/10.0.0.1_2886.pem') }}"
    expected_fingerprint: "{{ pins['10.0.0.1:2886'] }}"

- name: An HTTPS agent (a verified certificate makes its key trusted without a pin)
  keyward.keys.obshell_api:
    host: ob1.example.com
    scheme: https
    ca_path: /etc/pki/ob-ca.pem
    path: /api/v1/agent/host-info
    password: "{{ vault_ob_root_password }}"
"""

RETURN = r"""
status:
  description: HTTP status of the answer.
  returned: when the agent answered
  type: int
  sample: 200
json:
  description: The whole response envelope (C(successful), C(timestamp), C(duration), C(status), C(traceId), C(data) or C(error)).
  returned: when the agent answered with an envelope (on failure too)
  type: dict
  sample: {"successful": true, "timestamp": "2024-01-09T17:29:04.826345518+08:00", "duration": 3, "status": 200,
           "traceId": "672cc42c132a4b90", "data": {"identity": "CLUSTER AGENT"}}
data:
  description: The envelope's C(data); null when the operation returns none.
  returned: success
  type: raw
  sample: {"agent_info": [], "obcluster_info": {"name": "obcluster"}}
key:
  description: The key record the request was encrypted with (fetched or pinned).
  returned: success, when the request was sent
  type: dict
  sample: {"provider": "obshell", "key_id": "127.0.0.1:2886", "key_size": 1024, "fingerprint_sha256": "9a1c..."}
"""

import json
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyward.keys.plugins.module_utils import _module

from ansible_collections.keyward.keys.plugins.module_utils.providers import _obshell, _obshell_rules
from ansible_collections.keyward.keys.plugins.module_utils._endpoints import parse_host_port
from ansible_collections.keyward.keys.plugins.module_utils._options import CONNECTION, argspec


# Names of body fields whose values are masked, in any case and at any depth (rootPwd, PASSWD, ...).
_SECRET_KEY = re.compile(r"pass(word|wd)?|pwd|secret|token|private_?key|access_?key", re.I)


def secret_values(value, under_secret=False):
    """Leaf values of a body that sit under a key naming a secret (walks dicts and lists)."""
    found = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found |= secret_values(item, under_secret or bool(_SECRET_KEY.search(str(key))))
    elif isinstance(value, list):
        for item in value:
            found |= secret_values(item, under_secret)
    elif under_secret and value not in (None, "") and not isinstance(value, bool):
        found.add(str(value))
    return found


def mask_body_secrets(module, body):
    """Treat the body's secret-looking values like no_log values (masked in every output)."""
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return
    module.no_log_values.update(secret_values(body))


class BodyMaskingModule(AnsibleModule):
    """Adds the body's secret values to no_log_values before AnsibleModule logs its invocation
    (to syslog or the journal, at the end of __init__), not only before it returns."""

    def _log_invocation(self):
        mask_body_secrets(self, self.params.get("body"))
        super(BodyMaskingModule, self)._log_invocation()


def envelope_of(exc):
    """On failure, also return the agent's answer (HTTP status and whole envelope) when there is one."""
    if getattr(exc, "body", None) is None:
        return {}
    return {"status": exc.status, "json": exc.body}


def run(module):
    params = module.params
    method = params["method"].upper()
    host, port = parse_host_port(params["host"], params["port"], option="host")
    client = _obshell.ObshellClient.from_options(host, port, params, _module.transport(module, _obshell.PROVIDER),
                                                 warn=module.warn, public_key=params.get("public_key"))
    if client.password or client.agent_password:
        # Decide before anything is sent, check mode included.
        client.require_trusted_key()
    if module.check_mode and method != "GET":
        module.exit_json(changed=False, skipped=True,
                         msg="obshell: %s %s was not sent in check mode" % (method, _obshell._path_only(params["path"])))
    status, envelope = client.request(method, params["path"], body=params.get("body"), credentials=True)
    record = client.record
    warning = _obshell_rules.weak_key_warning(record)
    if warning:
        module.warn(warning)
    return {
        "changed": method != "GET",
        "status": status,
        "json": envelope,
        "data": envelope.get("data"),
        "key": record,
    }


def main():
    spec = argspec(
        CONNECTION, _obshell.OPTIONS,
        host=dict(type="str", default="127.0.0.1"),
        method=dict(type="str", default="GET", choices=list(_obshell.METHODS)),
        path=dict(type="str", required=True),
        body=dict(type="raw"),
        public_key=dict(type="raw", no_log=False),
    )
    module = _module.new_module(spec, module_class=BodyMaskingModule)
    mask_body_secrets(module, module.params.get("body"))  # also when invocation logging is off (no_log)
    _module.run(module, lambda: run(module), on_error=envelope_of)


if __name__ == "__main__":
    main()
