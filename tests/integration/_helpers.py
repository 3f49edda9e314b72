"""Helpers shared by the integration tests.

ansible-core has no JSON stdout callback of its own, so plays end with save_task(), which writes
the registered results of each host to results-<host>.json in out_dir, and tests read them back
with saved().
"""

from __future__ import annotations

import json
import re
import socket


# The trust_store role as users apply it; ignore_errors (inherited by the role's tasks) lets
# post_tasks record each host's trust_store_result, failures included, as <host>.json in
# results_dir, independent of any stdout callback.
TRUST_STORE_PLAY = """
- hosts: all
  gather_facts: false
  roles:
    - role: keyward.keys.trust_store
      ignore_errors: true
  post_tasks:
    - name: Record the result
      ansible.builtin.copy:
        content: "{{ trust_store_result | to_json }}"
        dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
      check_mode: false
      diff: false
"""


def save_task(names):
    """The last task of a play: write the registered results to results-<host>.json in out_dir."""
    return """
    - name: save results
      ansible.builtin.copy:
        content: "{{ {%s} | to_json }}"
        dest: "{{ out_dir }}/results-{{ inventory_hostname }}.json"
        mode: "0600"
""" % ", ".join("'%s': %s" % (name, name) for name in names)


def saved(directory, result, host="localhost"):
    """The results save_task() wrote for host (the playbook result is shown if there are none)."""
    path = directory / ("results-%s.json" % host)
    assert path.exists(), result
    return json.loads(path.read_text())


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def results_by_host(result, out_dir):
    """{host: {register name: result}} from the results-<host>.json files save_task() wrote."""
    assert result.rc == 0, result
    found = {}
    for path in out_dir.glob("results-*.json"):
        found[path.stem[len("results-"):]] = json.loads(path.read_text())
    assert found, result
    return found


def one_line_error(result, provider, status, code, key=None, request_id=r"[^\s,)]+", at_end=False):
    """The task failed with the collection's one-line error: provider, key, message, then (HTTP status,
    provider code, request id); no traceback. Returns the message."""
    assert result.get("failed"), result
    msg = result["msg"]
    head = "%s: key %s: " % (provider, re.escape(key)) if key else "%s: " % provider
    facts = r"\(HTTP %d, %srequest id %s\)" % (status, "code %s, " % re.escape(code) if code else "", request_id)
    assert re.search(head + r"[^\n]*" + facts + ("$" if at_end else ""), msg), msg
    assert "Traceback" not in json.dumps(result)
    return msg
