# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.websocket_proxy_info: one `nginx -T` on the host, the lint on the controller."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _action, _layout, _lint


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            host, config = _action.read_config(self, task_vars, self._task.args)
            result.update(_lint.lint(config, host["version"]))
        except _action.HostFailure as failure:
            result.update(failure.result)
            return result
        except _layout.DamagedBlock as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(changed=False, version=host["version"], conf_path=host["conf_path"])
        return result
