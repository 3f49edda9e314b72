# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Alibaba IDaaS emulator rotates client keys: CreateClientPublicKey, SetPrimaryClientPublicKey,
Enable/Disable/DeleteClientPublicKey over real signed HTTP (the official SDK as the client,
which fixes the parameter and response names, and the collection's signer), and the same
through the control endpoints the demo uses. What the collection's list lookup then sees is
checked through the collection's own client."""

from __future__ import annotations

import os
import tempfile

import pytest
import requests

from ansible_collections.keyward.keys.plugins.module_utils.providers import _alicloud_signer as signer
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as emu
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

PKI = make_pki(os.path.join(tempfile.gettempdir(), "keyward-alicloud-rotation-test-pki-%d" % os.getuid()))
NEW_PEM = testkeys.spki_pem(testkeys.rsa_key(2048, slot=25))
V1 = emu.KEY_IDS_ROTATION["v1"]
APP = emu.ROTATION_APPLICATION_ID


@pytest.fixture(scope="module")
def _server():
    with EmulatorServer(None, tls=PKI) as srv:
        yield srv


@pytest.fixture
def app():
    return emu.AlibabaIdaasEmulator()


@pytest.fixture
def server(_server, app):
    _server.app = app
    _server.reset()
    return _server


def call(server, action, **params):
    """One request signed by the collection's signer -> (status, body)."""
    base = {"InstanceId": emu.INSTANCE_ID, "ApplicationId": APP}
    base.update(params)
    prepared = requests.Request("POST", server.url + "/", params=base).prepare()
    signer.sign_prepared(prepared, emu.ACCESS_KEY_ID, emu.ACCESS_KEY_SECRET, action, emu.API_VERSION)
    with requests.Session() as session:
        reply = session.send(prepared, timeout=10, verify=PKI["ca.pem"])
    return reply.status_code, reply.json()


def listed(app):
    return [(item["ClientPublicKeyId"], item["Status"], item["Primary"]) for item in app.keys_of(APP)]


def sdk(server):
    eiam = pytest.importorskip("alibabacloud_eiam20211201.client")
    models = pytest.importorskip("alibabacloud_eiam20211201.models")
    config_mod = pytest.importorskip("alibabacloud_tea_openapi.utils_models")
    config = config_mod.Config(access_key_id=emu.ACCESS_KEY_ID, access_key_secret=emu.ACCESS_KEY_SECRET,
                               endpoint=server.address, protocol=server.scheme, region_id=emu.REGION_ID,
                               ca=PKI["ca.pem"])
    return eiam.Client(config), models


def test_a_whole_rotation_through_the_official_sdk(server, app):
    client, models = sdk(server)
    ids = dict(instance_id=emu.INSTANCE_ID, application_id=APP)
    created = client.create_client_public_key(models.CreateClientPublicKeyRequest(
        public_key=NEW_PEM, algorithm_type="RSA-2048", client_token="rotate-2026-12", **ids)).body
    new_id = created.client_public_key_id
    assert new_id.startswith("KEY") and created.request_id
    assert listed(app) == [(V1, "enabled", True), (new_id, "enabled", False)]
    assert app.fingerprint(new_id) == emu.fingerprint_of_pem(NEW_PEM)

    client.set_primary_client_public_key(models.SetPrimaryClientPublicKeyRequest(
        client_public_key_id=new_id, client_token="primary-2026-12", **ids))
    client.disable_client_public_key(models.DisableClientPublicKeyRequest(client_public_key_id=V1, **ids))
    assert listed(app) == [(V1, "disabled", False), (new_id, "enabled", True)]
    client.enable_client_public_key(models.EnableClientPublicKeyRequest(client_public_key_id=V1, **ids))
    assert listed(app)[0] == (V1, "enabled", False)
    client.disable_client_public_key(models.DisableClientPublicKeyRequest(client_public_key_id=V1, **ids))
    client.delete_client_public_key(models.DeleteClientPublicKeyRequest(client_public_key_id=V1, **ids))
    assert listed(app) == [(new_id, "enabled", True)]
    assert app.calls["CreateClientPublicKey"] == 1 and app.calls["DeleteClientPublicKey"] == 1


def test_create_is_idempotent_per_client_token(server, app):
    status, first = call(server, "CreateClientPublicKey", PublicKey=NEW_PEM, AlgorithmType="RSA-2048", ClientToken="t1")
    assert status == 200 and set(first) == {"RequestId", "ClientPublicKeyId"}
    status, again = call(server, "CreateClientPublicKey", PublicKey=NEW_PEM, AlgorithmType="RSA-2048", ClientToken="t1")
    assert status == 200 and again["ClientPublicKeyId"] == first["ClientPublicKeyId"]
    assert len(app.keys_of(APP)) == 2
    other = testkeys.spki_pem(testkeys.rsa_key(2048, slot=26))
    status, body = call(server, "CreateClientPublicKey", PublicKey=other, AlgorithmType="RSA-2048", ClientToken="t1")
    assert (status, body["Code"]) == (400, "IdempotentParameterMismatch")
    assert len(app.keys_of(APP)) == 2


@pytest.mark.parametrize("params, code", [
    (dict(PublicKey=testkeys.pkcs1_b64(testkeys.rsa_key(2048, slot=25)), AlgorithmType="RSA-2048", ClientToken="a"),
     "InvalidParameter.PublicKey"),
    (dict(PublicKey=NEW_PEM.replace("PUBLIC KEY", "RSA PUBLIC KEY"), AlgorithmType="RSA-2048", ClientToken="b"),
     "InvalidParameter.PublicKey"),
    (dict(PublicKey=NEW_PEM, AlgorithmType="DSA-1024", ClientToken="c"), "InvalidParameter.AlgorithmType"),
    (dict(PublicKey=NEW_PEM, AlgorithmType="RSA-2048", ClientToken="x" * 65), "InvalidParameter.ClientToken"),
    (dict(PublicKey=NEW_PEM, AlgorithmType="RSA-2048"), "MissingParameter.ClientToken"),
    (dict(AlgorithmType="RSA-2048", ClientToken="d"), "MissingParameter.PublicKey"),
])
def test_create_refuses_bad_parameters(server, app, params, code):
    status, body = call(server, "CreateClientPublicKey", **params)
    assert (status, body["Code"]) == (400, code), body
    assert listed(app) == [(V1, "enabled", True)]


def test_the_primary_key_cannot_be_disabled_or_deleted(server, app):
    for action in ("DisableClientPublicKey", "DeleteClientPublicKey"):
        status, body = call(server, action, ClientPublicKeyId=V1)
        assert (status, body["Code"]) == (400, "OperationDenied.PrimaryClientPublicKey")
    assert listed(app) == [(V1, "enabled", True)]
    status, body = call(server, "SetPrimaryClientPublicKey", ClientPublicKeyId=V1)
    assert (status, body["Code"]) == (400, "MissingParameter.ClientToken")


def test_unknown_keys_are_not_found(server):
    for action in ("EnableClientPublicKey", "DisableClientPublicKey", "DeleteClientPublicKey"):
        status, body = call(server, action, ClientPublicKeyId=emu.UNKNOWN_KEY_ID)
        assert (status, body["Code"]) == (404, "EntityNotExists.ClientPublicKey")
    # a key of another application is not reachable through this one
    status, body = call(server, "DeleteClientPublicKey", ClientPublicKeyId=emu.KEY_IDS["disabled"])
    assert (status, body["Code"]) == (404, "EntityNotExists.ClientPublicKey")


def test_control_endpoints_rotate_what_the_collection_lists(server, app):
    from ansible_collections.keyward.keys.plugins.module_utils._provider import fetch_list
    from ansible_collections.keyward.keys.plugins.module_utils.providers import _alicloud

    control = server.url + "/__emulator__/alicloud/keys/"
    created = requests.post(control + "create", json={"application_id": APP}, verify=PKI["ca.pem"], timeout=10).json()
    new_id = created["key_id"]
    assert created["fingerprint_sha256"] == app.fingerprint(new_id)
    for operation, key_id in (("primary", new_id), ("disable", V1)):
        assert requests.post(control + operation, json={"key_id": key_id}, verify=PKI["ca.pem"], timeout=10).ok
    missing = requests.post(control + "delete", json={"key_id": "KEYnope"}, verify=PKI["ca.pem"], timeout=10)
    assert missing.status_code == 404

    options = {"instance_id": emu.INSTANCE_ID, "application_id": APP, "region_id": emu.REGION_ID, "endpoint": server.url,
               "access_key_id": emu.ACCESS_KEY_ID, "access_key_secret": emu.ACCESS_KEY_SECRET, "ca_path": PKI["ca.pem"],
               "validate_certs": True, "timeout": 10, "retries": 0}
    options.update({name: None for name in _alicloud.PROVIDER.options if name not in options})
    records = fetch_list(_alicloud.PROVIDER, options)
    seen = {record["key_id"]: (record["metadata"]["status"], record["metadata"]["primary"], record["fingerprint_sha256"])
            for record in records}
    assert seen == {V1: ("disabled", False, app.fingerprint(V1)), new_id: ("enabled", True, created["fingerprint_sha256"])}
    assert requests.post(control + "delete", json={"key_id": V1}, verify=PKI["ca.pem"], timeout=10).ok
    assert [record["key_id"] for record in fetch_list(_alicloud.PROVIDER, options)] == [new_id]
