# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: alicloud_idaas_client_public_key
author:
  - keyward.keys developers (@keyward)
version_added: 0.1.0
short_description: Client public keys of an Alibaba Cloud IDaaS application, by ClientPublicKeyId
description:
  - Fetches each client public key given as a term from an IDaaS (EIAM) M2M application, with the
    C(GetClientPublicKey) action of the EIAM 2021-12-01 API, and returns it as SubjectPublicKeyInfo PEM
    (or the whole key record, or the key exactly as IDaaS sent it).
  - These are the keys IDaaS uses to check the C(PRIVATE_KEY_JWT) assertions of M2M clients.
  - Requests are signed with Alibaba Cloud's signature V3 (C(ACS3-HMAC-SHA256)) using O(access_key_id) and
    O(access_key_secret), plus O(security_token) for temporary (STS) credentials; every attempt, retries
    included, carries a fresh date and nonce.
  - Options come from keyword arguments, then C(keyward_alicloud_<option>) variables, then environment
    variables; where an option has several environment variables, the first one set wins.
  - Each ClientPublicKeyId is checked before any request is made.
  - Disabled keys are returned too, with C(metadata.status) V(disabled).
  - To read every key of an application without knowing their ids, use the module
    M(keyward.keys.alicloud_idaas_client_public_key_info) without C(client_public_key_ids).
requirements:
  - requests (Python library, on the controller)
  - cryptography (Python library, on the controller)
options:
  _terms:
    description:
      - ClientPublicKeyIds, such as C(KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx).
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - keyward.keys.connection
  - keyward.keys.connection.pins
  - keyward.keys.connection.PLUGINS
  - keyward.keys.connection.lookup
  - keyward.keys.connection.cache
  - keyward.keys.alicloud
  - keyward.keys.alicloud.PLUGINS
notes:
  - Lookups run on the controller, so its clock must be within 15 minutes of Alibaba Cloud's.
  - Keys are cached for the run (see O(cache)), keyed by the ClientPublicKeyId and every option that is not a
    secret (endpoint, region, instance, application, AccessKey ID, certificate settings); never by
    O(access_key_secret) or O(security_token).
  - Throttling answers (C(Throttling), C(Throttling.User), C(Throttling.Api)) are retried like HTTP 429,
    up to O(retries) times, waiting as long as the C(x-acs-retry-after) header asks when IDaaS sends one.
seealso:
  - module: keyward.keys.alicloud_idaas_client_public_key_info
  - name: IDaaS API, GetClientPublicKey
    description: The API this lookup calls.
    link: https://www.alibabacloud.com/help/en/idaas/eiam/developer-reference/api-eiam-2021-12-01-getclientpublickey
  - name: Alibaba Cloud request signature V3
    description: How requests are signed.
    link: https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature
"""

EXAMPLES = r"""
- name: The M2M client's key as PEM, with the AccessKey from the environment
  # ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET (or keyward_alicloud_access_key_id /
  # keyward_alicloud_access_key_secret variables, for example injected by an AWX credential)
  ansible.builtin.copy:
    dest: /etc/gateway/m2m-client.pem
    content: "{{ lookup('keyward.keys.alicloud_idaas_client_public_key', 'KEYEqDnDJhztiEAwSin7MZoxGcihzCAuxxxx',
                        region_id='cn-hangzhou', instance_id='idaas_ue2jvisn35ea5lmthk267xxxxx',
                        application_id='app_mkv7rgt4d7i4u7zqtzev2mxxxx') }}"
    mode: "0644"

- name: Everything about the application set once, for every lookup of the play
  vars:
    keyward_alicloud_region_id: ap-southeast-1
    keyward_alicloud_instance_id: idaas_ue2jvisn35ea5lmthk267xxxxx
    keyward_alicloud_application_id: app_mkv7rgt4d7i4u7zqtzev2mxxxx
    keyward_alicloud_access_key_id: "{{ vault_ali_access_key_id }}"
    keyward_alicloud_access_key_secret: "{{ vault_ali_access_key_secret }}"
  block:
    - name: Several keys as key records, pinned to known fingerprints
      ansible.builtin.set_fact:
        m2m_keys: "{{ query('keyward.keys.alicloud_idaas_client_public_key', *m2m_key_ids,
                            return_format='dict', expected_fingerprint=m2m_key_pins) }}"

    - name: Refuse to go on with a disabled key
      ansible.builtin.assert:
        that: m2m_keys | selectattr('metadata.status', 'ne', 'enabled') | list | length == 0
        fail_msg: "a client public key is disabled in IDaaS"

- name: Temporary (STS) credentials
  ansible.builtin.debug:
    msg: "{{ lookup('keyward.keys.alicloud_idaas_client_public_key', m2m_key_id, return_format='dict',
                    access_key_id=sts.access_key_id, access_key_secret=sts.access_key_secret,
                    security_token=sts.security_token).fingerprint_sha256 }}"
"""

RETURN = r"""
_raw:
  description:
    - One entry per term, in order.
    - With O(return_format=pem), the key as SubjectPublicKeyInfo PEM (C(\n) line endings, trailing newline).
    - With O(return_format=raw), the C(PublicKey) string exactly as IDaaS returned it.
    - With O(return_format=dict), the key record described below.
  type: list
  elements: raw
  contains:
    provider:
      description: V(alicloud_idaas).
      type: str
    key_id:
      description: The ClientPublicKeyId.
      type: str
    public_key:
      description: SubjectPublicKeyInfo PEM, C(\n) line endings, trailing newline.
      type: str
    public_key_raw:
      description: The key exactly as IDaaS returned it.
      type: str
    key_type:
      description: V(RSA) (the only algorithm IDaaS documents, C(RSA-2048)), or V(EC).
      type: str
    key_size:
      description: RSA modulus size or EC curve size in bits.
      type: int
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
      description:
        - What IDaaS says about the key, C(snake_case); times are ISO-8601 UTC to the second.
        - C(application_id), C(instance_id), C(algorithm_type) (as IDaaS names it, for example V(RSA-2048)),
          C(status) (V(enabled) or V(disabled)), C(primary) (true for the key IDaaS uses first),
          C(create_time), C(last_used_time) (null when the key was never used).
      type: dict
"""

from ansible_collections.keyward.keys.plugins.plugin_utils._lookup import KeywardLookupBase


class LookupModule(KeywardLookupBase):
    PROVIDER = "alicloud_idaas"
