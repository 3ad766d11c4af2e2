# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: test, reload, start nginx, and confirm that a reload really took.

nginx's reload exit code proves nothing: a `listen` on a taken port passes `nginx -t`, and `nginx -s reload`
exits 0 while the master logs `bind() ... failed` and keeps the old workers. A reload is confirmed only by a
new worker generation (children of the master that were not there before) and no new [emerg] line in any
error log, within the timeout.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.wsproxy.nginx.plugins.module_utils import _hooks, _nginx

_POLL = 0.1
_RELEASE_WAIT = 3.0  # seconds a confirmed reload waits at most for the old workers to close their listeners
# Options of every module that runs nginx (documented in the wsproxy.nginx.nginx doc fragment).
NGINX_OPTIONS = dict(
    binary=dict(type="str", default="nginx"),
    conf_path=dict(type="path"),
)


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def _is_master(pid):
    cmdline = _read("/proc/%d/cmdline" % pid)
    return bool(cmdline) and cmdline.startswith("nginx: master process")


def children(pid):
    """PIDs whose parent is `pid` (the master's workers, cache manager and loader)."""
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        status = _read("/proc/%s/status" % name) or ""
        for line in status.splitlines():
            if line.startswith("PPid:"):
                if int(line.split()[1]) == pid:
                    found.add(int(name))
                break
    return found


def draining_workers(master):
    """[{pid, rss_kb}] of the master's old workers still serving connections after a reload (WebSockets keep them
    alive until the clients leave or worker_shutdown_timeout ends them)."""
    draining = []
    for pid in sorted(children(master)):
        if "shutting down" not in (_read("/proc/%d/cmdline" % pid) or ""):
            continue
        rss = 0
        for line in (_read("/proc/%d/status" % pid) or "").splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
        draining.append({"pid": pid, "rss_kb": rss})
    return draining


