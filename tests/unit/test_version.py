# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The version the code reports (User-Agent) is the version galaxy.yml builds."""

from __future__ import annotations

import os
import re

import yaml

from ansible_collections.keyward.keys.plugins.module_utils import _transport, _version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _galaxy():
    with open(os.path.join(ROOT, "galaxy.yml")) as handle:
        return yaml.safe_load(handle)


def test_collection_version_equals_galaxy_yml():
    galaxy = _galaxy()
    assert _version.COLLECTION_VERSION == str(galaxy["version"])
    assert _version.COLLECTION_NAME == "%s.%s" % (galaxy["namespace"], galaxy["name"])


def test_version_is_semver():
    # ansible-galaxy refuses anything else.
    assert re.match(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$", _version.COLLECTION_VERSION)


def test_user_agent_carries_the_version():
    galaxy = _galaxy()
    assert _transport.USER_AGENT == "%s.%s/%s" % (galaxy["namespace"], galaxy["name"], galaxy["version"])
