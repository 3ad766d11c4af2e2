#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`make bench`: fleet run time, live WebSockets through changes, and large configurations, in one run.

Scale with BENCH_HOSTS (8), BENCH_CONNECTIONS (1000), BENCH_ROUNDS (3), BENCH_LARGE_SERVERS (10000). Results go
to BENCH_RESULTS (benchmarks/results): latest.json, latest.md and PNG charts. `--smoke` is the small variant
`make test` runs (2 hosts, 50 connections, 1 round, 1,000 server blocks, results under .tmp) and fails when a
run fails, the role's first converge takes more than one checkpoint or reload on a host, a rerun changes or
reloads something, or a live connection drops.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wsbench import fleet, large, live, report  # noqa: E402  pylint: disable=wrong-import-position
from wsbench.runner import Runner  # noqa: E402  pylint: disable=wrong-import-position


def _settings(smoke):
    defaults = {"hosts": 2, "connections": 50, "rounds": 1, "large": 1000} if smoke else \
        {"hosts": 8, "connections": 1000, "rounds": 3, "large": 10000}
    return {
        "hosts": int(os.environ.get("BENCH_HOSTS", defaults["hosts"])),
        "connections": int(os.environ.get("BENCH_CONNECTIONS", defaults["connections"])),
        "rounds": int(os.environ.get("BENCH_ROUNDS", defaults["rounds"])),
        "large": int(os.environ.get("BENCH_LARGE_SERVERS", defaults["large"])),
    }


def _machine():
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release(),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="the small variant run by make test")
    parser.add_argument("--only", choices=["fleet", "live", "large"], action="append", help="run only these parts")
    options = parser.parse_args()
    settings = _settings(options.smoke)
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    out = os.environ.get("BENCH_RESULTS", default_out)
    os.makedirs(out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="wsbench-", dir=os.environ.get("BENCH_WORKDIR"))
    runner = Runner(workdir, forks=max(settings["hosts"], 1))
    parts = options.only or ["fleet", "live", "large"]
    results = {"settings": settings, "machine": _machine(), "logs": workdir}
    if options.only:
        # A partial run updates the parts it measured and keeps the others of the last run.
        results = dict(report.load(out), **results)
    print("[bench] settings %s, logs in %s" % (json.dumps(settings), workdir), flush=True)
    measures = {
        "fleet": lambda: fleet.measure(runner, workdir, settings["hosts"], settings["rounds"]),
        "live": lambda: live.measure(runner, workdir, settings["connections"]),
        "large": lambda: large.measure(runner, workdir, settings["large"]),
    }
    for part in ("fleet", "live", "large"):
        if part in parts:
            results[part] = measures[part]()
            print("[bench] %s %s" % (part, json.dumps(report.headline(results, part))), flush=True)
            report.write(results, out, charts=False)  # what is measured survives a later part's failure
    report.write(results, out, charts=not options.smoke)
    print("[bench] results in %s" % out, flush=True)
    failures = report.failures(results, smoke=options.smoke)
    for failure in failures:
        print("[bench] FAILED: %s" % failure, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
