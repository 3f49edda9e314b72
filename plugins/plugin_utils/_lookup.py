# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one lookup base class: options, the run-wide cache, pins, return formats, errors.

A provider lookup sets PROVIDER / OPTION_TABLES and implements make_client(), cache_material()
and fetch_record(); everything else is here.

Controller side only.
"""

from __future__ import annotations

import os

from ansible.config.manager import ensure_type
from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.keyward.keys.plugins.module_utils import _keys, _transport
from ansible_collections.keyward.keys.plugins.module_utils._concurrency import map_bounded
from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError, OptionError
from ansible_collections.keyward.keys.plugins.module_utils._options import CONNECTION, LOOKUP, collect
from ansible_collections.keyward.keys.plugins.plugin_utils._cache import RecordCache

display = Display()


def _has_template(value):
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, str) and "{{" in item for item in value)
    return False


class KeywardLookupBase(LookupBase):
    PROVIDER = None  # the record's provider name, also the prefix of messages
    OPTION_TABLES = ()  # the provider's own option tables (connection and lookup ones are added)
    WITH_LOOKUP_OPTIONS = True  # False for lookups whose results are not key records

    # -- to implement ----------------------------------------------------------------------
    def make_client(self, options):
        raise NotImplementedError

    def cache_material(self, term, options):
        """Public data that determines the answer for term (never a secret); None: do not cache."""
        raise NotImplementedError

    def fetch_record(self, client, term, options):
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------------------
    def tables(self):
        tables = (CONNECTION,) + tuple(self.OPTION_TABLES)
        if self.WITH_LOOKUP_OPTIONS:
            tables += (LOOKUP,)
        return tables

    def read_options(self, variables, kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        self._env_first_found_wins(variables, kwargs)
        options = collect(self._option, *self.tables())
        for lib, error in (("requests", _transport.REQUESTS_IMPORT_ERROR), ("cryptography", _keys.CRYPTOGRAPHY_IMPORT_ERROR)):
            if error:
                raise OptionError("the Python library '%s' is required on the controller for this lookup" % lib)
        return options

    def _env_first_found_wins(self, variables, kwargs):
        """Where an option lists several environment variables, the first one set wins.

        Ansible's config manager keeps the last one it finds; our contract (and the modules'
        env_fallback) takes them in the order the option tables give. Only options that no
        keyword argument and no variable set are corrected (get_option_and_origin() cannot
        tell on ansible-core 2.16, where it ignores both).
        """
        from ansible import constants as C

        definitions = C.config.get_configuration_definitions("lookup", self._load_name) or {}
        variables = variables or {}
        for table in self.tables():
            for name, decl in table.items():
                names = decl.get("env") or ()
                if len(names) < 2 or name in kwargs:
                    continue
                var_names = [entry.get("name") for entry in definitions.get(name, {}).get("vars") or []]
                if any(var in variables for var in var_names):
                    continue
                for env_name in names:
                    if env_name in os.environ:
                        self.set_option(name, ensure_type(os.environ[env_name], decl.get("type", "str")))
                        break

    def _option(self, name):
        value = self.get_option(name)
        # Options taken from keyward_<provider>_* variables reach plugins untemplated
        # (ansible/ansible#79244); render them so '{{ vault_secret }}' works there too.
        if getattr(self, "_templar", None) is not None and _has_template(value):
            value = self._templar.template(value)
        return value

    def transport(self, options):
        return _transport.Transport(
            self.PROVIDER,
            timeout=options["timeout"],
            retries=options["retries"],
            validate_certs=options["validate_certs"],
            ca_path=options.get("ca_path"),
            warn=display.warning,
            debug=display.vvv,
        )

    def run(self, terms, variables=None, **kwargs):
        try:
            options = self.read_options(variables, kwargs)
            return self.lookup(terms, options)
        except KeywardError as exc:
            raise AnsibleLookupError(str(exc))

    def lookup(self, terms, options):
        """The default flow for key lookups: one record per term, cached, pinned, formatted."""
        pins = _keys.normalize_pins(options.get("expected_fingerprint"))
        terms = self.normalize_terms(terms)
        client = self.make_client(options)
        cache = RecordCache() if options.get("cache") else None

        def one(term):
            material = self.cache_material(term, options) if cache else None
            if material is None:
                record = self.fetch_record(client, term, options)
            else:
                record = cache.get_or_fetch(material, lambda: self.fetch_record(client, term, options))
            _keys.check_pins(record, pins)
            self.after_fetch(record, options, term)
            return self.format(record, options["return_format"])

        # A term given twice is fetched once, with or without the cache.
        distinct = list(dict.fromkeys(terms))
        results = dict(zip(distinct, map_bounded(one, distinct)))
        return [results[term] for term in terms]

    def normalize_terms(self, terms):
        flat = []
        for term in terms:
            if isinstance(term, (list, tuple)):
                flat.extend(term)
            else:
                flat.append(term)
        for term in flat:
            if not isinstance(term, str) or not term.strip():
                raise OptionError("%s: every term must be a non-empty string, got %r" % (self.PROVIDER, term))
        return [term.strip() for term in flat]

    def after_fetch(self, record, options, term):
        """Hook for per-record checks that must also run on cached records (warnings, sizes)."""

    @staticmethod
    def format(record, return_format):
        if return_format == "dict":
            return record
        if return_format == "raw":
            return record["public_key_raw"]
        return record["public_key"]
