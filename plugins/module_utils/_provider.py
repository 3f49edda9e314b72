# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider contract: what a provider declares, and the one path that fetches records.

A provider module (module_utils/_<provider>.py) declares one `PROVIDER = Provider(...)`:

    name        the record's `provider` field and the prefix of its messages
    var_prefix  lookups read `keyward_<var_prefix>_<option>` variables
    options     its option table (_options.py format); the connection options are added
    client      client(options, transport) -> object with fetch(term) -> record
                (and list() -> records, where the API lists)
    check_term  term -> the same term, or OptionError; runs before any request (it only
                validates: a cache hit keys on the term as given)
    canonical_term  canonical_term(term, options) -> the one spelling of what the term names
                (obshell: 'h', 'h:2886' and 'http://h:2886' are one agent); terms are fetched and
                cached by it
    term_options  the options canonical_term folds into the term (obshell: port, scheme), which
                therefore do not key the cache a second time
    profile     its ApiProfile (_api_profile.py) for the transport
    records     False when results are not key records (no pins, no return formats)
    check_record(record, options, warn): per-record checks that must also run on cached records
    finish      finish(items, options) -> items, applied to a list after the cache (values that
                depend on the clock, such as days until expiry, are never cached)
    max_workers the bound on concurrent requests for one call, sized for its rate limits
    not_found   not_found(error) -> True when a ProviderError is the provider's documented answer
                for a key that does not exist (the event source reports such a term as removed)

canonical_term, term_options, check_record and finish also apply to answers from the run-wide
cache, which a lookup reads without loading the provider: they live in a small rules module
the lookup names in CACHE_RULES (plugin_utils/_lookup.py), and the Provider declares them from there.

Everything else is derived here: the transport (with the provider's profile and its secret
option values to mask), dedupe of terms, bounded concurrency, the run-wide cache and pins.
Lookups (plugin_utils/_lookup.py) and modules (_module.py) both go through fetch_records.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from ._errors import KeywardError, OptionError
from ._options import CONNECTION, TRANSPORT, plain_term, secret_names, secret_values
from ._pins import apply_checks, normalize_pins

# What no credential may hold: a line break (any that str.splitlines knows) or NUL. Such a value
# would travel as a broken header or body, and an HTTP library's error about it quotes it.
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\x00")


class Provider(object):
    def __init__(self, name, var_prefix, options, client, check_term=None, profile=None, records=True,
                 check_record=None, finish=None, max_workers=None, term_name="key",
                 canonical_term=None, term_options=(), not_found=None):
        self.name = name
        self.var_prefix = var_prefix
        self.options = options
        self.make_client = client
        self._check_term = check_term
        self.profile = profile
        self.records = records
        self.check_record = check_record
        self.finish = finish
        self.max_workers = max_workers  # None: _concurrency.DEFAULT_WORKERS
        self.term_name = term_name
        self._canonical_term = canonical_term
        self.term_options = tuple(term_options)
        self._not_found = not_found

    def is_not_found(self, error):
        """True when error says that the key does not exist (and nothing else went wrong)."""
        return self._not_found is not None and bool(self._not_found(error))

    def tables(self):
        """The option tables of the provider's plugins: pins only where results are key records."""
        return (CONNECTION if self.records else TRANSPORT, self.options)

    def check_term(self, term, options=None):
        term = plain_term(term, self.name)
        term = self._check_term(term) if self._check_term else term
        if self._canonical_term is not None and options is not None:
            term = self._canonical_term(term, options)
        return term

    def finish_list(self, items, options):
        return self.finish(items, options) if self.finish is not None else items

    def secrets(self, options):
        return secret_values(options, *self.tables())

    def secret_options(self, options):
        """{option name: value} of the secret options that are set, for messages that name them."""
        return {name: options[name] for name in sorted(secret_names(*self.tables()))
                if isinstance(options.get(name), str) and options[name]}

    def check_credentials(self, options):
        """Refuse a secret option holding a line break, before any request, without showing it."""
        for name, value in self.secret_options(options).items():
            if any(char in _LINE_BREAKS for char in value):
                raise OptionError("%s: %s contains a line break or NUL character; a credential is one line "
                                  "(the value is not shown)" % (self.name, name))

    def transport(self, options, warn=None, debug=None, listing=False):
        """The provider's Transport; listing=True bounds every body it reads together (a listing's budget)."""
        from ._transport import LISTING_MAX_BYTES, Transport  # here, so that cache hits never import the transport

        self.check_credentials(options)
        return Transport(self.name, timeout=options["timeout"], retries=options["retries"],
                         validate_certs=options["validate_certs"], ca_path=options.get("ca_path"),
                         warn=warn, debug=debug, profile=self.profile, secrets=self.secret_options(options),
                         max_total_bytes=LISTING_MAX_BYTES if listing else None)

    def client(self, options, warn=None, debug=None, listing=False):
        return self.make_client(options, self.transport(options, warn, debug, listing=listing))


class LazyClient(object):
    """Builds the provider's client on first use, once, shared by every thread of one call."""

    def __init__(self, provider, options, warn=None, debug=None, listing=False):
        import threading

        self._args = (provider, options, warn, debug, listing)
        self._client = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._client is None:
                provider, options, warn, debug, listing = self._args
                self._client = provider.client(options, warn, debug, listing=listing)
            return self._client


def fetch_records(provider, options, terms, client=None, cache=None, cache_key=None, warn=None, debug=None):
    """One record per term, in order: every term checked before any request, each distinct term
    fetched once, at most provider.max_workers at a time, through the cache when one is given,
    then pinned and checked.

    client: a LazyClient (or anything with get()); made here when not given.
    cache / cache_key(term): the run-wide cache and its key for a (checked) term (lookups only).
    Errors are KeywardErrors with every secret option value masked.
    """
    secrets = provider.secrets(options)
    try:
        provider.check_credentials(options)
        pins = normalize_pins(options.get("expected_fingerprint")) if provider.records else []
        checked = [provider.check_term(term, options) for term in terms]
        client = client or LazyClient(provider, options, warn, debug)

        def one(term):
            def fetch():
                return client.get().fetch(term)

            if cache is None:
                record = fetch()
            else:
                record = cache.get_or_fetch(cache_key(term), fetch, secrets=secrets)
            return apply_checks(record, pins, options, provider, warn) if provider.records else record

        from ._concurrency import DEFAULT_WORKERS, map_bounded  # threads only where there is work

        # Each distinct (canonical) term is fetched once, whatever its spelling in the call.
        distinct = list(dict.fromkeys(checked))
        fetched = dict(zip(distinct, map_bounded(one, distinct, provider.max_workers or DEFAULT_WORKERS)))
        return [fetched[term] for term in checked]
    except KeywardError as exc:
        raise exc.scrubbed(secrets) if secrets else exc


def fetch_list(provider, options, client=None, cache=None, cache_key=None, warn=None, debug=None, finish=True):
    """Every item the provider's list() returns (all pages), cached like one term "", pinned
    and checked when the items are key records, then finished (unless finish=False)."""
    secrets = provider.secrets(options)
    try:
        provider.check_credentials(options)
        pins = normalize_pins(options.get("expected_fingerprint")) if provider.records else []
        client = client or LazyClient(provider, options, warn, debug, listing=True)

        def fetch():
            return list(client.get().list())

        items = fetch() if cache is None else cache.get_or_fetch(cache_key(""), fetch, secrets=secrets)
        if provider.records:
            items = [apply_checks(record, pins, options, provider, warn) for record in items]
        return provider.finish_list(items, options) if finish else items
    except KeywardError as exc:
        raise exc.scrubbed(secrets) if secrets else exc
