# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options shared by every module that runs nginx on the host.
    DOCUMENTATION = r"""
options:
  binary:
    description:
      - The nginx executable on the managed node, a name looked up in C(PATH) (plus C(/usr/sbin),
        C(/usr/local/sbin) and C(/usr/local/nginx/sbin)) or an absolute path.
    type: str
    default: nginx
  conf_path:
    description:
      - The main nginx configuration file.
      - Defaults to the C(--conf-path) nginx was compiled with (C(nginx -V)).
    type: path
requirements:
  - On the controller, the Python library C(crossplane) (the configuration is parsed there).
  - On the managed node, Python 3 and nginx; nothing else.
"""
