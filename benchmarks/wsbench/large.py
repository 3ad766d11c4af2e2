# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Large configurations: nginx_info, websocket_proxy_info and websocket_proxy on a host with thousands of
server blocks, against `nginx -T` alone run the same way (a playbook task of ansible.builtin.command through
the same connection; see playbooks/large.yml), at three sizes so the scaling of every step shows.

The controller-side steps (parse with crossplane, layout, lint, plan) are also timed in this process on the
same dump, which separates them from the transport.
"""

import os
import shutil
import statistics
import sys
import tempfile
import time

from . import hosts as _hosts

sys.path.insert(0, _hosts.BENCH_DIR)
import largeconf  # noqa: E402  pylint: disable=wrong-import-position,import-error

HOST = "wsbench-large"
_PER_FILE = 10
_SAMPLES = 3
_SITE = {"name": "bench", "server_name": ["bench.local"], "upstream": ["127.0.0.1:3000"], "listen": ["8081"]}


def _install(size):
    """Replace the generated files in the host's conf.d with `size` server blocks and reload nginx."""
    staging = tempfile.mkdtemp(prefix="wsbench-large-")
    try:
        for relative, text in largeconf.generate(size, _PER_FILE).items():
            path = os.path.join(staging, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as handle:
                handle.write(text)
        _hosts.podman("exec", HOST, "sh", "-c", "rm -f /etc/nginx/conf.d/large-*.conf")
        _hosts.podman("cp", staging + "/.", "%s:/etc/nginx/" % HOST)
        _hosts.podman("exec", HOST, "sh", "-c", "nginx -t -q && systemctl reload nginx")
    finally:
        shutil.rmtree(staging)


_PLAYBOOK = os.path.join(_hosts.BENCH_DIR, "playbooks", "large.yml")


def _task(runner, inventory, size, tag):
    return runner.playbook("large-%d-%s" % (size, tag), inventory, _PLAYBOOK, tags=tag).require()


def _median_run(runner, inventory, size, tag):
    return statistics.median(_task(runner, inventory, size, tag).seconds for _sample in range(_SAMPLES))


def _timed(function, *args):
    started = time.monotonic()
    value = function(*args)
    return time.monotonic() - started, value


def _controller_steps(dump, version):
    """Seconds of each controller step on this dump, in this process."""
    from ansible_collections.wsproxy.nginx.plugins.plugin_utils import (  # pylint: disable=import-outside-toplevel
        _layout, _lint, _nginx_config, _wsplan, _wsvalidate)
    from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec  # pylint: disable=import-outside-toplevel

    steps = {}
    steps["parse"], config = _timed(_nginx_config.NginxConfig.from_dump, "/etc/nginx/nginx.conf", dump)
    steps["layout"], info = _timed(_layout.describe, config)
    steps["lint"], _findings = _timed(_lint.lint, config, version)
    info["conf_path"] = "/etc/nginx/nginx.conf"
    args = {key: spec.get("default") for key, spec in _wsspec.ARGUMENT_SPEC.items()}
    args.update(_SITE, locations=[{"path": "/", "match": "prefix", "socketio": False, "read_timeout": None,
                                   "send_timeout": None, "buffering": None, "proxy_uri": None, "probe_path": None}])
    steps["plan"], _plan = _timed(lambda: _wsplan.plan(_wsvalidate.site(args), "bench", "present", config, info))
    return steps


def _size(runner, inventory, size):
    _install(size)
    raw = []
    for _sample in range(_SAMPLES):
        seconds, proc = _timed(_hosts.podman, "exec", HOST, "nginx", "-T")
        raw.append(seconds)
    dump = proc.stdout
    version = _hosts.podman("exec", HOST, "nginx", "-v").stderr.strip().rsplit("/", 1)[-1]
    add = _task(runner, inventory, size, "add_site")
    _task(runner, inventory, size, "remove_site")
    return {
        "server_blocks": size,
        "files": len(dump.split("# configuration file ")) - 1,
        "dump_bytes": len(dump),
        "nginx_T_in_host": statistics.median(raw),
        "nginx_T": _median_run(runner, inventory, size, "nginx_T"),
        "nginx_info": _median_run(runner, inventory, size, "nginx_info"),
        "websocket_proxy_info": _median_run(runner, inventory, size, "websocket_proxy_info"),
        "websocket_proxy_add_site": add.seconds,
        "controller": _controller_steps(dump, version),
    }


def _scaling(sizes):
    """For every step, how much slower the largest size is than the smallest, over how much larger it is:
    1 is linear, above 1 worse than linear."""
    small, big = sizes[0], sizes[-1]
    growth = float(big["server_blocks"]) / small["server_blocks"]
    steps = {}
    for key in ("nginx_T_in_host", "nginx_T", "nginx_info", "websocket_proxy_info", "websocket_proxy_add_site"):
        steps[key] = (big[key] / small[key]) / growth
    for key in big["controller"]:
        steps["controller." + key] = (big["controller"][key] / max(small["controller"][key], 1e-6)) / growth
    return steps


def measure(runner, workdir, servers):
    inventory = _hosts.write_inventory(os.path.join(workdir, "large.json"), [HOST], [])
    sizes = sorted({max(servers // 10, 1), max(servers // 2, 1), servers})
    _hosts.fresh([HOST])
    try:
        results = [_size(runner, inventory, size) for size in sizes]
    finally:
        _hosts.remove([HOST])
    biggest = results[-1]
    return {
        "sizes": results,
        "scaling": _scaling(results) if len(results) > 1 else {},
        "info_vs_nginx_T": biggest["nginx_info"] / biggest["nginx_T"],
        "lint_vs_nginx_T": biggest["websocket_proxy_info"] / biggest["nginx_T"],
    }
