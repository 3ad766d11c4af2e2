# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: run WebSocket probes (handshake, echo, Socket.IO the browser way) and diagnose a failure.

Shared by websocket_probe and nginx_info, whose read can prove the sites in the same module execution when a
run changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsclient

# The options of one probe: at the top level with `url`, and in each item of `targets`.
PROBE_OPTIONS = dict(
    url=dict(type="str"),
    host=dict(type="str"),
    origin=dict(type="str"),
    headers=dict(type="dict", default={}),
    subprotocols=dict(type="list", elements="str"),
    echo_text=dict(type="str"),
    socketio=dict(type="bool", default=False),
    sessions=dict(type="int", default=5),
    backend_url=dict(type="str"),
    expect_status=dict(type="int", default=101),
)
TARGET_OPTIONS = dict(PROBE_OPTIONS, url=dict(type="str", required=True), site=dict(type="str"))


def _attempt(params, probe, url, message, sessions=None):
    """(result dict, error or None) of one handshake (+ echo), or of the browser-style Socket.IO sessions."""
    settings = dict(host_header=probe["host"], origin=probe["origin"], headers=probe["headers"],
                    subprotocols=probe["subprotocols"], timeout=params["timeout"],
                    validate_certs=params["validate_certs"], ca_path=params["ca_path"])
    if probe["socketio"]:
        return _wsclient.socketio_probe(url, message, sessions or probe["sessions"], **settings)
    result = {"status": None, "headers": {}, "accept_valid": False, "upgrade_valid": False, "echo": None, "elapsed_ms": None}
    try:
        connection, head = _wsclient.handshake(url, **settings)
        head.pop("body", None)
        result.update(head)
        if connection is None:
            return result, None
        try:
            if message is not None:
                result["echo"] = _wsclient.echo(connection, message)
        finally:
            connection.close()
    except _wsclient.ProbeError as exc:
        return result, exc
    except (OSError, ValueError) as exc:
        return result, _wsclient.ProbeError("connect", str(exc))
    return result, None


def _listener(module, url):
    ss = module.get_bin_path("ss")
    if not ss or not url:
        return None
    port = _wsclient.split_url(url)[2]
    _rc, out, _err = module.run_command([ss, "-tuln", "sport = :%d" % port])
    return out.strip()


def _not_sticky(error):
    return {"code": "not_sticky",
            "summary": "%s: one client's Socket.IO requests land on different backends" % error,
            "next_check": "make the upstream sticky: balance: ip_hash (or hash with a client key, such as "
                          "hash $remote_addr consistent) on the site, that is ip_hash; or hash ...; in its upstream "
                          "block - or let the clients use the websocket transport only"}


