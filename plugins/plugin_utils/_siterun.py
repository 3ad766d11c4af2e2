# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: one run of sites on one host, shared by websocket_proxy (one site) and websocket_proxy_sites.

validate every site (nothing reaches the host on bad input; an unknown key fails naming it) -> read the host once
(nginx -T, backends, certificate paths, IPv6, SELinux) -> one plan for the sites, the map(s) and the worker
limits -> nothing to change: done (one module execution); else one transaction on the host (nginx_files: one
checkpoint, one nginx -t, one confirmed reload, rollback).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import (
    _action, _inplace, _layout, _sites, _workers, _wsplan, _wsrender, _wsvalidate)


class SiteError(Exception):
    """A site that cannot be planned; the message names the site (`where`) and the option (`detail`)."""

    def __init__(self, where, detail):
        super(SiteError, self).__init__("%s: %s" % (where, detail))
        self.detail = detail


def validate_sites(items, default_state):
    """[{name, state, site}] from the raw site dicts; SiteError names the site, the option and the value.
    Raises _action.HostFailure (Ansible's missing-library message) without crossplane, which checks directives."""
    _action.require_crossplane()
    sites, names = [], set()
    for index, raw in enumerate(items):
        where = "sites[%d]" % index
        if not isinstance(raw, dict):
            raise SiteError(where, "%r: expected a dict of websocket_proxy site options" % (raw,))
        if isinstance(raw.get("name"), str):
            where += " (%s)" % raw["name"]
        validation = ArgumentSpecValidator(_wsspec.SITE_OPTIONS).validate(dict(raw, state=raw.get("state") or default_state))
        if validation.error_messages:
            raise SiteError(where, "; ".join(validation.error_messages))
        params = validation.validated_parameters
        try:
            if params["state"] == "absent":
                site = None
                _wsvalidate.site_name(params["name"])
            else:
                site = _wsvalidate.site(params)
        except _wsvalidate.InvalidOption as exc:
            raise SiteError(where, str(exc))
        if params["name"] in names:
            raise SiteError(where, "name=%r: two sites with the same name" % params["name"])
        names.add(params["name"])
        sites.append({"name": params["name"], "state": params["state"], "site": site})
    return sites


def backends(sites):
    """The TCP backends of the present sites, each once, in order."""
    found = []
    for item in sites:
        for server in (item["site"] or {}).get("upstreams", []):
            address = server["address"]
            if not address.startswith("unix:") and address not in found:
                found.append(address)
    return found


def _host_paths(sites):
    """[(site name, option, path, kind)] that must exist on the host before nginx is given them."""
    wanted = []
    for item in sites:
        if item["site"] is not None:
            wanted += [(item["name"],) + tuple(entry) for entry in _wsvalidate.host_paths(item["site"])]
    return wanted


def _require(host, task_vars, wanted_paths):
    for check in host.get("tcp_checks", []):
        if not check["ok"]:
            raise _action.HostFailure({"failed": True, "tcp_checks": host["tcp_checks"], "msg": (
                "Nothing was changed: backend %s does not accept connections from %s (%s); fix the application "
                "before nginx" % (check["address"], task_vars.get("inventory_hostname", "the host"), check["error"]))})
    for name, option, path, kind in wanted_paths:
        found = (host.get("paths") or {}).get(path)
        if found != kind:
            raise _action.HostFailure({"failed": True, "msg": "Nothing was changed: site %s: %s=%r: %s on %s" % (
                name, option, path, "no such %s" % ("directory" if kind == "dir" else "file") if found is None
                else "a %s, not a %s" % (found, kind), task_vars.get("inventory_hostname", "the host"))})


def _managed_after(before, plan):
    """The managed sites as the plan leaves them."""
    gone = set(item["name"] for item in plan["sites"] if item["state"] == "absent") | set(plan["pruned"])
    sites = dict((item["name"], item["files"]) for item in before if item["name"] not in gone)
    sites.update((item["name"], item["files"]) for item in plan["sites"] if item["state"] == "present")
    return [{"name": name, "files": files} for name, files in sorted(sites.items())]


def run(action, task_vars, result, sites, args, prune=False, workers=None):
    """Plan and apply `sites` (validate_sites) on the host; updates and returns `result`."""
    wanted_paths = _host_paths(sites)
    read_args = {"binary": args["binary"], "conf_path": args["conf_path"], "state_dir": args["state_dir"],
                 "tcp_check": backends(sites) if args["check_backends"] else [],
                 "stat_paths": sorted(set(path for _n, _o, path, _k in wanted_paths)),
                 # Probed in the read: when nothing changes, that proves the sites without another execution.
                 "probe_targets": args.get("probe_targets") or [],
                 "probe_validate_certs": args.get("probe_validate_certs", True)}
    # A file changed between the read and the write (another run took the lock first): read and plan again, once.
    for attempt in (1, 2):
        try:
            host, config = _action.read_config(action, task_vars, read_args)
            _require(host, task_vars, wanted_paths)
            info = _layout.describe(config)
            info["conf_path"] = host["conf_path"]
            features = {"version": host["version"], "ipv6": host["ipv6"]}
            plan = _wsplan.plan_host(sites, config, info, features, prune=prune, workers=workers)
        except _action.HostFailure as failure:
            result.update(failure.result)
            return result
        except (_wsplan.PlanError, _workers.PlanError, _wsrender.RenderError, _layout.DamagedBlock, _sites.Conflict) as exc:
            result.update(failed=True, msg="Nothing was changed: %s" % exc)
            return result

        result.update(version=host["version"], selinux=host["selinux"], ipv6=host["ipv6"], layout=plan["layout"],
                      map=plan["map"], sites=plan["sites"], pruned=plan["pruned"],
                      managed_sites=_managed_after(plan["managed_sites"], plan),
                      worker_limits=plan["workers"]["after"] if plan["workers"] else _workers.current(config),
                      check_mode=bool(action._play_context.check_mode))
        result["probed"] = False
        if _inplace.in_place(plan["files"], config, host["recovery_pending"]):
            applied = dict(_action.NOTHING_APPLIED)
            if read_args["probe_targets"]:
                result["probes"] = host["probes"]
                result["probed"] = not any(probe["failed"] for probe in host["probes"])
        else:
            applied = _action.apply_files(action, task_vars, plan["files"], args, host["conf_path"],
                                          _wsrender.MANAGED_MARKER)
            if applied.get("checkpoint"):
                result["label"] = args.get("label") or applied["checkpoint"]
        if not applied.get("stale") or attempt == 2:
            break
    _action.take_applied(result, applied)
    if plan["workers"] and (applied.get("failed") or applied.get("rolled_back")):
        result["worker_limits"] = plan["workers"]["before"]
    result["warnings"] = list(host.get("warnings", [])) + plan["warnings"] + [
        warning for warning in applied.get("warnings", []) if warning not in host.get("warnings", [])]
    return result
