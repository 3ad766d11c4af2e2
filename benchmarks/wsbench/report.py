# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""latest.json, latest.md and the PNG charts of a benchmark run; the targets of the benchmark issue."""

import json
import os

# (key in latest.json, target, how it compares): the issues' targets (issue 11: three sites per host, one
# transaction per host; fleet.checks_failed counts hosts' runs that took more than that, see fleet.py).
TARGETS = (
    ("fleet.first_vs_baseline", 0.5, "<="),
    ("fleet.noop_vs_ping", 1.5, "<="),
    ("fleet.noop_vs_baseline", 0.6, "<="),
    ("fleet.checks_failed", 0, "<="),
    ("live.dropped", 0, "<="),
    ("live.failed_handshakes", 0, "<="),
    ("large.info_vs_nginx_T", 2.0, "<="),
    ("large.lint_vs_nginx_T", 2.0, "<="),
)
# Outside the smoke variant's reach (2 hosts, loaded CI machine): only correctness is enforced there.
_SMOKE_TARGETS = ("fleet.checks_failed", "live.dropped", "live.failed_handshakes")


def _get(results, dotted):
    value = results
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def headline(results, part):
    return {key: _get(results, key) for key, _target, _op in TARGETS if key.startswith(part + ".")}


def failures(results, smoke):
    missed = []
    for key, target, _op in TARGETS:
        value = _get(results, key)
        if value is None or (smoke and key not in _SMOKE_TARGETS):
            continue
        if value > target:
            missed.append("%s = %.3g, target <= %s" % (key, value, target))
    return missed


def _markdown(results):
    fleet, live, large = results.get("fleet"), results.get("live"), results.get("large")
    lines = ["| Measure | Result | Target |", "|---|---|---|"]
    for key, target, op in TARGETS:
        value = _get(results, key)
        if value is not None:
            shown = "%d" % value if isinstance(value, int) else "%.2f" % value
            lines.append("| `%s` | %s %s | %s %s |" % (key, shown, "✓" if value <= target else "✗", op, target))
    if fleet:
        lines += _fleet_markdown(fleet)
    if live:
        lines += ["", "Live: %d WebSockets, each echoing a message a second, through each change." % live["connections"],
                  "", "| Change | Seconds | Dropped | Handshakes | Failed handshakes | Echoes |", "|---|---|---|---|---|---|"]
        for name, phase in live["phases"].items():
            row = (name, phase["change"]["seconds"], phase.get("dropped", 0), phase.get("handshakes", 0),
                   phase.get("failed_handshakes", 0), phase.get("messages", 0))
            lines.append("| %s | %.1f | %d | %d | %d | %d |" % row)
    if large:
        lines += ["", "Large configurations (seconds; `nginx -T` through the same connection as the modules).", "",
                  "| Server blocks | nginx -T in host | nginx -T | nginx_info | websocket_proxy_info | websocket_proxy add |"
                  " parse | lint | plan |", "|---|---|---|---|---|---|---|---|---|"]
        for size in large["sizes"]:
            steps = size["controller"]
            lines.append("| %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |" % (
                size["server_blocks"], size["nginx_T_in_host"], size["nginx_T"], size["nginx_info"],
                size["websocket_proxy_info"], size["websocket_proxy_add_site"], steps["parse"], steps["lint"], steps["plan"]))
    return "\n".join(lines) + "\n"


