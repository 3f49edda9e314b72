# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Attributes of the read-only *_info modules.
    INFO_MODULE = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: The module only reads; it runs normally in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in diff mode).
    support: N/A
    details: The module changes nothing.
"""

    # Action groups, one per provider (meta/runtime.yml), each also in `all`.
    ACTION_GROUP_OBSHELL = r"""
attributes:
  action_group:
    description: Use C(group/keyward.keys.obshell) or C(group/keyward.keys.all) in C(module_defaults) to set defaults
      for this module.
    support: full
    membership:
      - keyward.keys.obshell
      - keyward.keys.all
"""

    ACTION_GROUP_HUAWEICLOUD = r"""
attributes:
  action_group:
    description: Use C(group/keyward.keys.huaweicloud) or C(group/keyward.keys.all) in C(module_defaults) to set
      defaults for this module.
    support: full
    membership:
      - keyward.keys.huaweicloud
      - keyward.keys.all
"""

    ACTION_GROUP_NCLOUD = r"""
attributes:
  action_group:
    description: Use C(group/keyward.keys.ncloud) or C(group/keyward.keys.all) in C(module_defaults) to set
      defaults for this module.
    support: full
    membership:
      - keyward.keys.ncloud
      - keyward.keys.all
"""

    ACTION_GROUP_ALICLOUD = r"""
attributes:
  action_group:
    description: Use C(group/keyward.keys.alicloud) or C(group/keyward.keys.all) in C(module_defaults) to set
      defaults for this module.
    support: full
    membership:
      - keyward.keys.alicloud
      - keyward.keys.all
"""

    ACTION_GROUP_OCEANBASE_CLOUD = r"""
attributes:
  action_group:
    description: Use C(group/keyward.keys.oceanbase_cloud) or C(group/keyward.keys.all) in C(module_defaults) to
      set defaults for this module.
    support: full
    membership:
      - keyward.keys.oceanbase_cloud
      - keyward.keys.all
"""
