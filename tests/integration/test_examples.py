"""Every plugin's EXAMPLES, run as written with real ansible-playbook against the emulators.

Plugins are found on the file system (plugins/lookup, plugins/modules, plugins/filter), so a new
plugin is covered, or this file fails, without anyone remembering to add it:
  - RUNS lists, per emulator run, the plugins whose EXAMPLES run there (one playbook per run, one
    play per plugin, in this order: later plays may use what earlier ones did, as a reader would);
  - NOT_RUNNABLE lists plugins whose EXAMPLES cannot run here, with the reason;
  - SKIPPED_TASKS lists single example tasks that cannot run here, with the reason.

What the test changes in the examples, and nothing else:
  - the variables they reference are supplied as play vars (vault_* values are the emulators'
    test credentials; key IDs are keys the emulator holds, and the examples' literal key IDs,
    tags, instances and projects are added to the emulators);
  - endpoints come from the documented environment variables (and, for obshell, the play's
    module_defaults and keyward_obshell_port); literals that name real hosts are rewritten per
    plugin in REWRITES, each with a comment;
  - files written to absolute paths (copy/template dest, public_key_store/known_keys path) are
    written under a temporary directory instead (any other absolute system path fails the test
    before anything runs).

A small callback plugin records each task's status and result, so the test sees every example
task ran (none failed or was skipped) and checks registered results against the RETURN docs.
"""

from __future__ import annotations

import ast
import base64
import copy
import hashlib
import json
import os
import re
import socket

import pytest
import yaml

from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as ali
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw
from ansible_collections.keyward.keys.tests.emulators import ncloud_kms as ncp
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as obc
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent
from ansible_collections.keyward.keys.tests.integration.conftest import write_inventory

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLUGIN_DIRS = ("lookup", "modules", "filter")

# Emulator run -> plugins ("<dir>/<name>") whose EXAMPLES run against it, in play order.
RUNS = {
    "huaweicloud": ["lookup/huaweicloud_kms_public_key", "modules/huaweicloud_kms_public_key_info",
                    # these examples read keys through the Huawei Cloud lookup
                    "filter/jwks", "filter/public_key_info", "modules/public_key_store",
                    # reads the store the public_key_store examples wrote
                    "modules/trust_store_info",
                    # compare that store with Huawei keys, then render the comparison
                    "filter/trust_store_drift", "filter/trust_store_drift_report"],
    "alicloud": ["lookup/alicloud_idaas_client_public_key", "modules/alicloud_idaas_client_public_key_info"],
    "ncloud": ["lookup/ncloud_kms_public_key", "modules/ncloud_kms_public_key_info"],
    # obshell_api last: its second example sets the agent password, which its third one uses
    "obshell": ["lookup/obshell_public_key", "modules/known_keys", "modules/obshell_public_key_info",
                "modules/obshell_api"],
    "oceanbase_cloud": ["lookup/oceanbase_cloud_api_keys", "modules/oceanbase_cloud_api_key_info"],
}

# Plugins whose EXAMPLES cannot run here: "<dir>/<name>" -> reason. (Every plugin runs today.)
NOT_RUNNABLE = {}

# (plugin, task name) -> why that one task cannot run here.
SKIPPED_TASKS = {
    ("filter/public_key_info", "Authorize an Ed25519 key for SSH logins"):
        "needs the ansible.posix collection (not installed in the test virtualenvs) and would change "
        "the authorized_keys of a real user, deploy",
    ("modules/public_key_store", "Write two keys, a bundle and a JWKS document"):
        "sets group: myapp, a group that does not exist on the test machine (and notifies a handler of the "
        "reader's play); the other public_key_store examples write the same kinds of files",
}

