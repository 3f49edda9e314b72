# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docs, argspecs and option tables agree, for every lookup and module under plugins/.

Plugins are discovered from the file system, so ones added later are covered too. Docs come
from `ansible-doc --json` (doc fragments merged by Ansible itself); module argspecs are captured
by running each module's main() with AnsibleModule patched, as ansible-test's validate-modules
does; lookup option precedence is checked by reading options through Ansible's config manager
in a subprocess with the environment variables set.

The checks return lists of problems; a self-test feeds them deliberately broken docs.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import subprocess
import sys
from unittest import mock

import pytest
import yaml

from ansible_collections.keyward.keys.plugins.module_utils import _options
from ansible_collections.keyward.keys.plugins.plugin_utils._cache import is_secret_name

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
PLUGINS = os.path.join(ROOT, "plugins")
PKG = "ansible_collections.keyward.keys.plugins"
# Longest first, so oceanbase_cloud is not taken for something shorter.
PROVIDER_PREFIXES = ("oceanbase_cloud", "huaweicloud", "alicloud", "ncloud", "obshell")
TYPE_ALIASES = {"string": "str", "boolean": "bool", "integer": "int", "dictionary": "dict"}
SECRET_WORDS = ("password", "secret", "token")


def discover(kind):
    directory = os.path.join(PLUGINS, kind)
    if not os.path.isdir(directory):
        return []
    return sorted(name[:-3] for name in os.listdir(directory) if name.endswith(".py") and not name.startswith("_"))


LOOKUPS = discover("lookup")
MODULES = discover("modules")


def provider_of(name):
    for prefix in PROVIDER_PREFIXES:
        if name == prefix or name.startswith(prefix + "_"):
            return prefix
    return None


def provider_tables(prefix):
    """Every option table (OPTIONS, *_OPTIONS) the provider's module_utils file declares."""
    if prefix is None or not os.path.exists(os.path.join(PLUGINS, "module_utils", "providers", "_%s.py" % prefix)):
        return {}
    mod = importlib.import_module("%s.module_utils.providers._%s" % (PKG, prefix))
    tables = {}
    for attr in dir(mod):
        value = getattr(mod, attr)
        if (attr == "OPTIONS" or attr.endswith("_OPTIONS")) and isinstance(value, dict) \
                and all(isinstance(v, dict) for v in value.values()):
            tables[attr] = value
    return tables


def lists_records(prefix):
    """False for a provider whose results are not key records (a list provider: no pins, no
    return_format), as its Provider declaration says; True otherwise."""
    if prefix is None or not os.path.exists(os.path.join(PLUGINS, "module_utils", "providers", "_%s.py" % prefix)):
        return True
    provider = getattr(importlib.import_module("%s.module_utils.providers._%s" % (PKG, prefix)), "PROVIDER", None)
    return getattr(provider, "records", True)


def connection_tables(prefix, lookup=False):
    """The shared tables of a provider's plugins: TRANSPORT (+ LIST_LOOKUP) for list providers,
    CONNECTION (+ LOOKUP) for key-record providers."""
    if lists_records(prefix):
        return [_options.CONNECTION, _options.LOOKUP] if lookup else [_options.CONNECTION]
    return [_options.TRANSPORT, _options.LIST_LOOKUP] if lookup else [_options.TRANSPORT]


def merged(tables):
    out = {}
    for table in tables:
        out.update(table)
    return out


# --- loading docs and argspecs ---------------------------------------------------------------------

_DOC_CACHE = {}
# ansible-doc of this interpreter's ansible-core. ansible-test units runs tests in a venv without
# console scripts, so fall back to the CLI's entry point (it reads its arguments from sys.argv).
_BIN = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
_ANSIBLE_DOC = [_BIN] if os.path.exists(_BIN) else [
    sys.executable, "-c", "import sys; from ansible.cli.doc import main; sys.argv[0] = 'ansible-doc'; main()"]


def _run_ansible_doc(kind, names):
    fqcns = ["keyward.keys.%s" % n for n in names]
    cmd = _ANSIBLE_DOC + ["--json", "-t", kind] + fqcns
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ), timeout=300, check=False)
    if proc.returncode != 0:
        return None, proc.stderr.strip()
    return {fqcn.split(".", 2)[2]: value["doc"] for fqcn, value in json.loads(proc.stdout).items()}, None


