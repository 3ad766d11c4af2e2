# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Podman hosts for the benchmark: fresh Debian 12 containers booting systemd, nginx and the test backend."""

import json
import os
import subprocess
import time

IMAGE = os.environ.get("WSPROXY_IMAGE_DEBIAN12", "localhost/wsproxy-debian12")
# Raised from the project's 1024 (tests/containers.conf) so 1,000 live WebSockets fit; below this machine's
# hard limit, which podman cannot exceed.
ULIMITS = ("nofile=16384:16384", "nproc=4096:4096")
BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PODMAN_COUNT = os.path.join(BENCH_DIR, "podman-count")


def podman(*args, **kwargs):
    return subprocess.run(["podman"] + list(args), check=kwargs.pop("check", True), capture_output=True, text=True,
                          **kwargs)


def remove(names):
    if names:
        podman("rm", "-f", "-t", "0", *names, check=False)


def fresh(names):
    """Recreate `names` from the image and wait until each has booted (nginx and the backend running)."""
    remove(names)
    for name in names:
        ulimits = [arg for limit in ULIMITS for arg in ("--ulimit", limit)]
        podman("run", "-d", "--name", name, "--hostname", name, "--systemd", "always", *ulimits, IMAGE, "/sbin/init")
    for name in names:
        _wait_for_boot(name)


def _wait_for_boot(name, seconds=90):
    deadline = time.monotonic() + seconds
    while True:
        # Right after `podman run` systemd's bus may not exist yet: is-system-running fails instead of waiting.
        proc = podman("exec", name, "systemctl", "is-system-running", "--wait", check=False)
        state = proc.stdout.strip()
        if state in ("running", "degraded"):
            return
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not boot: systemd says %r %s" % (name, state, proc.stderr.strip()))
        time.sleep(0.5)


# nginx logs one `signal 1 (SIGHUP) received from N, reconfiguring` line per reload at the notice level,
# whatever sends it (systemctl reload, nginx -s reload, kill -HUP): PLATFORMS.md, Measured 2026-11-28.
_ERROR_LOG = "/var/log/nginx/error.log"
_NOTICE = ("sed -i 's|^error_log %s;|error_log %s notice;|' /etc/nginx/nginx.conf && grep -q '^error_log %s notice;' "
           "/etc/nginx/nginx.conf && systemctl restart nginx" % (_ERROR_LOG, _ERROR_LOG, _ERROR_LOG))


def log_reloads(names):
    """Let nginx log every reload on `names` (error_log at notice; a restart, which logs no SIGHUP)."""
    for name in names:
        proc = podman("exec", name, "sh", "-c", _NOTICE, check=False)
        if proc.returncode:
            raise RuntimeError("%s: could not set error_log to notice: %s" % (name, proc.stderr.strip()))


def reloads(names):
    """{host: reloads nginx logged since log_reloads()}."""
    counts = {}
    for name in names:
        proc = podman("exec", name, "grep", "-c", "signal 1 (SIGHUP) received", _ERROR_LOG, check=False)
        counts[name] = int(proc.stdout.strip() or 0)
    return counts


def write_inventory(path, names, sites):
    """A static inventory of `names` (podman connection through the counting wrapper), each with `sites`."""
    inventory = {"all": {
        "vars": {
            "ansible_connection": "containers.podman.podman",
            "ansible_podman_executable": PODMAN_COUNT,
            "ansible_python_interpreter": "/usr/bin/python3",
            "websocket_proxy_sites": sites,
        },
        "hosts": {name: {} for name in names},
    }}
    with open(path, "w") as handle:
        json.dump(inventory, handle, indent=2)
    return path