# plugin -> [(literal in EXAMPLES, replacement)], applied to the EXAMPLES text before it is parsed.
# Replacements are templates filled with the run's addresses (%(name)s). Only literals that name
# hosts the test cannot reach (or placeholders that cannot match any key) are rewritten.
REWRITES = {
    # obshell: the agents 10.0.0.1, 10.0.0.2 and fd00::3 and the HTTPS agent ob1.example.com (port
    # 2886) are emulators on loopback: 10.0.0.1 is the local agent (127.0.0.1 on port %(a)s, which
    # keyward_obshell_port gives to terms without a port), 10.0.0.2 another agent, [fd00::3] an
    # agent on ::1 and ob1.example.com an HTTPS agent on localhost; /etc/pki/ob-ca.pem is the test CA; the literal sha256// pin of 10.0.0.1 is the
    # local agent's pin (no key can be made to match a given pin).
    "lookup/obshell_public_key": [
        ("10.0.0.1:2886", "127.0.0.1:%(a)s"),
        ("'10.0.0.1'", "'127.0.0.1'"),
        ("10.0.0.2:2886", "127.0.0.1:%(b)s"),
        ("[fd00::3]:2886", "%(v6)s:%(c)s"),
        ("https://ob1.example.com:2886", "https://localhost:%(tls)s"),
        ("/etc/pki/ob-ca.pem", "%(ca)s"),
        ("sha256//kB0Ve6Yq6uxq7Bx5+o5A3mR8hfdTlJ1pY3MrkGQqtS8=", "%(a_pin)s"),
    ],
    # obshell_public_key_info: port 2886 is the local agent's port; the HTTPS agent [fd00::3]:2886
    # is an HTTPS emulator on ::1; /etc/pki/ob-ca.pem is the test CA.
    "modules/obshell_public_key_info": [
        ("port: 2886", "port: %(a)s"),
        ("[fd00::3]:2886", "%(v6)s:%(tls6)s"),
        ("/etc/pki/ob-ca.pem", "%(ca)s"),
    ],
    # obshell_api: host 10.0.0.1 is the local agent (its port from the play's module_defaults);
    # the HTTPS agent ob1.example.com is the HTTPS emulator; /etc/pki/ob-ca.pem is the test CA.
    "modules/obshell_api": [
        ("host: 10.0.0.1", "host: 127.0.0.1"),
        ("host: ob1.example.com", "host: localhost:%(tls)s"),
        ("/etc/pki/ob-ca.pem", "%(ca)s"),
    ],
    # ncloud module: the Korea region-isolation endpoint ocapi-kr.ncloud.com (a bare host name, so
    # https and /kms/v1 are implied) is the emulator's host:port.
    "modules/ncloud_kms_public_key_info": [
        ("endpoint: ocapi-kr.ncloud.com", "endpoint: %(address)s"),
    ],
}

# Modules that write files, and the argument that names what they write.
FILE_ARGS = {
    "ansible.builtin.copy": "dest", "copy": "dest",
    "ansible.builtin.template": "dest", "template": "dest",
    "keyward.keys.public_key_store": "path",
    "keyward.keys.known_keys": "path",
    "keyward.keys.trust_store_info": "path",
}
SYSTEM_PATH = re.compile(r"^/(etc|var|srv|usr|opt|root|home|boot|lib|run|mnt|media|dev|sys|proc)(/|$)")

TASK_KEYWORDS = {
    "name", "register", "vars", "loop", "loop_control", "with_items", "delegate_to", "run_once", "notify",
    "when", "module_defaults", "block", "rescue", "always", "environment", "tags", "become", "become_user",
    "ignore_errors", "changed_when", "failed_when", "no_log", "args", "check_mode", "diff", "until", "retries",
    "delay", "listen", "connection", "timeout", "throttle", "any_errors_fatal",
}

ROOT_PW = "Examples-root!Pw-obshell"
AGENT_PW = "Examples-agent!Pw-obshell"

CALLBACK = '''
from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Record every task result: [{"play", "task", "host", "status", "result"}]."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "example_recorder"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._play = None
        self._seen = []

    def v2_playbook_on_play_start(self, play):
        self._play = play.get_name()

    def _record(self, status, result):
        self._seen.append({"play": self._play, "task": result._task.get_name(), "host": result._host.get_name(),
                           "status": status, "result": result._result})

    def v2_runner_on_ok(self, result):
        self._record("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record("failed", result)

    def v2_runner_on_skipped(self, result):
        self._record("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._record("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["EXAMPLES_RECORD_PATH"], "w") as handle:
            json.dump(self._seen, handle, default=repr)
'''


# --- reading the plugins -------------------------------------------------------------------------

def discover():
    """Every plugin file: "<dir>/<name>" -> path."""
    found = {}
    for directory in PLUGIN_DIRS:
        base = os.path.join(ROOT, "plugins", directory)
        for filename in sorted(os.listdir(base)):
            if filename.endswith(".py") and not filename.startswith("_"):
                found["%s/%s" % (directory, filename[:-3])] = os.path.join(base, filename)
    return found


