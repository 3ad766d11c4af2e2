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

    def commands(self):
        """[(seconds, arguments)] of the podman commands logged (podman-count: start, end, arguments)."""
        timed = []
        for line in self.podman_lines:
            parts = line.split(" ", 2)
            try:
                timed.append((float(parts[1]) - float(parts[0]), parts[2] if len(parts) > 2 else ""))
            except (ValueError, IndexError):
                timed.append((0.0, line))
        return timed

    def per_host(self, hosts):
        """Median podman round trips and module executions per host, and the seconds they took (the host's
        podman commands, and the module executions among them)."""
        trips, modules, trip_seconds, module_seconds = [], [], [], []
        for host in hosts:
            mine = [(seconds, args) for seconds, args in self.commands() if _mentions(args, host)]
            executions = [seconds for seconds, args in mine if "AnsiballZ_" in args and "python" in args]
            trips.append(len(mine))
            modules.append(len(executions))
            trip_seconds.append(sum(seconds for seconds, _args in mine))
            module_seconds.append(sum(executions))

        def median(values):
            return sorted(values)[len(values) // 2]

        return {"round_trips": median(trips), "module_executions": median(modules),
                "round_trip_seconds": round(median(trip_seconds), 2), "module_seconds": round(median(module_seconds), 2)}

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
            # Where a playbook's time goes: the slowest tasks, in every run's log and in latest.json.
            ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
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
