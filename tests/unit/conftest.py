# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared test helpers: fixture trees of real nginx layouts, dumped by a real nginx (`nginx -T`)."""

import hashlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request

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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fingerprint(root):
    """sha256 + mode + owner + link target of every path under root: what "byte-identical" means here."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in [""] + dirs + files:
            path = os.path.join(directory, name) if name else directory
            info = os.lstat(path)
            item = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)
            if stat.S_ISLNK(info.st_mode):
                item += (os.readlink(path),)
            elif stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    item += (hashlib.sha256(handle.read()).hexdigest(),)
            found[path] = item
    return found


class RunningNginx(object):
    """A real nginx master on loopback with a conf.d layout under a temporary root, serving one site."""

    SITE = "server {\n    listen 127.0.0.1:%d;\n    location / {\n        return 200 \"%s\\n\";\n    }\n}\n"

    def __init__(self, root):
        self.root = str(root)
        self.tree = Tree(root)
        self.port = free_port()
        self.state_dir = os.path.join(self.root, "state")
        for directory in ("etc/nginx/conf.d", "run", "log", "tmp"):
            os.makedirs(self.tree.path(directory), exist_ok=True)
        self.tree.write(
            "etc/nginx/nginx.conf",
            "pid @ROOT@/run/nginx.pid;\nerror_log @ROOT@/log/error.log notice;\nworker_processes 1;\n"
            "events {\n    worker_connections 64;\n}\n"
            "http {\n    access_log off;\n    client_body_temp_path @ROOT@/tmp/body;\n"
            "    proxy_temp_path @ROOT@/tmp/proxy;\n    fastcgi_temp_path @ROOT@/tmp/fastcgi;\n"
            "    uwsgi_temp_path @ROOT@/tmp/uwsgi;\n    scgi_temp_path @ROOT@/tmp/scgi;\n"
            "    include @ROOT@/etc/nginx/conf.d/*.conf;\n}\n",
        )
        self.site_path = self.tree.write("etc/nginx/conf.d/site.conf", self.SITE % (self.port, "old"))
        self.conf_dir = self.tree.path("etc/nginx")
        self.conf_path = self.tree.conf_path

    def start(self):
        proc = nginx("-c", self.conf_path)
        assert proc.returncode == 0, proc.stderr
        self.wait_serving()

    def stop(self):
        pid = self.master_pid()
        if pid:
            # By pid: `nginx -s stop` parses the configuration first and does nothing when a test left it broken.
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                return
            for dummy in range(50):
                if not os.path.exists("/proc/%d" % pid):
                    break
                time.sleep(0.1)

    def master_pid(self):
        try:
            with open(self.tree.path("run/nginx.pid")) as handle:
                return int(handle.read().strip())
        except (IOError, ValueError):
            return None

    def workers(self):
        pid = self.master_pid()
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False).stdout
        return set(int(word) for word in out.split())

    def get(self, port=None):
        url = "http://127.0.0.1:%d/" % (port or self.port)
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()

    def wait_serving(self):
        for dummy in range(50):
            try:
                return self.get()
            except OSError:
                time.sleep(0.1)
        raise AssertionError("nginx does not answer on port %d" % self.port)

    def wait_for(self, body, seconds=3):
        """True once the site answers `body`: old workers may take a moment to stop accepting after a reload."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.get() == body:
                return True
            time.sleep(0.1)
        return False

    def fingerprint(self):
        return fingerprint(self.conf_dir)

    def reloads(self):
        """How many reloads nginx logged (one `signal 1 (SIGHUP) received` notice each, whatever sent it)."""
        with open(self.tree.path("log/error.log")) as handle:
            return handle.read().count("signal 1 (SIGHUP) received")

    def checkpoints(self):
        root = os.path.join(self.state_dir, "checkpoints")
        return sorted(os.listdir(root)) if os.path.isdir(root) else []

    def args(self, **extra):
        args = {"conf_path": self.conf_path, "state_dir": self.state_dir}
        args.update(extra)
        return args


@pytest.fixture
def running_nginx(tmp_path):
    server = RunningNginx(tmp_path / "host")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def run_module():
    """Run a wsproxy.nginx module on localhost through ansible (action plugin + module), return its result."""

    def _run(module, args, kill_at=None, check=False, diff=False):
        env = dict(os.environ)
        env.pop("WSPROXY_TEST_KILL_AT", None)
        if kill_at:
            env["WSPROXY_TEST_KILL_AT"] = kill_at
        env.update(
            ANSIBLE_STDOUT_CALLBACK="json",
            ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
            # The managed node's Python: WSPROXY_TEST_PYTHON runs the modules on another interpreter.
            ANSIBLE_PYTHON_INTERPRETER=os.environ.get("WSPROXY_TEST_PYTHON", "/usr/bin/python3"),
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        )
        proc = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", module, "-a", json.dumps(args)]
            + (["--check"] if check else []) + (["--diff"] if diff else []),
            capture_output=True, text=True, env=env, check=False,
        )
        try:
            output = json.loads(proc.stdout)
        except ValueError:
            pytest.fail("ansible printed no JSON: %s %s" % (proc.stdout[-2000:], proc.stderr[-2000:]))
        return output["plays"][0]["tasks"][0]["hosts"]["localhost"]

    return _run