def _listening_inodes():
    """Socket inodes in the LISTEN state (TCP, IPv4 and IPv6) of this network namespace."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in (_read(table) or "").splitlines()[1:]:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A":
                inodes.add("socket:[%s]" % fields[9])
    return inodes


def _holds_any(pid, inodes):
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return False  # gone, or not ours to look at
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                return True
        except OSError:
            continue
    return False


class Nginx(object):
    """One nginx instance on the host: its binary, main file, pid file and error logs."""

    def __init__(self, module, binary, conf_path=None):
        self.module = module
        self.binary = _nginx.find_binary(module, binary)
        self.build = _nginx.version_info(module, self.binary)
        self.conf_path = conf_path or self.build["configure_conf_path"]
        if not os.path.isfile(self.conf_path):
            module.fail_json(msg="conf_path=%r: no such file on the host" % self.conf_path)
        self.prefix = os.path.dirname(self.conf_path)
        self.warnings = []

    # --- reading ---------------------------------------------------------------------------------
    def dump(self):
        """(ok, dump text, errors): `nginx -T`, which tests the configuration too. Its warnings are kept in
        `self.warnings` (nginx -t prints them and nobody reads them)."""
        rc, out, err = _nginx.dump_config(self.module, self.binary, self.conf_path)
        self.warnings = _nginx.warnings_of(err)
        return rc == 0, out, self._errors(rc, err)

    @staticmethod
    def _errors(rc, text):
        """nginx's error messages, or its whole output as one message when it printed none in its format."""
        if rc == 0:
            return []
        return _nginx.errors_of(text) or [{"file": None, "line": None, "message": text.strip()}]

    def _paths(self, dump_text, directive, default):
        paths = [default]
        for value in _nginx.directive_values(dump_text, directive):
            if value in ("stderr", "off") or ":" in value.split("/")[0]:
                continue  # syslog:, memory:, stderr
            paths.append(value if value.startswith("/") else os.path.join(self.build["prefix"], value))
        return paths

    def master_pid(self, dump_text=None):
        """PID of the running master for this configuration, or None."""
        if dump_text is None:
            _ok, dump_text, _errors = self.dump()
        candidates = self._paths(dump_text, "pid", self.build["pid_path"])
        for pid_file in reversed(candidates):  # a pid directive overrides the compiled-in path
            text = _read(pid_file)
            if text and text.strip().isdigit() and _is_master(int(text.strip())):
                return int(text.strip())
        return None

    def error_logs(self, dump_text):
        return [path for path in set(self._paths(dump_text, "error_log", self.build["error_log_path"])) if os.path.isfile(path)]

    # --- acting ----------------------------------------------------------------------------------
    def _systemd_unit_runs(self, master):
        """True when systemd's nginx.service has this master as its main process."""
        if not os.path.isdir("/run/systemd/system"):
            return False
        systemctl = self.module.get_bin_path("systemctl")
        if not systemctl:
            return False
        rc, out, _err = self.module.run_command([systemctl, "show", "--property", "MainPID", "--value", "nginx.service"])
        return rc == 0 and out.strip() == str(master)

    def reload(self, timeout, dump_text=None):
        """Reload and confirm. Returns (ok, method, errors). `dump_text`: the `nginx -T` of the configuration the
        caller already tested; without it the configuration is tested here first."""
        if dump_text is None:
            ok, dump_text, errors = self.dump()
            if not ok:
                return False, None, errors
        master = self.master_pid(dump_text)
        if master is None:
            return False, None, [{"file": None, "line": None, "message": "nginx is not running"}]
        logs = self.error_logs(dump_text)
        offsets = dict((path, os.path.getsize(path)) for path in logs)
        before = children(master)
        if self._systemd_unit_runs(master):
            method = "systemd"
            command = [self.module.get_bin_path("systemctl"), "reload", "nginx.service"]
        else:
            method = "signal"
            command = [self.binary, "-c", self.conf_path, "-s", "reload"]
        rc, out, err = self.module.run_command(command)
        if rc != 0:
            return False, method, self._errors(rc, err or out)
        ok, errors = self._confirm(master, before, offsets, timeout)
        if ok:
            _hooks.reached("after-reload")
        return ok, method, errors

    def _confirm(self, master, before, offsets, timeout):
        deadline = time.time() + timeout
        while True:
            errors = self._new_emergencies(offsets)
            if errors:
                # A failed bind is retried for a few seconds, each try logged: let the master finish, so the
                # next reload (the rollback's) starts from a quiet log, and report every message.
                self._settle(offsets, deadline)
                return False, self._new_emergencies(offsets)
            if not _is_master(master):
                return False, [{"file": None, "line": None, "message": "the nginx master process exited during the reload"}]
            if children(master) - before:
                # One last look: the master logs a failed bind before it would have spawned anything.
                errors = self._new_emergencies(offsets)
                if not errors:
                    self._release(before, min(deadline, time.time() + _RELEASE_WAIT))
                return not errors, errors
            if time.time() >= deadline:
                return False, [{
                    "file": None, "line": None,
                    "message": "no new worker generation within reload_timeout=%s s: nginx kept the old configuration" % timeout,
                }]
            time.sleep(_POLL)

    @staticmethod
    def _release(old_workers, deadline):
        """Wait until the old generation has let go of its listening sockets. Until an old worker handles its
        QUIT it still holds them, and a reload right after (a recovery then the change, a port removed then
        added back) would fail to bind(). Workers that keep serving WebSockets close their listeners at once,
        so this never waits for them."""
        while time.time() < deadline:
            listening = _listening_inodes()
            if not any(_holds_any(pid, listening) for pid in old_workers):
                return
            time.sleep(_POLL / 2)

    @staticmethod
    def _settle(offsets, deadline, quiet=1.0):
        """Wait until no error log has grown for `quiet` seconds (or the deadline)."""
        sizes, since = None, time.time()
        while time.time() < deadline:
            now = dict((path, os.path.getsize(path)) for path in offsets if os.path.exists(path))
            if now != sizes:
                sizes, since = now, time.time()
            elif time.time() - since >= quiet:
                return
            time.sleep(_POLL)

    @staticmethod
    def _new_emergencies(offsets):
        errors = []
        for path, offset in offsets.items():
            try:
                size = os.path.getsize(path)
                with open(path, "rb") as handle:
                    handle.seek(offset if size >= offset else 0)
                    text = handle.read().decode("utf-8", "replace")
            except (IOError, OSError):
                continue
            errors.extend(
                {"file": m["file"], "line": m["line"], "message": m["message"]}
                for m in _nginx.parse_messages(text)
                if m["level"] == "emerg"
            )
        return errors

    def start(self, timeout):
        """Start nginx (systemd when it has the unit, else the binary). Returns (ok, method, errors)."""
        systemctl = self.module.get_bin_path("systemctl")
        use_systemd = False
        if systemctl and os.path.isdir("/run/systemd/system"):
            rc, _out, _err = self.module.run_command([systemctl, "cat", "nginx.service"])
            use_systemd = rc == 0
        if use_systemd:
            method, command = "systemd", [systemctl, "start", "nginx.service"]
        else:
            method, command = "binary", [self.binary, "-c", self.conf_path]
        rc, out, err = self.module.run_command(command)
        if rc != 0:
            return False, method, self._errors(rc, err or out)
        deadline = time.time() + timeout
        while self.master_pid() is None:
            if time.time() >= deadline:
                return False, method, [{"file": None, "line": None, "message": "nginx did not start within %s s" % timeout}]
            time.sleep(_POLL)
        return True, method, []
