# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check what AWX / Automation Controller would show of a rollout run through ansible-runner (make runner).

    check_artifacts.py ARTIFACTS_DIR (--first | --again) HOST...

ARTIFACTS_DIR is <private_data_dir>/artifacts/<ident>: its status, rc and job_events/*.json (the events AWX stores
and shows per host). --first: every host's sites task changed, its probe shows 101 and the echo, and the canary (the
first host) finished before any other host was touched. --again: the run changed nothing on any host. Either way the
job succeeded on every host and no host failed or was unreachable. Fails naming what is missing.
"""

import argparse
import json
import pathlib
import sys

SITES = "wsproxy.nginx.websocket_proxy_sites"
PROBE = "wsproxy.nginx.websocket_probe"
PROBE_TEXT = "wsproxy-probe"


def load(artifacts):
    events = []
    for path in sorted((artifacts / "job_events").glob("*.json")):
        events.append(json.loads(path.read_text()))
    return sorted(events, key=lambda event: event.get("counter", 0))


def probes_of(res):
    return res.get("probes") or []


def check(artifacts, hosts, first):
    missing = []
    status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "(no status file)"
    rc = (artifacts / "rc").read_text().strip() if (artifacts / "rc").exists() else "(no rc file)"
    if status != "successful":
        missing.append(f"status is {status!r}, not 'successful'")
    if rc != "0":
        missing.append(f"rc is {rc!r}, not '0'")
    events = load(artifacts)
    if not events:
        return missing + [f"no job events in {artifacts / 'job_events'}"], []

    ok = [e for e in events if e.get("event") == "runner_on_ok"]
    sites, probes, lines = {}, {}, []
    for host in hosts:
        mine = [e for e in ok if e["event_data"].get("host") == host]
        site_events = [e for e in mine if e["event_data"].get("task_action") == SITES]
        if not site_events:
            missing.append(f"{host}: no ok event for the sites task ({SITES})")
            continue
        sites[host] = site_events[-1]
        res = sites[host]["event_data"].get("res", {})
        if first and res.get("changed") is not True:
            missing.append(f"{host}: the sites task did not report changed on the first run")
        if not first and res.get("changed"):
            missing.append(f"{host}: the sites task changed on the second run")
        # The probe: its own task after a change, or proven in the sites task's read when nothing changed.
        probe_events = [e for e in mine if e["event_data"].get("task_action") == PROBE]
        if probe_events:
            probes[host] = probe_events[-1]
            found = probes_of(probe_events[-1]["event_data"].get("res", {}))
        else:
            found = probes_of(res) if res.get("probed") else []
        if not found:
            missing.append(f"{host}: no probe result ({PROBE} event, or probes of a sites task that probed)")
        for probe in found:
            if probe.get("status") != 101 or probe.get("echo") != PROBE_TEXT:
                missing.append(
                    f"{host}: probe of {probe.get('url')} shows status {probe.get('status')!r}, "
                    f"echo {probe.get('echo')!r} (expected 101, {PROBE_TEXT!r})"
                )
        lines.append(
            f"{host}: sites task changed={res.get('changed')} checkpoint={res.get('checkpoint') or '-'} "
            f"label={res.get('label', '-')}; probe "
            + (", ".join(f"{p.get('url')} {p.get('status')} echo={p.get('echo')!r}" for p in found) or "none")
            + (" (its own task)" if host in probes else " (in the sites task's read)")
        )

    if first and len(sites) == len(hosts):
        labels = {sites[h]["event_data"].get("res", {}).get("label") for h in hosts}
        if len(labels) != 1:
            missing.append(f"the hosts got different run labels in one playbook run: {sorted(map(str, labels))}")
        # The canary: the first host's change and probe come before any event of another host's sites task.
        canary, rest = hosts[0], hosts[1:]
        canary_done = max(e["counter"] for e in (sites[canary], probes.get(canary, sites[canary])))
        touched = [h for h in rest if sites[h]["counter"] < canary_done]
        starts = [
            e
            for e in events
            if e.get("event") == "runner_on_start"
            and e["event_data"].get("task_action") == SITES
            and e["event_data"].get("host") in rest
            and e["counter"] < canary_done
        ]
        if touched or starts:
            missing.append(f"the canary {canary} was not done before the rest ({', '.join(rest)}) started")
        else:
            lines.append(f"canary: {canary} changed and probed (event {canary_done}) before {', '.join(rest)} started")

    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    if not stats:
        missing.append("no playbook_on_stats event")
    else:
        data = stats[-1]["event_data"]
        for key in ("failures", "dark"):
            if data.get(key):
                missing.append(f"playbook_on_stats {key}: {data[key]}")
        for host in hosts:
            if host not in (data.get("ok") or {}):
                missing.append(f"{host}: not in playbook_on_stats ok")
            changed = (data.get("changed") or {}).get(host, 0)
            if not first and changed != 0:
                missing.append(f"{host}: changed={changed} in playbook_on_stats of the second run")
        lines.append(
            "stats: "
            + ", ".join(
                f"{h} ok={(data.get('ok') or {}).get(h, 0)} changed={(data.get('changed') or {}).get(h, 0)}"
                for h in hosts
            )
        )
    return missing, lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifacts", type=pathlib.Path)
    run = parser.add_mutually_exclusive_group(required=True)
    run.add_argument("--first", action="store_true", help="the first run: every host changes, canary first")
    run.add_argument("--again", action="store_true", help="a second run: nothing changes")
    parser.add_argument("hosts", nargs="+", help="the inventory's hosts, the canary first")
    args = parser.parse_args()
    missing, lines = check(args.artifacts, args.hosts, args.first)
    name = "first run" if args.first else "second run"
    for line in lines:
        print(f"[runner] {name}: {line}")
    if missing:
        for item in missing:
            print(f"[runner] {name}: MISSING {item}", file=sys.stderr)
        return 1
    print(f"[runner] {name}: status successful, rc 0, {len(args.hosts)} hosts as expected ({args.artifacts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