def ansible_doc(kind, names, name):
    """The doc of one plugin, from `ansible-doc --json` (fragments merged by Ansible).

    All plugins of a type are read in one call; if that fails, one by one, so that a plugin
    with broken docs fails its own test only.
    """
    key = (kind, tuple(names))
    if key not in _DOC_CACHE:
        docs, _error = _run_ansible_doc(kind, names)
        if docs is None:
            docs = {}
            for one in names:
                found, error = _run_ansible_doc(kind, [one])
                docs[one] = found[one] if found else error
        _DOC_CACHE[key] = docs
    doc = _DOC_CACHE[key].get(name)
    assert isinstance(doc, dict), "ansible-doc cannot render %s %s: %s" % (kind, name, doc)
    return doc


class _Captured(Exception):
    pass


def module_argspec(name):
    """The argument_spec (file common args merged) the module hands to AnsibleModule."""
    from ansible.module_utils import basic

    captured = {}

    def fake_init(self, argument_spec=None, **kwargs):
        captured["spec"] = dict(argument_spec or {})
        captured["kwargs"] = kwargs
        raise _Captured()

    with mock.patch.object(basic.AnsibleModule, "__init__", fake_init), \
            mock.patch.object(sys, "argv", [name]):
        try:
            runpy.run_module("%s.modules.%s" % (PKG, name), run_name="__main__", alter_sys=False)
        except _Captured:
            pass
    assert "spec" in captured, "module %s never created an AnsibleModule" % name
    spec = captured["spec"]
    if captured["kwargs"].get("add_file_common_args"):
        for option, entry in basic.FILE_COMMON_ARGUMENTS.items():
            spec.setdefault(option, entry)
    return spec


def lookup_tables(name):
    """The option tables a lookup reads its options from (KeywardLookupBase.tables())."""
    mod = importlib.import_module("%s.lookup.%s" % (PKG, name))
    plugin = mod.LookupModule()
    if hasattr(plugin, "tables"):
        return list(plugin.tables())
    prefix = provider_of(name)
    return connection_tables(prefix, lookup=True) + list(provider_tables(prefix).values())


# --- the checks (each returns a list of problems) ---------------------------------------------------

def _type(value):
    value = value or "str"
    return TYPE_ALIASES.get(value, value)


def _norm_choices(value):
    return sorted(str(c) for c in value) if value else None


def compare_fields(where, name, expected, actual, fields=("type", "default", "choices", "elements")):
    problems = []
    for field in fields:
        want, got = expected.get(field), actual.get(field)
        if field == "type":
            want, got = _type(want), _type(got)
        elif field == "elements":
            want, got = (_type(want) if want else None), (_type(got) if got else None)
        elif field == "choices":
            want, got = _norm_choices(want), _norm_choices(got)
        if want != got:
            problems.append("%s: option %s: %s is %r, the table says %r" % (where, name, field, got, want))
    return problems


def check_lookup_doc(name, doc_options, tables, provider):
    """Lookup docs against its option tables: same options, types, defaults, choices, env names, vars."""
    problems = []
    table = merged(tables)
    documented = {k: v for k, v in doc_options.items() if k != "_terms"}
    for option in sorted(set(table) - set(documented)):
        problems.append("lookup %s: option %s is in the tables but not documented" % (name, option))
    for option in sorted(set(documented) - set(table)):
        problems.append("lookup %s: option %s is documented but in no option table, so it is never read" % (name, option))
    for option in sorted(set(table) & set(documented)):
        decl, doc = table[option], documented[option]
        problems += compare_fields("lookup %s" % name, option, decl, doc)
        env = [entry["name"] for entry in doc.get("env") or []]
        if sorted(env) != sorted(decl.get("env") or []):
            problems.append("lookup %s: option %s: env %s, the table says %s" % (name, option, env, decl.get("env") or []))
        if provider:
            var = "keyward_%s_%s" % (provider, option)
            if var not in [entry["name"] for entry in doc.get("vars") or []]:
                problems.append("lookup %s: option %s has no variable %s" % (name, option, var))
        if doc.get("no_log") is not None:
            problems.append("lookup %s: option %s: lookups have no no_log; protect output with the task's no_log" % (name, option))
    return problems


