# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fleet: the role's first converge and no-change rerun, the builtin-only baseline's, and ping, on N hosts.

Every round starts each contender on freshly booted containers, alternating which one goes first, so neither
inherits a warm page cache or a changed host from the other. The role runs through the collection's rollout
playbook with the whole batch at once (serial 100%), as the baseline does.
"""

import os
import statistics

from . import hosts as _hosts

SITE = {"name": "bench", "server_name": ["bench.local"], "upstream": ["127.0.0.1:3000"],
        "locations": [{"path": "/", "probe_path": "/socket"}]}
_PLAYBOOKS = {
    "role": ("wsproxy.nginx.websocket_proxy", ['{"websocket_proxy_serial": "100%"}']),
    "baseline": (os.path.join(_hosts.BENCH_DIR, "playbooks", "baseline.yml"), []),
}


def _contender(runner, inventory, names, kind, samples, costs):
    _hosts.fresh(names)
    playbook, extra = _PLAYBOOKS[kind]
    for phase in ("first", "rerun"):
        run = runner.playbook("%s-%s" % (kind, phase), inventory, playbook, extra).require()
        if phase == "first" and run.changed() < len(names):
            raise RuntimeError("%s changed %d hosts out of %d" % (run.name, run.changed(), len(names)))
        if phase == "rerun" and run.changed():
            raise RuntimeError("%s is not idempotent: changed=%d\n%s" % (run.name, run.changed(), run.output[-2000:]))
        samples["%s_%s" % (kind, phase)].append(run.seconds)
        costs["%s_%s" % (kind, phase)] = run.per_host(names)


def measure(runner, workdir, host_count, rounds):
    names = ["wsbench-%d" % index for index in range(1, host_count + 1)]
    inventory = _hosts.write_inventory(os.path.join(workdir, "fleet.json"), names, [SITE])
    samples = {key: [] for key in ("role_first", "role_rerun", "baseline_first", "baseline_rerun", "ping")}
    costs = {}
    try:
        for index in range(rounds):
            order = ("role", "baseline") if index % 2 == 0 else ("baseline", "role")
            for kind in order:
                _contender(runner, inventory, names, kind, samples, costs)
            ping = runner.adhoc("ping", inventory, "all", "ansible.builtin.ping").require()
            samples["ping"].append(ping.seconds)
            costs["ping"] = ping.per_host(names)
    finally:
        _hosts.remove(names)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    return {
        "hosts": host_count,
        "rounds": rounds,
        "seconds": samples,
        "median_seconds": medians,
        "per_host": costs,
        "noop_vs_baseline": medians["role_rerun"] / medians["baseline_rerun"],
        "first_vs_baseline": medians["role_first"] / medians["baseline_first"],
        "noop_vs_ping": medians["role_rerun"] / medians["ping"],
    }
