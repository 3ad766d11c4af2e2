# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Timed Ansible runs with identical settings for everything measured, and what each run cost per host."""

import os
import re
import subprocess
import sys
import time

_RECAP_RE = re.compile(r"^(?P<host>\S+)\s+: ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
                       r"failed=(?P<failed>\d+)", re.MULTILINE)
BIN = os.path.dirname(sys.executable)


def _mentions(line, host):
    # `exec HOST ...`, `mount HOST`, `cp SRC HOST:/path`: a whole argument, never a prefix of another host's name.
    return any(arg == host or arg.startswith(host + ":") for arg in line.split())


class Run(object):
    """One timed command: seconds, exit code, output, and the podman commands it issued per host."""

    def __init__(self, name, seconds, returncode, output, podman_log):
        self.name = name
        self.seconds = seconds
        self.returncode = returncode
        self.output = output
        self.podman_lines = podman_log

    def recap(self):
        return {m.group("host"): {key: int(m.group(key)) for key in ("changed", "unreachable", "failed")}
                for m in _RECAP_RE.finditer(self.output)}

    def changed(self):
        return sum(item["changed"] for item in self.recap().values())

    def per_host(self, hosts):
        """Median podman round trips and module executions per host."""
        trips, modules = [], []
        for host in hosts:
            mine = [line for line in self.podman_lines if _mentions(line, host)]
            trips.append(len(mine))
            modules.append(sum(1 for line in mine if "AnsiballZ_" in line and "python" in line))
        return {"round_trips": sorted(trips)[len(trips) // 2], "module_executions": sorted(modules)[len(modules) // 2]}

    def require(self, ok=True):
        if (self.returncode == 0) != ok:
            verdict = "failed" if ok else "did not fail"
            raise RuntimeError("%s %s (exit %d):\n%s" % (self.name, verdict, self.returncode, self.output[-3000:]))
        return self


class Runner(object):
    """Runs ansible and ansible-playbook with one environment: same forks, same connection, same config."""

    def __init__(self, workdir, forks):
        self.workdir = workdir
        self.env = dict(os.environ)
        self.env.update(
            ANSIBLE_FORKS=str(forks),
            ANSIBLE_DEPRECATION_WARNINGS="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
        )
        self.count = 0

    def _run(self, name, argv, log_name):
        self.count += 1
        podman_log = os.path.join(self.workdir, "%03d-%s.podman" % (self.count, log_name))
        env = dict(self.env, BENCH_PODMAN_LOG=podman_log)
        started = time.monotonic()
        proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - started
        output = proc.stdout + proc.stderr
        with open(os.path.join(self.workdir, "%03d-%s.log" % (self.count, log_name)), "w") as handle:
            handle.write(" ".join(argv) + "\n" + output)
        lines = []
        if os.path.exists(podman_log):
            with open(podman_log) as handle:
                lines = handle.read().splitlines()
        return Run(name, seconds, proc.returncode, output, lines)

    def playbook(self, name, inventory, playbook, extra_vars=(), tags=None):
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook]
        for extra in extra_vars:
            argv += ["-e", extra]
        if tags:
            argv += ["--tags", tags]
        return self._run(name, argv, name)

    def adhoc(self, name, inventory, pattern, module, args=None):
        argv = [os.path.join(BIN, "ansible"), "-i", inventory, pattern, "-m", module]
        if args:
            argv += ["-a", args]
        return self._run(name, argv, name)