def check_module(name, doc_options, spec, tables):
    """Module docs against its argspec, and the argspec against the option tables."""
    problems = []
    for option in sorted(set(spec) - set(doc_options)):
        if option.startswith("_"):
            continue  # a hidden parameter that the module's action plugin sets (public_key_store's _files)
        problems.append("module %s: option %s is in the argspec but not documented" % (name, option))
    for option in sorted(set(doc_options) - set(spec)):
        problems.append("module %s: option %s is documented but not in the argspec" % (name, option))
    for option in sorted(set(spec) & set(doc_options)):
        entry, doc = spec[option], doc_options[option]
        for problem in compare_fields("module %s" % name, option, entry, doc, ("type", "default", "choices", "elements")):
            problems.append(problem.replace("the table says", "the argspec says"))
        if bool(entry.get("required")) != bool(doc.get("required")):
            problems.append("module %s: option %s: required differs between docs and argspec" % (name, option))
        if sorted(entry.get("aliases") or []) != sorted(doc.get("aliases") or []):
            problems.append("module %s: option %s: aliases differ between docs and argspec" % (name, option))
    table = merged(tables)
    for option in sorted(set(spec) & set(table)):
        entry, decl = spec[option], table[option]
        problems += compare_fields("module %s" % name, option, decl, entry)
        if bool(decl.get("no_log")) != bool(entry.get("no_log")):
            problems.append("module %s: option %s: no_log is %r, the table says %r" % (name, option, entry.get("no_log"), decl.get("no_log")))
        fallback = entry.get("fallback")
        env = list(fallback[1]) if fallback else []
        if env != list(decl.get("env") or []):
            problems.append("module %s: option %s: env fallback %s, the table says %s" % (name, option, env, decl.get("env") or []))
    for option, entry in sorted(spec.items()):
        if any(word in option for word in SECRET_WORDS) and option not in table and "no_log" not in entry:
            problems.append("module %s: option %s looks secret but sets no no_log" % (name, option))
        if is_secret_name(option) and option in table and not entry.get("no_log"):
            problems.append("module %s: secret option %s is not no_log" % (name, option))
    return problems


def check_secret_tables(tables):
    """Secrets in every table are no_log; no table has a secret with a default."""
    problems = []
    for table in tables:
        for option, decl in table.items():
            # The same rule decides what the run-wide cache leaves out of its keys.
            secret = is_secret_name(option)
            if secret and decl.get("no_log") is not True:
                problems.append("table option %s is a secret but not no_log=True" % option)
            if decl.get("no_log") is True and not secret:
                problems.append("table option %s is no_log but its name does not say it is a secret, so the "
                                "lookup cache would key on it" % option)
            if decl.get("no_log") and decl.get("default") is not None:
                problems.append("table option %s is secret and has a default" % option)
    return problems


_PRECEDENCE_SCRIPT = r"""
import json, sys
from ansible.plugins.loader import init_plugin_loader, lookup_loader
init_plugin_loader([sys.argv[1]])
plugin = lookup_loader.get(sys.argv[2])
# read_options() is what run() uses: Ansible's config manager plus our env precedence.
options = plugin.read_options({}, {})
print(json.dumps({name: options[name] for name in json.loads(sys.argv[3])}))
"""


def _env_value(kind, index, env_name):
    if kind == "int":
        return str(101 + index), 101 + index
    if kind == "float":
        return str(101.5 + index), 101.5 + index
    if kind == "bool":
        return ("true", True) if index == 0 else ("false", False)
    if kind == "list":
        return "/value/%s" % env_name, ["/value/%s" % env_name]
    return "/value/%s" % env_name, "/value/%s" % env_name


def lookup_env_precedence(name, tables):
    """(expected, got) for every option with env names: the table's FIRST env name must win."""
    table = merged(tables)
    env = {}
    expected = {}
    for option, decl in table.items():
        names = decl.get("env") or []
        for index, env_name in enumerate(names):
            if decl.get("choices"):
                # A value the option accepts, other than its default, so that the check can tell.
                usable = [c for c in decl["choices"] if c != decl.get("default")] + [decl.get("default")]
                raw = value = usable[index % len(usable)]
            else:
                raw, value = _env_value(_type(decl.get("type")), index, env_name)
            env[env_name] = raw
            if index == 0:
                expected[option] = value
    if not expected:
        return {}, {}
    return expected, lookup_read_options(name, env, expected)


ENV_PREFIXES = ("KEYWARD_", "HUAWEICLOUD_", "HW_", "ALIBABA_", "ALICLOUD_", "NCLOUD_", "OCEANBASE_", "OB_", "OBSHELL_")