def doc_strings(path):
    """{"EXAMPLES": text, "RETURN": text, ...} of a plugin file, read without importing it."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in ("EXAMPLES", "RETURN", "DOCUMENTATION"):
                found[node.targets[0].id] = ast.literal_eval(node.value)
    return found


def return_doc(kind, name):
    text = doc_strings(os.path.join(ROOT, "plugins", kind, name + ".py")).get("RETURN")
    return yaml.safe_load(text) if text else {}


def module_of(task):
    names = [key for key in task if key not in TASK_KEYWORDS]
    assert len(names) == 1, "cannot tell the module of task %r: %s" % (task.get("name"), names)
    return names[0]


def walk(tasks):
    """Every task that runs a module, blocks included."""
    for task in tasks:
        if "block" in task:
            for section in ("block", "rescue", "always"):
                yield from walk(task.get(section) or [])
        else:
            yield task


def prune(tasks, skipped):
    """tasks without the named ones (blocks left empty go too)."""
    kept = []
    for task in tasks:
        if "block" in task:
            task = dict(task)
            for section in ("block", "rescue", "always"):
                if section in task:
                    task[section] = prune(task[section], skipped)
            if task["block"]:
                kept.append(task)
        elif task.get("name") not in skipped:
            kept.append(task)
    return kept


def load_examples(plugin, path, subst=None):
    text = doc_strings(path).get("EXAMPLES")
    assert text and text.strip(), "%s has no EXAMPLES" % plugin
    for old, new in REWRITES.get(plugin, []):
        assert old in text, "REWRITES[%r]: %r is no longer in its EXAMPLES" % (plugin, old)
        if subst is not None:
            text = text.replace(old, new % subst)
    tasks = yaml.safe_load(text)
    assert isinstance(tasks, list) and tasks, "%s: EXAMPLES is not a list of tasks" % plugin
    return tasks


def redirect_files(tasks, root):
    """Rewrite absolute file destinations to live under root; -> directories to create first."""
    directories = set()
    for task in walk(tasks):
        module = module_of(task)
        arg = FILE_ARGS.get(module)
        args = task[module]
        if arg and isinstance(args, dict) and isinstance(args.get(arg), str) and args[arg].startswith("/"):
            literal = args[arg].split("{{")[0]
            directories.add(os.path.join(root, os.path.dirname(literal).lstrip("/")))
            args[arg] = "{{ example_root }}" + args[arg]
    return directories


def system_paths(value):
    if isinstance(value, dict):
        return [p for v in value.values() for p in system_paths(v)]
    if isinstance(value, list):
        return [p for v in value for p in system_paths(v)]
    return [value] if isinstance(value, str) and SYSTEM_PATH.match(value) else []


# --- shapes --------------------------------------------------------------------------------------

def _required(spec):
    return str(spec.get("returned", "success")).split(",", maxsplit=1)[0].strip() in ("always", "success")


def check_module_result(plugin_task, module, result):
    doc = return_doc("modules", module.split(".")[-1])
    for key, spec in doc.items():
        if not _required(spec):
            continue
        assert key in result, "%s: %s returned no %r (RETURN says it does): %s" % (plugin_task, module, key, result)
        contains = {k for k, v in (spec.get("contains") or {}).items() if _required(v)}
        if spec.get("type") == "list" and contains:
            for element in result[key]:
                missing = contains - set(element)
                assert not missing, "%s: %s %s element lacks %s" % (plugin_task, module, key, sorted(missing))


def check_lookup_records(plugin_task, task, result):
    """Key records that a set_fact took from a return_format='dict' lookup carry the documented fields."""
    text = json.dumps(task)
    if "return_format='dict'" not in text:
        return
    lookups = set(re.findall(r"keyward\.keys\.(\w+)", text)) & set(n.split("/")[1] for n in discover() if n.startswith("lookup/"))
    for name in lookups:
        fields = set((return_doc("lookup", name).get("_raw") or {}).get("contains") or {})
        for value in (result.get("ansible_facts") or {}).values():
            for record in (value if isinstance(value, list) else [value]):
                if isinstance(record, dict) and "provider" in record:
                    assert fields <= set(record), "%s: record lacks %s" % (plugin_task, sorted(fields - set(record)))


# --- emulators and variables per run -------------------------------------------------------------

def _fingerprint(private_key):
    return hashlib.sha256(testkeys.spki_der(private_key)).hexdigest()


def _v6_host():
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
        return "::1"
    except OSError:
        return None


class Run(object):
    """One emulator run: servers, env, the variables of each play, files, rewrite values."""

    def __init__(self, pki):
        self.pki = pki
        self.servers = []
        self.env = {"KEYWARD_CA_PATH": pki["ca.pem"]}
        self.vars = {}  # for every play
        self.plugin_vars = {}  # plugin -> extra play vars
        self.module_defaults = None
        self.files = {}  # path relative to the playbook directory -> text
        self.subst = {"ca": pki["ca.pem"]}

    def serve(self, app, host="127.0.0.1", tls=True):
        server = EmulatorServer(app, host=host, tls=self.pki if tls else None).start()
        self.servers.append(server)
        return server

    def stop(self):
        for server in self.servers:
            server.stop()


def setup_huaweicloud(run):
    app = hw.HuaweiCloudEmulator()
    # the examples' own key IDs, and a project named after the examples' second region
    example_a, example_b = "0d0466b0-e727-4d9c-b35d-f84bb474a37f", "919c82d4-8046-4722-9094-35c3c6524cff"
    app.add_key(example_a, testkeys.spki_pem(testkeys.rsa_key(2048, slot=300)))
    app.add_key(example_b, testkeys.spki_pem(testkeys.ec_key("secp256r1", slot=300)), spec="EC_P256")
    app.projects.append({"id": "5" * 32, "name": "ap-southeast-1", "domain_id": hw.DOMAIN_ID, "enabled": True,
                         "description": "", "parent_id": hw.DOMAIN_ID, "is_domain": False})
    server = run.serve(app)
    run.env.update({"HUAWEICLOUD_SDK_AK": hw.ACCESS_KEY, "HUAWEICLOUD_SDK_SK": hw.SECRET_KEY,
                    "HUAWEICLOUD_SDK_REGION": hw.REGION, "HUAWEICLOUD_KMS_ENDPOINT": server.url,
                    "HUAWEICLOUD_SDK_IAM_ENDPOINT": server.url})
    keys = hw.KEY_IDS
    rsa_fp = _fingerprint(testkeys.rsa_key(2048))
    ec_fp = _fingerprint(testkeys.ec_key("secp256r1"))
    signer = testkeys.ec_key("secp384r1", slot=301)
    run.vars.update({
        "vault_hw_ak": hw.ACCESS_KEY, "vault_hw_sk": hw.SECRET_KEY,
        "vault_hw_access_key": hw.ACCESS_KEY, "vault_hw_secret_key": hw.SECRET_KEY,
        "hw_user": hw.USERNAME, "hw_password": hw.PASSWORD, "hw_account": hw.DOMAIN_NAME,
        "kms_key_ids": [keys["rsa2048"], keys["ec_p256"]], "kms_pins": [rsa_fp, ec_fp],
        "kms_key_id": keys["rsa2048"], "key_id": keys["rsa2048"],
        "signing_key_id": keys["ec_p256"], "signing_key_fingerprint": ec_fp,
        "key_a": example_a, "key_b": example_b,
        # filters
        "rsa_pem": testkeys.spki_pem(testkeys.rsa_key(2048, slot=302)),
        "ec_key_record": "{{ lookup('keyward.keys.huaweicloud_kms_public_key', '%s', return_format='dict') }}"
                         % keys["ec_p256"],
        "obshell_base64_key": testkeys.pkcs1_b64(testkeys.rsa_key(1024, slot=303)),
        "agent_public_key": testkeys.pkcs1_b64(testkeys.rsa_key(1024, slot=303)),
        "key_pem": testkeys.spki_pem(signer), "signing_pin": _fingerprint(signer),
        "signer_pem": testkeys.spki_pem(testkeys.rsa_key(2048, slot=304)),
    })
    # trust_store_drift: the keys the application trusts (one the public_key_store examples wrote, one
    # they did not); trust_store_drift_report: every host's trust_store_info, as registered by the
    # drift example
    run.plugin_vars["filter/trust_store_drift"] = {
        "wanted_keys": "{{ query('keyward.keys.huaweicloud_kms_public_key', '%s', '%s', return_format='dict') }}"
                       % (keys["rsa2048"], keys["ec_p256"])}
    run.plugin_vars["filter/trust_store_drift_report"] = {
        "store_infos": "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars)"
                       " | map(attribute='store_info', default=none))) }}"}
    run.files["templates/jwt-verifier.conf.j2"] = (
        "public_key: |\n  {{ lookup('keyward.keys.huaweicloud_kms_public_key', key_id) | indent(2) }}\n")


def setup_alicloud(run):
    app = ali.AlibabaIdaasEmulator()
    instance, application = "idaas_ue2jvisn35ea5lmthk267xxxxx", "app_mkv7rgt4d7i4u7zqtzev2mxxxx"
    keys = {}
    for slot, key_id, status, primary in ((310, ali.DOC_EXAMPLE_KEY_ID, "enabled", True),
                                          (311, "KEYkwNewClientKeyForTheExamples0001", "enabled", False),
                                          (312, "KEYkwOldDisabledClientKeyExamples02", "disabled", False)):
        pem = testkeys.spki_pem(testkeys.rsa_key(2048, slot=slot)).strip()
        app.add_key(application, pem, key_id=key_id, instance_id=instance, Status=status, Primary=primary)
        keys[key_id] = ali.fingerprint_of_pem(pem)
    server = run.serve(app)
    run.env.update({"ALIBABA_CLOUD_ACCESS_KEY_ID": ali.ACCESS_KEY_ID,
                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ali.ACCESS_KEY_SECRET,
                    "ALIBABA_CLOUD_IDAAS_ENDPOINT": server.url})
    enabled = [ali.DOC_EXAMPLE_KEY_ID, "KEYkwNewClientKeyForTheExamples0001"]
    run.vars.update({
        "vault_ali_access_key_id": ali.ACCESS_KEY_ID, "vault_ali_access_key_secret": ali.ACCESS_KEY_SECRET,
        "m2m_key_ids": enabled, "m2m_key_pins": [keys[k] for k in enabled], "m2m_key_id": enabled[1],
        "new_client_key_id": enabled[1], "client_key_pins": [keys[k] for k in enabled],
        "sts": {"access_key_id": ali.STS_ACCESS_KEY_ID, "access_key_secret": ali.STS_ACCESS_KEY_SECRET,
                "security_token": ali.SECURITY_TOKEN},
        # the STS lookup example names no instance or application: these documented variables do
        "keyward_alicloud_instance_id": instance, "keyward_alicloud_application_id": application,
    })


def setup_ncloud(run):
    app = ncp.NcloudKmsEmulator()
    second = "z6y5x4w3v2u1t0s9r8q7p6o5n4m3l2k1j0i9h8g7f6e5d4c3b2a1"  # the module example's second tag
    app.add_key(second, "RSA2048", {1: testkeys.rsa_key(2048, slot=320)})
    server = run.serve(app)
    run.subst["address"] = server.address
    run.env.update({"NCLOUD_ACCESS_KEY_ID": ncp.ACCESS_KEY, "NCLOUD_SECRET_ACCESS_KEY": ncp.SECRET_KEY,
                    "NCLOUD_KMS_ENDPOINT": server.url})
    jwt = ncp.DOC_EXAMPLE_KEY_TAG  # two versions
    tags = [jwt, ncp.KEY_TAGS["ecdsa"]]
    run.vars.update({
        "vault_ncloud_access_key": ncp.ACCESS_KEY, "vault_ncloud_secret_key": ncp.SECRET_KEY,
        "ncloud_key_tags": tags, "ncloud_pins": [app.fingerprint(t) for t in tags],
        "jwt_key_tag": jwt, "jwt_key_fingerprint": app.fingerprint(jwt, 1), "kr_key_tag": ncp.KEY_TAGS["ecdsa"],
    })
    run.files["templates/jwt-verifier.conf.j2"] = (
        "public_key: |\n  {{ lookup('keyward.keys.ncloud_kms_public_key', jwt_key_tag) | indent(2) }}\n")


def setup_obshell(run):
    v6 = _v6_host()
    agents = {
        "a": ObshellAgent(password=ROOT_PW),  # the local agent, and 10.0.0.1
        "b": ObshellAgent(password=ROOT_PW),  # 10.0.0.2
        "c": ObshellAgent(password=ROOT_PW),  # [fd00::3], plain HTTP
        "tls": ObshellAgent(password=ROOT_PW),  # ob1.example.com (localhost), HTTPS
        "tls6": ObshellAgent(password=ROOT_PW),  # [fd00::3], HTTPS
    }
    servers = {name: run.serve(agent, host=v6 if name in ("c", "tls6") and v6 else "127.0.0.1",
                               tls=name.startswith("tls"))
               for name, agent in agents.items()}
    for name, server in servers.items():
        agents[name].ip, agents[name].port = server.host, server.port
        run.subst[name] = server.port
    run.subst["v6"] = "[%s]" % v6 if v6 else "127.0.0.1"
    a_pem = agents["a"].spki_pem
    a_der = testkeys.spki_der(agents["a"].private_key)
    run.subst["a_pin"] = "sha256//" + base64.b64encode(hashlib.sha256(a_der).digest()).decode("ascii")
    a_fp = hashlib.sha256(a_der).hexdigest()
    tls6_fp = _fingerprint(agents["tls6"].private_key)
    run.module_defaults = {"group/keyward.keys.obshell": {"port": servers["a"].port}}
    run.vars.update({
        "keyward_obshell_port": servers["a"].port,
        "vault_ob_root_password": ROOT_PW, "vault_obshell_agent_password": AGENT_PW,
        "known_fingerprints": {"localhost": a_fp, "127.0.0.1": a_fp, "fd00::3": tls6_fp},
        "pins": {"10.0.0.1:2886": a_fp},
    })
    run.plugin_vars["modules/known_keys"] = {
        "agent_key": {"fingerprint_sha256": a_fp, "key_size": 1024}}
    run.files["keys/10.0.0.1_2886.pem"] = a_pem


def setup_oceanbase_cloud(run):
    app = obc.OceanBaseCloudEmulator()
    now = app.clock()

    def item(key_id, name, days):
        expires = None if days is None else obc.time_z(now + days * obc.DAY + 3600)
        return {"id": key_id, "name": name, "createdAt": obc.time_z(now - 100 * obc.DAY),
                "updatedAt": obc.time_z(now - 100 * obc.DAY), "expiresAt": expires, "apiKey": "sk-ob-examples-%s" % key_id}

    # the examples' literal org and project: one key expires within two weeks, none has expired
    app.add_project("org-xxxxxxxx", "proj-xxxxxxxx", [item("ak-ex-0001", "rotating-soon", 10),
                                                      item("ak-ex-0002", "long-lived", 300),
                                                      item("ak-ex-0003", "never-expires", None)])
    # the project of OCEANBASE_* variables: no key expires within 30 days
    app.add_project(obc.ORG_ID, "proj-kwhealthy00", [item("ak-ex-0004", "healthy", 90),
                                                     item("ak-ex-0005", "never", None)])
    server = run.serve(app)
    run.env.update({"OCEANBASE_ACCESS_KEY_ID": obc.ACCESS_KEY_ID, "OCEANBASE_ACCESS_KEY_SECRET": obc.ACCESS_KEY_SECRET,
                    "OCEANBASE_ENDPOINT": server.url, "OCEANBASE_ORG_ID": obc.ORG_ID,
                    "OCEANBASE_PROJECT_ID": "proj-kwhealthy00"})
    run.vars.update({
        "vault_ob_access_key_id": obc.ACCESS_KEY_ID, "vault_ob_access_key_secret": obc.ACCESS_KEY_SECRET,
        "ob_org_id": obc.ORG_ID, "ob_project_id": obc.PROJECT_ID,
    })


SETUP = {"huaweicloud": setup_huaweicloud, "alicloud": setup_alicloud, "ncloud": setup_ncloud,
         "obshell": setup_obshell, "oceanbase_cloud": setup_oceanbase_cloud}


# --- the tests -----------------------------------------------------------------------------------

def test_every_plugin_is_accounted_for():
    """A new plugin must be run here or listed with a reason; the lists name no stale plugin or task."""
    plugins = discover()
    in_runs = [p for names in RUNS.values() for p in names]
    assert len(in_runs) == len(set(in_runs)), "a plugin is in two runs"
    assert not set(in_runs) & set(NOT_RUNNABLE), "a plugin is both run and listed as not runnable"
    missing = sorted(set(plugins) - set(in_runs) - set(NOT_RUNNABLE))
    assert not missing, "run these plugins' EXAMPLES in RUNS, or list them in NOT_RUNNABLE with a reason: %s" % missing
    stale = sorted((set(in_runs) | set(NOT_RUNNABLE) | set(REWRITES) | {p for p, _t in SKIPPED_TASKS}) - set(plugins))
    assert not stale, "no such plugins: %s" % stale
    assert sorted(SETUP) == sorted(RUNS)
    for plugin, path in plugins.items():
        tasks = load_examples(plugin, path)  # parses, and every REWRITES literal is still there
        names = [t.get("name") for t in walk(tasks)]
        assert all(names), "%s: every example task needs a name" % plugin
        for (skipped_plugin, task_name), reason in SKIPPED_TASKS.items():
            if skipped_plugin == plugin:
                assert task_name in names and reason, "SKIPPED_TASKS: %s has no task %r" % (plugin, task_name)


def build_playbook(run, provider, out_dir):
    """-> (playbook YAML, {play name: [(plugin, task)]}) for the plugins of one run."""
    plugins = discover()
    root = os.path.join(str(out_dir), "root")
    plays, expected = [], {}
    for plugin in RUNS[provider]:
        tasks = load_examples(plugin, plugins[plugin], run.subst)
        skipped = {t for (p, t) in SKIPPED_TASKS if p == plugin}
        tasks = prune(tasks, skipped)
        for directory in redirect_files(tasks, root):
            os.makedirs(directory, exist_ok=True)
        for task in walk(tasks):
            module = module_of(task)
            stray = system_paths(task[module]) + system_paths(task.get("vars") or {})
            assert not stray, ("%s: task %r uses the system path(s) %s: redirect them (FILE_ARGS), rewrite them "
                               "(REWRITES) or skip the task (SKIPPED_TASKS)" % (plugin, task.get("name"), stray))
        name = "EXAMPLES of %s" % plugin
        play_vars = dict(run.vars, example_root=root, **run.plugin_vars.get(plugin, {}))
        play = {"name": name, "hosts": "all", "gather_facts": False, "vars": play_vars, "tasks": tasks}
        if run.module_defaults:
            play["module_defaults"] = copy.deepcopy(run.module_defaults)
        plays.append(play)
        expected[name] = [(plugin, task) for task in walk(tasks)]
    return yaml.safe_dump(plays, sort_keys=False, width=1000, default_flow_style=False), expected


@pytest.fixture(params=sorted(RUNS))
def example_run(request, pki):
    run = Run(pki)
    SETUP[request.param](run)
    yield request.param, run
    run.stop()


def test_examples_run(example_run, run_playbook, tmp_path):
    provider, run = example_run
    playbook, expected = build_playbook(run, provider, tmp_path)
    for relative, text in run.files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "callback_plugins").mkdir()
    (tmp_path / "callback_plugins" / "example_recorder.py").write_text(CALLBACK)
    record_path = tmp_path / "record.json"
    env = dict(run.env, ANSIBLE_CALLBACK_PLUGINS=str(tmp_path / "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="example_recorder", EXAMPLES_RECORD_PATH=str(record_path))
    inventory = write_inventory(str(tmp_path / "inventory.json"), ["localhost"],
                                host_vars={"localhost": {"ansible_host": "127.0.0.1"}})
    result = run_playbook(playbook, inventory=inventory, env=env)
    assert record_path.exists(), result
    seen = json.loads(record_path.read_text())

    failed = [r for r in seen if r["status"] != "ok"]
    assert not failed, "example tasks did not run cleanly:\n%s\n%r" % (
        "\n".join("%s / %s: %s %s" % (r["play"], r["task"], r["status"], r["result"].get("msg", r["result"]))
                  for r in failed), result)
    assert result.rc == 0, result
    by_task = {(r["play"], r["task"]): r["result"] for r in seen}
    for play, tasks in expected.items():
        for plugin, task in tasks:
            key = (play, task["name"])
            assert key in by_task, "%s: example task %r never ran\n%r" % (plugin, task["name"], result)
            where = "%s / %s" % (plugin, task["name"])
            module = module_of(task)
            outcome = by_task[key]
            if module.startswith("keyward.keys.") and task.get("register"):
                for one in outcome.get("results", [outcome]):
                    check_module_result(where, module, one)
            if module in ("ansible.builtin.set_fact", "set_fact"):
                check_lookup_records(where, task, outcome)
    # files the examples wrote landed under the temporary root, and nothing outside it
    written = [os.path.join(d, f) for d, _s, files in os.walk(str(tmp_path / "root")) for f in files]
    writers = [t for tasks in expected.values() for _p, t in tasks if FILE_ARGS.get(module_of(t))]
    assert bool(written) == bool(writers), written
