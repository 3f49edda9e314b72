# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The modules through pytest-ansible's fixtures, against the emulators.

pytest-ansible (test-requirements.txt) runs a module in-process through ansible-core's task
queue manager: `localhost` is a local connection to this machine, `ansible_module` the hosts of
the inventory and host pattern given on the command line (--ansible-inventory,
--ansible-host-pattern) or, as here, by the test's `ansible` marker. Its maintainers have
announced its end of life, so it is an extra way to run the modules: every other test runs under
plain pytest (and tests/unit under ansible-test units) without it, and this file skips where it
is not installed.

What pytest-ansible would do by itself at start-up, tests/conftest.py prevents (see
_no_pytest_ansible_injection there); the `collection_finder` fixture below does instead what
these tests need, for their duration only: ansible-core's collection finder over the checkout
(tests/conftest.py's COLLECTIONS_ROOT), so that keyward.keys.* modules, module_utils and the
action plugin resolve as in ansible-playbook.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import pytest

pytest.importorskip("pytest_ansible", reason="pytest-ansible is not installed (test-requirements.txt); "
                                             "these tests are an extra way to run the modules")

from ansible_collections.keyward.keys.tests.conftest import COLLECTIONS_ROOT  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as ali  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import ncloud_kms as ncp  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as obc  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer  # noqa: E402
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent  # noqa: E402

pytestmark = [
    # pytest-ansible's own deprecation notices, and ansible-core's when pytest-ansible configures
    # the collection loader again on each call (collection_finder already did, for the checkout).
    pytest.mark.filterwarnings("ignore:Host management is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:AnsibleCollectionFinder has already been configured:UserWarning"),
    # The task queue manager forks its workers while the emulators' server threads run.
    pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning"),
]

# Credentials a developer may have in the environment: the modules' documented fallbacks, which
# would otherwise reach the modules run in this process.
CREDENTIAL_PREFIXES = ("HUAWEICLOUD_", "HW_", "ALIBABA_CLOUD_", "ALICLOUD_", "NCLOUD_", "OCEANBASE_",
                       "OB_ROOT_PASSWORD", "OBSHELL_", "KEYWARD_")


def _collection_modules():
    return [name for name in sys.modules if name == "ansible_collections" or name.startswith("ansible_collections.")]


@pytest.fixture(scope="module")
def collection_finder():
    """ansible-core's collection finder over the checkout, for this module's tests only.

    The finder owns the ansible_collections package while it is installed, so what sys.path
    imported before is set aside and put back afterwards (other tests keep their imports).
    """
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    assert AnsibleCollectionConfig.collection_finder is None, "a collection finder is already installed"
    saved = {name: sys.modules.pop(name) for name in _collection_modules()}
    init_plugin_loader([COLLECTIONS_ROOT])
    try:
        yield
    finally:
        _AnsibleCollectionFinder._remove()  # pylint: disable=protected-access
        for name in _collection_modules():
            del sys.modules[name]
        sys.modules.update(saved)


@pytest.fixture
def clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(CREDENTIAL_PREFIXES):
            monkeypatch.delenv(name)
    # pytest-ansible parses ad hoc command line arguments into ansible-core's global context.
    from ansible import context
    monkeypatch.setattr(context, "CLIARGS", context.CLIARGS)


def _this_python(dispatcher):
    """Run modules with the Python that runs pytest (interpreter discovery may find another one)."""
    for host in dispatcher.options["inventory_manager"].list_hosts(dispatcher.options["host_pattern"]):
        host.set_variable("ansible_python_interpreter", sys.executable)
    return dispatcher


@pytest.fixture
def local(collection_finder, clean_env, localhost):
    """pytest-ansible's localhost fixture (local connection, inventory 'localhost,')."""
    return _this_python(localhost)


@pytest.fixture
def hosts(collection_finder, clean_env, ansible_module):
    """pytest-ansible's ansible_module fixture, for the inventory and host pattern of the ansible marker."""
    return _this_python(ansible_module)


def run(dispatcher, module, **args):
    """{host: result} of one module call, by its FQCN."""
    result = getattr(dispatcher, module)(**args)
    found = {host: dict(result[host]) for host in result.contacted}
    assert found, "no host ran %s" % module
    return found


def only(results):
    (result,) = results.values()
    return result


def fingerprint(private_key):
    return hashlib.sha256(testkeys.spki_der(private_key)).hexdigest()


@pytest.fixture(scope="module")
def serve(pki):
    servers = []

    def start(app, tls=True):
        server = EmulatorServer(app, tls=pki if tls else None).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# --- the *_info modules --------------------------------------------------------------------------

@pytest.mark.ansible(inventory="localhost,", host_pattern="localhost", connection="local")
def test_huaweicloud_info_through_ansible_module(hosts, serve, pki):
    server = serve(hw.HuaweiCloudEmulator())
    result = only(run(hosts, "keyward.keys.huaweicloud_kms_public_key_info",
                      key_ids=[hw.KEY_IDS["rsa2048"], hw.KEY_IDS["ec_p256"]], region=hw.REGION,
                      access_key=hw.ACCESS_KEY, secret_key=hw.SECRET_KEY, endpoint=server.url,
                      iam_endpoint=server.url, ca_path=pki["ca.pem"]))
    assert not result.get("failed") and not result["changed"], result
    keys = {record["key_id"]: record for record in result["public_keys"]}
    assert keys[hw.KEY_IDS["rsa2048"]]["fingerprint_sha256"] == fingerprint(testkeys.rsa_key(2048))
    assert keys[hw.KEY_IDS["ec_p256"]]["fingerprint_sha256"] == fingerprint(testkeys.ec_key("secp256r1"))
    assert keys[hw.KEY_IDS["rsa2048"]]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")


def test_alicloud_info_through_localhost(local, serve, pki):
    app = ali.AlibabaIdaasEmulator()
    server = serve(app)
    result = only(run(local, "keyward.keys.alicloud_idaas_client_public_key_info",
                      client_public_key_ids=[ali.KEY_IDS["primary"], ali.KEY_IDS["ec_p256"]],
                      instance_id=ali.INSTANCE_ID, application_id=ali.APPLICATION_ID,
                      access_key_id=ali.ACCESS_KEY_ID, access_key_secret=ali.ACCESS_KEY_SECRET,
                      endpoint=server.url, ca_path=pki["ca.pem"]))
    assert not result.get("failed") and not result["changed"], result
    pems = dict(ali.standard_keys())
    assert [(r["key_id"], r["fingerprint_sha256"]) for r in result["public_keys"]] == [
        (ali.KEY_IDS["primary"], ali.fingerprint_of_pem(pems["primary"]["PublicKey"])),
        (ali.KEY_IDS["ec_p256"], ali.fingerprint_of_pem(pems["ec_p256"]["PublicKey"])),
    ]


def test_ncloud_info_through_localhost(local, serve, pki):
    app = ncp.NcloudKmsEmulator()
    server = serve(app)
    tags = [ncp.KEY_TAGS["ecdsa"], ncp.DOC_EXAMPLE_KEY_TAG]
    result = only(run(local, "keyward.keys.ncloud_kms_public_key_info", key_tags=tags,
                      access_key=ncp.ACCESS_KEY, secret_key=ncp.SECRET_KEY, endpoint=server.url,
                      ca_path=pki["ca.pem"]))
    assert not result.get("failed") and not result["changed"], result
    assert [r["fingerprint_sha256"] for r in result["public_keys"]] == [app.fingerprint(tag) for tag in tags]


def test_obshell_info_through_localhost(local, serve):
    agent = ObshellAgent()
    server = serve(agent, tls=False)
    agent.ip, agent.port = server.host, server.port
    result = only(run(local, "keyward.keys.obshell_public_key_info", host="127.0.0.1:%d" % server.port))
    assert not result.get("failed") and not result["changed"], result
    (record,) = result["public_keys"]
    assert record["fingerprint_sha256"] == fingerprint(agent.private_key)
    assert record["key_size"] == 1024


def test_oceanbase_cloud_info_through_localhost(local, serve, pki):
    app = obc.OceanBaseCloudEmulator()
    server = serve(app)
    result = only(run(local, "keyward.keys.oceanbase_cloud_api_key_info", org_id=obc.ORG_ID,
                      project_id=obc.PROJECT_ID, access_key_id=obc.ACCESS_KEY_ID,
                      access_key_secret=obc.ACCESS_KEY_SECRET, endpoint=server.url, ca_path=pki["ca.pem"],
                      expiring_within_days=14))
    assert not result.get("failed") and not result["changed"], result
    ids = {item["id"] for item in result["api_keys"]}
    assert {obc.KEY_IDS["expired"], obc.KEY_IDS["expiring_2d"], obc.KEY_IDS["expiring_10d"]} <= ids
    assert not ids & {obc.KEY_IDS["long_lived"], obc.KEY_IDS["never_null"]}
    text = json.dumps(result)
    assert not [secret for secret in app.api_key_values() if secret in text], "an API key's secret left the module"


# --- public_key_store and known_keys -------------------------------------------------------------

@pytest.mark.ansible(inventory="localhost,", host_pattern="localhost", connection="local")
def test_public_key_store_through_ansible_module(hosts, tmp_path):
    rsa, ec = testkeys.rsa_key(2048, slot=40), testkeys.ec_key("secp256r1", slot=40)
    keys = [{"name": "alpha", "public_key": testkeys.spki_pem(rsa)},
            {"name": "beta", "public_key": testkeys.pkcs1_b64(testkeys.rsa_key(2048, slot=41))},
            {"name": "gamma", "public_key": testkeys.spki_pem(ec), "expected_fingerprint": fingerprint(ec)}]
    path = tmp_path / "trusted"
    first = only(run(hosts, "keyward.keys.public_key_store", path=str(path), keys=keys, jwks="jwks.json"))
    assert first["changed"] and not first.get("failed"), first
    written = ["alpha.pem", "beta.pem", "gamma.pem", "jwks.json"]
    assert sorted(name for name in os.listdir(str(path)) if not name.startswith(".")) == written
    assert (path / "alpha.pem").read_text() == testkeys.spki_pem(rsa)
    jwks = json.loads((path / "jwks.json").read_text())
    assert len(jwks["keys"]) == 3

    again = only(run(hosts, "keyward.keys.public_key_store", path=str(path), keys=keys, jwks="jwks.json"))
    assert not again["changed"] and not again.get("failed"), again

    wrong = dict(keys[0], expected_fingerprint="00" * 32)
    refused = only(run(hosts, "keyward.keys.public_key_store", path=str(path), keys=[wrong]))
    assert refused.get("failed"), refused
    assert sorted(name for name in os.listdir(str(path)) if not name.startswith(".")) == written
    assert (path / "alpha.pem").read_text() == testkeys.spki_pem(rsa)


def test_known_keys_through_localhost(local, tmp_path):
    first_key, second_key = testkeys.rsa_key(2048, slot=42), testkeys.rsa_key(2048, slot=43)
    path = tmp_path / "known_keys.json"
    presented = [{"id": "10.0.0.5:2886", "fingerprint_sha256": fingerprint(first_key), "key_size": 2048}]

    first = only(run(local, "keyward.keys.known_keys", path=str(path), keys=presented, label="obshell agent"))
    assert first["changed"] and [p["state"] for p in first["pins"]] == ["new"], first
    assert fingerprint(first_key) in path.read_text()

    again = only(run(local, "keyward.keys.known_keys", path=str(path), keys=presented))
    assert not again["changed"] and [p["state"] for p in again["pins"]] == ["unchanged"], again

    changed = [dict(presented[0], fingerprint_sha256=fingerprint(second_key))]
    refused = only(run(local, "keyward.keys.known_keys", path=str(path), keys=changed))
    assert refused.get("failed"), refused
    # the message says how to get past it
    assert "key changed" in refused["msg"] and "re-run with accept_changes=true" in refused["msg"], refused
    assert fingerprint(first_key) in path.read_text() and fingerprint(second_key) not in path.read_text()
