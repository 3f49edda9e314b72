# -*- coding: utf-8 -*-
# Copyright: keyward.keys contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils reads as "core" and "providers": the core never imports a provider, and no two
module_utils files import each other (directly or round a longer loop)."""

from __future__ import annotations

import ast
import os

MODULE_UTILS = os.path.join(os.path.dirname(__file__), *[os.pardir] * 4, "plugins", "module_utils")
PROVIDER_FILES = ("_alicloud", "_alicloud_signer", "_huaweicloud", "_huaweicloud_signer", "_ncloud",
                  "_ncloud_signer", "_obshell", "_obshell_crypto", "_obshell_rules", "_oceanbase_cloud",
                  "_oceanbase_cloud_expiry")


def _modules():
    found = {}
    for folder, prefix in ((MODULE_UTILS, ""), (os.path.join(MODULE_UTILS, "providers"), "providers.")):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py") and name != "__init__.py":
                found[prefix + name[:-3]] = os.path.join(folder, name)
    return found


def _imports(name, path):
    """Candidate module_utils modules that `name` imports, anywhere in the file (lazy imports too)."""
    package = name.split(".")[:-1]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    out = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            assert node.level - 1 <= len(package), "%s imports above module_utils" % name
            base = package[:len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
        else:
            marker = "plugins.module_utils"
            if marker not in (node.module or ""):
                continue
            base = [p for p in node.module.partition(marker)[2].split(".") if p]
        module = ".".join(base)
        out.add(module)
        out.update(".".join(base + [alias.name]) for alias in node.names)
    return out


def _graph():
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        graph[name] = {target for target in _imports(name, path) if target in modules}
    return graph


def test_every_provider_file_lives_under_providers():
    modules = _modules()
    for name in PROVIDER_FILES:
        assert name not in modules, "%s belongs in module_utils/providers/" % name
        assert "providers." + name in modules


def test_the_core_imports_no_provider():
    for name, targets in _graph().items():
        if not name.startswith("providers."):
            assert not [t for t in targets if t.startswith("providers.")], (name, targets)


def test_module_utils_has_no_import_cycle():
    graph = _graph()
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target in graph[node]:
            if state.get(target) == "open":
                raise AssertionError("import cycle: " + " -> ".join(stack + [node, target]))
            if target not in state:
                visit(target, stack + [node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])


def test_the_graph_sees_imports():
    # The checks above would pass on an empty graph: make sure the parser finds known edges.
    graph = _graph()
    assert "_errors" in graph["_transport"]
    assert "_api_profile" in graph["_transport"]
    assert "_retry_timing" in graph["_api_profile"]
    assert "providers._huaweicloud_signer" in graph["providers._huaweicloud"]
    assert "_provider" in graph["providers._huaweicloud"]
    assert "_keys" in graph["providers._obshell"]