def lookup_read_options(name, env, expected):
    """{option: value} as the lookup `name` reads them (read_options) with only `env` from the
    provider environment variables set, in a subprocess."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(ENV_PREFIXES)}
    environ.update(env)
    if ROOT.split(os.sep)[-3:-2] == ["ansible_collections"]:
        collections_root = os.path.dirname(os.path.dirname(os.path.dirname(ROOT)))
    else:
        collections_root = os.path.join(ROOT, ".build", "collections")
    cmd = [sys.executable, "-c", _PRECEDENCE_SCRIPT, collections_root, "keyward.keys." + name, json.dumps(sorted(expected))]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environ, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def blank_env(tables):
    """(env, expected): every option's env names set to '' (AWX's blank optional credential field),
    except that an option with several takes a value from its last one, which must then win;
    expected is what an unset environment would give (default, or that value)."""
    env, expected = {}, {}
    for option, decl in merged(tables).items():
        names = decl.get("env") or []
        if not names:
            continue
        env.update(dict.fromkeys(names, ""))
        expected[option] = decl.get("default")
        if len(names) > 1:
            raw, expected[option] = _env_value(_type(decl.get("type")), 1, names[-1])
            env[names[-1]] = raw
    return env, expected


# --- the tests ---------------------------------------------------------------------------------------

def test_plugins_are_discovered():
    # Not a tautology: the collection ships lookups and modules, so an empty discovery means a broken walk.
    assert MODULES, "no modules found under plugins/modules"
    assert all(provider_of(name) for name in LOOKUPS), LOOKUPS


@pytest.mark.skipif(not LOOKUPS, reason="no lookups yet")
@pytest.mark.parametrize("name", LOOKUPS)
def test_lookup_docs_agree_with_tables(name):
    doc = ansible_doc("lookup", LOOKUPS, name)
    tables = lookup_tables(name)
    problems = check_lookup_doc(name, doc.get("options") or {}, tables, provider_of(name))
    problems += check_secret_tables(tables)
    assert problems == []


@pytest.mark.skipif(not LOOKUPS, reason="no lookups yet")
@pytest.mark.parametrize("name", LOOKUPS)
def test_lookup_env_precedence_is_first_listed(name):
    """Ansible's config manager lets the LAST env entry found win; the tables (and modules'
    env_fallback) mean the FIRST. The docs must list env names so that the table's first wins."""
    expected, got = lookup_env_precedence(name, lookup_tables(name))
    wrong = {option: (got.get(option), want) for option, want in expected.items() if got.get(option) != want}
    assert wrong == {}, "option: (value the lookup read, value of the first env name in the table)"


@pytest.mark.parametrize("name", LOOKUPS)
def test_lookup_blank_env_is_unset(name):
    """AWX injects a blank optional credential field as an empty variable: no lookup reads ''
    (an OceanBase Cloud `site` of '' once failed every lookup on the option's choices)."""
    env, expected = blank_env(lookup_tables(name))
    assert expected, "no option of %s reads the environment" % name
    assert lookup_read_options(name, env, expected) == expected


