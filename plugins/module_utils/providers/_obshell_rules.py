# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""obshell rules that apply to a cached key as much as to a fetched one: how a term names an
agent, and which agent keys are too small or too weak.

The obshell provider (_obshell.py) declares these functions; the obshell lookup applies them
to cache hits without loading the provider (plugin_utils/_lookup.py, CACHE_RULES). Standard
library only; _errors and _keys are imported only to report a failure.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .._endpoints import format_host_port, parse_host_port
from .._key_size import too_small

NAME = "obshell"
DEFAULT_PORT = 2886
RECOMMENDED_KEY_BITS = 1024  # what agents generate since obshell 4.4.1.1 / 4.4.2.0
# The options canonical_term folds into the term: they do not key the cache a second time.
TERM_OPTIONS = ("port", "scheme")


def parse_term(term, scheme="http", default_port=DEFAULT_PORT):
    """An agent as 'host', 'host:port', '[v6]:port' or scheme://host:port -> (scheme, host, port)."""
    text = term
    if "://" in term:
        try:
            parts = urlsplit(term)
        except ValueError:  # an unbalanced or empty [IPv6] host
            raise _option_error("obshell: term %r is not a valid URL" % term)
        if parts.scheme not in ("http", "https"):
            raise _option_error("obshell: term %r: only http:// and https:// URLs are agents" % term)
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
            raise _option_error("obshell: term %r: give the agent as scheme://host:port, without a path" % term)
        scheme = parts.scheme
        text = parts.netloc
    host, port = parse_host_port(text, default_port, option="obshell term")
    return scheme, host, port


def check_term(term):
    parse_term(term)
    return term


def canonical_term(term, options):
    """'h', 'h:2886' and 'http://h:2886' name one agent: 'http://h:2886' (scheme and port from options)."""
    scheme, host, port = parse_term(term, options.get("scheme") or "http", options.get("port") or DEFAULT_PORT)
    return "%s://%s" % (scheme, format_host_port(host, port))


def weak_key_warning(record):
    """The warning for a key under 1024 bits, or None."""
    if record.get("key_type") != "RSA" or record.get("key_size", RECOMMENDED_KEY_BITS) >= RECOMMENDED_KEY_BITS:
        return None
    return (
        "obshell: key %s: the agent serves a %d-bit RSA key, too weak to protect the passwords sent "
        "with it. obshell agents generate 1024-bit keys since 4.4.1.1 (release 4.4.2.0) and replace "
        "a 512-bit key at their first start after the upgrade: upgrade obshell on this node, then "
        "fetch the key again. Set min_key_size: 1024 to refuse such keys."
        % (record.get("key_id"), record["key_size"]))


def check_key_size(record, min_key_size):
    """Refuse keys under min_key_size (KeyFormatError); the agent's keys are RSA only."""
    if record.get("key_type") != "RSA":
        from .._errors import KeyFormatError

        raise KeyFormatError(
            "obshell agents use RSA keys; this is a %s key" % record.get("key_type"),
            provider=record.get("provider") or NAME, key=record.get("key_id"))
    if too_small(record.get("key_type"), record.get("key_size"), min_key_size):
        from .._keys import check_min_size  # the one message for it

        check_min_size(record, min_key_size)


def check_min_key_size_option(min_key_size):
    """The option itself, checked before any request."""
    if min_key_size is not None and int(min_key_size) < 0:
        raise _option_error("obshell: min_key_size must not be negative")


def check_record(record, options, warn):
    """min_key_size and the weak-key warning, on every record (fetched or cached)."""
    check_key_size(record, options.get("min_key_size"))
    warning = weak_key_warning(record)
    if warning:
        warn(warning)


def _option_error(message):
    from .._errors import OptionError

    return OptionError(message)
