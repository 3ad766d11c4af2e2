# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The option spec of wsproxy.nginx.websocket_proxy, shared by the module (documentation checks) and its
action plugin (validation on the controller, before anything reaches the host)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.wsproxy.nginx.plugins.module_utils import _control, _txn

LOCATION_OPTIONS = dict(
    path=dict(type="str", required=True),
    match=dict(type="str", default="prefix", choices=["prefix", "exact", "priority"]),
    socketio=dict(type="bool", default=False),
    read_timeout=dict(type="raw"),
    send_timeout=dict(type="raw"),
    buffering=dict(type="bool"),
    proxy_uri=dict(type="str"),
    probe_path=dict(type="str"),
    directives=dict(type="list", elements="dict"),
)

TLS_OPTIONS = dict(
    certificate=dict(type="path", required=True),
    certificate_key=dict(type="path", required=True),
    # None: 443, and [::]:443 where the host has IPv6 (decided when rendering, from the read of the host).
    listen=dict(type="list", elements="str"),
    redirect_http=dict(type="bool", default=False),
    protocols=dict(type="list", elements="str", default=["TLSv1.2", "TLSv1.3"],
                   choices=["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]),
    http2=dict(type="bool", default=False),
    hsts=dict(type="int"),
    acme_challenge_root=dict(type="path"),
)

# The options of one site: websocket_proxy's own, and each item of websocket_proxy_sites' `sites`.
SITE_OPTIONS = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    server_name=dict(type="list", elements="str", default=["_"]),
    # None: 80, and [::]:80 where the host has IPv6 (decided when rendering, from the read of the host).
    listen=dict(type="list", elements="str"),
    # host:port strings or {address, weight, max_fails, fail_timeout, backup} dicts, checked by _wsvalidate.
    upstream=dict(type="list", elements="raw", default=["127.0.0.1:3000"]),
    balance=dict(type="str", default="round_robin", choices=["round_robin", "least_conn", "ip_hash", "hash"]),
    balance_key=dict(type="str", no_log=False),  # a hash key expression, not a secret
    keepalive=dict(type="int"),
    locations=dict(type="list", elements="dict", options=LOCATION_OPTIONS, default=[{"path": "/"}]),
    read_timeout=dict(type="raw", default="300s"),
    send_timeout=dict(type="raw", default="300s"),
    connect_timeout=dict(type="raw"),
    forwarded_headers=dict(type="bool", default=True),
    tls=dict(type="dict", options=TLS_OPTIONS),
    acme_challenge_root=dict(type="path"),
    access_log=dict(type="raw"),
    error_log=dict(type="raw"),
    directives=dict(type="list", elements="dict"),
    allowed_origins=dict(type="list", elements="str"),
    probe_path=dict(type="str"),
)

# nginx_workers' limits; websocket_proxy_sites takes them too, to raise them in the same transaction.
WORKER_OPTIONS = dict(
    worker_connections=dict(type="int"),
    worker_rlimit_nofile=dict(type="int"),
    worker_shutdown_timeout=dict(type="str"),
)

# Defined once in module_utils (_control, _txn) and documented once in the doc fragments.
SHARED_OPTIONS = dict(_control.NGINX_OPTIONS)
SHARED_OPTIONS.update(_txn.STATE_OPTIONS)
SHARED_OPTIONS.update(_txn.CHECKPOINT_OPTIONS)

# How a run applies its plan.
APPLY_OPTIONS = dict(
    check_backends=dict(type="bool", default=False),
    reload=dict(type="bool", default=True),
)

ARGUMENT_SPEC = dict(SITE_OPTIONS)
ARGUMENT_SPEC.update(APPLY_OPTIONS)
ARGUMENT_SPEC.update(SHARED_OPTIONS)

# websocket_proxy_sites: every site of a host in one transaction. `sites` items are checked against SITE_OPTIONS
# by the action plugin (so a typo fails naming the key and the site).
SITES_ARGUMENT_SPEC = dict(
    sites=dict(type="list", elements="dict", required=True),
    prune=dict(type="bool", default=False),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    probe_targets=dict(type="list", elements="dict", default=[]),
    probe_validate_certs=dict(type="bool", default=True),
)
SITES_ARGUMENT_SPEC.update(WORKER_OPTIONS)
SITES_ARGUMENT_SPEC.update(APPLY_OPTIONS)
SITES_ARGUMENT_SPEC.update(SHARED_OPTIONS)
