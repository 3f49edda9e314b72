# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Endpoint and host:port parsing shared by every provider.

An obshell lookup answered from the run-wide cache parses its agent with this in every forked
worker, so _errors is imported only to report a mistake.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-_]*[A-Za-z0-9])?$")


def _option_error(message):
    from ._errors import OptionError

    return OptionError(message)


def normalize_endpoint(value, option="endpoint", default_scheme="https"):
    """A full URL (https://host[:port][/base]) or a bare host name -> URL without a trailing slash."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        raise _option_error("%s must not be empty" % option)
    if "://" not in text:
        text = "%s://%s" % (default_scheme, text)
    try:
        parts = urlsplit(text)
    except ValueError:  # an unbalanced or empty [IPv6] host
        raise _option_error("%s %r is not a valid URL" % (option, value))
    if parts.scheme not in ("http", "https"):
        raise _option_error("%s %r: only http and https URLs are supported" % (option, value))
    if not parts.hostname:
        raise _option_error("%s %r has no host name" % (option, value))
    if parts.username or parts.password:
        raise _option_error("%s must not carry credentials in the URL" % option)
    if parts.query or parts.fragment:
        raise _option_error("%s %r must not have a query string or fragment" % (option, value))
    try:
        parts.port
    except ValueError:
        raise _option_error("%s %r has an invalid port" % (option, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def parse_host_port(value, default_port, option="host"):
    """Parse 'host', 'host:port', '[v6]:port' or a bare IPv6 address -> (host, port).

    The host is returned without brackets; format_host_port() adds them back for URLs.
    """
    text = str(value).strip()
    if not text:
        raise _option_error("%s must not be empty" % option)
    port = default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise _option_error("%s %r: unbalanced '[' in an IPv6 address" % (option, value))
        host = text[1:end]
        rest = text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise _option_error("%s %r: expected ':port' after ']'" % (option, value))
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        # No colon, or several: a plain name or a bare IPv6 address without a port.
        host = text
    if not host:
        raise _option_error("%s %r has no host" % (option, value))
    if ":" in host:
        # Only an IPv6 address has colons (a@b:c@127.0.0.1 must not slip through as a 'host').
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _option_error("%s %r is neither host:port nor an IPv6 address" % (option, value))
    elif not _HOSTNAME.match(host):
        raise _option_error("%s %r is not a valid host name or address" % (option, value))
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise _option_error("%s %r: port must be a number" % (option, value))
    if not 0 < port < 65536:
        raise _option_error("%s %r: port must be between 1 and 65535" % (option, value))
    return host, port


def format_host_port(host, port):
    """'host:port', with brackets around an IPv6 address."""
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)
