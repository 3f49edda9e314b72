"""The shipped AWX credential types, injected by AWX's own code, in real ansible-runner jobs.

For every file in extensions/awx/credential_types/ (found on the file system, so a new provider is
covered, or this file fails, without anyone remembering to add it), each case of CASES below:
  - builds a credential of that type and injects it with AWX's injector,
    awx_plugins.interfaces._temporary_private_inject_api.inject_credential (PyPI
    awx-plugins.interfaces, the plugin interface package that awx-plugins-core builds on and that
    AWX itself calls for custom credential types): it renders each injector template with the
    credential's inputs in AWX's sandboxed Jinja environment and returns the job's environment,
    the masked copy AWX stores, and the extra-variable arguments;
  - writes what it returned into an ansible-runner private data dir (env/envvars, env/extravars,
    env/cmdline), as AWX hands a job to ansible-runner;
  - runs a job with ansible_runner.run against that provider's emulator on loopback, which uses the
    provider's lookup (on the controller) and its module (on localhost, ansible_connection local);
    both read only the injected environment variables;
  - uses secrets that contain '{{' and '%' (registered in the emulator, so the job succeeds only if
    they arrive unchanged) and checks that no secret appears in the job's stdout, its events or
    any other artifact, except the 'command' file in which ansible-runner records the job's
    environment by design (mode 0600, as AWX's own runner does; AWX stores build_safe_env's copy).
A second test runs AWX's built-in credential types from awx-plugins-core (their templates and
their Python injectors) and checks that no shipped type injects a variable one of them injects, so
a job may carry both. The tests are skipped when ansible-runner or awx-plugins.interfaces is not installed (they are in
test-requirements.txt; both need Python 3.11 or later).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import stat
import subprocess
import sys

import pytest
import yaml

from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as ali
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw
from ansible_collections.keyward.keys.tests.emulators import ncloud_kms as ncp
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as obc
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer
from ansible_collections.keyward.keys.tests.emulators.obshell import ObshellAgent

ansible_runner = pytest.importorskip("ansible_runner", reason="ansible-runner is not installed (test-requirements.txt)")
inject_api = pytest.importorskip("awx_plugins.interfaces._temporary_private_inject_api",
                                 reason="awx-plugins.interfaces (AWX's credential injector) is not installed")
private_api = pytest.importorskip("awx_plugins.interfaces._temporary_private_api")
credential_api = pytest.importorskip("awx_plugins.interfaces._temporary_private_credential_api")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TYPES_DIR = os.path.join(ROOT, "extensions", "awx", "credential_types")
FILES = sorted(glob.glob(os.path.join(TYPES_DIR, "*.yml")))
ANSIBLE_BIN = os.path.dirname(sys.executable)
# Provider variables a developer may have set: the job must see only what the credential injects.
PROVIDER_ENV_PREFIXES = ("HUAWEICLOUD_", "HW_", "ALIBABA_CLOUD_", "ALICLOUD_", "NCLOUD_", "OCEANBASE_",
                         "OB_ROOT_PASSWORD", "OBSHELL_", "KEYWARD_")


def secret(tag):
    """A secret that Jinja, printf and URL decoding would all change if anything templated it.

    No spaces or commas: the Alibaba Cloud plugins refuse an AccessKey secret with those (real ones
    never have them).
    """
    return tag + "-{{HOME}}-{{lookup('env')}}-%s-%(x)s-%%-{%raw%}-%20-{#end"


# --- cases: provider file name -> {case: setup(serve) -> case dict} -------------------------------
#
# setup(serve) registers the case's credentials in a fresh emulator, serves it with serve(app, tls)
# and returns {"inputs": credential inputs, "vars": job variables that are not credentials,
# "lookup": the lookup expression, "module": {module: args}, "that": assertions on `looked_up` and
# `info` (the module's registered result), "secrets": values that must never be shown}.

def hw_aksk(serve):
    app = hw.HuaweiCloudEmulator()
    access_key, secret_key = "HWKEYWARDAWXAK000003", secret("hw-sk")
    app.add_credential(access_key, secret_key)
    server = serve(app)
    key_id = hw.KEY_IDS["rsa2048"]
    return {
        # no project_id: the plugins find it from the region on IAM, signed with the AK/SK
        "inputs": {"region": hw.REGION, "access_key": access_key, "secret_key": secret_key,
                   "endpoint": server.url, "iam_endpoint": server.url},
        "vars": {},
        "lookup": "lookup('keyward.keys.huaweicloud_kms_public_key', '%s', return_format='dict')" % key_id,
        "module": {"keyward.keys.huaweicloud_kms_public_key_info": {"key_id": key_id}},
        "that": ["looked_up.key_id == '%s'" % key_id, "info.public_keys[0].key_id == '%s'" % key_id],
        "secrets": [secret_key],
    }


def hw_password(serve):
    app = hw.HuaweiCloudEmulator()
    username, password = "keyward-awx-user", secret("hw-password")
    app.add_user(username, password)
    server = serve(app)
    key_id = hw.KEY_IDS["ec_p256"]
    return {
        "inputs": {"region": hw.REGION, "username": username, "password": password, "domain_name": hw.DOMAIN_NAME,
                   "endpoint": server.url, "iam_endpoint": server.url},
        "vars": {},
        "lookup": "lookup('keyward.keys.huaweicloud_kms_public_key', '%s', return_format='dict')" % key_id,
        "module": {"keyward.keys.huaweicloud_kms_public_key_info": {"key_ids": [key_id]}},
        "that": ["looked_up.key_id == '%s'" % key_id, "info.public_keys[0].key_id == '%s'" % key_id],
        "secrets": [password],
    }


def _ali_vars():
    return {"keyward_alicloud_instance_id": ali.INSTANCE_ID, "keyward_alicloud_application_id": ali.APPLICATION_ID}


def _ali_module():
    return {"keyward.keys.alicloud_idaas_client_public_key_info": {
        "instance_id": ali.INSTANCE_ID, "application_id": ali.APPLICATION_ID,
        "client_public_key_ids": [ali.KEY_IDS["primary"]]}}


def ali_aksk(serve):
    app = ali.AlibabaIdaasEmulator()
    key_id_, key_secret = "LTAI5tKeywardAwxKey0003", secret("ali-secret")
    app.add_credential(key_id_, key_secret)
    server = serve(app)
    return {
        "inputs": {"access_key_id": key_id_, "access_key_secret": key_secret, "region_id": ali.REGION_ID,
                   "endpoint": server.url},
        "vars": _ali_vars(),
        "lookup": "lookup('keyward.keys.alicloud_idaas_client_public_key', '%s', return_format='dict')" % ali.KEY_IDS["primary"],
        "module": _ali_module(),
        "that": ["looked_up.key_id == '%s'" % ali.KEY_IDS["primary"],
                 "info.public_keys[0].key_id == '%s'" % ali.KEY_IDS["primary"]],
        "secrets": [key_secret],
    }


def ali_sts(serve):
    app = ali.AlibabaIdaasEmulator()
    key_id_, key_secret, token = "STS.NTKeywardAwxTemporary04", secret("ali-sts-secret"), "CAISKeywardAwxSecurityToken+04/=="
    app.add_credential(key_id_, key_secret, security_token=token)
    server = serve(app)
    return {
        "inputs": {"access_key_id": key_id_, "access_key_secret": key_secret, "security_token": token,
                   "endpoint": server.url},
        "vars": _ali_vars(),
        "lookup": "lookup('keyward.keys.alicloud_idaas_client_public_key', '%s', return_format='dict')" % ali.KEY_IDS["primary"],
        "module": _ali_module(),
        "that": ["looked_up.key_id == '%s'" % ali.KEY_IDS["primary"],
                 "info.public_keys[0].key_id == '%s'" % ali.KEY_IDS["primary"]],
        "secrets": [key_secret, token],
    }


def ncloud_keys(serve):
    app = ncp.NcloudKmsEmulator()
    access_key, secret_key = "ncp_iam_BPAMKR1KEYWARDAWX03", secret("ncloud-sk")
    app.add_credential(access_key, secret_key)
    server = serve(app)
    tag = ncp.KEY_TAGS["ecdsa"]
    return {
        # no site: AWX injects the field's template with the input missing, so NCLOUD_SITE is ''
        "inputs": {"access_key": access_key, "secret_key": secret_key, "endpoint": server.url},
        "vars": {},
        "lookup": "lookup('keyward.keys.ncloud_kms_public_key', '%s', return_format='dict')" % tag,
        "module": {"keyward.keys.ncloud_kms_public_key_info": {"key_tag": tag}},
        "that": ["looked_up.key_id is search('%s')" % tag, "info.public_keys | length > 0"],
        "secrets": [secret_key],
    }


def oceanbase_keys(serve):
    app = obc.OceanBaseCloudEmulator()
    key_id_, key_secret = "OBKEYWARDAWXAK000003", secret("ob-secret")
    app.add_credential(key_id_, key_secret)
    server = serve(app)
    return {
        "inputs": {"access_key_id": key_id_, "access_key_secret": key_secret, "org_id": obc.ORG_ID,
                   "project_id": obc.PROJECT_ID, "site": "global", "endpoint": server.url},
        "vars": {},
        "lookup": "query('keyward.keys.oceanbase_cloud_api_keys')",
        "module": {"keyward.keys.oceanbase_cloud_api_key_info": {}},
        "that": ["looked_up | length == %d" % len(app.keys()), "info.api_keys | length == %d" % len(app.keys())],
        # the API keys' own values must never leave the client either
        "secrets": [key_secret] + app.api_key_values(),
    }


def obshell_passwords(serve):
    root_pw, agent_pw = secret("ob-root"), secret("obshell-agent")
    # a: root password only (requests prove it); b: an agent password is set (requests prove that)
    agents = {"a": ObshellAgent(password=root_pw), "b": ObshellAgent(password="other-root-pw", agent_password=agent_pw)}
    pins, addresses = [], {}
    for name, agent in agents.items():
        server = serve(agent, tls=False)
        agent.ip, agent.port = server.host, server.port
        addresses[name] = server.address
        pins.append(key_record("obshell", server.address, agent.public_key_b64)["fingerprint_sha256"])
    return {
        "inputs": {"password": root_pw, "agent_password": agent_pw},
        "vars": {"keyward_obshell_verify": "password", "keyward_obshell_expected_fingerprint": pins,
                 "keyward_obshell_return_format": "dict"},
        "lookup": "query('keyward.keys.obshell_public_key', '%s', '%s')" % (addresses["a"], addresses["b"]),
        "module": {"keyward.keys.obshell_public_key_info": {
            "host": addresses["b"], "verify": "password", "expected_fingerprint": pins[1]}},
        "that": ["looked_up | map(attribute='fingerprint_sha256') | list == %s" % json.dumps(pins),
                 "info.public_keys[0].fingerprint_sha256 == '%s'" % pins[1]],
        "secrets": [root_pw, agent_pw],
    }


def obshell_no_password(serve):
    agent = ObshellAgent(password="unused-root-pw")
    server = serve(agent, tls=False)
    agent.ip, agent.port = server.host, server.port
    pin = key_record("obshell", server.address, agent.public_key_b64)["fingerprint_sha256"]
    return {
        "inputs": {},
        "vars": {"keyward_obshell_return_format": "dict"},
        "lookup": "lookup('keyward.keys.obshell_public_key', '%s')" % server.address,
        "module": {"keyward.keys.obshell_public_key_info": {"host": server.address}},
        "that": ["looked_up.fingerprint_sha256 == '%s'" % pin, "info.public_keys[0].fingerprint_sha256 == '%s'" % pin],
        "secrets": [],
    }


# Fields that point at the emulator: a case with only the required fields filled in passes them
# as job variables (the lookup) and module arguments instead.
ENDPOINT_FIELDS = ("endpoint", "iam_endpoint")


def required_only(provider, setup, auth=()):
    """setup's case with only the credential type's required fields (and those of one auth mode
    where the type requires none) filled in, so AWX injects every other field as an empty variable,
    which the plugins must read as unset (a blank OceanBase Cloud `site` once failed every lookup)."""
    def required_setup(serve):
        case = setup(serve)
        keep = set(load_type(provider).inputs.get("required") or ()) | set(auth)
        moved = {name: value for name, value in case["inputs"].items() if name not in keep and name in ENDPOINT_FIELDS}
        case["inputs"] = {name: value for name, value in case["inputs"].items() if name in keep}
        case["vars"] = dict(case["vars"], **{"keyward_%s_%s" % (provider, name): value for name, value in moved.items()})
        for args in case["module"].values():
            args.update(moved)
        return case
    return required_setup


CASES = {
    "huaweicloud": {"aksk": hw_aksk, "password": hw_password,
                    "required_only": required_only("huaweicloud", hw_aksk, auth=("access_key", "secret_key"))},
    "alicloud": {"aksk": ali_aksk, "sts": ali_sts, "required_only": required_only("alicloud", ali_aksk)},
    "ncloud": {"access_key": ncloud_keys, "required_only": required_only("ncloud", ncloud_keys)},
    "oceanbase_cloud": {"access_key": oceanbase_keys, "required_only": required_only("oceanbase_cloud", oceanbase_keys)},
    "obshell": {"passwords": obshell_passwords, "required_only": required_only("obshell", obshell_no_password)},
}

TASK_NAMES = ["The lookup, on the controller", "The module, on the host", "Both read the credential"]


def playbook(case):
    lookup, module, check = TASK_NAMES
    tasks = [{"name": lookup, "ansible.builtin.set_fact": {"looked_up": "{{ %s }}" % case["lookup"]}},
             dict({"name": module, "register": "info"}, **case["module"]),
             {"name": check, "ansible.builtin.assert": {"that": case["that"]}}]
    play = {"name": "A job with a keyward.keys credential injected by AWX", "hosts": "all", "gather_facts": False,
            "tasks": tasks}
    return yaml.safe_dump([play], sort_keys=False, width=10000)


def providers():
    return [os.path.basename(path)[:-len(".yml")] for path in FILES]


def test_every_credential_type_has_a_case():
    assert FILES, "no credential types in %s" % TYPES_DIR
    missing = sorted(set(providers()) - set(CASES))
    assert not missing, "add a case to CASES for the credential type(s) %s" % missing
    stale = sorted(set(CASES) - set(providers()))
    assert not stale, "CASES names credential types that are not shipped: %s" % stale


def load_type(provider):
    with open(os.path.join(TYPES_DIR, provider + ".yml")) as handle:
        spec = yaml.safe_load(handle)
    # AWX's ManagedCredentialType as the interface package defines it without Django (the fields a
    # custom type has in AWX's database: kind, inputs, injectors; managed=False).
    return private_api.ManagedCredentialType(namespace=provider, name=spec["name"], kind=spec["kind"],
                                             inputs=spec["inputs"], injectors=spec["injectors"], managed=False)


def inject(cred_type, inputs, private_data_dir):
    """AWX's injection of one credential: -> (env, safe_env, args)."""
    env, safe_env, args = {}, {}, []
    os.makedirs(os.path.join(private_data_dir, "env"), exist_ok=True)
    inject_api.inject_credential(cred_type, credential_api.Credential(inputs=dict(inputs)), env, safe_env, args,
                                 private_data_dir, container_root=private_data_dir)
    return env, safe_env, args


