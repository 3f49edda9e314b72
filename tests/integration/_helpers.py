"""Helpers shared by the integration tests.

ansible-core has no JSON stdout callback of its own, so plays end with save_task(), which writes
the registered results of each host to results-<host>.json in out_dir, and tests read them back
with saved().
"""

from __future__ import annotations

import json
import socket


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
