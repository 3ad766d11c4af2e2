# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.nginx_info: the host runs `nginx -V` and `nginx -T`, the controller parses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _nginx_config

# Must match DUMP_KEY in plugins/modules/nginx_info.py.
_DUMP_KEY = "wsproxy_nginx_dump"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        if not _nginx_config.HAS_CROSSPLANE:
            result.update(failed=True, msg=missing_required_lib("crossplane"),
                          exception=str(_nginx_config.CROSSPLANE_IMPORT_ERROR))
            return result

        host = self._execute_module(module_name="wsproxy.nginx.nginx_info", module_args=self._task.args,
                                    task_vars=task_vars)
        dump = host.pop(_DUMP_KEY, None)
        result.update(host)
        if host.get("failed"):
            return result
        try:
            config = _nginx_config.NginxConfig.from_dump(host["conf_path"], dump or "")
        except _nginx_config.ConfigError as exc:
            result.update(failed=True, msg="Cannot read the nginx configuration: %s" % exc)
            return result
        result.update(_layout.describe(config))
        result["changed"] = False
        return result
