# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one lookup base class. A provider lookup is its documentation plus PROVIDER = "<name>".

This file is the cache-hit path and nothing more. Ansible runs a lookup once per host and task,
each time in a fresh forked worker that compiles every module it imports, and compiling is most
of what a hit costs; so a hit imports this file and _cache.py only (plus _pins.py for pins and
the provider's CACHE_RULES module). Everything else is in _lookup_fetch.py: misses, cached
failures, bad options and terms. docs/decisions.md says why; benchmarks/cache_hit_cpu.py measures.

Options are data, not templates: keyword arguments and environment variables are used exactly
as given; only keyward_<provider>_<option> variables are templated (ansible/ansible#79244).

Controller side only.
"""

from __future__ import annotations

import importlib
import os
import sys

from ansible.config.manager import ensure_type
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.keyward.keys.plugins.plugin_utils._cache import (
    cache_material, cached_value, is_secret_name, register_option_defs)

display = Display()
_PLUGINS = "ansible_collections.keyward.keys.plugins."


def _breaks_lines(value):
    """True for a string holding a line break or NUL (splitlines drops every kind of line break)."""
    return isinstance(value, str) and ("".join(value.splitlines()) != value or "\x00" in value)


def flatten(terms):
    return [item for term in terms for item in (term if isinstance(term, (list, tuple)) else [term])]


class KeywardLookupBase(LookupBase):
    PROVIDER = None  # the provider's name in module_utils/_registry.py
    RECORDS = True  # False for lookups whose results are not key records (no pins, no return formats)
    # A module_utils module (standard library only) holding what the provider also applies to
    # cached answers: canonical_term(term, options) and TERM_OPTIONS, check_record(record,
    # options, warn), finish(items, options). A unit test checks it against the provider.
    CACHE_RULES = None
    _saved_option_defs = False  # per lookup class: its option definitions came from / went to the run's cache

    def __init_subclass__(cls, **kwargs):
        # Runs as a provider's lookup module is imported, before Ansible's plugin loader parses its
        # documentation: with this run's saved option definitions, the loader needs no parse.
        super().__init_subclass__(**kwargs)
        module = sys.modules.get(cls.__module__)
        cls._saved_option_defs = register_option_defs(cls.__module__, getattr(module, "DOCUMENTATION", ""))

    def run(self, terms, variables=None, **kwargs):
        try:
            options = self.read_options(variables, kwargs)
            answer = self.answer_from_cache(terms, options)
            return self.fetch_path().answer(self, terms, options) if answer is None else answer
        except Exception as exc:
            from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError

            if isinstance(exc, KeywardError):
                raise AnsibleLookupError(str(exc))
            raise

    @staticmethod
    def fetch_path():
        return importlib.import_module(_PLUGINS + "plugin_utils._lookup_fetch")

    def read_options(self, variables, kwargs):
        from ansible import constants as C

        definitions = C.config.get_configuration_definitions("lookup", self._load_name) or {}
        if not self._saved_option_defs and definitions:  # the run's first worker: save what Ansible parsed
            from ansible_collections.keyward.keys.plugins.plugin_utils._record_cache import RecordCache

            type(self)._saved_option_defs = True
            module = type(self).__module__
            RecordCache().save_option_defs(module, sys.modules[module].DOCUMENTATION, self._load_name, definitions)
        definitions = {name: spec for name, spec in definitions.items() if name[0] != "_"}
        if not set(kwargs) <= set(definitions):
            raise self.fetch_path().unknown_options(self.PROVIDER, definitions, kwargs)
        variables = variables or {}
        # Only keyward_<provider>_* variables are templated, before the config manager checks
        # their types; keyword arguments and environment variables never are.
        var_options = {}
        for spec in definitions.values():
            for entry in spec.get("vars") or ():
                if entry["name"] in variables:
                    var_options[entry["name"]] = self._template_var(variables[entry["name"]])
        # An empty environment variable is unset (AWX injects a blank optional field as one; the
        # rule of module_utils/_options.env_value, which modules use): hidden while options are
        # read, so the config manager's choices never see '' and the loop below skips it.
        blank = {entry["name"] for spec in definitions.values() for entry in spec.get("env") or ()
                 if os.environ.get(entry["name"]) == ""}
        for name in blank:
            del os.environ[name]
        try:
            return self._read_options(definitions, var_options, variables, kwargs)
        finally:
            os.environ.update(dict.fromkeys(blank, ""))

    def _read_options(self, definitions, var_options, variables, kwargs):
        try:
            self.set_options(var_options=var_options, direct=kwargs)
        except Exception as exc:  # its message may quote a secret given with a wrong type
            raise self.fetch_path().option_error(self.PROVIDER, exc, definitions, variables, kwargs)
        options = {}
        for name, spec in definitions.items():
            options[name] = self.get_option(name)
            if name in kwargs or any(entry["name"] in var_options for entry in spec.get("vars") or ()):
                continue
            # Of several environment variables the first one set wins, as the docs list them and as
            # the modules' env_fallback does; Ansible's config manager keeps the last one.
            for entry in spec.get("env") or ():
                if entry["name"] in os.environ:
                    options[name] = ensure_type(os.environ[entry["name"]], spec.get("type", "str"))
                    break
        return options

    def _template_var(self, value):
        templar = getattr(self, "_templar", None)
        if templar is None:
            return value
        if isinstance(value, str) and "{{" in value:
            return templar.template(value)
        if isinstance(value, list) and any(isinstance(item, str) and "{{" in item for item in value):
            return [templar.template(item) if isinstance(item, str) else item for item in value]
        return value

    def answer_from_cache(self, terms, options):
        """The whole answer from the run-wide cache, or None when the cache cannot give all of it
        (then the fetch path answers, and reports whatever is wrong with the terms). Checks run in
        the fetch path's order: pins are read, terms checked, then each record pinned and checked."""
        terms = flatten(terms)
        if not options.get("cache") or not all(isinstance(term, str) and term.strip() for term in terms):
            return None
        if any(_breaks_lines(value) for name, value in options.items() if is_secret_name(name)):
            return None  # a credential with a line break: the fetch path refuses it, a hit must not hide it
        pins = None
        if self.RECORDS and options.get("expected_fingerprint"):
            from ansible_collections.keyward.keys.plugins.module_utils._pins import check_pins, normalize_pins

            pins = normalize_pins(options["expected_fingerprint"])
        rules = self.CACHE_RULES and importlib.import_module(_PLUGINS + "module_utils." + self.CACHE_RULES)
        canonical = getattr(rules, "canonical_term", None)
        terms = [canonical(term.strip(), options) if canonical else term.strip() for term in terms]
        term_options = getattr(rules, "TERM_OPTIONS", ())
        if not self.RECORDS:
            items = None if terms else cached_value(cache_material(self.PROVIDER, "", options, term_options))
            finish = getattr(rules, "finish", None)
            return finish(items, options) if finish and items is not None else items
        found = {}
        for term in terms:
            if term not in found:
                found[term] = cached_value(cache_material(self.PROVIDER, term, options, term_options))
                if found[term] is None:
                    return None
        check_record = getattr(rules, "check_record", None)
        for record in found.values():
            if pins:
                check_pins(record, pins)
            if check_record:
                check_record(record, options, display.warning)
        self.after_records(list(found.items()), options)
        return [self.format(found[term], options["return_format"]) for term in terms]

    def after_records(self, pairs, options):
        """Hook run on every call's (term, record) pairs, fetched or cached (obshell's verify)."""

    @staticmethod
    def format(record, return_format):
        if return_format == "dict":
            return record
        return record["public_key_raw" if return_format == "raw" else "public_key"]
