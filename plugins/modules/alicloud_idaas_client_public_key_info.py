#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: alicloud_idaas_client_public_key_info
short_description: Client public keys of an Alibaba Cloud IDaaS application
version_added: 0.1.0
description:
  - Reads the client public keys of an IDaaS (EIAM) M2M application, the keys IDaaS uses to check the
    C(PRIVATE_KEY_JWT) assertions of M2M clients, and returns them as key records, with the key as
    SubjectPublicKeyInfo PEM, its type, size, fingerprints and what IDaaS says about it (status, primary,
    algorithm, times).
  - With O(client_public_key_ids), those keys (C(GetClientPublicKey), several at a time, up to 16 requests
    at once). Without it, every key of the application (C(ListClientPublicKeys), following C(NextToken)
    through every page); each key appears once, in the order IDaaS lists them.
  - Disabled keys are returned too, with C(metadata.status) V(disabled); filter on it to trust only enabled keys.
  - Requests are signed with Alibaba Cloud's signature V3 (C(ACS3-HMAC-SHA256)) using O(access_key_id) and
    O(access_key_secret), plus O(security_token) for temporary (STS) credentials; every attempt, retries
    included, carries a fresh date and nonce.
  - Options come from the task's parameters, then C(module_defaults) (action group C(group/keyward.keys.alicloud)),
    then environment variables of the host that runs the module.
  - ClientPublicKeyIds are checked before any request is made.
author:
  - keyward.keys developers (@keyward)
requirements:
  - requests
  - cryptography
options:
  client_public_key_ids:
    description:
      - ClientPublicKeyIds to read, such as C(KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx).
      - When not set, every key of O(application_id) is returned.
    type: list
    elements: str
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.alicloud
  - keyward.keys.attributes.INFO_MODULE
  - keyward.keys.attributes.ACTION_GROUP_ALICLOUD
notes:
  - The module signs on the host that runs it; that host's clock must be within 15 minutes of Alibaba Cloud's.
  - Throttling answers (C(Throttling), C(Throttling.User), C(Throttling.Api)) are retried like HTTP 429,
    up to O(retries) times, waiting as long as the C(x-acs-retry-after) header asks when IDaaS sends one.
  - With O(expected_fingerprint) and no O(client_public_key_ids), every listed key must match one of the pins.
seealso:
  - plugin: keyward.keys.alicloud_idaas_client_public_key
    plugin_type: lookup
  - name: IDaaS API, GetClientPublicKey
    description: The API that reads one key.
    link: https://www.alibabacloud.com/help/en/idaas/eiam/developer-reference/api-eiam-2021-12-01-getclientpublickey
  - name: IDaaS API, ListClientPublicKeys
    description: The API that lists every key of an application.
    link: https://www.alibabacloud.com/help/en/idaas/eiam/developer-reference/api-eiam-2021-12-01-listclientpublickeys
"""

EXAMPLES = r"""
- name: Trust every enabled client key during a rotation (old and new keys side by side)
  module_defaults:
    group/keyward.keys.alicloud:
      region_id: cn-hangzhou
      instance_id: idaas_ue2jvisn35ea5lmthk267xxxxx
      application_id: app_mkv7rgt4d7i4u7zqtzev2mxxxx
      access_key_id: "{{ vault_ali_access_key_id }}"
      access_key_secret: "{{ vault_ali_access_key_secret }}"
  block:
    - name: Every client public key of the application
      keyward.keys.alicloud_idaas_client_public_key_info:
      register: idaas

    - name: Write the enabled ones
      ansible.builtin.copy:
        dest: "/etc/gateway/m2m-clients/{{ item.key_id }}.pem"
        content: "{{ item.public_key }}"
        mode: "0644"
      loop: "{{ idaas.public_keys | selectattr('metadata.status', 'eq', 'enabled') }}"
      loop_control:
        label: "{{ item.key_id }}"

    - name: And the primary key under a fixed name
      ansible.builtin.copy:
        dest: /etc/gateway/m2m-primary.pem
        content: "{{ (idaas.public_keys | selectattr('metadata.primary') | first).public_key }}"
        mode: "0644"

- name: Two keys by id, pinned, with the AccessKey from the environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ...)
  keyward.keys.alicloud_idaas_client_public_key_info:
    region_id: ap-southeast-1
    instance_id: idaas_ue2jvisn35ea5lmthk267xxxxx
    application_id: app_mkv7rgt4d7i4u7zqtzev2mxxxx
    client_public_key_ids:
      - KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx
      - "{{ new_client_key_id }}"
    expected_fingerprint: "{{ client_key_pins }}"
  register: chosen

- name: Temporary (STS) credentials, from the controller
  keyward.keys.alicloud_idaas_client_public_key_info:
    region_id: cn-hangzhou
    instance_id: idaas_ue2jvisn35ea5lmthk267xxxxx
    application_id: app_mkv7rgt4d7i4u7zqtzev2mxxxx
    access_key_id: "{{ sts.access_key_id }}"
    access_key_secret: "{{ sts.access_key_secret }}"
    security_token: "{{ sts.security_token }}"
  delegate_to: localhost
  run_once: true
  register: idaas_keys
"""

RETURN = r"""
public_keys:
  description:
    - One key record per requested ClientPublicKeyId, in the order given; without O(client_public_key_ids),
      one per key of the application, in the order IDaaS lists them.
  returned: success
  type: list
  elements: dict
  contains:
    provider:
      description: V(alicloud_idaas).
      type: str
      sample: alicloud_idaas
    key_id:
      description: The ClientPublicKeyId.
      type: str
      sample: KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx
    public_key:
      description: SubjectPublicKeyInfo PEM, C(\n) line endings, trailing newline.
      type: str
    public_key_raw:
      description: The key exactly as IDaaS returned it.
      type: str
    key_type:
      description: V(RSA) (the only algorithm IDaaS documents, C(RSA-2048)), or V(EC).
      type: str
      sample: RSA
    key_size:
      description: RSA modulus size or EC curve size in bits.
      type: int
      sample: 2048
    curve:
      description: EC curve name (V(secp256r1), ...), null for RSA.
      type: str
    fingerprint_sha256:
      description: Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER.
      type: str
    pin_sha256:
      description: C(sha256//) and the base64 of the same digest.
      type: str
    metadata:
      description: What IDaaS says about the key.
      type: dict
      contains:
        application_id:
          description: The application the key belongs to.
          type: str
          sample: app_mkv7rgt4d7i4u7zqtzev2mxxxx
        instance_id:
          description: The IDaaS instance.
          type: str
          sample: idaas_ue2jvisn35ea5lmthk267xxxxx
        algorithm_type:
          description: The algorithm as IDaaS names it.
          type: str
          sample: RSA-2048
        status:
          description: V(enabled) or V(disabled).
          type: str
          sample: enabled
        primary:
          description: Whether IDaaS uses this key first.
          type: bool
          sample: true
        create_time:
          description: When the key was added, ISO-8601 UTC.
          type: str
          sample: "2024-11-11T06:15:55Z"
        last_used_time:
          description: When the key was last used, ISO-8601 UTC; null when never used.
          type: str
          sample: "2026-02-17T05:22:35Z"
"""

from ansible_collections.keyward.keys.plugins.module_utils.providers._alicloud import PROVIDER
from ansible_collections.keyward.keys.plugins.module_utils._module import provider_module, run_key_info


def main():
    module = provider_module(
        PROVIDER,
        extra=dict(client_public_key_ids=dict(type="list", elements="str", no_log=False)),
    )
    run_key_info(module, PROVIDER, module.params["client_public_key_ids"])


if __name__ == "__main__":
    main()
