# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Alibaba Cloud IDaaS options of the lookup and the module. Kept in step with
    # module_utils/providers/_alicloud.py OPTIONS (tests/unit/plugins/module_utils/test_alicloud_helpers.py).
    DOCUMENTATION = r"""
options:
  instance_id:
    description:
      - ID of the IDaaS (EIAM) instance, for example V(idaas_ue2jvisn35ea5lmthk267xxxxx).
      - Required.
    type: str
  application_id:
    description:
      - ID of the M2M application whose client public keys are read, for example V(app_mkv7rgt4d7i4u7zqtzev2mxxxx).
      - Required.
    type: str
  region_id:
    description:
      - Region ID of the IDaaS instance, for example V(cn-hangzhou), V(ap-southeast-1) or V(eu-central-1).
      - Gives the endpoint C(https://eiam.<region_id>.aliyuncs.com). Needed unless O(endpoint) is set.
      - Environment variables, first one set wins, E(ALIBABA_CLOUD_REGION_ID), E(ALICLOUD_REGION_ID),
        E(ALICLOUD_REGION). In modules they are read on the host that runs the module.
    type: str
  endpoint:
    description:
      - IDaaS API endpoint, a full URL (C(https://host[:port][/base])) or a bare host name (https is assumed).
      - Overrides the endpoint derived from O(region_id), for example with a VPC endpoint such as
        C(eiam-cn.vpc-proxy.aliyuncs.com).
      - Environment variable E(ALIBABA_CLOUD_IDAAS_ENDPOINT).
    type: str
  access_key_id:
    description:
      - AccessKey ID of a RAM user or role; requests are signed with ACS3-HMAC-SHA256 (signature V3).
        Needs O(access_key_secret).
      - For temporary credentials from STS (IDs starting with C(STS.)), also set O(security_token).
      - Environment variables, first one set wins, E(ALIBABA_CLOUD_ACCESS_KEY_ID), E(ALICLOUD_ACCESS_KEY).
    type: str
  access_key_secret:
    description:
      - AccessKey secret of O(access_key_id). Never logged.
      - Environment variables, first one set wins, E(ALIBABA_CLOUD_ACCESS_KEY_SECRET), E(ALICLOUD_SECRET_KEY).
    type: str
  security_token:
    description:
      - STS security token of a temporary AccessKey, sent (and signed) as the C(x-acs-security-token) header.
        Never logged.
      - Environment variables, first one set wins, E(ALIBABA_CLOUD_SECURITY_TOKEN), E(ALICLOUD_SECURITY_TOKEN).
    type: str
"""

    # Sources of the lookup's options: environment variables and keyward_alicloud_* variables,
    # connection and lookup options included (their env entries come from keyward.keys.connection.PLUGINS).
    # Where an option has several environment variables, the first one set wins, as in OPTIONS
    # (Ansible's config manager would take the last; plugin_utils/_lookup.py corrects that).
    PLUGINS = r"""
options:
  instance_id:
    vars:
      - name: keyward_alicloud_instance_id
  application_id:
    vars:
      - name: keyward_alicloud_application_id
  region_id:
    env:
      - name: ALIBABA_CLOUD_REGION_ID
      - name: ALICLOUD_REGION_ID
      - name: ALICLOUD_REGION
    vars:
      - name: keyward_alicloud_region_id
  endpoint:
    env:
      - name: ALIBABA_CLOUD_IDAAS_ENDPOINT
    vars:
      - name: keyward_alicloud_endpoint
  access_key_id:
    env:
      - name: ALIBABA_CLOUD_ACCESS_KEY_ID
      - name: ALICLOUD_ACCESS_KEY
    vars:
      - name: keyward_alicloud_access_key_id
  access_key_secret:
    env:
      - name: ALIBABA_CLOUD_ACCESS_KEY_SECRET
      - name: ALICLOUD_SECRET_KEY
    vars:
      - name: keyward_alicloud_access_key_secret
  security_token:
    env:
      - name: ALIBABA_CLOUD_SECURITY_TOKEN
      - name: ALICLOUD_SECURITY_TOKEN
    vars:
      - name: keyward_alicloud_security_token
  timeout:
    vars:
      - name: keyward_alicloud_timeout
  retries:
    vars:
      - name: keyward_alicloud_retries
  validate_certs:
    vars:
      - name: keyward_alicloud_validate_certs
  ca_path:
    vars:
      - name: keyward_alicloud_ca_path
  expected_fingerprint:
    vars:
      - name: keyward_alicloud_expected_fingerprint
  return_format:
    vars:
      - name: keyward_alicloud_return_format
  cache:
    vars:
      - name: keyward_alicloud_cache
"""
