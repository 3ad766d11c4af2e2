# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.websocket_proxy_sites: every site of a host, the map(s) and the worker limits
in one transaction (see plugin_utils/_siterun.py). One module execution when nothing changes, two otherwise."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _action, _siterun, _workers
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._wsvalidate import InvalidOption


class ActionModule(_action.ControllerAction):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validated(_wsspec.SITES_ARGUMENT_SPEC, result)
        if args is None:
            return result
        try:
            sites = _siterun.validate_sites(args["sites"], args["state"])
            workers = _workers.validate(args) if args["state"] == "present" else None
        except _action.HostFailure as failure:
            result.update(failure.result)
            return result
        except (_siterun.SiteError, InvalidOption) as exc:
            result.update(failed=True, msg="Nothing was changed: %s" % exc)
            return result
        return _siterun.run(self, task_vars, result, sites, args, prune=args["prune"], workers=workers)
