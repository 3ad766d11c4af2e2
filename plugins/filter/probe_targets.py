# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""wsproxy.nginx.probe_targets: what websocket_probe must check for a list of websocket_proxy sites."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

_LOOPBACK = "127.0.0.1"


def _address(listen, default_port):
    """(host to connect to, port) for a listen value such as 80, 10.0.0.1:8080 or [::]:80."""
    text = str(listen) if listen is not None else str(default_port)
    if text.startswith("["):
        host, _b, port = text[1:].partition("]")
        host = "::1" if host in ("::", "") else host
        return host, int(port.lstrip(":") or default_port)
    if ":" in text:
        host, port = text.rsplit(":", 1)
        return (_LOOPBACK if host in ("*", "0.0.0.0") else host), int(port)
    return _LOOPBACK, int(text)


def _server_address(site, server):
    """The address of one item of a site's upstream: `host:port`, `unix:/path`, or a dict with `address`."""
    if isinstance(server, dict):
        server = server.get("address")
    if not isinstance(server, str) or not server:
        raise AnsibleFilterError("probe_targets: site %s: every upstream item needs an address, got %r"
                                 % (site["name"], server))
    return server


def _backend(site, location, path):
    servers = site.get("upstream") or ["127.0.0.1:3000"]
    # A backup server takes traffic only when the others fail: the backend to compare with is a primary one.
    primary = [server for server in servers if not (isinstance(server, dict) and server.get("backup"))]
    upstream = _server_address(site, (primary or servers)[0])
    if upstream.startswith("unix:"):
        return None
    uri = location.get("proxy_uri")
    backend_path = uri + path[len(location["path"]):] if uri and path.startswith(location["path"]) else path
    return "ws://%s%s" % (upstream, backend_path)


def probe_targets(sites, text="wsproxy-probe"):
    """One target per location of every present site: site, url, host, socketio, echo_text, backend_url (each
    an item for the `targets` option of websocket_probe)."""
    if not isinstance(sites, list):
        raise AnsibleFilterError("probe_targets expects a list of websocket_proxy sites, got %r" % type(sites).__name__)
    targets = []
    for site in sites:
        if not isinstance(site, dict) or "name" not in site:
            raise AnsibleFilterError("probe_targets: every site needs a name, got %r" % (site,))
        if site.get("state", "present") == "absent":
            continue
        tls = site.get("tls")
        if tls:
            host, port = _address((tls.get("listen") or ["443"])[0], 443)
            scheme = "wss"
        else:
            host, port = _address((site.get("listen") or ["80"])[0], 80)
            scheme = "ws"
        names = [name for name in site.get("server_name") or [] if name != "_" and "*" not in name]
        for location in site.get("locations") or [{"path": "/"}]:
            path = location.get("probe_path") or site.get("probe_path") or location["path"]
            authority = "[%s]" % host if ":" in host else host
            targets.append({
                "site": site["name"],
                "url": "%s://%s:%d%s" % (scheme, authority, port, path),
                "host": names[0] if names else None,
                "socketio": bool(location.get("socketio")),
                "echo_text": text,
                "backend_url": _backend(site, location, path),
            })
    return targets


class FilterModule(object):
    def filters(self):
        return {"probe_targets": probe_targets}
