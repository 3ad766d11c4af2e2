# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.nginx_workers.

validate every value (nothing reaches the host on bad input) -> read the host's config once (nginx_info) ->
edit the lines of the main file on the controller and prove the result with crossplane -> apply it on the host
in one transaction (nginx_files with the sha256 of the content read). Nothing to change: one module execution.
A transaction left open by a killed run is recovered (nginx_files) and the configuration read again first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.wsproxy.nginx.plugins.modules.nginx_workers import ARGUMENT_SPEC
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _action, _workers
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._wsvalidate import InvalidOption


class ActionModule(_action.ControllerAction):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validated(ARGUMENT_SPEC, result)
        if args is None:
            return result
        try:
            wanted = _workers.validate(args)
            read_args = {"binary": args["binary"], "conf_path": args["conf_path"], "state_dir": args["state_dir"]}
            host, config = _action.read_config(self, task_vars, read_args)
            recovered = None
            if host.get("recovery_pending") and not self._play_context.check_mode:
                # A killed run left its transaction open: nginx_files restores its checkpoint first, then the
                # plan starts from what is really there (two more module executions, only in this case).
                recovered = _action.apply_files(self, task_vars, [], args, host["conf_path"])
                if recovered.get("failed"):
                    _action.take_applied(result, recovered)
                    return result
                host, config = _action.read_config(self, task_vars, read_args)
            plan = _workers.plan(config, wanted)
        except InvalidOption as exc:
            result.update(failed=True, msg=str(exc))
            return result
        except _action.HostFailure as failure:
            result.update(failure.result)
            return result
        except _workers.PlanError as exc:
            result.update(failed=True, msg="Nothing was changed: %s" % exc)
            return result

        result.update(_action.NOTHING_APPLIED)
        values = plan["after"]
        warnings = list(plan["warnings"])
        if recovered:
            _action.take_applied(result, recovered)
            warnings += list(recovered.get("warnings", []))
        if plan["files"]:
            applied = _action.apply_files(self, task_vars, plan["files"], args, host["conf_path"])
            changed = result["changed"]
            _action.take_applied(result, applied)
            result["changed"] = bool(changed or applied.get("changed"))
            warnings += list(applied.get("warnings", []))
            if applied.get("failed") or applied.get("rolled_back"):
                values = plan["before"]
                warnings = [w for w in warnings if w not in plan["warnings"]]
        result.update(values)
        result["check_mode"] = bool(self._play_context.check_mode)
        if warnings:
            result["warnings"] = warnings
        return result
