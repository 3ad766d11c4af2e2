# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.nginx_info: the host runs `nginx -V` and `nginx -T`, the controller parses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _action, _layout, _sites


class ActionModule(_action.ReadConfigAction):
    def analyze(self, host, config):
        described = _layout.describe(config)
        described["managed_sites"] = _sites.managed_sites(config)
        return described
