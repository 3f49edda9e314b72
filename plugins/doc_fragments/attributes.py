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

    # The module belongs to an action group (set per provider in meta/runtime.yml).
    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/keyward.keys.<group>) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - keyward.keys.all
"""
