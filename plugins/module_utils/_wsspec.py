# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The option spec of wsproxy.nginx.websocket_proxy, shared by the module (documentation checks) and its
action plugin (validation on the controller, before anything reaches the host)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

LOCATION_OPTIONS = dict(
    path=dict(type="str", required=True),
    match=dict(type="str", default="prefix", choices=["prefix", "exact", "priority"]),
    socketio=dict(type="bool", default=False),
    read_timeout=dict(type="raw"),
    send_timeout=dict(type="raw"),
    buffering=dict(type="bool"),
    proxy_uri=dict(type="str"),
    probe_path=dict(type="str"),
)

TLS_OPTIONS = dict(
    certificate=dict(type="path", required=True),
    certificate_key=dict(type="path", required=True),
    listen=dict(type="list", elements="str", default=["443", "[::]:443"]),
    redirect_http=dict(type="bool", default=False),
    protocols=dict(type="list", elements="str", default=["TLSv1.2", "TLSv1.3"],
                   choices=["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
)

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    server_name=dict(type="list", elements="str", default=["_"]),
    listen=dict(type="list", elements="str", default=["80", "[::]:80"]),
    upstream=dict(type="list", elements="str", default=["127.0.0.1:3000"]),
    locations=dict(type="list", elements="dict", options=LOCATION_OPTIONS, default=[{"path": "/"}]),
    read_timeout=dict(type="raw", default="300s"),
    send_timeout=dict(type="raw", default="300s"),
    connect_timeout=dict(type="raw"),
    forwarded_headers=dict(type="bool", default=True),
    tls=dict(type="dict", options=TLS_OPTIONS),
    allowed_origins=dict(type="list", elements="str"),
    probe_path=dict(type="str"),
    check_backends=dict(type="bool", default=False),
    binary=dict(type="str", default="nginx"),
    conf_path=dict(type="path"),
    reload=dict(type="bool", default=True),
    reload_timeout=dict(type="int", default=10),
    checkpoint_keep=dict(type="int", default=10),
    state_dir=dict(type="path", default="/var/lib/wsproxy"),
    lock_timeout=dict(type="int", default=60),
)
