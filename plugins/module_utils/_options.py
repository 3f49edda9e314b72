# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option tables: every option is declared once (type, default, env names, no_log, choices).

Module argspecs are built from these tables; lookups read the same options through Ansible's
config manager from the doc fragments, and a unit test checks that both agree (types,
defaults, env names, the keyward_<provider>_<option> variables, no_log).

Each provider declares its own table next to its client (OPTIONS in _<provider>.py); the
tables shared by all of them are here.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import os

# Every plugin that talks to a provider (doc fragment keyward.keys.connection).
TRANSPORT = {
    "timeout": dict(type="float", default=10.0, env=["KEYWARD_TIMEOUT"]),
    "retries": dict(type="int", default=3, env=["KEYWARD_RETRIES"]),
    "validate_certs": dict(type="bool", default=True, env=["KEYWARD_VALIDATE_CERTS"]),
    "ca_path": dict(type="path", env=["KEYWARD_CA_PATH"]),
}
# Every plugin that returns key records (doc fragments keyward.keys.connection and .pins).
CONNECTION = dict(TRANSPORT, expected_fingerprint=dict(type="list", elements="str", no_log=False))

# Only lookups have these (modules always return whole records).
LOOKUP = {
    "return_format": dict(type="str", default="pem", choices=["pem", "dict", "raw"]),
    "cache": dict(type="bool", default=True),
}
# Lookups whose results are not key records.
LIST_LOOKUP = {"cache": LOOKUP["cache"]}

_ARGSPEC_FIELDS = ("type", "default", "choices", "elements", "no_log", "aliases", "required")


def env_value(names, environ=None):
    """The value of the first of these environment variables that is set and not empty, else None.

    An empty variable counts as unset: AWX injects an optional credential field left blank as an
    empty variable, and '' is never a meaningful value of any option (a site, a port, a path).
    Modules read the environment through this (argspec); the lookup base applies the same rule
    to the config manager (plugin_utils/_lookup.py, which a cache hit must not make import this).
    """
    environ = os.environ if environ is None else environ
    for name in names:
        if environ.get(name):
            return environ[name]
    return None


def env_fallback(*names):
    """An AnsibleModule fallback: env_value(names), or no value (then the option's default)."""
    value = env_value(names)
    if value is None:
        from ansible.module_utils.errors import AnsibleFallbackNotFound

        raise AnsibleFallbackNotFound
    return value


def argspec(*tables, **overrides):
    """Build an AnsibleModule argument_spec from option tables; env names become env_fallback."""
    spec = {}
    for table in tables:
        for name, decl in table.items():
            entry = {field: decl[field] for field in _ARGSPEC_FIELDS if field in decl}
            if decl.get("env"):
                entry["fallback"] = (env_fallback, list(decl["env"]))
            spec[name] = entry
    for name, entry in overrides.items():
        if entry is None:
            spec.pop(name, None)
        else:
            spec[name] = entry
    return spec


def collect(get, *tables):
    """Read every option of the tables through get(name) -> {name: value}."""
    values = {}
    for table in tables:
        for name in table:
            values[name] = get(name)
    return values


def secret_names(*tables):
    return {name for table in tables for name, decl in table.items() if decl.get("no_log")}


def secret_values(options, *tables):
    """The values of the tables' no_log options that are set (strings), for masking."""
    return [options[name] for name in secret_names(*tables) if isinstance(options.get(name), str) and options[name]]


def plain_term(term, provider_name):
    """Any non-empty string, stripped (the provider's check_term refines it)."""
    if not isinstance(term, str) or not term.strip():
        from ._errors import OptionError

        raise OptionError("%s: every term must be a non-empty string, got %r" % (provider_name, term))
    return term.strip()
