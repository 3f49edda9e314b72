#!/usr/bin/env python
"""Run the demo: start the provider emulators on loopback, run demo/demo.yml, stop them.

Usage (what `make demo` runs, with the venv's Python and the installed collection):
  python scripts/demo.py --collections .build/installed

Emulators are test infrastructure (not in the built collection); they are imported from this
checkout, while ansible-playbook uses the collection installed from the built tarball.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_importable():
    """Make `ansible_collections.keyward.keys.tests` importable from the checkout."""
    base = os.path.join(ROOT, ".build", "collections")
    link = os.path.join(base, "ansible_collections", "keyward", "keys")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.lexists(link):
            os.unlink(link)
        os.symlink(ROOT, link)
    sys.path.insert(0, base)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collections", default=os.path.join(ROOT, ".build", "installed"),
                        help="ANSIBLE_COLLECTIONS_PATH for ansible-playbook")
    parser.add_argument("--output", default=os.path.join(ROOT, "demo", "output"))
    args = parser.parse_args()
    source_importable()

    from ansible_collections.keyward.keys.tests.emulators import (
        alicloud_idaas, huaweicloud, ncloud_kms, obshell, oceanbase_cloud,
    )
    from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
    from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

    work = os.path.join(ROOT, ".build", "demo")
    shutil.rmtree(args.output, ignore_errors=True)
    os.makedirs(args.output)
    os.makedirs(work, exist_ok=True)
    pki = make_pki(os.path.join(work, "pki"))
    root_password = "Demo#Root-Passw0rd"

    servers = []
    agents = []
    for _index in range(3):
        agent = obshell.ObshellAgent(key_bits=1024, password=root_password)
        server = EmulatorServer(agent).start()
        agent.port = server.port
        servers.append(server)
        agents.append(server)
    kms = EmulatorServer(huaweicloud.HuaweiCloudEmulator(), tls=pki).start()
    idaas = EmulatorServer(alicloud_idaas.AlibabaIdaasEmulator(), tls=pki).start()
    ncp = EmulatorServer(ncloud_kms.NcloudKmsEmulator(), tls=pki).start()
    # SHA-256 Digest: with the emulator's default MD5 challenge the collection warns (rightly) that
    # the server offers only a broken hash; the demo shows a clean run.
    obcloud = EmulatorServer(oceanbase_cloud.OceanBaseCloudEmulator(algorithm="SHA-256"), tls=pki).start()
    servers.extend((kms, idaas, ncp, obcloud))
    try:
        inventory = {"all": {"children": {
            "observers": {"hosts": {
                "ob%d" % (i + 1): {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                   "obshell_hybrid_encryption_port": s.port,
                                   "obshell_hybrid_encryption_node_address": "127.0.0.1"}
                for i, s in enumerate(agents)}},
            "obshell_clients": {"hosts": {
                "app1": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                         "obshell_hybrid_encryption_keys_dir": os.path.join(args.output, "obshell-keys")}}},
            # The rotation scene: three hosts, each with its own trust store directory.
            "rotation": {"hosts": {
                name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                       "trust_store_dir": os.path.join(args.output, "rotation", name),
                       "trust_store_report_dir": os.path.join(args.output, "rotation", name)}
                for name in ("web1", "web2", "web3")}},
        }}, "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
        inventory["all"]["hosts"] = {"localhost": inventory.pop("localhost")}
        extra = {
            "demo_output": args.output,
            "demo_agent_addresses": ["127.0.0.1:%d" % s.port for s in agents],
            "demo_kms_key_ids": [huaweicloud.KEY_IDS[k] for k in ("rsa2048", "rsa3072_pkcs1", "doc_example", "ec_p256")],
            "keyward_obshell_password": root_password,
            "keyward_huaweicloud_endpoint": kms.url,
            "keyward_huaweicloud_iam_endpoint": kms.url,
            "keyward_huaweicloud_region": huaweicloud.REGION,
            "keyward_huaweicloud_project_id": huaweicloud.PROJECT_ID,
            "keyward_huaweicloud_access_key": huaweicloud.ACCESS_KEY,
            "keyward_huaweicloud_secret_key": huaweicloud.SECRET_KEY,
            "keyward_huaweicloud_ca_path": pki["ca.pem"],
            "keyward_alicloud_endpoint": idaas.url,
            "keyward_alicloud_instance_id": alicloud_idaas.INSTANCE_ID,
            "keyward_alicloud_application_id": alicloud_idaas.APPLICATION_ID,
            "keyward_alicloud_access_key_id": alicloud_idaas.ACCESS_KEY_ID,
            "keyward_alicloud_access_key_secret": alicloud_idaas.ACCESS_KEY_SECRET,
            "keyward_alicloud_ca_path": pki["ca.pem"],
            "demo_idaas_control": idaas.url + "/__emulator__/alicloud/keys/",
            "demo_rotation_application_id": alicloud_idaas.ROTATION_APPLICATION_ID,
            "demo_rotation_v1": alicloud_idaas.KEY_IDS_ROTATION["v1"],
            "demo_rotation_grace": 5,
            "keyward_oceanbase_cloud_endpoint": obcloud.url,
            "keyward_oceanbase_cloud_org_id": oceanbase_cloud.ORG_ID,
            "keyward_oceanbase_cloud_project_id": oceanbase_cloud.PROJECT_ID,
            "keyward_oceanbase_cloud_access_key_id": oceanbase_cloud.ACCESS_KEY_ID,
            "keyward_oceanbase_cloud_access_key_secret": oceanbase_cloud.ACCESS_KEY_SECRET,
            "keyward_oceanbase_cloud_ca_path": pki["ca.pem"],
        }
        ncp_vars = ncloud_kms.demo_vars(ncp.url, pki["ca.pem"])
        extra.update(ncp_vars)
        extra["demo_ncloud_key_tags"] = [ncp_vars["ncloud_key_tags"][name] for name in ("rsa", "ecdsa")]
        with open(os.path.join(work, "inventory.json"), "w") as handle:
            json.dump(inventory, handle)
        with open(os.path.join(work, "vars.json"), "w") as handle:
            json.dump(extra, handle)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.abspath(args.collections),
                   ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False",
                   ANSIBLE_LOCAL_TEMP=tempfile.mkdtemp(prefix="keyward-demo-"))
        playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        cmd = [playbook, "-i", os.path.join(work, "inventory.json"), "-e", "@" + os.path.join(work, "vars.json"),
               os.path.join(ROOT, "demo", "demo.yml")]
        print("demo: %d obshell agents, Huawei Cloud KMS, Alibaba Cloud IDaaS (with a key rotation), NAVER Cloud KMS "
              "and OceanBase Cloud emulated on 127.0.0.1; output in %s"
              % (len(agents), os.path.relpath(args.output, ROOT)), flush=True)
        rc = subprocess.call(cmd, env=env, cwd=os.path.join(ROOT, "demo"))
        served = sum(s.count("^/api/v1/secret$") for s in agents)
        print("demo: the %d agents served their key %d times (lookup: once per agent for the whole run; verification and role: once each); "
              "KMS answered %d requests" % (len(agents), served, kms.count()))
        print("demo: the rotation report is %s" % os.path.relpath(
            os.path.join(args.output, "rotation-report", "trust_store_report.html"), ROOT))
        return rc
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
