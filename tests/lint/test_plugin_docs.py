# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What antsibull-docs lint does not check in the plugin docs, and a reader of the docsite needs.

- every lookup says what it needs on the controller (`requirements`), as the modules do;
- no plugin, doc fragment or role argument spec points a reader at a path of the source
  repository (docs/..., tests/..., module_utils/..., a .md file): the built collection and the
  docsite do not have them; docsite pages and ansible-doc names do the job;
- an option's description names a field of its input with C(), not RV() (a return value);
- the docsite links have a communication entry (antsibull-docs' `communication` section).
"""

from __future__ import annotations

import ast
import glob
import os
import re

import pytest
import yaml

from .conftest import ROOT

PLUGIN_FILES = sorted([*glob.glob(os.path.join(ROOT, "plugins", "*", "*.py")),
                       *glob.glob(os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "*.py"))])
DOC_NAMES = ("DOCUMENTATION", "EXAMPLES", "RETURN")
# A path in the source repository, as a reader would be sent to it.
REPO_PATH = re.compile(r"(?<![\w./:-])(?:docs|tests|scripts|benchmarks|changelogs|module_utils|plugin_utils"
                       r"|plugins/\w+)/[\w./-]*|(?<![\w/.-])[\w/-]+\.md\b")
RV_AS_FIELD = re.compile(r"RV\([^)]*\)\s+(?:or\s+C\([^)]*\)\s+)?field")


def doc_strings(path):
    """{name: text} of the module-level doc strings and, for doc fragments, the class attributes."""
    found = {}
    for node in ast.parse(open(path, encoding="utf-8").read()).body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [(node, "")]
        elif isinstance(node, ast.ClassDef):
            targets = [(sub, node.name + ".") for sub in node.body if isinstance(sub, ast.Assign)]
        for assign, prefix in targets:
            if isinstance(assign.value, ast.Constant) and isinstance(assign.value.value, str):
                for target in assign.targets:
                    if isinstance(target, ast.Name) and (target.id in DOC_NAMES or prefix):
                        found[prefix + target.id] = assign.value.value
    return found


def role_specs():
    return sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))


def option_descriptions(options, where):
    for name, spec in (options or {}).items():
        if not isinstance(spec, dict):
            continue
        description = spec.get("description") or []
        for line in description if isinstance(description, list) else [description]:
            yield "%s: %s" % (where, name), str(line)
        yield from option_descriptions(spec.get("suboptions") or spec.get("options"), "%s: %s" % (where, name))


def test_every_lookup_lists_its_requirements():
    lookups = [path for path in glob.glob(os.path.join(ROOT, "plugins", "lookup", "*.py"))
               if not os.path.basename(path).startswith("_")]
    assert lookups
    missing = [os.path.basename(path) for path in lookups
               if not (yaml.safe_load(doc_strings(path)["DOCUMENTATION"]) or {}).get("requirements")]
    assert missing == []


def test_no_plugin_doc_points_at_a_repository_path():
    found = []
    for path in PLUGIN_FILES:
        for name, text in doc_strings(path).items():
            found += ["%s %s: %s" % (os.path.relpath(path, ROOT), name, match.group(0)) for match in REPO_PATH.finditer(text)]
    for path in role_specs():
        text = open(path, encoding="utf-8").read()
        found += ["%s: %s" % (os.path.relpath(path, ROOT), match.group(0)) for match in REPO_PATH.finditer(text)]
    assert found == [], "point at a docsite page or an ansible-doc name instead"


def test_the_repository_path_check_finds_paths():
    # Not vacuous: the pattern catches what it is for, and leaves URLs and FQCNs alone.
    for text in ("see C(docs/trust_store.md)", "in tests/emulators", "plugins/module_utils/_keys.py", "README.md"):
        assert REPO_PATH.search(text), text
    for text in ("https://example.com/docs/x", "keyward.keys.trust_store", "/etc/keyward/trust", "O(path)"):
        assert not REPO_PATH.search(text), text


def test_option_descriptions_name_input_fields_with_c_not_rv():
    found = []
    for path in PLUGIN_FILES:
        docs = doc_strings(path)
        for name, text in docs.items():
            if not name.endswith("DOCUMENTATION"):
                continue
            data = yaml.safe_load(text) or {}
            for where, line in option_descriptions(data.get("options"), os.path.basename(path)):
                if RV_AS_FIELD.search(line):
                    found.append("%s: %s" % (where, line))
    assert found == []
    assert RV_AS_FIELD.search("a dictionary with a RV(_value.public_key) or C(public_key_raw) field")


@pytest.mark.parametrize("section", ["communication"])
def test_docsite_links_have_a_communication_entry(section):
    links = yaml.safe_load(open(os.path.join(ROOT, "docs", "docsite", "links.yml"))) or {}
    entries = [entry for kind in (links.get(section) or {}).values() for entry in kind or []]
    assert entries, "docs/docsite/links.yml: add a %s entry (a forum, Matrix room, ...)" % section
