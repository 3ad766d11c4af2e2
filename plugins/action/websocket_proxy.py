# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.websocket_proxy.

validate every value (nothing reaches the host on bad input) -> read the host's config once (nginx_info) ->
decide the map and the files for its layout, render them with Jinja2 and prove them with crossplane ->
apply them on the host in one transaction (nginx_files: checkpoint, atomic writes, nginx -t, confirmed reload,
rollback). Two module executions per host when something changes, one when the read already shows the site
in place.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import (
    _action, _inplace, _layout, _workers, _wsplan, _wsrender, _wsvalidate)


class ActionModule(_action.ControllerAction):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validated(_wsspec.ARGUMENT_SPEC, result)
        if args is None:
            return result
        try:
            site = self._site(args)
            host, config = _action.read_config(self, task_vars, {
                "binary": args["binary"], "conf_path": args["conf_path"], "state_dir": args["state_dir"],
                "tcp_check": self._backends_to_check(args)})
            self._require_backends(host, task_vars)
            info = _layout.describe(config)
            info["conf_path"] = host["conf_path"]
            plan = _wsplan.plan(site, args["name"], args["state"], config, info)
        except _wsvalidate.InvalidOption as exc:
            result.update(failed=True, msg=str(exc))
            return result
        except _action.HostFailure as failure:
            result.update(failure.result)
            return result
        except (_wsplan.PlanError, _wsrender.RenderError, _layout.DamagedBlock) as exc:
            result.update(failed=True, msg="Nothing was changed: %s" % exc)
            return result

        result.update(version=host["version"], selinux=host["selinux"], worker_limits=_workers.current(config))
        if _inplace.in_place(plan["files"], config, host["recovery_pending"]):
            applied = dict(_action.NOTHING_APPLIED)
        else:
            applied = _action.apply_files(self, task_vars, plan["files"], args, host["conf_path"], _wsrender.MANAGED_MARKER)
        _action.take_applied(result, applied)
        # Callers (the role) must not probe what check mode only planned.
        result.update(layout=plan["layout"], map=plan["map"], check_mode=bool(self._play_context.check_mode))
        result["warnings"] = plan["warnings"] + list(applied.get("warnings", []))
        return result

    @staticmethod
    def _backends_to_check(args):
        if not args["check_backends"] or args["state"] == "absent":
            return []
        return [backend for backend in args["upstream"] if not backend.startswith("unix:")]

    @staticmethod
    def _require_backends(host, task_vars):
        for check in host.get("tcp_checks", []):
            if not check["ok"]:
                raise _action.HostFailure({"failed": True, "tcp_checks": host["tcp_checks"], "msg": (
                    "Nothing was changed: backend %s does not accept connections from %s (%s); fix the application "
                    "before nginx" % (check["address"], task_vars.get("inventory_hostname", "the host"), check["error"]))})

    @staticmethod
    def _site(args):
        if args["state"] == "absent":
            _wsvalidate.site_name(args["name"])
            return None
        return _wsvalidate.site(args)
