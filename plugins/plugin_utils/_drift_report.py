# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trust store report: a trust_store_drift result (and the trust_store_info results it came
from) rendered as Markdown or as one self-contained HTML page.

Built for fleets: hosts whose rows would be identical (same status, same state for every key,
same other files) are grouped into one row, so 500 hosts in sync are one line, and only hosts
that differ get rows of their own. Everything is rendered once, on the controller, in plain
Python (no per-host templating). Every value that came from a host is escaped: file names are
chosen by whoever writes into the directory.

Controller side only.
"""

from __future__ import annotations

import datetime
import html
import re
from collections.abc import Mapping

from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, one_line
from ansible_collections.keyward.keys.plugins.plugin_utils._drift import ABSENT, DRIFTED, IN_SYNC

FORMATS = ("markdown", "html")
# Cell states of the grid, in the order the legend lists them, with what they mean.
STATES = (
    ("held", "holds the desired key intact"),
    ("retiring", "kept through its grace period, then removed"),
    ("missing", "desired key not on the host"),
    ("extra", "active key that is not desired"),
    ("tampered", "file changed since the store wrote it"),
    ("absent", "no trust store, or no answer"),
)
STATUS_ORDER = (DRIFTED, ABSENT, IN_SYNC)
STATUS_LABEL = {IN_SYNC: "in sync", DRIFTED: "drifted", ABSENT: "absent"}
# Host names shown in one grouped row before the rest are folded away.
SHOWN_HOSTS = 8
SHORT_FP = 12


class Column(object):
    __slots__ = ("fingerprint", "name", "desired")

    def __init__(self, fingerprint, name, desired):
        self.fingerprint = fingerprint
        self.name = name
        self.desired = desired


class Group(object):
    """Hosts with one and the same row."""

    __slots__ = ("status", "cells", "hosts", "reason", "unmanaged", "detail")

    def __init__(self, status, cells, reason, unmanaged, detail):
        self.status = status
        self.cells = cells
        self.reason = reason
        self.unmanaged = unmanaged
        self.detail = detail
        self.hosts = []


def _natural(text):
    """web2 before web10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", str(text))]


def _check(drift, infos):
    if not isinstance(drift, Mapping) or not all(isinstance(drift.get(k), Mapping) for k in ("summary", "hosts", "keys")):
        raise OptionError("trust_store_drift_report expects the result of keyward.keys.trust_store_drift "
                          "(a dict with summary, hosts and keys)")
    if infos is None:
        return {}
    if not isinstance(infos, Mapping):
        raise OptionError("trust_store_drift_report: infos must map host names to trust_store_info results, not a %s"
                          % type(infos).__name__)
    return infos


def _entries(info):
    if isinstance(info, Mapping) and isinstance(info.get("keys"), (list, tuple)):
        return [entry for entry in info["keys"] if isinstance(entry, Mapping)]
    return []


def absent_reason(info):
    """Why a host has no store to compare: (kind, message)."""
    if not isinstance(info, Mapping) or not info:
        return "no result", "the host gave no result (not in the play, or skipped)"
    if info.get("unreachable"):
        return "unreachable", one_line(info.get("msg") or "unreachable", 200)
    if info.get("skipped"):
        return "skipped", one_line(info.get("skipped_reason") or "skipped", 200)
    if info.get("exists") is False:
        return "no store", "the trust store directory does not exist"
    return "failed", one_line(info.get("msg") or "trust_store_info failed", 200)


def columns(drift, infos):
    """Desired keys first (in the filter's order), then every other key some host holds."""
    cols = [Column(fp, str(key.get("name") or fp[:SHORT_FP]), True) for fp, key in drift["keys"].items()]
    seen = set(drift["keys"])
    file_names = {}
    for info in infos.values():
        for entry in _entries(info):
            fingerprint = entry.get("fingerprint_sha256")
            if fingerprint and fingerprint not in file_names:
                file_names[fingerprint] = re.sub(r"\.pem\Z", "", str(entry.get("name") or ""))
    others = []
    for host in sorted(drift["hosts"], key=_natural):
        state = drift["hosts"][host]
        for fingerprint in list(state.get("extra") or []) + list(state.get("retiring") or []) + list(state.get("tampered") or []):
            if fingerprint not in seen:
                seen.add(fingerprint)
                name = file_names.get(fingerprint) or (fingerprint[5:] if fingerprint.startswith("file:") else fingerprint[:SHORT_FP])
                others.append(Column(fingerprint, name, False))
    return cols + others