def write_private_data_dir(pdd, env, args, case):
    """The private data dir AWX hands to ansible-runner: env/, inventory/, project/."""
    for name in ("env", "inventory", "project"):
        os.makedirs(os.path.join(pdd, name), exist_ok=True)

    def write(relative, data, mode=0o600):
        path = os.path.join(pdd, relative)
        with open(path, "w") as handle:
            handle.write(data)
        os.chmod(path, mode)

    write("env/envvars", yaml.safe_dump(dict(env, KEYWARD_CA_PATH=case["ca"])))
    write("env/extravars", yaml.safe_dump(case["vars"]))
    if args:
        write("env/cmdline", " ".join(shlex.quote(a) for a in args))
    write("env/settings", yaml.safe_dump({"idle_timeout": 300, "job_timeout": 600}))
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}
    write("inventory/hosts", yaml.safe_dump(inventory))
    write("project/job.yml", playbook(case))


def all_cases():
    return [pytest.param(provider, name, id="%s-%s" % (provider, name))
            for provider in providers() for name in sorted(CASES.get(provider, {}))]


@pytest.fixture
def servers(pki):
    started = []

    def serve(app, tls=True):
        server = EmulatorServer(app, host="127.0.0.1", tls=pki if tls else None).start()
        started.append(server)
        return server

    yield serve
    for server in started:
        server.stop()


