# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every AWX credential type the collection ships (found by itself: one file per provider) has
the shape AWX's credential type API takes, and injects only what its inputs define."""

from __future__ import annotations

import glob
import os
import re

import pytest
import yaml

from .conftest import ROOT

FILES = sorted(glob.glob(os.path.join(ROOT, "extensions", "awx", "credential_types", "*.yml")))
SECRET_WORDS = ("secret", "password", "token")


def test_some_credential_types_exist():
    assert FILES


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(p) for p in FILES])
def test_credential_type_shape(path):
    spec = yaml.safe_load(open(path))
    assert set(spec) == {"name", "description", "kind", "inputs", "injectors"}
    assert spec["kind"] == "cloud"
    fields = spec["inputs"]["fields"]
    ids = [f["id"] for f in fields]
    assert len(ids) == len(set(ids))
    for field in fields:
        assert field.get("type") == "string" and field.get("label"), field
        if any(word in field["id"] for word in SECRET_WORDS):
            assert field.get("secret") is True, field["id"]
    assert set(spec["inputs"].get("required", [])) <= set(ids)
    env = spec["injectors"].get("env", {})
    assert env and set(spec["injectors"]) <= {"env", "extra_vars", "file"}
    for name, template in env.items():
        assert not name.startswith("ANSIBLE_"), name
        used = set(re.findall(r"{{\s*([a-z_]+)\s*(?:\|[^}]*)?}}", template))
        assert used and used <= set(ids), (name, template)
