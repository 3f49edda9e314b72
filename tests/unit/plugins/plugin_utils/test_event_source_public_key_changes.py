"""The public_key_changes event source, run by path with a real asyncio queue against the
emulators over HTTPS: every provider, rotations, removals, outages, pins, expiry, restarts and
wrong arguments."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import stat
import threading
import time

import pytest

import ansible_collections.keyward.keys as collection
from ansible_collections.keyward.keys.tests.emulators import _keys_for_tests as testkeys
from ansible_collections.keyward.keys.tests.emulators import alicloud_idaas as ali
from ansible_collections.keyward.keys.tests.emulators import huaweicloud as hw
from ansible_collections.keyward.keys.tests.emulators import ncloud_kms as nc
from ansible_collections.keyward.keys.tests.emulators import obshell as obs
from ansible_collections.keyward.keys.tests.emulators import oceanbase_cloud as obc
from ansible_collections.keyward.keys.tests.emulators._pki import make_pki
from ansible_collections.keyward.keys.tests.emulators._server import EmulatorServer

# The collection as ansible-rulebook sees it: through the collections path, not resolved.
PLUGIN = os.path.join(list(collection.__path__)[0], "extensions", "eda", "plugins", "event_source",
                      "public_key_changes.py")
INTERVAL = 0.3
NEW_RSA = testkeys.spki_pem(testkeys.rsa_key(2048, slot=5))


def load_plugin():
    """The plugin's globals, as runpy.run_path gives them to ansible-rulebook. Done by hand: under
    ansible-test, ansible's collection loader hooks sys.path_hooks and run_path would take the
    file for a package directory."""
    namespace = {"__name__": "public_key_changes", "__file__": PLUGIN}
    with open(PLUGIN) as handle:
        exec(compile(handle.read(), PLUGIN, "exec"), namespace)  # pylint: disable=exec-used
    return namespace


def fingerprint(pem):
    from ansible_collections.keyward.keys.plugins.module_utils._keys import key_record

    return key_record("test", "test", pem)["fingerprint_sha256"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def serve(pki):
    servers = []

    def start(app):
        servers.append(EmulatorServer(app, tls=pki).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def no_provider_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("HUAWEICLOUD_", "HW_", "ALIBABA_CLOUD_", "ALICLOUD_", "NCLOUD_", "OCEANBASE_",
                            "OB_ROOT_PASSWORD", "OBSHELL_", "KEYWARD_")):
            monkeypatch.delenv(name)


class RunningSource(object):
    """The plugin's main(queue, args) on an event loop of its own, its events readable here."""

    def __init__(self, args):
        self.events = queue.Queue()
        self.seen = []
        self.failure = None
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(args,), daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self, args):
        asyncio.set_event_loop(self.loop)
        main = load_plugin()["main"]

        async def pump(source_queue):
            while True:
                self.events.put(await source_queue.get())

        async def run():
            source_queue = asyncio.Queue()
            self.task = asyncio.ensure_future(main(source_queue, args))
            pumping = asyncio.ensure_future(pump(source_queue))
            self.ready.set()
            try:
                await self.task
            finally:
                pumping.cancel()

        try:
            self.loop.run_until_complete(run())
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # reported by the test
            self.failure = exc
        finally:
            self.ready.set()
            self.events.put(None)

    def next(self, timeout=30):
        event = self.events.get(timeout=timeout)
        if event is None:
            raise AssertionError("the source stopped: %r" % (self.failure,))
        self.seen.append(event)
        return event["keyward"]

    def until(self, kind, key_id="any", timeout=30):
        """Every event up to and including the first of that type (and key id)."""
        got, deadline = [], time.monotonic() + timeout
        while True:
            event = self.next(max(0.1, deadline - time.monotonic()))
            got.append(event)
            if event["type"] == kind and (key_id == "any" or event["key_id"] == key_id):
                return got

    def quiet(self, seconds):
        """The events of the next few seconds (polls keep running)."""
        got, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                got.append(self.next(max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                break
        return got

    def stop(self):
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)


@pytest.fixture
def sources():
    running = []

    def start(args):
        running.append(RunningSource(args))
        return running[-1]

    yield start
    for source in running:
        source.stop()


def huawei_args(server, pki, **extra):
    args = dict(provider="huaweicloud_kms", endpoint=server.url, iam_endpoint=server.url, region=hw.REGION,
                project_id=hw.PROJECT_ID, access_key=hw.ACCESS_KEY, secret_key=hw.SECRET_KEY,
                ca_path=pki["ca.pem"], keys=[hw.KEY_IDS["rsa2048"], hw.KEY_IDS["ec_p256"]], interval=INTERVAL,
                retries=0, timeout=3)
    args.update(extra)
    return args


def types(events):
    return [(event["type"], event["key_id"]) for event in events]


def test_first_poll_announces_every_key_then_rotation_removal_outage_and_recovery(serve, pki, sources):
    app = hw.HuaweiCloudEmulator()
    server = serve(app)
    rsa, ec = hw.KEY_IDS["rsa2048"], hw.KEY_IDS["ec_p256"]
    old_rsa = fingerprint(app.keys[rsa]["public_key"])
    source = sources(huawei_args(server, pki))

    first = [source.next(), source.next()]
    assert sorted(types(first)) == sorted([("added", rsa), ("added", ec)])
    assert all(event["initial"] is True and event["provider"] == "huaweicloud_kms" for event in first)
    by_id = {event["key_id"]: event for event in first}
    assert by_id[rsa]["fingerprint_sha256"] == by_id[rsa]["record"]["fingerprint_sha256"] == old_rsa
    assert source.quiet(3 * INTERVAL) == []  # nothing changed: nothing announced

    app.keys[rsa]["public_key"] = NEW_RSA
    changed = source.next()
    assert (changed["type"], changed["key_id"], changed["initial"]) == ("changed", rsa, False)
    assert changed["fingerprint_sha256"] == fingerprint(NEW_RSA) == changed["record"]["fingerprint_sha256"]
    assert changed["previous_fingerprint_sha256"] == old_rsa

    del app.keys[ec]  # the provider now answers KMS.0207
    removed = source.next()
    assert (removed["type"], removed["key_id"]) == ("removed", ec)
    assert removed["fingerprint_sha256"] == removed["record"]["fingerprint_sha256"] == by_id[ec]["fingerprint_sha256"]

    server.faults.add(r".*", [{"drop": True}] * 1000)
    failing = source.until("error")
    assert types(failing) == [("error", None)]
    message = failing[0]["message"]
    assert "\n" not in message and message.startswith("huaweicloud_kms") and hw.SECRET_KEY not in message
    assert source.quiet(4 * INTERVAL) == []  # once, however long it fails; and no removal

    server.faults.clear()
    assert types(source.until("recovered")) == [("recovered", None)]
    assert source.quiet(3 * INTERVAL) == []  # the outage changed nothing
    assert hw.SECRET_KEY not in json.dumps(source.seen)


def test_a_key_that_fails_its_pin_is_an_error_for_that_key_never_a_change(serve, pki, sources):
    app = hw.HuaweiCloudEmulator()
    server = serve(app)
    rsa, ec = hw.KEY_IDS["rsa2048"], hw.KEY_IDS["ec_p256"]
    original = app.keys[rsa]["public_key"]
    pins = [fingerprint(original), fingerprint(app.keys[ec]["public_key"])]
    source = sources(huawei_args(server, pki, expected_fingerprint=pins))
    assert sorted(types([source.next(), source.next()])) == sorted([("added", rsa), ("added", ec)])

    app.keys[rsa]["public_key"] = NEW_RSA
    error = source.next()
    assert (error["type"], error["key_id"]) == ("error", rsa)
    assert error["fingerprint_sha256"] == fingerprint(NEW_RSA)
    assert "fingerprint mismatch" in error["message"]
    assert source.quiet(3 * INTERVAL) == []  # once, and no "changed"

    app.keys[rsa]["public_key"] = original
    assert types(source.until("recovered")) == [("recovered", rsa)]
    assert source.quiet(3 * INTERVAL) == []  # the trusted key never left: nothing changed


def test_a_new_key_behind_a_pin_is_not_announced_until_it_matches(serve, pki, sources):
    app = hw.HuaweiCloudEmulator()
    server = serve(app)
    rsa = hw.KEY_IDS["rsa2048"]
    source = sources(huawei_args(server, pki, keys=[rsa], expected_fingerprint=fingerprint(NEW_RSA)))
    error = source.next()
    assert (error["type"], error["key_id"]) == ("error", rsa)
    app.keys[rsa]["public_key"] = NEW_RSA
    events = [source.next(), source.next()]
    assert types(events) == [("recovered", rsa), ("added", rsa)]
    assert events[1]["fingerprint_sha256"] == fingerprint(NEW_RSA)


def test_idaas_lists_every_key_and_sees_keys_come_and_go(serve, pki, sources):
    app = ali.AlibabaIdaasEmulator()
    server = serve(app)
    source = sources(dict(provider="alicloud_idaas", endpoint=server.url, ca_path=pki["ca.pem"],
                          instance_id=ali.INSTANCE_ID, application_id=ali.APPLICATION_ID,
                          access_key_id=ali.ACCESS_KEY_ID, access_key_secret=ali.ACCESS_KEY_SECRET,
                          interval=INTERVAL, retries=0))
    listed = {item["ClientPublicKeyId"] for item in app.keys_of()}
    first = [source.next() for key_id in listed]
    assert {event["key_id"] for event in first} == listed
    assert all(event["type"] == "added" and event["initial"] for event in first)

    new_id = app.add_key(ali.APPLICATION_ID, PublicKey=NEW_RSA)
    added = source.next()
    assert (added["type"], added["key_id"], added["initial"]) == ("added", new_id, False)

    gone = sorted(listed)[0]
    keys = app.instances[ali.INSTANCE_ID][ali.APPLICATION_ID]
    keys[:] = [item for item in keys if item["ClientPublicKeyId"] != gone]
    removed = source.next()
    assert (removed["type"], removed["key_id"]) == ("removed", gone)
    assert ali.ACCESS_KEY_SECRET not in json.dumps(source.seen)


def test_ncloud_key_the_service_no_longer_knows_is_removed_and_comes_back_as_added(serve, pki, sources):
    app = nc.NcloudKmsEmulator()
    server = serve(app)
    tag = nc.KEY_TAGS["rsa"]
    source = sources(dict(provider="ncloud_kms", endpoint=server.url + nc.BASE_PATH, ca_path=pki["ca.pem"],
                          access_key=nc.ACCESS_KEY, secret_key=nc.SECRET_KEY, keys=[tag], interval=INTERVAL,
                          retries=0))
    assert types([source.next()]) == [("added", tag)]
    saved = app.keys.pop(tag)
    assert types([source.next()]) == [("removed", tag)]
    app.keys[tag] = saved
    back = source.next()
    assert (back["type"], back["key_id"], back["initial"]) == ("added", tag, False)


def test_obshell_agent_key_rotation_is_a_change(serve, sources):
    agent = obs.ObshellAgent()
    server = EmulatorServer(agent).start()
    try:
        term = server.address
        source = sources(dict(provider="obshell", keys=[term], interval=INTERVAL, retries=0))
        first = source.next()
        assert (first["type"], first["key_id"]) == ("added", term)
        agent.rotate_key()
        changed = source.next()
        assert (changed["type"], changed["key_id"]) == ("changed", term)
        assert changed["previous_fingerprint_sha256"] == first["fingerprint_sha256"] != changed["fingerprint_sha256"]
    finally:
        server.stop()


def test_oceanbase_cloud_expiring_once_per_key_and_date(serve, pki, sources):
    app = obc.OceanBaseCloudEmulator()
    server = serve(app)
    source = sources(dict(provider="oceanbase_cloud", endpoint=server.url, ca_path=pki["ca.pem"],
                          org_id=obc.ORG_ID, project_id=obc.PROJECT_ID, access_key_id=obc.ACCESS_KEY_ID,
                          access_key_secret=obc.ACCESS_KEY_SECRET, expiring_within_days=5, interval=INTERVAL,
                          retries=0))
    count = len(app.keys())
    first = [source.next() for index in range(count + 2)]
    added = [event for event in first if event["type"] == "added"]
    expiring = {event["key_id"]: event for event in first if event["type"] == "expiring"}
    assert len(added) == count and all(event["initial"] for event in added)
    assert set(expiring) == {obc.KEY_IDS["expired"], obc.KEY_IDS["expiring_2d"]}
    assert expiring[obc.KEY_IDS["expired"]]["expires_in_days"] < 0
    assert expiring[obc.KEY_IDS["expiring_2d"]]["expires_in_days"] == 2
    assert "fingerprint_sha256" not in added[0]
    assert source.quiet(3 * INTERVAL) == []  # once per key and date

    soon = next(item for item in app.keys() if item["id"] == obc.KEY_IDS["expiring_2d"])
    soon["expiresAt"] = obc.time_z(time.time() + 4 * 86400 + 600)  # renewed, still within range
    events = [source.next(), source.next()]
    assert types(events) == [("changed", soon["id"]), ("expiring", soon["id"])]
    assert events[1]["expires_in_days"] == 4
    soon["expiresAt"] = obc.time_z(time.time() + 90 * 86400)  # renewed out of range
    assert types([source.next()]) == [("changed", soon["id"])]
    assert source.quiet(3 * INTERVAL) == []
    secrets = app.api_key_values() + [obc.ACCESS_KEY_SECRET]
    assert not any(secret in json.dumps(source.seen) for secret in secrets)


def test_each_listing_poll_has_the_listing_budget_of_its_own(serve, pki, monkeypatch):
    """A hostile listing cannot grow without bound under the event source either, and the budget
    bounds each poll, not the source's lifetime (a long-running source polls forever)."""
    from ansible_collections.keyward.keys.plugins.module_utils import _transport
    from ansible_collections.keyward.keys.plugins.plugin_utils._key_watch import KeyWatch

    server = serve(obc.OceanBaseCloudEmulator())
    args = dict(provider="oceanbase_cloud", endpoint=server.url, ca_path=pki["ca.pem"], org_id=obc.ORG_ID,
                project_id=obc.PROJECT_ID, access_key_id=obc.ACCESS_KEY_ID,
                access_key_secret=obc.ACCESS_KEY_SECRET, retries=0)
    watch = KeyWatch.from_arguments(args)
    first = watch.poll()
    assert first.error is None and first.records
    one_listing = sum(len(json.dumps(record)) for record in first.records)
    # Room for one listing but not for three: every poll must still fit.
    monkeypatch.setattr(_transport, "LISTING_MAX_BYTES", 2 * one_listing)
    assert all(watch.poll().error is None for dummy in range(3))
    monkeypatch.setattr(_transport, "LISTING_MAX_BYTES", 64)
    refused = watch.poll()
    assert refused.error and "MiB" in refused.error and "\n" not in refused.error


def test_state_file_keeps_the_snapshot_so_a_restart_announces_only_what_changed(serve, pki, sources, tmp_path):
    app = hw.HuaweiCloudEmulator()
    server = serve(app)
    rsa, ec = hw.KEY_IDS["rsa2048"], hw.KEY_IDS["ec_p256"]
    path = str(tmp_path / "state.json")
    source = sources(huawei_args(server, pki, state_file=path))
    assert [source.next()["initial"], source.next()["initial"]] == [True, True]
    deadline = time.monotonic() + 5
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    source.stop()

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = open(path).read()
    data = json.loads(text)
    assert data["version"] == 1 and set(data["keys"]) == {rsa, ec}
    assert hw.SECRET_KEY not in text and "BEGIN PUBLIC KEY" not in text
    assert not [name for name in os.listdir(str(tmp_path)) if name != "state.json"]  # no temporary left

    app.keys[rsa]["public_key"] = NEW_RSA  # while the source is down
    again = sources(huawei_args(server, pki, state_file=path))
    changed = again.next()
    assert (changed["type"], changed["key_id"], changed["initial"]) == ("changed", rsa, False)
    assert again.quiet(3 * INTERVAL) == []
    deadline = time.monotonic() + 5
    while json.loads(open(path).read())["keys"][rsa]["fingerprint_sha256"] != fingerprint(NEW_RSA):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_state_file_that_is_not_ours_stops_the_source_before_its_first_poll(serve, pki, tmp_path):
    server = serve(hw.HuaweiCloudEmulator())
    path = tmp_path / "state.json"
    path.write_text("not json")
    with pytest.raises(ValueError) as caught:
        asyncio.run(load_plugin()["main"](asyncio.Queue(), huawei_args(server, pki, state_file=str(path))))
    assert "state_file" in str(caught.value) and "\n" not in str(caught.value)
    assert server.count() == 0


@pytest.mark.parametrize("change, words", [
    (dict(provider="aws_kms"), "option provider must be one of"),
    (dict(secret_kye="x"), "unknown option secret_kye (did you mean secret_key?)"),
    (dict(cache=False), "unknown option cache"),
    (dict(interval="soon"), "option interval must be a number"),
    (dict(interval=0), "interval must be a positive"),
    (dict(timeout=[1]), "option timeout must be a number"),
    (dict(secret_key=["hwSecret-in-a-list"]), "option secret_key must be a string"),
    (dict(keys=["not a key id"]), "not a KMS key ID"),
    (dict(keys=None), "option keys is required"),
    (dict(expected_fingerprint="abc"), "expected_fingerprint"),
    (dict(expiring_within_days=3), "expiring_within_days applies to oceanbase_cloud"),
    (dict(validate_certs="maybe"), "validate_certs must be a boolean"),
    (dict(endpoint="ftp://x"), "endpoint"),
])
def test_a_wrong_argument_raises_one_line_before_the_first_poll(serve, pki, change, words):
    server = serve(hw.HuaweiCloudEmulator())
    args = huawei_args(server, pki, **change)
    if change.get("keys", 1) is None:
        del args["keys"]
    with pytest.raises(ValueError) as caught:
        asyncio.run(load_plugin()["main"](asyncio.Queue(), args))
    message = str(caught.value)
    assert words in message and "\n" not in message, message
    assert message.startswith("keyward.keys.public_key_changes: ")
    assert hw.SECRET_KEY not in message and "hwSecret-in-a-list" not in message
    assert server.count() == 0


def test_options_come_from_the_environment_like_the_lookups(serve, pki, sources, monkeypatch):
    app = hw.HuaweiCloudEmulator()
    server = serve(app)
    args = huawei_args(server, pki, keys=[hw.KEY_IDS["rsa2048"]], eda_feedback_queue=asyncio.Queue(), feedback=True)
    for name in ("access_key", "secret_key", "endpoint", "region"):
        del args[name]
    monkeypatch.setenv("HW_ACCESS_KEY", hw.ACCESS_KEY)  # the second name: HUAWEICLOUD_SDK_AK is unset
    monkeypatch.setenv("HUAWEICLOUD_SDK_SK", hw.SECRET_KEY)
    monkeypatch.setenv("HW_SECRET_KEY", "a-wrong-secret-that-must-not-win")
    monkeypatch.setenv("HUAWEICLOUD_KMS_ENDPOINT", server.url)
    monkeypatch.setenv("HUAWEICLOUD_SDK_REGION", hw.REGION)
    source = sources(args)
    assert types([source.next()]) == [("added", hw.KEY_IDS["rsa2048"])]


def test_the_plugin_finds_the_collection_above_ansible_collections_without_resolving_symlinks(tmp_path):
    find = load_plugin()["_collections_root"]
    link = tmp_path / "paths" / "ansible_collections" / "keyward" / "keys"
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path)
    plugin = str(link / "extensions" / "eda" / "plugins" / "event_source" / "public_key_changes.py")
    assert find(plugin) == str(tmp_path / "paths")
    assert find("/somewhere/else/public_key_changes.py") is None