def cell(state, column):
    """One host's state for one key ('' when the host neither has nor needs it)."""
    if state.get("status") == ABSENT:
        return "absent"
    fingerprint = column.fingerprint
    if fingerprint in (state.get("tampered") or ()):
        return "tampered"
    if column.desired and fingerprint in (state.get("missing") or ()):
        return "missing"
    if fingerprint in (state.get("retiring") or ()):
        return "retiring"
    if column.desired:
        return "held"
    if fingerprint in (state.get("extra") or ()):
        return "extra"
    return ""


def _retire_times(info):
    return dict((entry.get("fingerprint_sha256"), entry.get("retire_at")) for entry in _entries(info)
                if entry.get("state") == "retiring")


def groups(drift, infos, cols):
    """Hosts grouped by identical rows, drifted first, then absent, then in sync."""
    found = {}
    for host in sorted(drift["hosts"], key=_natural):
        state = drift["hosts"][host]
        info = infos.get(host)
        status = state.get("status")
        cells = tuple(cell(state, column) for column in cols)
        reason = absent_reason(info) if status == ABSENT else None
        unmanaged = tuple(sorted(str(n) for n in (info.get("unmanaged") or ()))) if isinstance(info, Mapping) else ()
        signature = (status, cells, reason[0] if reason else None, unmanaged)
        group = found.get(signature)
        if group is None:
            group = found[signature] = Group(status, cells, reason, unmanaged, {})
        group.hosts.append(host)
        for fingerprint, when in _retire_times(info).items():
            if when:
                group.detail.setdefault(fingerprint, []).append(str(when))
    rank = dict((status, index) for index, status in enumerate(STATUS_ORDER))
    return sorted(found.values(), key=lambda g: (rank.get(g.status, len(rank)), -len(g.hosts), _natural(g.hosts[0])))


def _when(times):
    times = sorted(set(times))
    if not times:
        return ""
    return times[0] if len(times) == 1 else "%s to %s" % (times[0], times[-1])


def problems(group, cols):
    """What is wrong with (or worth knowing about) a group of hosts, as plain phrases."""
    if group.status == ABSENT:
        return ["%s: %s" % group.reason]
    phrases = []
    for state, label in (("missing", "missing"), ("extra", "extra, active"), ("tampered", "tampered"),
                         ("retiring", "retiring")):
        names = []
        for column, value in zip(cols, group.cells):
            if value == state:
                when = _when(group.detail.get(column.fingerprint, ())) if state == "retiring" else ""
                names.append(column.name + (" (removed after %s)" % when if when else ""))
        if names:
            phrases.append("%s: %s" % (label, ", ".join(names)))
    if group.unmanaged:
        phrases.append("other files in the directory: %s" % ", ".join(group.unmanaged))
    return phrases


def host_list(hosts, limit=SHOWN_HOSTS):
    if len(hosts) <= limit:
        return ", ".join(hosts)
    return "%s and %d more" % (", ".join(hosts[:limit]), len(hosts) - limit)


def _heading(drift, directory, generated_at):
    summary = drift["summary"]
    bits = ["%d hosts" % summary.get("hosts", 0)]
    bits += ["%d %s" % (summary.get(status, 0), STATUS_LABEL[status]) for status in (IN_SYNC, DRIFTED, ABSENT)]
    where = "read from %s, " % directory if directory else ""
    return ", ".join(bits), "%sgenerated %s" % (where, generated_at)


