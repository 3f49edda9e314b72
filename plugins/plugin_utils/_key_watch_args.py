# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The arguments of the public_key_changes event source, read before its first poll.

Provider options come from the provider's own option table (module_utils/providers/) with the
same environment fallbacks as the lookups and modules (the first variable set wins); the event
source adds its own few arguments. Anything wrong (unknown provider, unknown option, bad type,
a key the provider would refuse) raises one ArgumentError with a one-line message that never
shows a value. Standard library only: ansible-rulebook runs this without ansible-core's loader.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import difflib
import math
import os

from ansible_collections.keyward.keys.plugins.module_utils import _registry
from ansible_collections.keyward.keys.plugins.module_utils._errors import KeywardError, OptionError

PLUGIN = "keyward.keys.public_key_changes"

# The event source's own arguments (the provider's options come from its table).
SOURCE_OPTIONS = {
    "provider": dict(type="str", required=True, choices=sorted(_registry.PROVIDERS)),
    "keys": dict(type="list", elements="str"),
    "interval": dict(type="float", default=300.0),
    "expiring_within_days": dict(type="int"),
    "state_file": dict(type="path"),
}
# What ansible-rulebook itself adds to a source's arguments.
RULEBOOK_ARGUMENTS = ("eda_feedback_queue", "feedback")

_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")


class ArgumentError(OptionError, ValueError):
    """A wrong argument of the event source, raised before its first poll."""


def _fail(message):
    raise ArgumentError("%s: %s" % (PLUGIN, message))


def _convert(name, value, decl):
    """value as the declared type; the message never shows the value (it may be a secret)."""
    kind = decl.get("type", "str")
    if kind == "list":
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if not isinstance(value, (list, tuple)):
            _fail("option %s must be a list, not %s" % (name, type(value).__name__))
        elements = decl.get("elements", "str")
        return [_convert("%s[%d]" % (name, index), item, dict(type=elements)) for index, item in enumerate(value)]
    if kind in ("str", "path"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            _fail("option %s must be a string, not %s" % (name, type(value).__name__))
        value = str(value)
        return os.path.expanduser(value) if kind == "path" else value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE + _FALSE:
            return str(value).strip().lower() in _TRUE
        _fail("option %s must be a boolean (true or false)" % name)
    if kind in ("int", "float"):
        number = None
        if not isinstance(value, bool) and isinstance(value, (int, float, str)):
            try:
                number = float(value) if kind == "float" else _integer(value)
            except (TypeError, ValueError):
                number = None
        if number is None or not math.isfinite(number):
            _fail("option %s must be %s" % (name, "an integer" if kind == "int" else "a number"))
        return number
    raise AssertionError("option table type %s" % kind)


def _integer(value):
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(value)
        return int(value)
    return int(value)


def _read(name, decl, args):
    """The argument, else the first environment variable set, else the default."""
    if name in args and args[name] is not None:
        value = _convert(name, args[name], decl)
    else:
        value = decl.get("default")
        for env in decl.get("env") or ():
            if env in os.environ:
                value = _convert("%s (from %s)" % (name, env), os.environ[env], decl)
                break
    if value is None and decl.get("required"):
        _fail("option %s is required" % name)
    if value is not None and decl.get("choices") and value not in decl["choices"]:
        _fail("option %s must be one of %s" % (name, ", ".join(str(choice) for choice in decl["choices"])))
    return value


class WatchSettings(object):
    """What one event source watches: provider, its options, terms (None: list), timing, state."""

    def __init__(self, provider, options, terms, pins, interval, expiring_within_days, state_file):
        self.provider = provider
        self.options = options
        self.terms = terms
        self.pins = pins
        self.interval = interval
        self.expiring_within_days = expiring_within_days
        self.state_file = state_file


def read_arguments(args):
    """WatchSettings from ansible-rulebook's args, or ArgumentError (one line, no value shown)."""
    if not isinstance(args, dict):
        _fail("arguments must be a mapping")
    provider_name = _read("provider", SOURCE_OPTIONS["provider"], args)
    provider = _registry.load(provider_name)
    tables = provider.tables()
    known = dict(SOURCE_OPTIONS)
    for table in tables:
        known.update(table)
    # An argument set to null counts as not given (one rulebook can template every provider's
    # options, leaving the others null); a named value it does not know is always an error.
    unknown = sorted(name for name in args
                     if name not in known and name not in RULEBOOK_ARGUMENTS and args[name] is not None)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(name + (" (did you mean %s?)" % close[0] if close else ""))
        _fail("%s: unknown option%s %s; known options: %s" % (
            provider_name, "s" if len(unknown) > 1 else "", ", ".join(hints), ", ".join(sorted(known))))
    values = {name: _read(name, decl, args) for name, decl in known.items()}
    options = {name: values[name] for table in tables for name in table}

    interval = values["interval"]
    if interval <= 0:
        _fail("option interval must be a positive number of seconds")
    within = values["expiring_within_days"]
    if within is not None and provider.records:
        _fail("%s: option expiring_within_days applies to oceanbase_cloud API keys only" % provider_name)

    try:
        pins = []
        if provider.records:
            from ansible_collections.keyward.keys.plugins.module_utils._pins import normalize_pins

            pins = normalize_pins(options.get("expected_fingerprint"))
        terms = values["keys"]
        if terms is not None:
            if not provider.records:
                _fail("%s: option keys does not apply: the source watches every API key of the project"
                      % provider_name)
            if not terms:
                _fail("option keys is empty; leave it out to watch every key the provider lists")
            terms = list(dict.fromkeys(provider.check_term(term, options) for term in terms))
    except ArgumentError:
        raise
    except KeywardError as exc:
        raise ArgumentError("%s: %s" % (PLUGIN, exc.scrubbed(provider.secrets(options))))
    return WatchSettings(provider, options, terms, pins, interval, within, values["state_file"])
