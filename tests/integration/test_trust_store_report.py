# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter keyward.keys.trust_store_drift and playbook keyward.keys.trust_store_report over real
trust stores: the role keyward.keys.trust_store writes them on several local hosts (each its own
directory), the test then edits one file by hand, and keyward.keys.trust_store_info reads them back.

Hosts (one fleet, written once per module):
  web1  desired keys, plus an old key it retires (retire_after 1h): in sync, one retiring key
  web2  desired keys, then one file edited by hand: drifted (tampered)
  web3  only one desired key: drifted (missing)
  web4  desired keys plus another: drifted (extra)
  web5  nothing written: absent (no store)
  down  an ssh host on a closed port: absent (unreachable)
  odd   a relative directory, which trust_store_info refuses: absent (failed), the play goes on
The HTML report is read back with html.parser; fingerprints are computed here with cryptography.
"""

from __future__ import annotations

import hashlib
import json
import sys
from html.parser import HTMLParser

import pytest
from cryptography.hazmat.primitives import serialization

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as K
from ansible_collections.keyward.keys.tests.integration._helpers import closed_port

A = K.rsa_key(2048, slot=60)
B = K.ec_key("secp256r1", slot=60)
C = K.ed25519_key(slot=60)
OLD = K.rsa_key(2048, slot=61)
WRITTEN = ("web1", "web2", "web3", "web4")
HOSTS = WRITTEN + ("web5", "odd", "down")


def pem(key):
    return K.spki_pem(key)


def fp(key):
    der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def named(name, key):
    return {"name": name, "public_key": pem(key)}


DESIRED = [named("alpha", A), named("beta", B)]
FIRST_KEYS = {"web1": DESIRED + [named("old", OLD)], "web2": DESIRED, "web3": DESIRED[:1], "web4": DESIRED + [named("gamma", C)]}
SECOND_KEYS = {"web1": DESIRED, "web2": DESIRED, "web3": DESIRED[:1], "web4": DESIRED + [named("gamma", C)]}

WRITE = """
- name: First run
  hosts: written
  gather_facts: false
  roles:
    - role: keyward.keys.trust_store
      vars:
        trust_store_keys: "{{ first_keys }}"
- name: Second run (web1 stops listing old)
  hosts: written
  gather_facts: false
  roles:
    - role: keyward.keys.trust_store
      vars:
        trust_store_keys: "{{ second_keys }}"
"""

# The collection's playbook, by its FQCN, as `ansible-playbook keyward.keys.trust_store_report` runs it.
REPORT = """
- name: The report
  ansible.builtin.import_playbook: keyward.keys.trust_store_report
"""

READ_AND_COMPARE = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Read the store
      keyward.keys.trust_store_info:
        path: "{{ trust_store_dir }}"
      register: store_info
    - name: Compare on the controller
      ansible.builtin.copy:
        content: >-
          {{ desired | keyward.keys.trust_store_drift(dict(ansible_play_hosts_all
             | zip(ansible_play_hosts_all | map('extract', hostvars) | map(attribute='store_info', default=none))))
             | to_json }}
        dest: "{{ out_dir }}/drift.json"
        mode: "0600"
      run_once: true
      delegate_to: localhost
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """The inventory of the fleet above, its stores written by the role (two runs) and web2's edited."""
    base = tmp_path_factory.mktemp("fleet")
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    hosts = {}
    for host in HOSTS[:-2]:
        hosts[host] = dict(local, trust_store_dir=str(base / host), trust_store_report_dir=str(base / host),
                           trust_store_retire_after="1h", first_keys=FIRST_KEYS.get(host, []),
                           second_keys=SECOND_KEYS.get(host, []))
    hosts["odd"] = dict(local, trust_store_report_dir="relative/trust")
    hosts["down"] = {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": closed_port(),
                     "ansible_user": "nobody", "ansible_ssh_common_args": "-o ConnectTimeout=3 -o BatchMode=yes",
                     "trust_store_report_dir": str(base / "down")}
    inventory = base / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts, "children": {"written": {"hosts": dict.fromkeys(WRITTEN)}}}}))
    return {"base": base, "inventory": inventory}


