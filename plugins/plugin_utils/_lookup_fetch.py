# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a lookup does when the run-wide cache cannot answer alone (_lookup.py is the hit path).

Loads the provider, checks every term before any request, answers what the cache holds,
fetches the rest through module_utils/_provider.py (which fills the cache), and turns bad
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
from ansible_collections.keyward.keys.plugins.module_utils._pins import apply_checks, normalize_pins
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
        return _list_answer(provider, terms, options, cache, cache_key)
    pins = normalize_pins(options.get("expected_fingerprint"))
    checked = [provider.check_term(term, options) for term in terms]
    distinct = list(dict.fromkeys(checked))
    found = {}
    for term in distinct:
        hit = cache.peek(cache_key(term)) if cache is not None else None
        if hit is not None:
            kind, value = hit
            if kind == "error":
                raise value
            found[term] = value
    hits = list(found)
    misses = [term for term in distinct if term not in found]
    if misses:
        fetched = fetch_records(provider, options, misses, cache=cache, cache_key=cache_key,
                                warn=display.warning, debug=display.vvv)
        found.update(zip(misses, fetched))
    for term in hits:
        apply_checks(found[term], pins, options, provider, display.warning)
    lookup.after_records([(term, found[term]) for term in distinct], options)
    return [lookup.format(found[term], options["return_format"]) for term in checked]


def _list_answer(provider, terms, options, cache, cache_key):
    """Lookups whose API lists (no terms): the provider's list(), cached, then its finish."""
    if terms:
        raise OptionError("%s: this lookup takes no terms (got %d)" % (provider.name, len(terms)))
    hit = cache.peek(cache_key("")) if cache is not None else None
    if hit is not None:
        kind, items = hit
        if kind == "error":
            raise items
    else:
        items = fetch_list(provider, options, cache=cache, cache_key=cache_key,
                           warn=display.warning, debug=display.vvv, finish=False)
    return provider.finish_list(items, options)


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
