# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live traffic: N WebSockets through nginx, each echoing a message a second, held open through three changes.

1. add_site: the rollout playbook adds a second site (reload).
2. failed_change: it adds a third site whose `listen` port the backend holds; `nginx -t` passes, the reload is
   refused (bind() fails, nginx keeps its old workers), the collection sees no new worker generation and
   restores the checkpoint.
3. rollback: playbooks/rollback.yml restores the checkpoint taken before add_site.
During each, wsload.py (inside the host) counts established connections dropped and new handshakes failed.
"""

import json
import os
import subprocess
import time

from . import hosts as _hosts

HOST = "wsbench-live"
_SETTLE = 3  # seconds of traffic counted after each change returns, for drops that come late
_SITE = {"name": "bench", "server_name": ["bench.local"], "upstream": ["127.0.0.1:3000"],
         "locations": [{"path": "/", "probe_path": "/socket"}]}
_SECOND = dict(_SITE, name="bench2", server_name=["bench2.local"])
# The backend holds 127.0.0.1:3000: a valid config that nginx cannot bind.
_BROKEN = dict(_SITE, name="broken", server_name=["broken.local"], listen=["127.0.0.1:3000"])
# The backend is a systemd service with the default 1024 open files; the load needs more (application tuning,
# not nginx's, so the benchmark does it).
_BACKEND_LIMITS = ("mkdir -p /etc/systemd/system/wsproxy-backend.service.d && "
                   "printf '[Service]\\nLimitNOFILE=16384\\n' > /etc/systemd/system/wsproxy-backend.service.d/limits.conf && "
                   "systemctl daemon-reload && systemctl restart wsproxy-backend && "
                   "for i in $(seq 50); do curl -fsS -o /dev/null http://127.0.0.1:3000/health && exit 0; sleep 0.2; done; exit 1")


def _sites_vars(sites):
    return json.dumps({"websocket_proxy_sites": sites, "websocket_proxy_serial": "100%"})


def _newest_checkpoint(runner, inventory):
    run = runner.adhoc("checkpoints", inventory, HOST, "wsproxy.nginx.nginx_checkpoint_info").require()
    start = run.output.index("{")
    return json.loads(run.output[start:])["checkpoints"][0]["id"]


class _Load(object):
    """wsload.py running inside the host; commands in on stdin, JSON lines out on stdout."""

    def __init__(self, connections):
        _hosts.podman("cp", os.path.join(_hosts.BENCH_DIR, "wsload.py"), "%s:/tmp/wsload.py" % HOST)
        self.proc = subprocess.Popen(
            ["podman", "exec", "-i", HOST, "python3", "/tmp/wsload.py", "--url", "ws://127.0.0.1/socket",
             "--host-header", "bench.local", "--connections", str(connections)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self._read("ready")

    def _read(self, event):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("wsload.py exited before '%s' (exit %s)" % (event, self.proc.wait()))
        message = json.loads(line)
        if message.get("event") != event:
            raise RuntimeError("wsload.py said %r, expected %s" % (message, event))
        return message

    def send(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self):
        self.send("stop")
        report = self._read("report")
        self.proc.wait(timeout=60)
        return report


def _changes(runner, inventory, checkpoint_holder):
    rollout = "wsproxy.nginx.websocket_proxy"
    yield "add_site", lambda: runner.playbook("live-add-site", inventory, rollout, [_sites_vars([_SITE, _SECOND])]).require()
    checkpoint_holder.append(_newest_checkpoint(runner, inventory))
    yield "failed_change", lambda: _failed_change(runner, inventory, rollout)
    yield "rollback", lambda: runner.playbook("live-rollback", inventory, "wsproxy.nginx.rollback", [
        json.dumps({"checkpoint": checkpoint_holder[0], "websocket_proxy_serial": "100%"})]).require()


def _failed_change(runner, inventory, rollout):
    run = runner.playbook("live-failed-change", inventory, rollout, [_sites_vars([_SITE, _SECOND, _BROKEN])])
    run.require(ok=False)
    if "rolled_back" not in run.output or "Address already in use" not in run.output:
        raise RuntimeError("the failed change did not fail the expected way:\n%s" % run.output[-3000:])
    return run


def measure(runner, workdir, connections):
    inventory = _hosts.write_inventory(os.path.join(workdir, "live.json"), [HOST], [_SITE])
    _hosts.fresh([HOST])
    try:
        _hosts.podman("exec", HOST, "sh", "-c", _BACKEND_LIMITS)
        runner.playbook("live-setup", inventory, "wsproxy.nginx.websocket_proxy").require()
        load = _Load(connections)
        changes, checkpoint = {}, []
        try:
            for phase, change in _changes(runner, inventory, checkpoint):
                load.send("phase %s" % phase)
                run = change()
                time.sleep(_SETTLE)
                changes[phase] = {"seconds": run.seconds, "exit": run.returncode}
            load.send("phase after")
            time.sleep(_SETTLE)
        finally:
            result = load.stop()
        nginx_conf = _hosts.podman("exec", HOST, "nginx", "-T").stdout
    finally:
        _hosts.remove([HOST])
    phases = {name: dict(result["phases"].get(name, {}), change=changes.get(name)) for name in changes}
    return {
        "connections": connections,
        "ready": load.ready,
        "phases": phases,
        "warmup": result["phases"].get("warmup"),
        "after": result["phases"].get("after"),
        "established_at_end": result["established_at_end"],
        "worker_connections": [line.strip() for line in nginx_conf.splitlines() if "worker_connections" in line
                               or "worker_rlimit_nofile" in line][:2],
        "dropped": sum(phase.get("dropped", 0) for phase in phases.values()),
        "failed_handshakes": sum(phase.get("failed_handshakes", 0) for phase in phases.values()),
    }
