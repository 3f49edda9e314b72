# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running a module as a host runs it: in this process, or several at once in processes of their own.

Only ansible.module_utils and the collection's own code are imported here (ansible-test units
allows module tests nothing else), and the file name keeps pytest from collecting it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time

import pytest

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    @contextlib.contextmanager
    def patch_module_args(args):
        from ansible.module_utils import basic
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


def run_module(module, capsys, **args):
    """The result a module prints when its main() runs in this process with these arguments."""
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


# One run in a process of its own: it slows one function (a read of the state on disk) so that
# runs started together surely overlap between their read and their write.
# argv: module, module that holds the slowed function, its name, module args (JSON), start time.
_SLOWED_RUN = r"""
import contextlib, importlib, json, sys, time
from ansible.module_utils import basic
try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:
    @contextlib.contextmanager
    def patch_module_args(args):
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        yield
module_name, slowed_module_name, slowed_name, args, start_at = sys.argv[1:6]
module = importlib.import_module(module_name)
slowed_module = importlib.import_module(slowed_module_name)
real = getattr(slowed_module, slowed_name)
def slow(*a, **kw):
    result = real(*a, **kw)
    time.sleep(0.5)
    return result
setattr(slowed_module, slowed_name, slow)
time.sleep(max(0.0, float(start_at) - time.time()))
with patch_module_args(json.loads(args)):
    module.main()
"""


def run_concurrently(module, slowed_module, slowed_name, args_list, timeout=120):
    """Run module.main() once per args in args_list, all at once, each process with
    slowed_module.<slowed_name> made slow; return each run's (stdout, stderr) bytes, in order."""
    # The children import exactly what this process imports (ansible-test units sets up its own paths).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(entry for entry in sys.path if entry))
    start_at = time.time() + 3.0  # after every process has imported Ansible
    procs = [subprocess.Popen([sys.executable, "-c", _SLOWED_RUN, module.__name__, slowed_module.__name__, slowed_name,
                               json.dumps(args), repr(start_at)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for args in args_list]
    return [proc.communicate(timeout=timeout) for proc in procs]
