# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.nginx_info: the host runs `nginx -V` and `nginx -T`, the controller parses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _action, _layout


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            host, config = _action.read_config(self, task_vars, self._task.args)
        except _action.HostFailure as failure:
            result.update(failure.result)
            return result
        result.update(host)
        try:
            result.update(_layout.describe(config))
        except _layout.DamagedBlock as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result["changed"] = False
        return result