# --- Markdown -------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def _md(text):
    """Text safe inside a Markdown table cell (no markup, no raw HTML, no line break)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def markdown(drift, infos, title, directory, generated_at):
    cols = columns(drift, infos)
    rows = groups(drift, infos, cols)
    counts, subtitle = _heading(drift, directory, generated_at)
    summary = drift["summary"]
    out = ["# %s" % _md(title), "", "%s (%s)." % (_md(counts), _md(subtitle)), "",
           "| hosts | in sync | drifted | absent |", "|---:|---:|---:|---:|",
           "| %d | %d | %d | %d |" % tuple(summary.get(k, 0) for k in ("hosts", IN_SYNC, DRIFTED, ABSENT)), ""]
    out += ["## Hosts by state", ""]
    for group in rows:
        out.append("- **%s** (%d host%s): %s: %s" % (
            STATUS_LABEL.get(group.status, group.status), len(group.hosts), "" if len(group.hosts) == 1 else "s",
            _md(host_list(group.hosts)), _md("; ".join(problems(group, cols)) or "nothing to note")))
    out += ["", "## Keys", "", "| key | sha256 | held by | missing on |", "|---|---|---:|---|"]
    for fingerprint, key in drift["keys"].items():
        missing = key.get("missing_on") or []
        lacking = _md(host_list(sorted(missing, key=_natural))) if missing else "none"
        out.append("| %s | `%s` | %d | %s |" % (_md(key.get("name")), _md(fingerprint), len(key.get("held_by") or []), lacking))
    if not drift["keys"]:
        out.append("| (no desired keys) | | | |")
    out += ["", "## Hosts x keys", "",
            "Hosts with identical rows share one. " + "; ".join("**%s**: %s" % (s, m) for s, m in STATES) + ".", ""]
    out.append("| hosts | status | %s |" % " | ".join(_md(c.name) + ("" if c.desired else " (not desired)") for c in cols))
    out.append("|---|---|" + "---|" * len(cols))
    for group in rows:
        cells = " | ".join(value or " " for value in group.cells)
        out.append("| %s (%d) | %s | %s |" % (_md(host_list(group.hosts)), len(group.hosts),
                                              STATUS_LABEL.get(group.status, group.status), cells))
    # Every host once, for searching and diffing reports (the table above folds long lists).
    out += ["", "## Every host", ""]
    for group in rows:
        out.append("- %s: %s" % (STATUS_LABEL.get(group.status, group.status), _md(", ".join(group.hosts))))
    return "\n".join(out) + "\n"


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1d1d1f;background:#fff}
h1{font-size:1.5em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.6em 0 .5em}
.sub{color:#555;margin:0 0 1em}
.cards{display:flex;gap:.8em;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:7em}
.card b{display:block;font-size:1.8em}
.card.in_sync b{color:#1a7f37}.card.drifted b{color:#b42318}.card.absent b{color:#6e6e73}
table{border-collapse:collapse}
th,td{border:1px solid #e0e0e0;padding:.25em .5em;text-align:left;vertical-align:top}
.grid{overflow:auto;max-height:75vh;max-width:100%;border:1px solid #ccc}
.grid table{border-collapse:separate;border-spacing:0}
.grid thead th{position:sticky;top:0;background:#f5f5f7;z-index:2}
.grid th.hosts,.grid td.hosts{position:sticky;left:0;background:#fff;z-index:1;min-width:14em;max-width:28em}
.grid thead th.hosts{z-index:3;background:#f5f5f7}
.grid td.state{text-align:center;min-width:5.5em}
.grid th.key{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:14em}
td.held{background:#d3f5dc}td.retiring{background:#fff1c2}td.missing{background:#ffd8cc}
td.extra{background:#f2d6f7}td.tampered{background:#b42318;color:#fff;font-weight:bold}
td.absent{background:#e5e5ea;color:#555}
.legend span{display:inline-block;padding:.1em .5em;margin:0 .4em .3em 0;border:1px solid #ddd}
.legend .held{background:#d3f5dc}.legend .retiring{background:#fff1c2}.legend .missing{background:#ffd8cc}
.legend .extra{background:#f2d6f7}.legend .tampered{background:#b42318;color:#fff}.legend .absent{background:#e5e5ea}
.status.drifted{color:#b42318;font-weight:bold}.status.absent{color:#6e6e73}.status.in_sync{color:#1a7f37}
code{font-size:.9em;word-break:break-all}
details summary{cursor:pointer;color:#0b57d0}
"""


def _e(text):
    return html.escape(str(text), quote=True)


def _hosts_html(hosts):
    if len(hosts) <= SHOWN_HOSTS:
        return _e(", ".join(hosts))
    return "%s <details><summary>and %d more</summary>%s</details>" % (
        _e(", ".join(hosts[:SHOWN_HOSTS])), len(hosts) - SHOWN_HOSTS, _e(", ".join(hosts[SHOWN_HOSTS:])))


