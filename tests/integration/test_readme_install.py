# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""README.md's installation, as someone who has nothing yet follows it (issue 17, item 4).

The README's own shell commands are read from its "Installing" section and run: the collection
from a tarball built from this checkout and from this repository as a git URL, each with
exactly the command the README shows, into an empty collections path, without a warning.
`make install` is run the same way (it once warned that its path was no collections path).
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
REPO_URL = "https://github.com/keyward/keys.git"


def readme_section(title):
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    start = text.index("\n## %s\n" % title)
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def shell_commands(section):
    """Every command line of the section's ```sh blocks, in order."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        commands += [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]
    return commands


COMMANDS = shell_commands(readme_section("Installing"))


def galaxy_installs():
    return [command for command in COMMANDS if command.startswith("ansible-galaxy collection install ")]


def run(command, cwd, collections):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""), ANSIBLE_COLLECTIONS_PATH=collections,
               NO_COLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    proc = subprocess.run(command, shell=True, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    return proc.returncode, proc.stdout


def installed_version(collections):
    manifest = os.path.join(collections, "ansible_collections", "keyward", "keys", "MANIFEST.json")
    assert os.path.exists(manifest), "nothing installed at %s" % manifest
    return json.load(open(manifest))["collection_info"]["version"]


VERSION = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))["version"]


def test_prerequisites_come_first():
    """Python packages (ansible-core brings ansible-galaxy) before any ansible-galaxy command."""
    pip = [i for i, command in enumerate(COMMANDS) if re.search(r"\bpip install\b", command)]
    galaxy = [i for i, command in enumerate(COMMANDS) if command.startswith("ansible-galaxy")]
    assert pip and galaxy and pip[0] < galaxy[0], COMMANDS
    wanted = {"ansible-core"} | {re.split(r"[<>=!~;\s\[]", line.strip())[0].lower()
                                 for line in open(os.path.join(ROOT, "requirements.txt"))
                                 if line.strip() and not line.startswith("#")}
    named = set(COMMANDS[pip[0]].split("pip install", 1)[1].split())
    assert named == wanted, "the README's pip line installs %s; the controller needs %s" % (sorted(named), sorted(wanted))
    section = readme_section("Installing")
    runtime = yaml.safe_load(open(os.path.join(ROOT, "meta", "runtime.yml")))["requires_ansible"]
    oldest = re.match(r">=\s*(\d+\.\d+)", runtime).group(1)
    assert "ansible-core %s to 2.21" % oldest in section.replace("**", "")
    assert "Python 3.10 or newer" in section.replace("**", "")


def test_galaxy_tarball_and_git_routes_are_shown():
    installs = galaxy_installs()
    assert "ansible-galaxy collection install keyward.keys" in installs
    assert any(".tar.gz" in command for command in installs), installs
    assert any("git+%s" % REPO_URL in command for command in installs), installs


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """The collection built from this checkout, as a release tarball is."""
    work = tmp_path_factory.mktemp("readme-build")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "collection_tree.py"), str(work / "src")],
                   check=True, capture_output=True)
    source = work / "src" / "ansible_collections" / "keyward" / "keys"
    out = work / "dist"
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(source)],
                   check=True, capture_output=True)
    return glob.glob(str(out / "*.tar.gz"))[0]


def test_install_from_a_release_tarball(tarball, tmp_path):
    command = next(command for command in galaxy_installs() if ".tar.gz" in command)
    collections = str(tmp_path / "collections")
    rc, out = run(command, cwd=os.path.dirname(tarball), collections=collections)
    assert rc == 0, out
    assert "[WARNING]" not in out, out
    assert installed_version(collections) == VERSION


def test_install_from_the_git_repository(tmp_path):
    """The README's git URL, pointed at this repository's HEAD (the same command, offline)."""
    command = next(command for command in galaxy_installs() if "git+" in command)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    local = re.sub(r"git\+%s,\S+" % re.escape(REPO_URL), "git+file://%s,%s" % (ROOT, head), command)
    assert local != command
    collections = str(tmp_path / "collections")
    rc, out = run(local, cwd=str(tmp_path), collections=collections)
    assert rc == 0, out
    assert "[WARNING]" not in out, out
    assert installed_version(collections) == VERSION


def test_make_install_does_not_warn(tarball, tmp_path):
    """`make install` (and so `make demo`) names its install path as a collections path."""
    root = str(tmp_path / "installed")
    rc, out = run("make --no-print-directory -o '%s' install TARBALL='%s' INSTALL_ROOT='%s'" % (tarball, tarball, root),
                  cwd=ROOT, collections="/nonexistent")
    assert rc == 0, out
    assert "[WARNING]" not in out, out
    assert installed_version(root) == VERSION
