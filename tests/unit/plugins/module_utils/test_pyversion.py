# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The managed-node Python floor (3.6): an older interpreter gets one clear failure before any other code runs."""

import ast
import glob
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.normpath(os.path.join(HERE, "..", "..", "..", ".."))
GUARD = os.path.join(COLLECTION, "plugins", "module_utils", "_pyversion.py")
MODULES = sorted(glob.glob(os.path.join(COLLECTION, "plugins", "modules", "*.py")))


@pytest.mark.parametrize("version", [(3, 6, 8), (3, 7, 0), (3, 11, 2), (3, 13, 5), (3, 14, 0)])
def test_supported_pythons_pass(version):
    assert _pyversion.unsupported(version) is None


@pytest.mark.parametrize("version", [(2, 7, 18), (3, 5, 3)])
def test_older_pythons_get_a_message_naming_interpreter_and_floor(version):
    msg = _pyversion.unsupported(version, "/usr/bin/python2")
    assert "needs Python 3.6 or later on the managed node" in msg
    assert "/usr/bin/python2 is Python %s" % ".".join(str(part) for part in version) in msg
    assert "ansible_python_interpreter" in msg


def test_on_an_old_python_the_import_prints_a_failed_result_and_exits():
    """What the controller gets from a module on Python 2.7: a failed result with the message, no traceback."""
    code = (
        "import sys, runpy\n"
        "sys.version_info = (2, 7, 18, 'final', 0)\n"
        "runpy.run_path(%r)\n"
        "print('not stopped')\n" % GUARD
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert result["failed"] is True
    assert "is Python 2.7.18" in result["msg"]


@pytest.mark.parametrize("path", MODULES, ids=os.path.basename)
def test_every_module_imports_the_guard_first(path):
    """Before anything else is imported, so that no code written for Python 3 runs on an older one."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    imports = [node for node in tree.body
               if isinstance(node, (ast.Import, ast.ImportFrom)) and getattr(node, "module", None) != "__future__"]
    assert imports, path
    first = imports[0]
    assert isinstance(first, ast.ImportFrom)
    assert first.module == "ansible_collections.wsproxy.nginx.plugins.module_utils"
    assert [alias.name for alias in first.names] == ["_pyversion"]
