# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet: the role's first converge and no-change rerun, the builtin-only baseline's, and ping, on N hosts.

Every host gets three sites. Every round starts each contender on freshly booted containers, alternating which
one goes first, so neither inherits a warm page cache or a changed host from the other. The role runs through
the collection's rollout playbook with the whole batch at once (serial 100%), as the baseline does.

Besides the time, each run is checked for what it did on every host: the reloads nginx logged, and for the
role the checkpoints it took - one transaction per host per run: one checkpoint and one reload on the first
converge, none on the rerun.
"""

import json
import os
import re
import statistics

from . import hosts as _hosts

# Three sites on the one test backend (127.0.0.1:3000 serves the /socket echo and Socket.IO): distinct
# server_names, distinct locations, each probed where the backend answers.
SITES = [
    {"name": "bench-chat", "server_name": ["chat.bench.local"], "upstream": ["127.0.0.1:3000"],
     "locations": [{"path": "/", "probe_path": "/socket"}]},
    {"name": "bench-feed", "server_name": ["feed.bench.local"], "upstream": ["127.0.0.1:3000"],
     "locations": [{"path": "/socket"}]},
    {"name": "bench-io", "server_name": ["io.bench.local"], "upstream": ["127.0.0.1:3000"],
     "locations": [{"path": "/socket.io/", "socketio": True}]},
]
_PLAYBOOKS = {
    "role": ("wsproxy.nginx.websocket_proxy", ['{"websocket_proxy_serial": "100%"}']),
    "baseline": (os.path.join(_hosts.BENCH_DIR, "playbooks", "baseline.yml"), []),
}
# Module executions per host the role should cost (DESIGN.md principle 6): the first converge reads, applies
# (nginx_files) and probes; the rerun reads and probes. The run label's set_fact runs on the controller.
EXPECTED_MODULES = {"role_first": 3, "role_rerun": 1}
_ADHOC_RE = re.compile(r"^(?P<host>\S+) \| (?P<status>[A-Z]+)(?: \| rc=\d+)? =>", re.MULTILINE)
_PROFILE_RE = re.compile(r"^(?P<task>\S.*?) -+ (?P<seconds>\d+\.\d+)s$", re.MULTILINE)


def _adhoc_results(output):
    """{host: result} of an ad-hoc run's default output (`host | SUCCESS => {...}`)."""
    matches = list(_ADHOC_RE.finditer(output))
    results = {}
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(output)
        text = output[match.end():end].strip()
        try:
            results[match.group("host")] = json.loads(text[:text.rindex("}") + 1])
        except ValueError:
            results[match.group("host")] = {"failed": True, "msg": text[:500]}
    return results


def _checkpoints(runner, inventory, names, name):
    """{host: checkpoints on it} (nginx_checkpoint_info), and {host: labels}."""
    run = runner.adhoc(name, inventory, "all", "wsproxy.nginx.nginx_checkpoint_info").require()
    results = _adhoc_results(run.output)
    missing = [host for host in names if "checkpoints" not in results.get(host, {})]
    if missing:
        raise RuntimeError("nginx_checkpoint_info answered nothing for %s:\n%s" % (missing, run.output[-2000:]))
    return ({host: len(results[host]["checkpoints"]) for host in names},
            {host: sorted(set(item.get("label") for item in results[host]["checkpoints"])) for host in names})


def profile(output):
    """The profile_tasks summary of a playbook run: [[task, seconds]], slowest first."""
    return [[m.group("task").strip(), float(m.group("seconds"))] for m in _PROFILE_RE.finditer(output)]


