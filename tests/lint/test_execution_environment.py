# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sample execution environment: ansible-builder makes a build context from it that installs
the collection and its Python requirements; bindep.txt asks for nothing pip already installs."""

from __future__ import annotations

import os
import re

import yaml

from .conftest import BIN, ROOT, run_tool

RUNTIME_NAMES = {"requests", "cryptography"}


def requirement_names(lines):
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower())
    return names


def test_ansible_builder_create(tmp_path):
    context = tmp_path / "context"
    rc, out = run_tool([os.path.join(BIN, "ansible-builder"), "create", "-f", os.path.join(ROOT, "execution-environment.yml"),
                        "-c", str(context), "--output-filename", "Containerfile"], cwd=str(tmp_path))
    assert rc == 0, out
    assert (context / "Containerfile").is_file()

    python = (context / "_build" / "requirements.txt").read_text().splitlines()
    assert requirement_names(python) == RUNTIME_NAMES

    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == ["keyward.keys"]

    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile or "assemble" in containerfile


def test_runtime_requirements_agree():
    """The sample, the collection's requirements.txt and INTERFACE.md name the same packages."""
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        assert requirement_names(handle) == RUNTIME_NAMES
    ee = yaml.safe_load(open(os.path.join(ROOT, "execution-environment.yml")))
    assert ee["version"] == 3
    assert requirement_names(ee["dependencies"]["python"]) == RUNTIME_NAMES
    meta = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml")))
    assert meta["dependencies"]["python"] == "requirements.txt"


def test_bindep_has_no_python_duplicates():
    with open(os.path.join(ROOT, "bindep.txt")) as handle:
        entries = [line.split("#", 1)[0].split()[0] for line in handle if line.split("#", 1)[0].strip()]
    assert not [e for e in entries if e.startswith(("python3-", "python-"))], entries
