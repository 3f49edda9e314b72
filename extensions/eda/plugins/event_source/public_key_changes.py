# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Event source keyward.keys.public_key_changes: an event for every change of a provider's keys.

ansible-rulebook runs this file by path (runpy), outside any package; it reaches the
collection's code through the directory above `ansible_collections` in its own path, taken as
given (not resolved: a collection symlinked into a collections path is found where it is seen).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

DOCUMENTATION = r"""
---
short_description: Events when a key service's public keys are added, rotated, removed or near expiry.
description:
  - An ansible-rulebook event source plugin that polls one key provider every O(interval) seconds, through the same
    provider code, options and environment variables as the collection's lookups, and puts an event on the queue
    for every change it sees.
  - 'Every event is C({"keyward": {...}}) with C(type) (V(added), V(changed), V(removed), V(expiring), V(error) or
    V(recovered)), C(provider), C(key_id) (null for an event about the whole source) and, where they apply,
    C(fingerprint_sha256), C(previous_fingerprint_sha256), C(record) (the key record, or the OceanBase Cloud API-key
    record), C(expires_in_days), C(initial) and C(message).'
  - The first successful poll announces every key once as V(added) with C(initial=true) (unless O(state_file) holds
    an earlier snapshot). Later, V(added) is a key not seen before (also one that was removed and came back),
    V(changed) the same key id with another fingerprint (OceanBase Cloud API keys, which have no fingerprint,
    another expiry date or name), V(removed) a listed key that is gone or a key the provider now answers with its
    documented not-found error.
  - V(expiring) (OceanBase Cloud only) is sent once per key and expiry date while C(expires_in_days) is at most
    O(expiring_within_days), already expired keys included; a renewed expiry date is announced again when it too
    comes within range.
  - V(error) is sent once when polling starts failing (C(key_id) null) or when a key no longer matches
    O(expected_fingerprint) (that key's id; never a V(changed), and the untrusted key never replaces the
    trusted one), with the collection's one-line message (no secret, no traceback); V(recovered) once when that
    condition clears. The source keeps polling through errors, and an outage announces no V(removed).
  - A wrong argument (unknown provider or option, wrong type, a key id the provider would refuse) stops the source
    before its first poll with one exception and a one-line message.
  - Polls run in a worker thread, one at a time; each poll makes fresh requests (the lookups' run-wide cache is not
    used).
options:
  provider:
    description:
      - The key service to watch.
    type: str
    required: true
    choices: [huaweicloud_kms, alicloud_idaas, ncloud_kms, obshell, oceanbase_cloud]
  keys:
    description:
      - The keys to watch, as the provider's lookup takes them as terms (Huawei Cloud KMS key IDs, IDaaS
        ClientPublicKeyIds, NAVER keyTags, obshell agents as C(host), C(host:port) or C([v6]:port)).
      - Required for V(huaweicloud_kms), V(ncloud_kms) and V(obshell). Without it, V(alicloud_idaas) watches every key
        of the application (C(ListClientPublicKeys)).
      - V(oceanbase_cloud) takes no keys: it watches every API key of the project.
    type: list
    elements: str
  interval:
    description:
      - Seconds between the starts of two polls.
    type: float
    default: 300
  expiring_within_days:
    description:
      - V(oceanbase_cloud) only. Announce an API key (type V(expiring)) once its expiry comes within this many days.
      - Without it, no V(expiring) event is sent.
    type: int
  state_file:
    description:
      - A file where the last snapshot (key ids, fingerprints, expiry dates and the expiry dates already announced;
        never a key, a record or a secret) is kept, as JSON with a C(version) field, written atomically with mode
        C(0600) after every poll that changed it.
      - After a restart the source compares its first poll with that snapshot and announces only what changed
        meanwhile, instead of announcing every key again.
      - A file that is not this plugin's state stops the source before its first poll; a state of another provider
        is ignored.
    type: path
notes:
  - "Provider options: every option of the provider's lookup except C(return_format) and C(cache), under the same
    names and with the same environment variables (the first one set wins), for example C(endpoint), C(region),
    C(access_key_id), C(access_key_secret), C(instance_id), C(application_id), C(port), C(scheme), C(org_id),
    C(project_id); and the connection options C(timeout), C(retries), C(validate_certs), C(ca_path)
    (C(KEYWARD_TIMEOUT), C(KEYWARD_RETRIES), C(KEYWARD_VALIDATE_CERTS), C(KEYWARD_CA_PATH)) and, for key providers,
    C(expected_fingerprint): a key that matches none of the pins is an V(error) event for that key."
  - Credentials are best given through the environment, as the collection's AWX credential types inject them; secret
    values never appear in an event or a message.
  - ansible-rulebook also passes its own arguments C(feedback) and C(eda_feedback_queue); they are accepted and not
    used.
  - Needs C(requests) and C(cryptography) in the decision environment (the collection's C(requirements.txt)).
  - The collection's guide "Reacting to key changes" shows the rulebook and playbook shipped in
    C(extensions/eda/rulebooks) and the EDA controller setup.
"""