def _contender(runner, inventory, names, kind, record):
    _hosts.fresh(names)
    _hosts.log_reloads(names)
    playbook, extra = _PLAYBOOKS[kind]
    for phase in ("first", "rerun"):
        key = "%s_%s" % (kind, phase)
        run = runner.playbook(key.replace("_", "-"), inventory, playbook, extra).require()
        if phase == "first" and run.changed() < len(names):
            raise RuntimeError("%s changed %d hosts out of %d" % (run.name, run.changed(), len(names)))
        record["samples"][key].append(run.seconds)
        record["costs"][key] = run.per_host(names)
        record["tasks"][key] = profile(run.output)[:8]
        # What the run did on each host: changed tasks (recap), reloads nginx logged (cumulative since boot),
        # checkpoints the collection holds (cumulative).
        check = {"changed": {host: item["changed"] for host, item in run.recap().items()},
                 "reloads": _hosts.reloads(names)}
        if kind == "role":
            check["checkpoints"], check["labels"] = _checkpoints(runner, inventory, names, "%s-checkpoints" % key)
        record["checks"].setdefault(key, []).append(check)


def _verdicts(checks, names):
    """Correctness of the runs, every host of every round: [{name, expected, ok, detail}]. One transaction per
    host: the role's first converge took exactly one checkpoint (one label) and nginx reloaded once on every
    host; its rerun changed nothing, took no checkpoint and did not reload. The baseline reloads once too."""
    bad, expected = {}, {}

    def add(name, values, want, index):
        expected[name] = want
        found = bad.setdefault(name, {})
        found.update({"%s round %d" % (host, index + 1): value for host, value in values.items() if value != want})

    def new(rerun, first, key):
        return {host: rerun[key][host] - first[key][host] for host in names}

    for index, (first, rerun) in enumerate(zip(checks.get("role_first", []), checks.get("role_rerun", []))):
        add("role first: checkpoints per host", first["checkpoints"], 1, index)
        add("role first: checkpoint labels per host", {h: len(v) for h, v in first["labels"].items()}, 1, index)
        add("role first: reloads per host", first["reloads"], 1, index)
        add("role rerun: changed tasks per host", rerun["changed"], 0, index)
        add("role rerun: new checkpoints per host", new(rerun, first, "checkpoints"), 0, index)
        add("role rerun: reloads per host", new(rerun, first, "reloads"), 0, index)
    for index, (first, rerun) in enumerate(zip(checks.get("baseline_first", []), checks.get("baseline_rerun", []))):
        add("baseline first: reloads per host", first["reloads"], 1, index)
        add("baseline rerun: changed tasks per host", rerun["changed"], 0, index)
        add("baseline rerun: reloads per host", new(rerun, first, "reloads"), 0, index)
    return [{"name": name, "expected": expected[name], "ok": not found,
             "detail": "every host, every round" if not found else "differing: %s" % json.dumps(found, sort_keys=True)}
            for name, found in bad.items()]


def measure(runner, workdir, host_count, rounds):
    names = ["wsbench-%d" % index for index in range(1, host_count + 1)]
    inventory = _hosts.write_inventory(os.path.join(workdir, "fleet.json"), names, SITES)
    record = {"samples": {key: [] for key in ("role_first", "role_rerun", "baseline_first", "baseline_rerun", "ping")},
              "costs": {}, "tasks": {}, "checks": {}}
    try:
        for index in range(rounds):
            order = ("role", "baseline") if index % 2 == 0 else ("baseline", "role")
            for kind in order:
                _contender(runner, inventory, names, kind, record)
            ping = runner.adhoc("ping", inventory, "all", "ansible.builtin.ping").require()
            record["samples"]["ping"].append(ping.seconds)
            record["costs"]["ping"] = ping.per_host(names)
    finally:
        _hosts.remove(names)
    medians = {key: statistics.median(values) for key, values in record["samples"].items()}
    verdicts = _verdicts(record["checks"], names)
    return {
        "hosts": host_count,
        "rounds": rounds,
        "sites_per_host": len(SITES),
        "seconds": record["samples"],
        "median_seconds": medians,
        "per_host": record["costs"],
        "expected_module_executions": EXPECTED_MODULES,
        "slowest_tasks": record["tasks"],
        "per_host_checks": record["checks"],
        "checks": verdicts,
        "checks_failed": sum(1 for verdict in verdicts if not verdict["ok"]),
        "noop_vs_baseline": medians["role_rerun"] / medians["baseline_rerun"],
        "first_vs_baseline": medians["role_first"] / medians["baseline_first"],
        "noop_vs_ping": medians["role_rerun"] / medians["ping"],
    }
