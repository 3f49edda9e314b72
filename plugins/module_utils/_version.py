# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's version, for the User-Agent. Kept equal to galaxy.yml by a unit test.

FOR INTERNAL COLLECTION USE ONLY.
"""

from __future__ import annotations

COLLECTION_NAME = "keyward.keys"
COLLECTION_VERSION = "0.1.0"
