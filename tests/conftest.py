"""Shared pytest setup: make `ansible_collections.keyward.keys` importable from this checkout.

Works under plain pytest (from the repository root or anywhere), pytest-ansible and
ansible-test units (which already puts the collection on sys.path).
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collections_root():
    # Inside an ansible_collections/<ns>/<name> tree already (ansible-test, an installed copy)?
    parts = ROOT.split(os.sep)
    if len(parts) >= 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])
    # Otherwise expose the checkout through a symlink under .build/collections.
    base = os.path.join(ROOT, ".build", "collections")
    link = os.path.join(base, "ansible_collections", "keyward", "keys")
    if not os.path.islink(link) or os.path.realpath(link) != os.path.realpath(ROOT):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(ROOT, link)
    return base


COLLECTIONS_ROOT = _collections_root()
if COLLECTIONS_ROOT not in sys.path:
    sys.path.insert(0, COLLECTIONS_ROOT)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", COLLECTIONS_ROOT)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # ansible-test units runs pytest with its own ini file and --strict-markers, so the markers
    # that pytest.ini declares are declared here too.
    config.addinivalue_line("markers", "slow: long-running integration tests")
    _no_pytest_ansible_injection(config)


def _no_pytest_ansible_injection(config):
    """Keep pytest-ansible (when installed) from changing how every other test imports the collection.

    Its pytest_configure, which runs after this one (tryfirst), sees galaxy.yml in the directory
    pytest starts in and then creates collections/ansible_collections/keyward/keys in the checkout
    (symlinks to every top-level entry, which `make build` and the ansible-test mirror would pick
    up) and installs ansible's collection finder into the pytest process, after which importing a
    part of the collection that sys.path already imported from fails ("collection metadata was not
    loaded"). The tests that use its fixtures set up the collection finder themselves, for their
    own duration (tests/integration/test_pytest_ansible.py).
    """
    plugin = config.pluginmanager.get_plugin("pytest-ansible")
    if plugin is None:
        return
    for name in ("inject", "inject_only"):
        if hasattr(plugin, name):
            setattr(plugin, name, _skip_injection)


def _skip_injection(*_args, **_kwargs):
    return None
