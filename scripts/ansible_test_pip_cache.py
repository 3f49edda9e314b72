# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put an offline pip bootstrap script where ansible-test looks for its cached get-pip.

ansible-test bootstraps pip in every virtualenv it creates with a get-pip script downloaded
from ci-files.testing.ansible.com, which this project's machines cannot reach. It uses a
cached copy instead when ~/.ansible/test/cache/get_pip_<pip version, dots as underscores>.py
exists (ansible_test/_util/target/setup/requirements.py, bootstrap()).

Run with the Python of a virtualenv that has ansible-core installed: this reads the pip
versions that ansible-core's ansible-test asks for and writes the stand-in below for each
of them. A file that is already there and is not ours (a real get-pip) is left alone.

The stand-in runs `python -m ensurepip`, then `python -m pip install <arguments>`; it drops
--no-setuptools and --no-wheel, which get-pip understands and pip install does not.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys

MARKER = "# keyward.keys offline get-pip stand-in"

STAND_IN = '''%s
"""Stand-in for get-pip.py, written by scripts/ansible_test_pip_cache.py (keyward.keys)."""
import subprocess
import sys


def main():
    args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    main()
''' % MARKER


def pip_versions():
    """The pip versions the installed ansible-test bootstraps virtualenvs with."""
    spec = importlib.util.find_spec("ansible_test")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("ansible_test is not importable with %s" % sys.executable)
    path = os.path.join(list(spec.submodule_search_locations)[0], "_internal", "python_requirements.py")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    versions = sorted(set(re.findall(r"""\bpip\s*=\s*['"]([0-9][0-9.]*)['"]""", source)))
    if not versions:
        raise SystemExit("no pip version found in %s" % path)
    return versions


def main():
    cache_dir = os.path.expanduser(os.path.join("~", ".ansible", "test", "cache"))
    os.makedirs(cache_dir, exist_ok=True)
    for version in pip_versions():
        path = os.path.join(cache_dir, "get_pip_%s.py" % version.replace(".", "_"))
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                current = handle.read()
            if current == STAND_IN or MARKER not in current:
                continue
        tmp_path = "%s.%d.tmp" % (path, os.getpid())
        with open(tmp_path, "w", encoding="utf-8") as handle:
            handle.write(STAND_IN)
        os.replace(tmp_path, path)
        print("ansible-test pip %s bootstrap: wrote %s" % (version, path))


if __name__ == "__main__":
    main()