EXAMPLES = r"""
# Re-run trust_store on the fleet within one polling interval of a rotation in Huawei Cloud KMS.
- name: Keys of the payment service
  hosts: all
  sources:
    - keyward.keys.public_key_changes:
        provider: huaweicloud_kms
        region: ap-southeast-1
        keys:
          - 1a2b3c4d-0001-4000-8000-000000002048
        interval: 60
        state_file: /var/lib/eda/payment-keys.json
  rules:
    - name: Trust the provider's current keys
      condition: event.keyward.type in ["added", "changed", "removed"]
      action:
        run_playbook:
          name: keyward.keys.trust_store_sync

# Every client public key of an IDaaS application, pinned.
- name: IDaaS client keys
  hosts: all
  sources:
    - keyward.keys.public_key_changes:
        provider: alicloud_idaas
        instance_id: idaas_ue2jvisn35ea5lmthk267xxxxx
        application_id: app_mkv7rgt4d7i4u7zqtzev2mxxxx
        expected_fingerprint:
          - 3f4e0c1b5f2d9a8e7c6b5a4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b
  rules:
    - name: A key failed its pin
      condition: event.keyward.type == "error" and event.keyward.key_id is not none
      action:
        debug:
          msg: "{{ event.keyward.message }}"

# OceanBase Cloud API keys that expire within 14 days.
- name: OceanBase Cloud API keys
  hosts: localhost
  sources:
    - keyward.keys.public_key_changes:
        provider: oceanbase_cloud
        expiring_within_days: 14
        interval: 3600
  rules:
    - name: Open a ticket
      condition: event.keyward.type == "expiring"
      action:
        debug:
          msg: "API key {{ event.keyward.record.name }} expires in {{ event.keyward.expires_in_days }} days"
"""


def _collections_root(path):
    """The directory above the last `ansible_collections` in path, taken as given (abspath does
    not resolve symlinks); None when path is not inside one."""
    parts = os.path.abspath(path).split(os.sep)
    if "ansible_collections" not in parts:
        return None
    index = len(parts) - 1 - parts[::-1].index("ansible_collections")
    return os.sep.join(parts[:index]) or os.sep


_ROOT = _collections_root(__file__)
if _ROOT and _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


async def main(queue, args):
    """Poll the provider every `interval` seconds and put an event on `queue` for each change."""
    from ansible_collections.keyward.keys.plugins.plugin_utils._key_watch import KeyWatch

    watch = KeyWatch.from_arguments(args)
    while True:
        started = time.monotonic()
        outcome = await asyncio.to_thread(watch.poll)
        for event in watch.update(outcome):
            await queue.put(event)
        # After the events went out: a restart may announce a change twice, never lose one.
        await asyncio.to_thread(watch.save)
        await asyncio.sleep(max(0.0, watch.settings.interval - (time.monotonic() - started)))


if __name__ == "__main__":
    # Try it by hand: python public_key_changes.py '{"provider": "obshell", "keys": ["10.0.0.1"]}'
    import json

    class _PrintQueue(object):
        async def put(self, event):
            print(json.dumps(event, sort_keys=True), flush=True)

    asyncio.run(main(_PrintQueue(), json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}))
