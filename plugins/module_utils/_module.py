# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin layer every module stands on: argspec, missing libraries, errors -> fail_json.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from . import _keys, _transport
from ._errors import KeywardError, ProviderError
from ._options import argspec

_LIBRARIES = {
    "requests": lambda: _transport.REQUESTS_IMPORT_ERROR,
    "cryptography": lambda: _keys.CRYPTOGRAPHY_IMPORT_ERROR,
}


def new_module(argument_spec, libraries=("requests", "cryptography"), **kwargs):
    """AnsibleModule with check mode (every *_info module supports it) and library checks."""
    kwargs.setdefault("supports_check_mode", True)
    module_class = kwargs.pop("module_class", AnsibleModule)  # a subclass that adds no_log values early
    module = module_class(argument_spec=argument_spec, **kwargs)
    for name in libraries:
        error = _LIBRARIES[name]()
        if error:
            module.fail_json(msg=missing_required_lib(name), exception=error)
    return module


def provider_module(provider, extra=None, **kwargs):
    """The AnsibleModule of a provider's module: connection options, the provider's table, extra."""
    return new_module(argspec(*provider.tables(), **(extra or {})), **kwargs)


def transport(module, provider):
    """A Transport for the provider (a Provider) configured from the module's options."""
    return provider.transport(module.params, warn=module.warn, debug=module.debug)


def run_key_info(module, provider, terms):
    """exit_json(public_keys=...) with one record per term; terms None: every key the API lists."""
    from ._provider import fetch_list, fetch_records

    def work():
        if terms is None:
            records = fetch_list(provider, module.params, warn=module.warn, debug=module.debug)
        else:
            records = fetch_records(provider, module.params, terms, warn=module.warn, debug=module.debug)
        return {"public_keys": records, "changed": False}

    run(module, work)


def error_details(exc):
    """Machine-readable fields of an error, returned beside msg for failed_when/rescue logic."""
    if isinstance(exc, ProviderError):
        return {key: getattr(exc, key) for key in ("provider", "key", "status", "code", "request_id")}
    return {}


def run(module, func, on_error=None):
    """exit_json(**func()) or fail_json with the error's one line; never a traceback for our errors.

    on_error(exc) may return more fields for the failed result (e.g. the provider's answer).
    """
    failure = None
    try:
        result = func()
    except KeywardError as exc:
        failure = exc
    if failure is not None:
        # Outside the except block: inside it, AnsibleModule attaches a traceback at -vvv.
        extra = on_error(failure) if on_error else {}
        module.fail_json(msg=str(failure), error=error_details(failure), **extra)
    result.setdefault("changed", False)
    module.exit_json(**result)
