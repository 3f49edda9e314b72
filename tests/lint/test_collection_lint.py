# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as Galaxy, the Ansible docsite and ansible-lint see it: no finding, no skip."""

from __future__ import annotations

import glob
import json
import os
import re
import tarfile

import pytest
import yaml

from .conftest import BIN, ROOT, run_tool

VERSION = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))["version"]
TARBALL = os.environ.get("KEYWARD_TARBALL") or os.path.join(ROOT, ".build", "keyward-keys-%s.tar.gz" % VERSION)


def test_ansible_lint_production_profile(collection_link):
    rc, out = run_tool([os.path.join(BIN, "ansible-lint"), "--profile", "production", "--offline", "-f", "pep8"]
                       + os.environ.get("LINT_ARGS", "").split())
    assert rc == 0, out


def test_ansible_lint_config_hides_nothing():
    config = yaml.safe_load(open(os.path.join(ROOT, ".ansible-lint"))) or {}
    assert config.get("profile") == "production"
    for key in ("skip_list", "warn_list", "exclude_paths", "mock_roles", "enable_list"):
        assert not config.get(key), key
    # A module of a collection that is not a dependency may be declared (not a rule skipped): only
    # awx.awx's, for playbooks/awx_credential_types.yml, which is syntax-checked with awx.awx installed.
    assert config.get("mock_modules", []) in ([], ["awx.awx.credential_type"])


def test_antsibull_changelog_lint(collection_link):
    rc, out = run_tool([os.path.join(BIN, "antsibull-changelog"), "lint"])
    assert rc == 0 and not out.strip(), out


def test_no_fragments_for_new_content():
    """New modules, plugins and roles are found through version_added, never through a fragment."""
    for path in glob.glob(os.path.join(ROOT, "changelogs", "fragments", "*.y*ml")):
        text = open(path).read()
        for word in ("new module", "new lookup", "new filter", "new role", "new plugin"):
            assert word not in text.lower(), "%s announces %s" % (path, word)


def test_version_added_everywhere():
    missing = []
    for path in glob.glob(os.path.join(ROOT, "plugins", "*", "*.py")):
        kind = os.path.basename(os.path.dirname(path))
        if kind in ("module_utils", "plugin_utils", "doc_fragments", "action") or path.endswith("__init__.py"):
            continue
        if "\nversion_added:" not in open(path).read():
            missing.append(path)
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        specs = yaml.safe_load(open(path))["argument_specs"]
        missing.extend("%s:%s" % (path, name) for name, spec in specs.items() if "version_added" not in spec)
    assert not missing


def test_antsibull_docs_lint(collection_link):
    rc, out = run_tool([os.path.join(BIN, "antsibull-docs"), "lint-collection-docs", "--plugin-docs", "."])
    assert rc == 0 and not out.strip(), out


def test_tarball_contents():
    if not os.path.exists(TARBALL):
        pytest.fail("%s is missing: run make build" % TARBALL)
    with tarfile.open(TARBALL) as tar:
        names = tar.getnames()
    for required in ("LICENSE", "CHANGELOG.rst", "README.md", "meta/runtime.yml", "docs/docsite/extra-docs.yml"):
        assert required in names
    for name in names:
        assert not name.startswith(("tests/", "scripts/", "benchmarks/", "demo/", ".ansible/", ".venv/", ".build/")), name
        assert "/.ansible/" not in name and "ansible_collections/" not in name, name
    assert "docs/developing.md" not in names and "docs/testing.md" not in names and "CONTRIBUTING.md" not in names


def test_galaxy_importer(tmp_path, monkeypatch):
    """Galaxy's own import checks (offline: ansible-lint inside, no ansible-test), without a warning.

    flake8 too, as galaxy.ansible.com runs the importer (RUN_FLAKE8 = True): each of its findings
    in a plugin is a WARNING line of the import log."""
    config = tmp_path / "galaxy-importer.cfg"
    config.write_text("[galaxy-importer]\nRUN_ANSIBLE_TEST = False\nRUN_ANSIBLE_LINT = True\nRUN_FLAKE8 = True\n")
    monkeypatch.setenv("GALAXY_IMPORTER_CONFIG", str(config))
    rc, out = run_tool([os.path.join(BIN, "python"), "-m", "galaxy_importer.main", TARBALL], cwd=str(tmp_path))
    assert rc == 0, out
    assert "Importer processing completed successfully" in out, out
    assert "via flake8" in out, "flake8 did not run"
    warnings = [line for line in out.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line, re.IGNORECASE)]
    assert not warnings, "\n".join(warnings)
    results = glob.glob(str(tmp_path / "importer_result.json"))
    if results:
        data = json.load(open(results[0]))
        assert not data.get("import_errors"), data["import_errors"]