def _fleet_markdown(fleet):
    expected = fleet.get("expected_module_executions", {})
    lines = ["", "Fleet: %d hosts, %d sites each, median of %d rounds (seconds; round trips and module executions per "
             "host; expected: DESIGN.md principle 6)." % (fleet["hosts"], fleet.get("sites_per_host", 1), fleet["rounds"]),
             "Podman and module seconds: per host, in its podman commands and in the module executions among them.",
             "", "| Run | Seconds | Round trips | Modules | Expected modules | Podman seconds | Module seconds |",
             "|---|---|---|---|---|---|---|"]
    for key in ("role_first", "role_rerun", "baseline_first", "baseline_rerun", "ping"):
        cost = fleet["per_host"][key]
        want = expected.get(key)
        shown = "" if want is None else "%d %s" % (want, "✓" if cost["module_executions"] == want else "✗")
        row = (key.replace("_", " "), fleet["median_seconds"][key], cost["round_trips"], cost["module_executions"], shown,
               cost.get("round_trip_seconds", 0.0), cost.get("module_seconds", 0.0))
        lines.append("| %s | %.1f | %d | %d | %s | %.1f | %.1f |" % row)
    if fleet.get("checks"):
        lines += ["", "One transaction per host (checkpoints from nginx_checkpoint_info, reloads from nginx's "
                  "`signal 1 (SIGHUP) received` log lines):", "", "| Check | Expected | Result |", "|---|---|---|"]
        for check in fleet["checks"]:
            mark = "✓" if check["ok"] else "✗"
            lines.append("| %s | %s | %s %s |" % (check["name"], check["expected"], mark, check["detail"]))
    for key in ("role_first", "role_rerun", "baseline_first"):
        tasks = fleet.get("slowest_tasks", {}).get(key)
        if tasks:
            lines += ["", "Slowest tasks, %s (profile_tasks, last round, seconds for the whole fleet):" % key.replace("_", " "),
                      "", "| Task | Seconds |", "|---|---|"]
            lines += ["| %s | %.2f |" % (task.replace("|", "\\|"), seconds) for task, seconds in tasks[:5]]
    return lines


def _charts(results, out):
    import matplotlib  # pylint: disable=import-outside-toplevel,import-error

    matplotlib.use("Agg")
    from matplotlib import pyplot  # pylint: disable=import-outside-toplevel,import-error

    fleet, large = results.get("fleet"), results.get("large")
    if fleet:
        keys = ("ping", "role_rerun", "baseline_rerun", "role_first", "baseline_first")
        figure, axes = pyplot.subplots(figsize=(7, 3.5))
        axes.bar([key.replace("_", "\n") for key in keys], [fleet["median_seconds"][key] for key in keys],
                 color=["#999999", "#2a7ab9", "#d9822b", "#2a7ab9", "#d9822b"])
        axes.set_ylabel("seconds (median)")
        axes.set_title("%d hosts: the role against the builtin-only baseline" % fleet["hosts"])
        figure.tight_layout()
        figure.savefig(os.path.join(out, "fleet.png"), dpi=100)
        pyplot.close(figure)
    if large:
        sizes = [size["server_blocks"] for size in large["sizes"]]
        figure, axes = pyplot.subplots(figsize=(7, 3.5))
        for key, label in (("nginx_T", "nginx -T"), ("nginx_info", "nginx_info"),
                           ("websocket_proxy_info", "websocket_proxy_info"), ("websocket_proxy_add_site", "websocket_proxy")):
            axes.plot(sizes, [size[key] for size in large["sizes"]], marker="o", label=label)
        axes.set_xlabel("server blocks")
        axes.set_ylabel("seconds")
        axes.set_title("Large configurations")
        axes.legend()
        figure.tight_layout()
        figure.savefig(os.path.join(out, "large.png"), dpi=100)
        pyplot.close(figure)


def load(out):
    """The parts of the last run in `out` (empty when there is none)."""
    try:
        with open(os.path.join(out, "latest.json")) as handle:
            previous = json.load(handle)
    except (IOError, OSError, ValueError):
        return {}
    return {part: previous[part] for part in ("fleet", "live", "large") if part in previous}


def write(results, out, charts=True):
    summary = dict((key, value) for key, value in results.items() if key != "logs")  # a path of this machine
    summary.update({key: value for key, value in ((k, _get(results, k)) for k, _t, _o in TARGETS) if value is not None})
    with open(os.path.join(out, "latest.json"), "w") as handle:
        json.dump(summary, handle, indent=2, sort_keys=True)
        handle.write("\n")
    with open(os.path.join(out, "latest.md"), "w") as handle:
        handle.write(_markdown(results))
    if charts:
        _charts(results, out)