def test_idaas_named_key_gone_is_removed_but_a_missing_application_is_an_error(serve, pki, sources):
    app = ali.AlibabaIdaasEmulator()
    server = serve(app)
    key_id = app.keys_of()[0]["ClientPublicKeyId"]
    args = dict(provider="alicloud_idaas", endpoint=server.url, ca_path=pki["ca.pem"], instance_id=ali.INSTANCE_ID,
                application_id=ali.APPLICATION_ID, access_key_id=ali.ACCESS_KEY_ID,
                access_key_secret=ali.ACCESS_KEY_SECRET, keys=[key_id], interval=INTERVAL, retries=0)
    source = sources(args)
    assert types([source.next()]) == [("added", key_id)]
    keys = app.instances[ali.INSTANCE_ID][ali.APPLICATION_ID]
    saved = list(keys)
    keys[:] = [item for item in keys if item["ClientPublicKeyId"] != key_id]  # EntityNotExists.ClientPublicKey
    assert types([source.next()]) == [("removed", key_id)]
    keys[:] = saved
    assert types([source.next()]) == [("added", key_id)]

    # EntityNotExists.Application says nothing about the key: an error, and no removal.
    del app.instances[ali.INSTANCE_ID][ali.APPLICATION_ID]
    error = source.next()
    assert (error["type"], error["key_id"]) == ("error", None) and "EntityNotExists.Application" in error["message"]
    assert source.quiet(3 * INTERVAL) == []
