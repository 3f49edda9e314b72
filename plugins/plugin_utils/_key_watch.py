# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the public_key_changes event source does between two polls, without asyncio.

KeyWatch.poll() fetches through the provider contract (fetch_records / fetch_list, the
provider's client built once and reused) and returns an Outcome; KeyWatch.update(outcome)
compares it with the last snapshot through module_utils/_key_sets.py (the one comparison, shared
with the trust_store_drift filter) and returns the events. poll() blocks (the transport is
synchronous): the plugin runs it in a worker thread, one poll at a time.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import logging

from ansible_collections.keyward.keys.plugins.module_utils import _key_sets
from ansible_collections.keyward.keys.plugins.module_utils._errors import (
    FingerprintMismatchError, KeywardError, ProviderError, one_line, scrub)
from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_list, fetch_records
from ansible_collections.keyward.keys.plugins.plugin_utils import _key_watch_state as state
from ansible_collections.keyward.keys.plugins.plugin_utils._key_watch_args import PLUGIN, ArgumentError, read_arguments

log = logging.getLogger(PLUGIN)


class Outcome(object):
    """One poll: the records that passed their pins, the pin failures, or the poll's error."""

    def __init__(self, records=None, pin_failures=None, error=None):
        self.records = records or []
        self.pin_failures = pin_failures or {}  # key id -> (record, message)
        self.error = error


class _Client(object):
    """The provider's client, built once before the first poll and kept (sessions, tokens)."""

    def __init__(self, client):
        self.client = client

    def get(self):
        return self.client


class KeyWatch(object):
    def __init__(self, settings):
        self.settings = settings
        self.provider = settings.provider
        self.identity = "key_id" if self.provider.records else "id"
        # Pins are checked key by key here, so that a key failing its pin is that key's error
        # and never stops the others; fetching itself runs without them.
        self.fetch_options = dict(settings.options)
        if self.provider.records:
            self.fetch_options["expected_fingerprint"] = None
        secrets = self.provider.secrets(settings.options)
        try:
            client = self.provider.client(settings.options, warn=log.warning, debug=log.debug)
        except KeywardError as exc:
            raise ArgumentError("%s: %s" % (PLUGIN, exc.scrubbed(secrets)))
        if settings.terms is None and not callable(getattr(client, "list", None)):
            raise ArgumentError("%s: %s: option keys is required (this provider cannot list its keys)"
                                % (PLUGIN, self.provider.name))
        self.client = _Client(client)
        self.known = None  # snapshot: key id -> entry; None until a successful poll (or a state file)
        self.records = {}  # key id -> the last record seen (memory only), for removed events
        self.announced_expiring = set()  # (key id, expires_at) already announced
        self.failing = None  # the source-wide error announced, until recovered
        self.key_errors = {}  # key id -> message announced, until recovered
        self.dirty = False
        if settings.state_file:
            try:
                loaded = state.load(settings.state_file, self.provider.name)
            except state.StateError as exc:
                raise ArgumentError("%s: %s" % (PLUGIN, exc))
            if loaded is not None:
                self.known, self.announced_expiring = loaded

    @classmethod
    def from_arguments(cls, args):
        return cls(read_arguments(args))

    # -- polling (blocking, in a worker thread) ------------------------------------------------
    def poll(self):
        provider, options = self.provider, self.fetch_options
        try:
            if self.settings.terms is None:
                # A client of its own for each listing: fetch_list gives it the listing's budget
                # (pages and bytes in all), which must bound each poll, not the source's lifetime.
                items = fetch_list(provider, options, warn=log.warning, debug=log.debug)
            else:
                items = self._fetch_terms()
        except KeywardError as exc:
            return Outcome(error=str(exc))
        except Exception as exc:  # pylint: disable=broad-except
            # Still one line and no traceback; the text is scrubbed of every secret.
            text = scrub("%s: %s" % (type(exc).__name__, exc), provider.secrets(self.settings.options))
            return Outcome(error="%s: unexpected error: %s" % (provider.name, one_line(text)))
        records, failures = [], {}
        for record in items:
            try:
                if self.settings.pins:
                    from ansible_collections.keyward.keys.plugins.module_utils._pins import check_pins

                    check_pins(record, self.settings.pins)
                records.append(record)
            except FingerprintMismatchError as exc:
                failures[record[self.identity]] = (record, str(exc))
        return Outcome(records=records, pin_failures=failures)

    def _fetch_terms(self):
        """One record per term that exists; a term the provider says does not exist is left out
        (removed); any other failure fails the whole poll (an outage announces no removal)."""
        from ansible_collections.keyward.keys.plugins.module_utils._concurrency import DEFAULT_WORKERS, map_bounded

        def one(term):
            try:
                return fetch_records(self.provider, self.fetch_options, [term], client=self.client,
                                     warn=log.warning, debug=log.debug)[0]
            except ProviderError as exc:
                if self.provider.is_not_found(exc):
                    log.info("%s", exc)
                    return None
                raise

        found = map_bounded(one, self.settings.terms, self.provider.max_workers or DEFAULT_WORKERS)
        return [record for record in found if record is not None]

    # -- events (pure: no I/O) -----------------------------------------------------------------
    def event(self, kind, key_id=None, **fields):
        body = {"type": kind, "provider": self.provider.name, "key_id": key_id}
        body.update(fields)
        return {"keyward": body}

    def update(self, outcome):
        """The events of one poll's outcome, in order; the snapshot moves on."""
        events = []
        if outcome.error is not None:
            if self.failing is None:
                self.failing = outcome.error
                events.append(self.event("error", message=outcome.error))
            return events
        if self.failing is not None:
            self.failing = None
            events.append(self.event("recovered", message="polling works again"))

        initial = self.known is None
        before = self.known or {}
        by_id = {record[self.identity]: record for record in outcome.records}
        after = {key_id: state.entry(record) for key_id, record in by_id.items()}
        # A key failing its pin keeps the entry it had: its new key is not trusted, so it is
        # neither a change nor a removal.
        for key_id in outcome.pin_failures:
            if key_id in before:
                after[key_id] = before[key_id]

        for key_id, (record, message) in outcome.pin_failures.items():
            if key_id not in self.key_errors:
                self.key_errors[key_id] = message
                events.append(self.event("error", key_id, message=message,
                                         fingerprint_sha256=record.get("fingerprint_sha256"),
                                         previous_fingerprint_sha256=before.get(key_id, {}).get("fingerprint_sha256")))
        for key_id in [key_id for key_id in self.key_errors if key_id not in outcome.pin_failures]:
            del self.key_errors[key_id]
            events.append(self.event("recovered", key_id, message="the key no longer fails its expected fingerprint"))

        changes = _key_sets.compare(before, after)
        for key_id in changes.added:
            record = by_id[key_id]
            events.append(self.event("added", key_id, initial=initial, record=record,
                                     **self._fingerprints(record.get("fingerprint_sha256"), None)))
        for key_id in changes.changed:
            record = by_id[key_id]
            events.append(self.event("changed", key_id, initial=False, record=record,
                                     **self._fingerprints(record.get("fingerprint_sha256"),
                                                          before[key_id].get("fingerprint_sha256"))))
        for key_id in changes.removed:
            gone = before[key_id].get("fingerprint_sha256")
            extra = {"record": self.records[key_id]} if key_id in self.records else {}
            events.append(self.event("removed", key_id, initial=False, **dict(extra, **self._fingerprints(gone, gone))))
        events.extend(self._expiring(by_id, initial))

        if after != before or initial:
            self.dirty = True
        self.known = after
        # A key failing its pin keeps its last trusted record, as it keeps its entry.
        kept = {key_id: self.records[key_id] for key_id in outcome.pin_failures if key_id in self.records}
        self.records = dict(by_id, **kept)
        return events

    def _fingerprints(self, current, previous):
        if not self.provider.records:
            return {}
        return {"fingerprint_sha256": current, "previous_fingerprint_sha256": previous}

    def _expiring(self, by_id, initial):
        within = self.settings.expiring_within_days
        if within is None:
            return []
        events, still = [], set()
        for key_id in _key_sets.expiring(by_id, within):
            record = by_id[key_id]
            marker = (key_id, str(record.get("expires_at")))
            still.add(marker)
            if marker not in self.announced_expiring:
                events.append(self.event("expiring", key_id, initial=initial, record=record,
                                         expires_in_days=record.get("expires_in_days")))
        # Only markers of keys still in range are kept: a renewed date is announced when it comes.
        if still != self.announced_expiring:
            self.dirty = True
        self.announced_expiring = still
        return events

    def save(self):
        """Write the state file when the snapshot moved (called after the events went out)."""
        if not self.settings.state_file or not self.dirty or self.known is None:
            return
        state.save(self.settings.state_file, self.provider.name, self.known, self.announced_expiring)
        self.dirty = False
