# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sample decision environment: ansible-builder makes a build context from it that installs
ansible-rulebook, a Java runtime for its rule engine, the collection and its Python requirements."""

from __future__ import annotations

import os

import yaml

from .conftest import BIN, ROOT, run_tool
from .test_execution_environment import RUNTIME_NAMES, requirement_names


def test_ansible_builder_create_decision_environment(tmp_path):
    context = tmp_path / "context"
    rc, out = run_tool([os.path.join(BIN, "ansible-builder"), "create", "-f", os.path.join(ROOT, "decision-environment.yml"),
                        "-c", str(context), "--output-filename", "Containerfile"], cwd=str(tmp_path))
    assert rc == 0, out
    containerfile = (context / "Containerfile").read_text()

    python = requirement_names((context / "_build" / "requirements.txt").read_text().splitlines())
    assert python == RUNTIME_NAMES | {"ansible-rulebook"}

    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == ["keyward.keys"]

    system = (context / "_build" / "bindep.txt").read_text()
    assert "openjdk" in system
    assert "ansible-galaxy collection install" in containerfile or "assemble" in containerfile


def test_decision_environment_names_the_collection_requirements():
    de = yaml.safe_load(open(os.path.join(ROOT, "decision-environment.yml")))
    assert de["version"] == 3
    assert requirement_names(de["dependencies"]["python"]) - {"ansible-rulebook"} == RUNTIME_NAMES
