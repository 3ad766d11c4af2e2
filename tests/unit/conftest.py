# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared test helpers: fixture trees of real nginx layouts, dumped by a real nginx (`nginx -T`)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
NGINX = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin")


class Tree(object):
    """A fixture layout copied under a temporary root; @ROOT@ in the files becomes that root."""

    def __init__(self, root):
        self.root = str(root)
        self.conf_path = self.path("etc/nginx/nginx.conf")

    def path(self, relative):
        return os.path.join(self.root, relative)

    def write(self, relative, text):
        target = self.path(relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as handle:
            handle.write(text.replace("@ROOT@", self.root))
        return target

    def link(self, relative, target):
        os.symlink(target, self.path(relative))

    def dump(self):
        """`nginx -T` of this tree by the real nginx; fails the test with nginx's message if -t fails."""
        proc = nginx("-T", "-c", self.conf_path)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def rel(self, path):
        return "/" + os.path.relpath(path, self.root)


def nginx(*args):
    if NGINX is None:
        pytest.fail("nginx is not installed: run 'make deps' (installs nginx-light)")
    return subprocess.run([NGINX] + list(args), capture_output=True, text=True, check=False)


def _copy_fixture(name, root):
    source = os.path.join(FIXTURES, name)
    for directory, _dirs, files in os.walk(source):
        relative_dir = os.path.relpath(directory, source)
        os.makedirs(os.path.join(root, relative_dir), exist_ok=True)
        for filename in files:
            if filename == ".keep":  # only keeps empty directories in git
                continue
            src = os.path.join(directory, filename)
            dst = os.path.join(root, relative_dir, filename)
            if os.path.islink(src):
                os.symlink(os.readlink(src), dst)
                continue
            with open(src) as handle:
                text = handle.read().replace("@ROOT@", root)
            # The stock `user` lines name accounts (nginx, www-data) the test machine may not have;
            # they live in the main context and play no part in what is tested here.
            text = "\n".join(
                "# " + line if line.strip().startswith("user ") else line for line in text.split("\n")
            )
            with open(dst, "w") as handle:
                handle.write(text)


@pytest.fixture
def layout(tmp_path):
    """layout('debian') -> Tree: a copy of tests/unit/fixtures/debian under tmp_path."""

    def _make(name):
        root = tmp_path / name
        _copy_fixture(name, str(root))
        return Tree(root)

    return _make


@pytest.fixture
def run_module():
    """Run a wsproxy.nginx module on localhost through ansible (action plugin + module), return its result."""

    def _run(module, args):
        env = dict(os.environ)
        env.update(
            ANSIBLE_STDOUT_CALLBACK="json",
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        )
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", module, "-a", json.dumps(args)],
            capture_output=True, text=True, env=env, check=False,
        )
        try:
            output = json.loads(proc.stdout)
        except ValueError:
            pytest.fail("ansible printed no JSON: %s %s" % (proc.stdout[-2000:], proc.stderr[-2000:]))
        return output["plays"][0]["tasks"][0]["hosts"]["localhost"]

    return _run
