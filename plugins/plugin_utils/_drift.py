# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trust_store_drift filter's work: wanted keys against every host's trust_store_info.

The wanted keys are parsed with the collection's one key model (plugin_utils/_filter_keys.py)
and matched by fingerprint; each host is compared with module_utils/_key_sets.store_drift, the
same comparison the event source uses. Every failure is a KeywardError naming what is wrong;
the filter turns it into AnsibleFilterError.

Controller side only.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.keyward.keys.plugins.module_utils import _key_sets, _keys
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError
from ansible_collections.keyward.keys.plugins.module_utils._key_store import name_from_key_id
from ansible_collections.keyward.keys.plugins.plugin_utils._filter_keys import parse_input

IN_SYNC = "in_sync"
DRIFTED = "drifted"
ABSENT = "absent"
STATUSES = (IN_SYNC, DRIFTED, ABSENT)
# How many characters of the fingerprint name a key given as bare text (as trust_store names its file).
PEM_NAME_DIGITS = 16


def key_name(item, fingerprint):
    """What trust_store would call the key's file (without .pem): name, a safe form of key_id,
    else sha256-<first 16 hex digits of the fingerprint>."""
    if isinstance(item, Mapping):
        if item.get("name") not in (None, ""):
            return str(item["name"])
        if item.get("key_id") not in (None, ""):
            return name_from_key_id(item["key_id"]) or str(item["key_id"])
    return "sha256-" + fingerprint[:PEM_NAME_DIGITS]


def wanted_keys(desired):
    """The desired keys (key records, {name, public_key} dicts or key text) -> key set
    fingerprint -> {name, fingerprint_sha256}, in the order given, a repeated key once."""
    if isinstance(desired, (str, bytes, Mapping)):
        desired = [desired]
    elif not isinstance(desired, (list, tuple)):
        raise OptionError("trust_store_drift expects a list of keys (key records, {name, public_key} dicts "
                          "or PEM strings), got %s" % type(desired).__name__)
    wanted = {}
    for position, item in enumerate(desired, 1):
        parsed, _carried = parse_input(item, position=position)
        fingerprint = _keys.fingerprint_sha256(parsed.spki_der)
        if fingerprint not in wanted:
            wanted[fingerprint] = {"name": key_name(item, fingerprint), _key_sets.FINGERPRINT: fingerprint}
    return wanted


def host_entries(host, info):
    """A host's trust_store_info result -> its list of managed key entries, or None when the
    host is absent: no result (None, {}), a store that does not exist, or a run that gave no
    answer (failed, unreachable, skipped: no `exists: true`)."""
    if info is None:
        return None
    if not isinstance(info, Mapping):
        raise OptionError("trust_store_drift: the result for host %s is a %s, not a trust_store_info result"
                          % (host, type(info).__name__))
    if info.get("exists") is not True or info.get("failed") or info.get("unreachable"):
        return None
    entries = info.get("keys") or []
    if not isinstance(entries, (list, tuple)) or not all(isinstance(entry, Mapping) for entry in entries):
        raise OptionError("trust_store_drift: the keys of host %s are not a list of trust_store_info key entries"
                          % host)
    return entries


def check_infos(infos):
    """infos must map host names to results; None counts as no hosts."""
    if infos is None:
        return {}
    if not isinstance(infos, Mapping):
        raise OptionError("trust_store_drift: infos must map host names to trust_store_info results, not a %s"
                          % type(infos).__name__)
    return infos


def reference_keys(infos):
    """Without desired keys: every key some host holds intact and active is wanted (named after
    its first file), in host order."""
    wanted = {}
    for host, info in check_infos(infos).items():
        for entry in host_entries(host, info) or ():
            fingerprint = entry.get(_key_sets.FINGERPRINT)
            if (fingerprint and fingerprint not in wanted and entry.get("intact") is True
                    and entry.get("state") != _key_sets.RETIRING):
                name = str(entry.get("name") or "sha256-" + fingerprint[:PEM_NAME_DIGITS])
                if name.endswith(".pem"):
                    name = name[:-len(".pem")]
                wanted[fingerprint] = {"name": name, _key_sets.FINGERPRINT: fingerprint}
    return wanted


def drift(desired, infos):
    """The filter's result: summary, hosts and keys (see the filter's RETURN)."""
    infos = check_infos(infos)
    wanted = reference_keys(infos) if desired is None else wanted_keys(desired)
    keys = dict((fp, {"name": entry["name"], "held_by": [], "missing_on": []}) for fp, entry in wanted.items())
    hosts = {}
    counts = dict((status, 0) for status in STATUSES)
    for host, info in infos.items():
        host = str(host)
        entries = host_entries(host, info)
        if entries is None:
            status = ABSENT
            found = _key_sets.StoreDrift([], list(wanted), [], [], [])
        else:
            found = _key_sets.store_drift(wanted, entries)
            status = IN_SYNC if found.in_sync else DRIFTED
        counts[status] += 1
        held = set(found.held)
        for fingerprint, key in keys.items():
            key["held_by" if fingerprint in held else "missing_on"].append(host)
        hosts[host] = {"status": status, "missing": found.missing, "extra": found.extra,
                       "tampered": found.tampered, "retiring": found.retiring}
    summary = {"hosts": len(hosts)}
    summary.update(counts)
    return {"summary": summary, "hosts": hosts, "keys": keys}
