# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one minimum-key-size rule, shared by _keys.check_min_size and the known_keys module.

Standard library only and Python 3.6 compatible: known_keys runs it on hosts.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def too_small(key_type, key_size, min_bits):
    """True when the key is below min_bits. Only RSA sizes compare with an RSA-style minimum.

    A 256-bit EC or Ed25519 key is not weak; comparing its curve size with 1024 would refuse
    every modern key. An unknown type (None) is compared, as callers that omit the type have
    only RSA keys (obshell agents).
    """
    if not min_bits or key_size is None:
        return False
    if key_type not in (None, "RSA"):
        return False
    return int(key_size) < int(min_bits)