def diagnose(module, probe, proxy, proxy_error, backend, backend_error):
    status = proxy["status"]
    backend_status = backend["status"] if backend else None
    backend_url = probe["backend_url"]
    if proxy_error is not None and proxy_error.kind == "not_sticky":
        return _not_sticky(proxy_error)
    if proxy_error is not None and proxy_error.kind == "tls":
        return {"code": "tls_error", "summary": str(proxy_error),
                "next_check": "check ssl_certificate and its chain, the server name (host) and validate_certs/ca_path"}
    if (proxy_error is not None and proxy_error.kind == "timeout") or status == 504:
        return {"code": "timeout", "summary": str(proxy_error) if proxy_error else "504 Gateway Timeout from the proxy",
                "next_check": "the backend accepted but did not answer in time: check proxy_read_timeout, "
                              "the application's heartbeat and the nginx error log"}
    backend_dead = backend_error is not None and backend_error.kind == "connect"
    if status == 502 or (status is None and backend_dead):
        if backend_url and not backend_dead and backend_status is not None:
            return {"code": "unexpected_status",
                    "summary": "502 from the proxy while the backend answers %s directly" % backend_status,
                    "next_check": "compare the upstream address in proxy_pass with %s" % backend_url}
        return {"code": "backend_down", "summary": "nginx cannot reach the backend (502): it is stopped or listens elsewhere",
                "next_check": "test the backend from this host and check the listener on its port (ss -tuln)",
                "listener": _listener(module, backend_url)}
    if status is None:
        return {"code": "unexpected_status", "summary": str(proxy_error),
                "next_check": "nothing answers at %s: is nginx running and listening there?" % probe["url"]}
    if status in (400, 403) and (backend_status in (400, 403) or not backend_url):
        return {"code": "backend_rejected",
                "summary": "the handshake is refused with %s%s" % (status, " by the backend too" if backend_url else ""),
                "next_check": "check the exact WebSocket path, tokens, cookies and the Origin the application accepts"}
    if status in (200, 400, 404, 426) and backend_status == 101:
        return {"code": "proxy_no_upgrade",
                "summary": "the backend upgrades directly, the proxy answers %s: the upgrade headers do not pass" % status,
                "next_check": "the location needs proxy_http_version 1.1, proxy_set_header Upgrade $http_upgrade "
                              "and Connection $connection_upgrade (and no location-level proxy_set_header dropping them)"}
    if status in (200, 426) and not backend_url:
        return {"code": "proxy_no_upgrade", "summary": "the proxy answers %s instead of 101" % status,
                "next_check": "set backend_url to compare, and check the location's upgrade headers"}
    return {"code": "unexpected_status", "summary": "got %s, expected %s" % (status, probe["expect_status"]),
            "next_check": "compare with backend_url and read the nginx error log"}


def _succeeded(probe, result, error):
    if error is not None or result["status"] != probe["expect_status"]:
        return False
    if probe["expect_status"] != 101:
        return True
    return result["accept_valid"] and result["upgrade_valid"] and (
        probe["echo_text"] is None or result["echo"] == probe["echo_text"])


def probe_one(module, params, probe):
    """The result dict of one probe; `failed` and `msg` are set when it failed."""
    result, error = _attempt(params, probe, probe["url"], probe["echo_text"])
    if _succeeded(probe, result, error):
        result["failed"] = False
        return result
    backend, backend_error = (None, None)
    if probe["backend_url"]:
        # One session is enough to tell the backend's own answer.
        backend, backend_error = _attempt(params, probe, probe["backend_url"], None, sessions=1)
        result["backend"] = {"status": backend["status"], "error": str(backend_error) if backend_error else None}
    result["diagnosis"] = diagnose(module, probe, result, error, backend, backend_error)
    if error is None and result["status"] == 101:
        what = "the echo came back as %r" % result["echo"] if result["accept_valid"] else "Sec-WebSocket-Accept is wrong"
        result["diagnosis"] = {"code": "unexpected_status", "summary": "101, but %s" % what,
                               "next_check": "check what sits between nginx and the backend"}
    result.update(failed=True, msg="%s: %s" % (result["diagnosis"]["code"], result["diagnosis"]["summary"]))
    return result


def check_urls(module, probe, where):
    for option in ("url", "backend_url"):
        if probe[option]:
            try:
                _wsclient.split_url(probe[option])
            except ValueError as exc:
                module.fail_json(msg=str(exc).replace("url=", where + option + "=", 1))


# How every probe of one module execution connects.
RUN_OPTIONS = dict(
    timeout=dict(type="float", default=5),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
)


def run_targets(module, params, targets):
    """[result of each target, with its url and site]; `params` holds RUN_OPTIONS."""
    for index, target in enumerate(targets):
        check_urls(module, target, "targets[%d]." % index)
    probes = []
    for target in targets:
        result = probe_one(module, params, target)
        result.update(url=target["url"], site=target.get("site"))
        probes.append(result)
    return probes


def failure_message(probes):
    return "; ".join("%s: %s" % (item["url"], item["msg"]) for item in probes if item["failed"])