@pytest.mark.parametrize("provider,case_name", all_cases())
def test_injected_credential_runs_a_job(provider, case_name, servers, pki, tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith(PROVIDER_ENV_PREFIXES):
            monkeypatch.delenv(name)
    # ansible-runner starts ansible-playbook from PATH: this virtualenv's
    monkeypatch.setenv("PATH", ANSIBLE_BIN + os.pathsep + os.environ.get("PATH", ""))
    case = CASES[provider][case_name](servers)
    case["ca"] = pki["ca.pem"]
    cred_type = load_type(provider)
    fields = {f["id"]: f for f in cred_type.inputs["fields"]}
    assert set(case["inputs"]) <= set(fields), "inputs the credential type does not define"
    pdd = str(tmp_path / "runner")
    os.makedirs(pdd)

    env, safe_env, args = inject(cred_type, case["inputs"], pdd)

    # every env injector was rendered; secret inputs arrive exactly as given, and masked in safe_env
    assert set(env) == set(cred_type.injectors["env"])
    for field_id, value in case["inputs"].items():
        names = [n for n, t in cred_type.injectors["env"].items() if re.match(r"{{\s*%s\b" % field_id, t)]
        assert len(names) == 1, "one environment variable should inject %s: %s" % (field_id, names)
        var = names[0]
        assert env[var] == value, (var, env[var], value)
        if fields[field_id].get("secret"):
            assert safe_env[var] == inject_api.HIDDEN_PASSWORD, var
    for value in case["secrets"]:
        assert value not in json.dumps(safe_env)

    write_private_data_dir(pdd, env, args, case)
    result = ansible_runner.run(private_data_dir=pdd, playbook="job.yml", quiet=True)
    stdout = result.stdout.read()
    assert result.status == "successful" and result.rc == 0, "%s rc=%s\n%s" % (result.status, result.rc, stdout[-6000:])
    ok_tasks = [e["event_data"].get("task") for e in result.events if e["event"] == "runner_on_ok"]
    assert ok_tasks == TASK_NAMES, ok_tasks

    for value in case["secrets"]:
        assert value not in stdout
    artifacts = os.path.join(pdd, "artifacts")
    checked = 0
    for directory, _subdirs, names in os.walk(artifacts):
        for name in names:
            path = os.path.join(directory, name)
            if name == "command" and directory == result.config.artifact_dir:
                # ansible-runner records the job's environment here by design; it stays private
                assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
                continue
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
            checked += 1
            for value in case["secrets"]:
                assert value not in text, "a secret is in %s" % os.path.relpath(path, pdd)
    assert checked > 3  # stdout, status, rc and the job events at least


def builtin_env_names(tmp_path):
    """{built-in credential type name: env vars it injects}, from awx-plugins-core's definitions."""
    plugins = pytest.importorskip("awx_plugins.credentials.plugins", reason="awx-plugins-core is not installed")
    found = {}
    for managed in vars(plugins).values():
        if not isinstance(managed, private_api.ManagedCredentialType):
            continue
        names = set((managed.injectors or {}).get("env", {}))
        if managed.custom_injectors:
            # the Python injectors (AWS, GCE, Azure, ...): run them with every field filled in
            inputs = {f["id"]: "x" for f in managed.inputs.get("fields", [])}
            env, pdd = {}, tmp_path / managed.namespace
            (pdd / "env").mkdir(parents=True)
            managed.custom_injectors(credential_api.Credential(inputs=inputs), env, str(pdd))
            names |= set(env)
        found[managed.name] = names
    return found


def test_no_clash_with_awx_builtin_credential_types(tmp_path):
    """A job may carry a keyward.keys credential and any of AWX's own: neither overwrites the other's variables."""
    builtin = builtin_env_names(tmp_path)
    assert "Amazon Web Services" in builtin and "AWS_ACCESS_KEY_ID" in builtin["Amazon Web Services"]
    for provider in providers():
        cred_type = load_type(provider)
        assert cred_type.name not in builtin
        for name, names in builtin.items():
            clash = set(cred_type.injectors["env"]) & names
            assert not clash, "%s injects %s, as AWX's %r does" % (provider, sorted(clash), name)


# --- the playbook keyward.keys.awx_credential_types -----------------------------------------------

PLAYBOOK_PATH = os.path.join(ROOT, "playbooks", "awx_credential_types.yml")
AWX_MISSING = ("awx.awx is not installed in any collections path: ansible-galaxy cannot reach Galaxy here, and no "
               "PyPI package that installs beside this ansible-core ships it (the 'ansible' package bundled awx.awx up "
               "to 11.x, which needs ansible-core 2.18): `make test` unpacks it with scripts/fetch_awx_collection.py "
               "and names it in KEYWARD_AWX_COLLECTIONS)")


def awx_collection_root():
    """The collections root (the directory holding ansible_collections/) that has awx.awx, or None."""
    # `make test` unpacks awx.awx there (scripts/fetch_awx_collection.py).
    candidates = [os.environ.get("KEYWARD_AWX_COLLECTIONS", "")]
    candidates += os.environ.get("ANSIBLE_COLLECTIONS_PATH", "").split(os.pathsep)
    candidates += [os.path.expanduser("~/.ansible/collections"), "/usr/share/ansible/collections"] + sys.path
    for root in filter(None, candidates):
        if os.path.isfile(os.path.join(root, "ansible_collections", "awx", "awx", "plugins", "modules", "credential_type.py")):
            return root
    return None


def test_playbook_reads_the_shipped_files():
    with open(PLAYBOOK_PATH) as handle:
        play = yaml.safe_load(handle)[0]
    default = play["vars"]["keyward_awx_credential_types_dir"].replace("{{ playbook_dir }}", os.path.dirname(PLAYBOOK_PATH))
    assert os.path.realpath(default) == os.path.realpath(TYPES_DIR)
    modules = [name for task in play["tasks"] for name in task if "." in name]
    assert "awx.awx.credential_type" in modules


def test_playbook_syntax_check():
    root = awx_collection_root()
    if root is None:
        pytest.skip(AWX_MISSING)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([root, os.environ["ANSIBLE_COLLECTIONS_PATH"]]),
               ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(ANSIBLE_BIN, "ansible-playbook"), "--syntax-check", "-i", "localhost,",
                           "keyward.keys.awx_credential_types"], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "awx_credential_types.yml" in proc.stdout
