# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: trust_store_drift_report
version_added: 0.2.0
short_description: Render a trust store drift result as a Markdown or HTML report
description:
  - Turns the result of the P(keyward.keys.trust_store_drift#filter) filter into a report for people to read. The
    summary comes first, then the hosts grouped by state, a hosts by keys grid coloured by state (held, retiring,
    missing, extra, tampered, absent) and, per desired key, the hosts that lack it.
  - Hosts whose rows would be identical are grouped into one row, so a report of hundreds of hosts stays short;
    in the HTML page the grid scrolls with its header and host column in place.
  - The HTML page is self-contained (inline style, no script, no external asset) and opens from a file.
  - Everything that came from hosts (host names, file names, messages) is escaped.
  - The playbook C(keyward.keys.trust_store_report) writes both formats with this filter.
author:
  - keyward.keys contributors
options:
  _input:
    description: The result of P(keyward.keys.trust_store_drift#filter).
    type: dict
    required: true
  infos:
    description:
      - The same host name to M(keyward.keys.trust_store_info) result mapping the drift was computed from. Used for
        the reason a host is absent (unreachable, failed, no store), retirement times and other files in the
        directory. Without it those details are left out.
    type: dict
  format:
    description: The report's format.
    type: str
    choices: [markdown, html]
    default: markdown
  title:
    description: The report's title.
    type: str
    default: Trust store report
  directory:
    description: The trust store directory the hosts were read from, shown under the title.
    type: str
  generated_at:
    description: The time shown as the report's date; the current UTC time when not set.
    type: str
seealso:
  - plugin: keyward.keys.trust_store_drift
    plugin_type: filter
  - module: keyward.keys.trust_store_info
"""

EXAMPLES = r"""
- name: Write an HTML report of the fleet's trust stores
  ansible.builtin.copy:
    dest: /srv/reports/trust_store.html
    content: "{{ store_drift | keyward.keys.trust_store_drift_report(store_infos, format='html', directory='/etc/keyward/trust') }}"
    mode: "0644"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
_value:
  description: The report, as Markdown text or as one HTML document.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError
from ansible_collections.keyward.keys.plugins.plugin_utils._drift_report import render


def trust_store_drift_report(drift, infos=None, format="markdown", title="Trust store report", directory=None,
                             generated_at=None):
    """A trust_store_drift result -> the report text (Markdown or HTML)."""
    try:
        return render(drift, infos, format=format, title=title, directory=directory, generated_at=generated_at)
    except KeywardError as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule(object):
    def filters(self):
        return {"trust_store_drift_report": trust_store_drift_report}
