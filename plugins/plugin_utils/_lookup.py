# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one lookup base class: options, the run-wide cache, pins, return formats, errors.

A provider lookup is its documentation plus `PROVIDER = "<name in _registry.py>"`. Everything
else is here and in module_utils/_provider.py.

A cache hit is the common case (Ansible runs a lookup once per host and task, each time in a
freshly forked worker that compiles every module it imports), so a hit imports only this file,
the cache and the pins: the provider's module, the transport, `requests` and `cryptography`
are imported on a miss.

Options are data, not templates: a keyword argument or an environment variable is used exactly
as given. Only a `keyward_<provider>_<option>` variable is templated, the way Ansible templates
any variable (ansible/ansible#79244: the config manager hands variables over untemplated).

Controller side only.
"""

from __future__ import annotations

import os

from ansible.config.manager import ensure_type
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError, OptionError, scrub
from ansible_collections.keyward.keys.plugins.module_utils._options import cache_key_options, is_secret_name, plain_term
from ansible_collections.keyward.keys.plugins.module_utils._pins import apply_checks, normalize_pins
from ansible_collections.keyward.keys.plugins.plugin_utils._cache import RecordCache

display = Display()


def _flatten(terms):
    flat = []
    for term in terms:
        if isinstance(term, (list, tuple)):
            flat.extend(term)
        else:
            flat.append(term)
    return flat


class KeywardLookupBase(LookupBase):
    PROVIDER = None  # the provider's name in module_utils/_registry.py
    RECORDS = True  # False for lookups whose results are not key records (no pins, no return formats)
    # True when the provider must be loaded on a cache hit too: its check_record runs on cached
    # records, and terms are keyed by its canonical_term.
    CHECKS_CACHED_RECORDS = False

    # -- options ---------------------------------------------------------------------------
    def _definitions(self):
        from ansible import constants as C

        definitions = C.config.get_configuration_definitions("lookup", self._load_name) or {}
        return {name: spec for name, spec in definitions.items() if not name.startswith("_")}

    def read_options(self, variables, kwargs):
        definitions = self._definitions()
        unknown = sorted(set(kwargs) - set(definitions))
        if unknown:
            import difflib

            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, definitions, n=1)
                hints.append("%s%s" % (name, " (did you mean %s?)" % close[0] if close else ""))
            raise OptionError("%s: unknown option%s %s; known options: %s" % (
                self.PROVIDER, "s" if len(unknown) > 1 else "", ", ".join(hints), ", ".join(sorted(definitions))))
        variables = variables or {}
        # Only keyward_<provider>_* variables are templated (the way Ansible templates any
        # variable), before the config manager checks their types; keyword arguments and
        # environment variables are data and are never templated.
        var_options = {}
        for spec in definitions.values():
            for entry in spec.get("vars") or ():
                name = entry.get("name")
                if name in variables:
                    var_options[name] = self._template_var(variables[name])
        try:
            self.set_options(var_options=var_options, direct=kwargs)
        except Exception as exc:  # the config manager's message may quote a secret given with a wrong type
            raise OptionError("%s: %s" % (self.PROVIDER, scrub(exc, self._secret_candidates(definitions, variables, kwargs))))
        options = {}
        for name, spec in definitions.items():
            var_names = [entry.get("name") for entry in spec.get("vars") or []]
            value = self.get_option(name)
            if name not in kwargs and not any(var in var_options for var in var_names):
                value = self._first_env(spec, value)
            options[name] = value
        return options

    def _first_env(self, spec, value):
        """Where an option lists several environment variables, the first one set wins.

        Ansible's config manager keeps the last one it finds; our contract (and the modules'
        env_fallback) takes them in the order the documentation lists them.
        """
        for entry in spec.get("env") or ():
            env_name = entry.get("name")
            if env_name in os.environ:
                return ensure_type(os.environ[env_name], spec.get("type", "str"))
        return value

    def _template_var(self, value):
        templar = getattr(self, "_templar", None)
        if templar is None:
            return value
        if isinstance(value, str) and "{{" in value:
            return templar.template(value)
        if isinstance(value, list) and any(isinstance(item, str) and "{{" in item for item in value):
            return [templar.template(item) if isinstance(item, str) else item for item in value]
        return value

    @staticmethod
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

    # -- running ---------------------------------------------------------------------------
    def run(self, terms, variables=None, **kwargs):
        try:
            options = self.read_options(variables, kwargs)
            return self.lookup(terms, options)
        except KeywardError as exc:
            raise AnsibleLookupError(str(exc))

    def provider(self):
        from ansible_collections.keyward.keys.plugins.module_utils import _registry

        return _registry.load(self.PROVIDER)

    def cache_key(self, term, options, provider=None):
        """Public data that determines the answer: the term and every non-secret option (but the
        options a canonical term already holds)."""
        keyed = cache_key_options(options)
        for name in getattr(provider, "term_options", ()):
            keyed.pop(name, None)
        return {"provider": self.PROVIDER, "term": term, "options": keyed}

    def lookup(self, terms, options):
        terms = [plain_term(term, self.PROVIDER) for term in _flatten(terms)]
        if not self.RECORDS:
            return self.lookup_list(terms, options)
        pins = normalize_pins(options.get("expected_fingerprint"))
        cache = RecordCache() if options.get("cache") else None
        provider = self.provider() if self.CHECKS_CACHED_RECORDS else None
        if provider is not None:
            terms = [provider.check_term(term, options) for term in terms]
        found = {}
        for term in dict.fromkeys(terms):
            hit = cache.peek(self.cache_key(term, options, provider)) if cache is not None else None
            if hit is not None:
                kind, value = hit
                if kind == "error":
                    raise value
                found[term] = value
        hits = set(found)
        misses = [term for term in dict.fromkeys(terms) if term not in found]
        keyed_by = provider  # the provider whose canonical terms key this call's entries, if any
        if misses and provider is None:
            provider = self.provider()
        if misses:
            from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_records

            fetched = fetch_records(provider, options, misses, cache=cache,
                                    cache_key=lambda term: self.cache_key(term, options, keyed_by),
                                    warn=display.warning, debug=display.vvv)
            found.update(zip(misses, fetched))
        for term in hits:
            apply_checks(found[term], pins, options, provider, display.warning)
        self.after_records([(term, found[term]) for term in dict.fromkeys(terms)], options, provider)
        return [self.format(found[term], options["return_format"]) for term in terms]

    def lookup_list(self, terms, options):
        """Lookups whose API lists (no terms): the provider's list(), cached, then its finish."""
        if terms:
            raise OptionError("%s: this lookup takes no terms (got %d)" % (self.PROVIDER, len(terms)))
        cache = RecordCache() if options.get("cache") else None
        hit = cache.peek(self.cache_key("", options)) if cache is not None else None
        provider = self.provider()
        if hit is not None:
            kind, items = hit
            if kind == "error":
                raise items
        else:
            from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_list

            items = fetch_list(provider, options, cache=cache, cache_key=lambda term: self.cache_key(term, options),
                               warn=display.warning, debug=display.vvv, finish=False)
        return provider.finish_list(items, options)

    def after_records(self, pairs, options, provider):
        """Hook run on every call's (term, record) pairs, fetched or cached (obshell's verify)."""

    @staticmethod
    def format(record, return_format):
        if return_format == "dict":
            return record
        if return_format == "raw":
            return record["public_key_raw"]
        return record["public_key"]