def html_page(drift, infos, title, directory, generated_at):
    cols = columns(drift, infos)
    rows = groups(drift, infos, cols)
    counts, subtitle = _heading(drift, directory, generated_at)
    summary = drift["summary"]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           "<title>%s</title>" % _e(title), "<style>%s</style>" % _CSS, "</head>", "<body>",
           "<h1>%s</h1>" % _e(title), '<p class="sub">%s (%s)</p>' % (_e(counts), _e(subtitle)),
           '<section id="summary" class="cards">',
           '<div class="card hosts"><b>%d</b> hosts</div>' % summary.get("hosts", 0)]
    for status in (IN_SYNC, DRIFTED, ABSENT):
        out.append('<div class="card %s"><b>%d</b> %s</div>' % (status, summary.get(status, 0), STATUS_LABEL[status]))
    out.append("</section>")

    out += ['<section id="hosts">', "<h2>Hosts by state</h2>"]
    if rows:
        out.append("<table><thead><tr><th>status</th><th>hosts</th><th>count</th><th>what</th></tr></thead><tbody>")
        for group in rows:
            out.append('<tr><td class="status %s">%s</td><td>%s</td><td>%d</td><td>%s</td></tr>' % (
                _e(group.status), _e(STATUS_LABEL.get(group.status, group.status)), _hosts_html(group.hosts),
                len(group.hosts), "<br>".join(_e(p) for p in problems(group, cols)) or "nothing to note"))
        out.append("</tbody></table>")
    else:
        out.append("<p>No hosts.</p>")
    out.append("</section>")

    out += ['<section id="grid">', "<h2>Hosts &times; keys</h2>",
            '<p class="legend">%s</p>' % "".join('<span class="%s" title="%s">%s</span>' % (s, _e(m), s) for s, m in STATES),
            "<p>Hosts with identical rows share one; the grid scrolls, its header and host column stay in place.</p>",
            '<div class="grid"><table><thead><tr><th class="hosts">hosts</th><th>status</th>']
    for column in cols:
        out.append('<th class="key" title="sha256 %s%s">%s</th>' % (
            _e(column.fingerprint), "" if column.desired else " (not desired)",
            _e(column.name) + ("" if column.desired else " *")))
    out.append("</tr></thead><tbody>")
    for group in rows:
        cells = "".join('<td class="state %s">%s</td>' % (value, value) for value in group.cells)
        out.append('<tr data-status="%s" data-hosts="%d"><td class="hosts">%s <small>(%d)</small></td>'
                   '<td class="status %s">%s</td>%s</tr>' % (
                       _e(group.status), len(group.hosts), _hosts_html(group.hosts), len(group.hosts), _e(group.status),
                       _e(STATUS_LABEL.get(group.status, group.status)), cells))
    out.append("</tbody></table></div>")
    if any(not c.desired for c in cols):
        out.append("<p>* not a desired key: held by some host as an extra, retiring or tampered file.</p>")
    out.append("</section>")

    out += ['<section id="keys">', "<h2>Keys</h2>",
            "<table><thead><tr><th>key</th><th>sha256</th><th>held by</th><th>missing on</th></tr></thead><tbody>"]
    for fingerprint, key in drift["keys"].items():
        missing = sorted(key.get("missing_on") or [], key=_natural)
        out.append("<tr><td>%s</td><td><code>%s</code></td><td>%d</td><td>%s</td></tr>" % (
            _e(key.get("name")), _e(fingerprint), len(key.get("held_by") or []), _hosts_html(missing) if missing else "none"))
    if not drift["keys"]:
        out.append('<tr><td colspan="4">no desired keys</td></tr>')
    out += ["</tbody></table>", "</section>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def render(drift, infos=None, format="markdown", title="Trust store report", directory=None, generated_at=None):
    """The report as text in the format asked for."""
    infos = _check(drift, infos)
    if format not in FORMATS:
        raise OptionError("trust_store_drift_report: format must be one of %s, not %r" % (", ".join(FORMATS), format))
    if generated_at is None:
        generated_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    renderer = markdown if format == "markdown" else html_page
    return renderer(drift, infos, str(title), directory, str(generated_at))
