# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared helpers of the lint stage (`make lint`): the ecosystem's own tools, run from .venv/lint."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
# The checkout as ansible_collections/keyward/keys (the Makefile's LINK), where ansible-doc,
# antsibull-docs and antsibull-changelog find the collection.
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "keyward", "keys")


def tool_env():
    env = dict(os.environ)
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS
    env["NO_COLOR"] = "1"
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run_tool(args, cwd=LINK, timeout=600):
    """Run one tool; returns (exit status, stdout + stderr)."""
    proc = subprocess.run(args, cwd=cwd, env=tool_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout, check=False)
    return proc.returncode, proc.stdout


@pytest.fixture(scope="session")
def collection_link():
    if not os.path.isdir(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)
    return LINK
