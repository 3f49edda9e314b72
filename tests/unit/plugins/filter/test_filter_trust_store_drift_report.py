# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyward.keys.trust_store_drift_report filter, called directly: hosts with identical rows
share one, names chosen on hosts cannot inject markup, the page is self-contained, and a fleet
of 500 hosts renders small and fast."""

from __future__ import annotations

import time
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keyward.keys.plugins.filter.trust_store_drift import trust_store_drift
from ansible_collections.keyward.keys.plugins.filter.trust_store_drift_report import FilterModule, trust_store_drift_report
from ansible_collections.keyward.keys.tests.unit.plugins.filter.test_filter_trust_store_drift import (
    NEW, OLD, ROGUE, entry, fp, info, pem,
)

EVIL = '<img src=x onerror="alert(1)">'


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.rows = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and "data-status" in attrs:
            self.rows.append((attrs["data-status"], int(attrs["data-hosts"])))


def fleet(size=500):
    infos = dict(("web%03d" % i, info(entry(NEW, "app-new"), entry(OLD, "app-old", state="retiring")))
                 for i in range(1, size + 1))
    infos["web007"] = info(entry(OLD, "app-old"))
    infos["web042"] = info(entry(NEW, "app-new", intact=False), entry(ROGUE, EVIL), unmanaged=[EVIL])
    infos[EVIL] = {"unreachable": True, "msg": "ssh: " + EVIL}
    return infos


def test_registered_in_the_filter_module():
    assert FilterModule().filters()["trust_store_drift_report"] is trust_store_drift_report


def test_500_hosts_are_a_handful_of_rows_and_render_fast():
    infos = fleet()
    drift = trust_store_drift([{"name": "app-new", "public_key": pem(NEW)}], infos)
    started = time.perf_counter()
    page = trust_store_drift_report(drift, infos, format="html", generated_at="2026-12-07T00:00:00Z")
    text = trust_store_drift_report(drift, infos, generated_at="2026-12-07T00:00:00Z")
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0
    parsed = Tags()
    parsed.feed(page)
    assert parsed.rows == [("drifted", 1), ("drifted", 1), ("absent", 1), ("in_sync", 498)]
    assert len(page) < 60000 and len(text.splitlines()) < 40
    assert "web001, web002, web003, web004, web005, web006, web008, web009 and 490 more" in text
    assert "501 hosts, 498 in sync, 2 drifted, 1 absent" in text


def test_host_and_file_names_cannot_inject_markup():
    infos = fleet(3)
    drift = trust_store_drift([pem(NEW)], infos)
    page = trust_store_drift_report(drift, infos, format="html", title="<b>t</b>")
    parsed = Tags()
    parsed.feed(page)
    assert not [tag for tag, _attrs in parsed.tags if tag in ("img", "script", "link", "iframe")]
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page and "<h1>&lt;b&gt;t&lt;/b&gt;</h1>" in page
    assert not [attrs for _tag, attrs in parsed.tags if "onerror" in attrs or "src" in attrs or "href" in attrs]
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    text = trust_store_drift_report(drift, infos)
    assert EVIL not in text and "\\<img src=x onerror=\"alert\\(1\\)\"\\>" in text


def test_every_state_has_its_cell_and_the_legend():
    infos = fleet(2)
    drift = trust_store_drift([{"name": "app-new", "public_key": pem(NEW)}], infos)
    page = trust_store_drift_report(drift, infos, format="html")
    for state in ("held", "retiring", "missing", "extra", "tampered", "absent"):
        assert '<td class="state %s">%s</td>' % (state, state) in page
        assert '<span class="%s"' % state in page
    assert page.index('id="summary"') < page.index('id="hosts"') < page.index('id="grid"') < page.index('id="keys"')
    assert fp(NEW) in page


def test_without_infos_and_with_no_hosts():
    drift = trust_store_drift([pem(NEW)], {})
    text = trust_store_drift_report(drift)
    assert "0 hosts, 0 in sync, 0 drifted, 0 absent" in text
    assert "| sha256-%s | `%s` | 0 | none |" % (fp(NEW)[:16], fp(NEW)) in text


@pytest.mark.parametrize("drift, kwargs, message", [
    ({"summary": {}}, {}, "expects the result of keyward.keys.trust_store_drift"),
    ("text", {}, "expects the result of keyward.keys.trust_store_drift"),
    ({"summary": {}, "hosts": {}, "keys": {}}, {"format": "pdf"}, "format must be one of markdown, html, not 'pdf'"),
    ({"summary": {}, "hosts": {}, "keys": {}}, {"infos": ["web1"]}, "infos must map host names"),
])
def test_bad_input_is_one_line(drift, kwargs, message):
    with pytest.raises(AnsibleFilterError) as caught:
        trust_store_drift_report(drift, **kwargs)
    assert message in str(caught.value) and "\n" not in str(caught.value)
