# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every lookup agrees with its provider: a cache hit applies what a fetch applies.

A hit never loads the provider (plugin_utils/_lookup.py); it applies the lookup's CACHE_RULES
module instead. These tests hold the two to the very same functions, so that a cached answer
can never skip a check, a canonical spelling or a clock-dependent field that a fetched one gets.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from ansible_collections.keyward.keys.plugins.module_utils import _registry

PLUGINS = "ansible_collections.keyward.keys.plugins."
LOOKUP_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "lookup")
LOOKUPS = sorted(name[:-3] for name in os.listdir(LOOKUP_DIR) if name.endswith(".py") and not name.startswith("_"))


def lookup_class(name):
    return importlib.import_module(PLUGINS + "lookup." + name).LookupModule


@pytest.mark.parametrize("name", LOOKUPS)
def test_cache_rules_are_the_providers_own(name):
    lookup = lookup_class(name)
    provider = _registry.load(lookup.PROVIDER)
    assert lookup.RECORDS is provider.records
    rules = importlib.import_module(PLUGINS + "module_utils." + lookup.CACHE_RULES) if lookup.CACHE_RULES else None
    # What the provider applies after a fetch, and its term spelling, must come from the rules module.
    assert getattr(rules, "canonical_term", None) is provider._canonical_term  # pylint: disable=protected-access
    assert tuple(getattr(rules, "TERM_OPTIONS", ())) == provider.term_options
    assert getattr(rules, "check_record", None) is provider.check_record
    assert getattr(rules, "finish", None) is provider.finish


# Valid terms in several shapes: a provider without a canonical spelling must return each as given.
SAMPLE_TERMS = {
    "huaweicloud_kms": ["0d0466b0-e727-4d9c-b35d-f84bb474a37f", "1a2b3c4d-0004-4000-8000-0000000000p2"],
    "alicloud_idaas": ["KEYEqDnDJhztiEAwSin7MZoxGcihzCAu0001", "pk_Mixed-Case_01"],
    "ncloud_kms": ["abc123Tag", "Mixed_Case-Tag_9"],
}


@pytest.mark.parametrize("name", sorted(SAMPLE_TERMS))
def test_check_term_only_validates_where_there_is_no_canonical_term(name):
    """A hit keys on the term as given unless the provider has a canonical spelling."""
    provider = _registry.load(name)
    assert provider._canonical_term is None  # pylint: disable=protected-access
    for term in SAMPLE_TERMS[name]:
        assert provider._check_term(term) == term  # pylint: disable=protected-access


def test_every_provider_with_terms_has_samples_or_a_canonical_term():
    for name in _registry.PROVIDERS:
        provider = _registry.load(name)
        assert not provider.records or name in SAMPLE_TERMS or provider._canonical_term is not None, name  # pylint: disable=protected-access


@pytest.mark.parametrize("rules", ["providers._obshell_rules", "providers._oceanbase_cloud_expiry"])
def test_rules_modules_import_nothing_heavy(rules):
    """Cache rules run on every hit: importing one loads no provider, transport, HTTP library,
    key model or error module (a fresh interpreter, so everything it pulls in counts)."""
    heavy = ["requests", "cryptography"] + [PLUGINS + "module_utils." + name for name in (
        "_transport", "_keys", "_provider", "_errors", "_registry", "providers._obshell",
        "providers._oceanbase_cloud")]
    code = "import sys, importlib; importlib.import_module(%r); print(sorted(m for m in %r if m in sys.modules))" % (
        PLUGINS + "module_utils." + rules, heavy)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)))
    assert out.stdout.strip() == "[]"
