# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a lookup does when the run-wide cache cannot answer alone (_lookup.py is the hit path).

Loads the provider and answers through module_utils/_provider.py, which checks every term
before any request, reads what the cache holds and fetches (and caches) the rest; turns bad
options into one-line errors with secrets masked.

Controller side only.
"""

from __future__ import annotations

import difflib
import os

from ansible.utils.display import Display

from ansible_collections.keyward.keys.plugins.module_utils import _registry
from ansible_collections.keyward.keys.plugins.module_utils._errors import OptionError, scrub
from ansible_collections.keyward.keys.plugins.module_utils._options import plain_term
from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_list, fetch_records
from ansible_collections.keyward.keys.plugins.plugin_utils._cache import cache_material, is_secret_name
from ansible_collections.keyward.keys.plugins.plugin_utils._lookup import flatten
from ansible_collections.keyward.keys.plugins.plugin_utils._record_cache import RecordCache

display = Display()


def answer(lookup, terms, options):
    """lookup.run()'s answer: one value per term (a list for list lookups)."""
    provider = _registry.load(lookup.PROVIDER)
    terms = [plain_term(term, lookup.PROVIDER) for term in flatten(terms)]
    cache = RecordCache() if options.get("cache") else None

    def cache_key(term):
        return cache_material(lookup.PROVIDER, term, options, provider.term_options)

    if not provider.records:
        if terms:
            raise OptionError("%s: this lookup takes no terms (got %d)" % (provider.name, len(terms)))
        return fetch_list(provider, options, cache=cache, cache_key=cache_key, warn=display.warning, debug=display.vvv)
    # Cached records come back from the cache without a request, and get the same checks.
    records = fetch_records(provider, options, terms, cache=cache, cache_key=cache_key,
                            warn=display.warning, debug=display.vvv)
    # One (canonical term, record) pair per agent, key or client for the hook (obshell's verify).
    pairs = dict(zip((provider.check_term(term, options) for term in terms), records))
    lookup.after_records(list(pairs.items()), options)
    return [lookup.format(record, options["return_format"]) for record in records]


def unknown_options(provider_name, definitions, kwargs):
    """The OptionError for misspelt keyword arguments, with the closest known name."""
    unknown = sorted(set(kwargs) - set(definitions))
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, definitions, n=1)
        hints.append("%s%s" % (name, " (did you mean %s?)" % close[0] if close else ""))
    return OptionError("%s: unknown option%s %s; known options: %s" % (
        provider_name, "s" if len(unknown) > 1 else "", ", ".join(hints), ", ".join(sorted(definitions))))


def option_error(provider_name, exc, definitions, variables, kwargs):
    """The config manager's complaint as an OptionError, with every secret value masked."""
    return OptionError("%s: %s" % (provider_name, scrub(exc, _secret_candidates(definitions, variables or {}, kwargs))))


def _secret_candidates(definitions, variables, kwargs):
    found = []
    for name, spec in definitions.items():
        if not is_secret_name(name):
            continue
        values = [kwargs.get(name)]
        values += [variables.get(entry.get("name")) for entry in spec.get("vars") or []]
        values += [os.environ.get(entry.get("name")) for entry in spec.get("env") or []]
        for value in values:
            if value is None:
                continue
            items = value if isinstance(value, (list, tuple)) else [value]
            found.extend(str(item) for item in items)
            found.append(str(value))
    return found
