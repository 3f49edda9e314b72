#!/usr/bin/env python
"""Install the awx.awx collection for the tests that syntax-check playbooks/awx_credential_types.yml.

Galaxy cannot be reached from the project's machines; PyPI can. The `ansible` community package
bundled awx.awx up to 11.x, so this downloads that one wheel (no dependencies, nothing installed)
and unpacks only ansible_collections/awx/awx into DEST (a collections root). Test use only: the
collection itself does not depend on awx.awx.

Usage: python scripts/fetch_awx_collection.py DEST
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

WHEEL_SPEC = "ansible==11.13.0"
PREFIX = "ansible_collections/awx/awx/"


def main():
    dest = os.path.abspath(sys.argv[1])
    marker = os.path.join(dest, PREFIX, "plugins", "modules", "credential_type.py")
    if os.path.isfile(marker):
        return 0
    with tempfile.TemporaryDirectory() as work:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", WHEEL_SPEC, "-d", work], check=True)
        wheel = next(os.path.join(work, name) for name in os.listdir(work) if name.endswith(".whl"))
        staging = dest + ".tmp"
        shutil.rmtree(staging, ignore_errors=True)
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(staging, [name for name in archive.namelist() if name.startswith(PREFIX)])
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(staging, dest)
    print("awx.awx unpacked into %s" % dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