@pytest.mark.parametrize("name", MODULES)
def test_module_blank_env_is_unset(name, monkeypatch):
    """The same for every module: its argspec's env fallback skips an empty variable."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = module_argspec(name)
    tables = [{option: decl} for table in connection_tables(provider_of(name)) + list(provider_tables(provider_of(name)).values())
              for option, decl in table.items() if option in spec]
    env, expected = blank_env(tables)
    if not expected:
        pytest.skip("%s reads no environment variable" % name)
    for variable in list(os.environ):
        if variable.startswith(ENV_PREFIXES):
            monkeypatch.delenv(variable)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    result = ArgumentSpecValidator(spec).validate({})
    assert [str(error) for error in result.errors if any(option in str(error) for option in expected)] == []
    got = {option: result.validated_parameters.get(option) for option in expected}
    assert got == {option: spec[option].get("default") if value is None else value for option, value in expected.items()}


@pytest.mark.parametrize("name", MODULES)
def test_module_docs_argspec_and_tables_agree(name):
    doc = ansible_doc("module", MODULES, name)
    spec = module_argspec(name)
    tables = connection_tables(provider_of(name)) + list(provider_tables(provider_of(name)).values())
    problems = check_module(name, doc.get("options") or {}, spec, tables)
    problems += check_secret_tables(tables)
    assert problems == []


def _fragment(cls_name, attr):
    mod = importlib.import_module("%s.doc_fragments.%s" % (PKG, cls_name))
    return yaml.safe_load(getattr(mod.ModuleDocFragment, attr))["options"]


def test_connection_fragment_agrees_with_connection_table():
    envs = _fragment("connection", "PLUGINS")
    docs = dict(_fragment("connection", "DOCUMENTATION"), **_fragment("connection", "PINS"))
    merged_docs = {name: dict(docs.get(name, {}), **envs.get(name, {})) for name in set(docs) | set(envs)}
    assert check_lookup_doc("fragment", merged_docs, [_options.CONNECTION], None) == []
    transport = {name: dict(doc, **envs.get(name, {})) for name, doc in _fragment("connection", "DOCUMENTATION").items()}
    assert check_lookup_doc("fragment", transport, [_options.TRANSPORT], None) == []
    lookup = dict(_fragment("connection", "LOOKUP"), **_fragment("connection", "CACHE"))
    assert check_lookup_doc("fragment", lookup, [_options.LOOKUP], None) == []
    assert check_lookup_doc("fragment", _fragment("connection", "CACHE"), [_options.LIST_LOOKUP], None) == []


def test_list_providers_use_the_transport_and_list_lookup_tables():
    assert connection_tables("oceanbase_cloud", lookup=True) == [_options.TRANSPORT, _options.LIST_LOOKUP]
    assert connection_tables("oceanbase_cloud") == [_options.TRANSPORT]
    assert connection_tables("huaweicloud", lookup=True) == [_options.CONNECTION, _options.LOOKUP]


# --- the checks can fail -----------------------------------------------------------------------------

FAKE_TABLE = {
    "region": dict(type="str", env=["FAKE_REGION", "FAKE_REGION_OLD"]),
    "secret_key": dict(type="str", env=["FAKE_SK"], no_log=True),
    "page_size": dict(type="int", default=100),
}


def _good_lookup_doc():
    options = {"_terms": {"type": "list"}}
    for option, decl in merged([_options.CONNECTION, _options.LOOKUP, FAKE_TABLE]).items():
        doc = {k: decl[k] for k in ("type", "default", "choices", "elements") if k in decl}
        if decl.get("env"):
            doc["env"] = [{"name": n} for n in decl["env"]]
        doc["vars"] = [{"name": "keyward_ncloud_%s" % option}]
        options[option] = doc
    return options


def test_self_check_accepts_a_correct_lookup_doc():
    assert check_lookup_doc("fake", _good_lookup_doc(), [_options.CONNECTION, _options.LOOKUP, FAKE_TABLE], "ncloud") == []


def test_self_check_finds_every_kind_of_broken_lookup_doc():
    doc = _good_lookup_doc()
    doc["timeout"]["default"] = 30
    doc["retries"]["type"] = "str"
    doc["return_format"]["choices"] = ["pem", "dict"]
    doc["region"]["env"] = [{"name": "FAKE_REGION"}]
    doc["page_size"]["vars"] = [{"name": "keyward_page_size"}]
    del doc["secret_key"]
    doc["undeclared"] = {"type": "str"}
    problems = check_lookup_doc("fake", doc, [_options.CONNECTION, _options.LOOKUP, FAKE_TABLE], "ncloud")
    joined = "\n".join(problems)
    for fragment in ("timeout: default is 30", "retries: type is 'str'", "return_format: choices",
                     "region: env ['FAKE_REGION']", "page_size has no variable keyward_ncloud_page_size",
                     "secret_key is in the tables but not documented", "undeclared is documented but in no option table"):
        assert fragment in joined, (fragment, problems)
    assert len(problems) == 7


def test_self_check_finds_broken_module_argspecs():
    spec = _options.argspec(_options.CONNECTION, FAKE_TABLE)
    doc = {name: {k: v for k, v in entry.items() if k in ("type", "default", "choices", "elements", "required")}
           for name, entry in spec.items()}
    assert check_module("fake", doc, spec, [_options.CONNECTION, FAKE_TABLE]) == []
    spec["secret_key"] = dict(type="str")  # lost no_log and env fallback
    spec["api_token"] = dict(type="str")  # a secret the tables do not know, without no_log
    spec["page_size"]["default"] = 10
    doc["extra"] = {"type": "str"}
    problems = check_module("fake", doc, spec, [_options.CONNECTION, FAKE_TABLE])
    joined = "\n".join(problems)
    for fragment in ("secret_key: no_log is None", "secret_key: env fallback []", "secret option secret_key is not no_log",
                     "api_token looks secret", "api_token is in the argspec but not documented",
                     "page_size: default is 10", "extra is documented but not in the argspec"):
        assert fragment in joined, (fragment, problems)


def test_self_check_finds_insecure_tables():
    assert check_secret_tables([{"password": dict(type="str")}]) == ["table option password is a secret but not no_log=True"]
    assert check_secret_tables([{"secret_key": dict(type="str", no_log=True, default="x")}]) == [
        "table option secret_key is secret and has a default"]


def test_env_value_generator_gives_distinct_values():
    # The precedence check only works if the first and second env values differ after conversion.
    for kind in ("int", "float", "bool", "list", "str", "path"):
        assert _env_value(kind, 0, "A")[1] != _env_value(kind, 1, "B")[1]
