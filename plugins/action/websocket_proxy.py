# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.websocket_proxy: one site in one transaction, the same path as
websocket_proxy_sites with a single site (see plugin_utils/_siterun.py). Two module executions per host when
something changes, one when the read already shows the site in place."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _action, _siterun


class ActionModule(_action.ControllerAction):
    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self.validated(_wsspec.ARGUMENT_SPEC, result)
        if args is None:
            return result
        site_args = dict((key, value) for key, value in args.items() if key in _wsspec.SITE_OPTIONS)
        try:
            sites = _siterun.validate_sites([site_args], args["state"])
        except _action.HostFailure as failure:
            result.update(failure.result)
            return result
        except _siterun.SiteError as exc:
            # One site: name the option as the task spells it (no sites[0] prefix).
            result.update(failed=True, msg=exc.detail)
            return result
        return _siterun.run(self, task_vars, result, sites, args)