@pytest.fixture(scope="module")
def written(fleet, tmp_path_factory):
    import os
    import subprocess
    play = fleet["base"] / "write.yml"
    play.write_text(WRITE)
    bin_dir = os.path.dirname(sys.executable)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False",
               ANSIBLE_LOCAL_TEMP=str(tmp_path_factory.mktemp("ansible-local")))
    proc = subprocess.run([os.path.join(bin_dir, "ansible-playbook"), "-i", str(fleet["inventory"]), str(play)],
                          env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    beta = fleet["base"] / "web2" / "beta.pem"
    beta.write_text(pem(C))  # someone swaps the key in place
    return fleet


class Page(HTMLParser):
    """What the tests look at in the HTML report: cards, grid rows and cells, and any external reference."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.cards = {}
        self.rows = []
        self.headers = []
        self.external = []
        self.stack = []
        self._card = None
        self._text = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.external.append((tag, attrs[name]))
        if tag in ("script", "link", "img", "iframe"):
            self.external.append((tag, None))
        classes = (attrs.get("class") or "").split()
        if tag == "div" and "card" in classes:
            self._card = [c for c in classes if c != "card"][0]
            self._text = []
        if tag == "tr" and "data-status" in attrs:
            self.rows.append({"status": attrs["data-status"], "count": int(attrs["data-hosts"]), "cells": [], "hosts": ""})
        if tag == "td" and self.rows and "state" in classes:
            self.rows[-1]["cells"].append([c for c in classes if c != "state"][0] if len(classes) > 1 else "")
        if tag == "th" and "key" in classes:
            self.headers.append(attrs.get("title"))
        self.stack.append((tag, classes))

    def handle_endtag(self, tag):
        if tag == "div" and self._card:
            self.cards[self._card] = int("".join(self._text).split()[0])
            self._card = None
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self._card:
            self._text.append(data)
        if self.rows and any(t == "td" and "hosts" in c for t, c in self.stack):
            self.rows[-1]["hosts"] += data


def report(run_playbook, fleet, out, **extra):
    extra.setdefault("trust_store_report_keys", [pem(A), {"name": "beta", "public_key": pem(B)}])
    return run_playbook(REPORT, inventory=str(fleet["inventory"]),
                        extra_vars=dict(extra, trust_store_report_output=str(out)))


def test_filter_over_real_trust_store_info(written, run_playbook, tmp_path):
    result = run_playbook(READ_AND_COMPARE, inventory=str(written["inventory"]), args=("--limit", "web*"),
                          extra_vars={"out_dir": str(tmp_path), "desired": [pem(A), named("beta", B)]})
    assert result.rc == 0, result
    drift = json.loads((tmp_path / "drift.json").read_text())
    assert drift["summary"] == {"hosts": 5, "in_sync": 1, "drifted": 3, "absent": 1}
    assert drift["hosts"] == {
        "web1": {"status": "in_sync", "missing": [], "extra": [], "tampered": [], "retiring": [fp(OLD)]},
        "web2": {"status": "drifted", "missing": [], "extra": [], "tampered": [fp(B)], "retiring": []},
        "web3": {"status": "drifted", "missing": [fp(B)], "extra": [], "tampered": [], "retiring": []},
        "web4": {"status": "drifted", "missing": [], "extra": [fp(C)], "tampered": [], "retiring": []},
        "web5": {"status": "absent", "missing": [fp(A), fp(B)], "extra": [], "tampered": [], "retiring": []},
    }
    assert drift["keys"] == {
        fp(A): {"name": "sha256-" + fp(A)[:16], "held_by": ["web1", "web2", "web3", "web4"], "missing_on": ["web5"]},
        fp(B): {"name": "beta", "held_by": ["web1", "web4"], "missing_on": ["web2", "web3", "web5"]},
    }


def test_report_playbook_writes_markdown_and_html(written, run_playbook, tmp_path):
    result = report(run_playbook, written, tmp_path)
    assert result.rc == 0, result
    page = Page()
    page.feed((tmp_path / "trust_store_report.html").read_text())
    assert page.external == []  # self-contained: no script, stylesheet, image or link to anything
    assert page.cards == {"hosts": 7, "in_sync": 1, "drifted": 3, "absent": 3}
    # columns: the two desired keys, then every other key a host holds (extra, retiring or tampered)
    assert [h.split()[1] for h in page.headers] == [fp(A), fp(B), fp(OLD), fp(C)]
    rows = dict((row["hosts"].split()[0].rstrip(","), row) for row in page.rows)
    assert rows["web1"]["cells"] == ["held", "held", "retiring", ""] and rows["web1"]["status"] == "in_sync"
    assert rows["web2"]["cells"] == ["held", "tampered", "", ""]
    assert rows["web3"]["cells"] == ["held", "missing", "", ""]
    assert rows["web4"]["cells"] == ["held", "held", "", "extra"]
    assert rows["down"]["cells"] == rows["web5"]["cells"] == rows["odd"]["cells"] == ["absent"] * 4
    assert sum(row["count"] for row in page.rows) == 7
    # drifted rows come first, in-sync last: the summary and the problems lead
    assert [row["status"] for row in page.rows] == ["drifted"] * 3 + ["absent"] * 3 + ["in_sync"]

    text = (tmp_path / "trust_store_report.md").read_text()
    assert text.startswith("# Trust store report\n\n7 hosts, 1 in sync, 3 drifted, 3 absent")
    assert "| 7 | 1 | 3 | 3 |" in text
    assert "web2: tampered: beta" in text and "web3: missing: beta" in text and "web4: extra, active: gamma" in text
    assert "retiring: old \\(removed after 20" in text
    assert "down: unreachable:" in text and "web5: no store:" in text
    assert "odd: failed: path must be absolute, not 'relative/trust'" in text


def test_report_fails_on_drift_only_when_asked(written, run_playbook, tmp_path):
    failed = report(run_playbook, written, tmp_path / "failing", trust_store_report_fail_on_drift=True)
    assert failed.rc != 0, failed
    assert "3 of 7 hosts drifted: web2, web3, web4; see trust_store_report.md" in failed.stdout, failed
    # the report is written before the play fails, for the scheduled job's artifacts
    assert (tmp_path / "failing" / "trust_store_report.html").exists()

    in_sync = report(run_playbook, written, tmp_path / "in_sync", trust_store_report_fail_on_drift=True,
                     trust_store_report_hosts="web1")
    assert in_sync.rc == 0, in_sync
    assert "1 in sync, 0 drifted" in (tmp_path / "in_sync" / "trust_store_report.md").read_text()


def test_report_without_desired_keys_takes_what_hosts_hold(written, run_playbook, tmp_path):
    result = run_playbook(REPORT, inventory=str(written["inventory"]),
                          extra_vars={"trust_store_report_output": str(tmp_path), "trust_store_report_hosts": "web1:web3:web4"})
    assert result.rc == 0, result
    text = (tmp_path / "trust_store_report.md").read_text()
    # reference: every key held intact and active by one of them (web1's retiring old is not):
    # alpha and beta (web1, web4) and gamma (web4), named after their files
    assert "3 hosts, 1 in sync, 2 drifted, 0 absent" in text
    assert "(1 host): web1: missing: gamma; retiring: old" in text
    assert "(1 host): web3: missing: beta, gamma\n" in text
    assert "**in sync** (1 host): web4: nothing to note" in text
    assert "| gamma | `%s` | 1 | web1, web3 |" % fp(C) in text
