#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: websocket_probe
short_description: Prove a WebSocket handshake (101) through nginx, with an echo, and diagnose a failure
version_added: 0.1.0
description:
  - Sends a real RFC 6455 client handshake over HTTP/1.1 from the managed node (standard library only) - a random
    key, then checks the C(101) status, C(Upgrade websocket), C(Connection upgrade) and that
    C(Sec-WebSocket-Accept) is right. Then optionally sends a masked text frame and reads the echo back, and
    closes cleanly.
  - With O(socketio=true) the handshake is Engine.IO v4 (C(?EIO=4&transport=websocket)), checks the open packet,
    connects to the default namespace, and echoes O(echo_text) as a C(message) event.
  - When the result does not match O(expect_status), it fails with a RV(diagnosis) made by comparing the proxy
    with the backend (O(backend_url)) - backend down (with the listener check of C(ss)), backend rejects, proxy
    does not upgrade, timeout, TLS problem.
author:
  - wsproxy.nginx contributors (@wsproxy)
extends_documentation_fragment:
  - wsproxy.nginx.attributes
  - wsproxy.nginx.attributes.INFO_MODULE
options:
  url:
    description: Where to probe (C(ws://), C(wss://), C(http://) or C(https://)), usually nginx on the host itself.
    type: str
    required: true
  host:
    description: C(Host) header and TLS server name, when they differ from the host in O(url).
    type: str
  origin:
    description: C(Origin) header to send.
    type: str
  headers:
    description: More request headers (cookies, tokens).
    type: dict
    default: {}
  subprotocols:
    description: C(Sec-WebSocket-Protocol) values to offer.
    type: list
    elements: str
  timeout:
    description: Seconds for each network step.
    type: float
    default: 5
  validate_certs:
    description: Verify the TLS certificate of a C(wss://) or C(https://) URL.
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify the certificate with.
    type: path
  echo_text:
    description:
      - Text to send after the upgrade; the probe fails unless the same text comes back.
      - (Ansible reserves the option name C(message).)
    type: str
  socketio:
    description: Probe a Socket.IO (Engine.IO v4) endpoint.
    type: bool
    default: false
  backend_url:
    description: The backend's own URL (for example C(ws://127.0.0.1:3000/socket)); on failure the same
      handshake is sent there to tell the proxy's faults from the backend's.
    type: str
  expect_status:
    description: The status that counts as success.
    type: int
    default: 101
"""

EXAMPLES = r"""
- name: Handshake and echo through nginx
  wsproxy.nginx.websocket_probe:
    url: ws://127.0.0.1/socket
    host: chat.example.com
    echo_text: ping
    backend_url: ws://127.0.0.1:3000/socket

- name: Socket.IO over wss with a self-signed certificate
  wsproxy.nginx.websocket_probe:
    url: wss://127.0.0.1/socket.io/
    host: chat.example.com
    socketio: true
    echo_text: hello
    validate_certs: false

- name: A foreign Origin must be refused
  wsproxy.nginx.websocket_probe:
    url: ws://127.0.0.1/socket
    origin: https://evil.example
    expect_status: 403
"""

RETURN = r"""
status:
  description: The HTTP status of the handshake, or null when no HTTP answer came.
  returned: always
  type: int
  sample: 101
headers:
  description: The response headers, lower-cased names.
  returned: always
  type: dict
accept_valid:
  description: Whether C(Sec-WebSocket-Accept) matches the key that was sent.
  returned: always
  type: bool
upgrade_valid:
  description: Whether the response was C(101) with C(Upgrade websocket) and C(Connection upgrade).
  returned: always
  type: bool
echo:
  description: The text that came back for O(echo_text).
  returned: always
  type: str
sid:
  description: The Engine.IO session id (O(socketio=true)).
  returned: when O(socketio=true) and the handshake succeeded
  type: str
elapsed_ms:
  description: Milliseconds from connecting to the response head.
  returned: always
  type: int
backend:
  description: The same handshake sent to O(backend_url) (C(status), C(error)), on failure.
  returned: when the probe failed and O(backend_url) is set
  type: dict
diagnosis:
  description: Why the probe failed.
  returned: on failure
  type: dict
  contains:
    code:
      description: One of C(backend_down), C(backend_rejected), C(proxy_no_upgrade), C(timeout), C(tls_error),
        C(unexpected_status).
      type: str
    summary:
      description: One line.
      type: str
    next_check:
      description: What to look at next.
      type: str
    listener:
      description: What C(ss) shows on the backend port, for C(backend_down).
      type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsclient


def _attempt(params, url, message):
    """(result dict, error or None) of one handshake (+ echo / Socket.IO session)."""
    result = {"status": None, "headers": {}, "accept_valid": False, "upgrade_valid": False, "echo": None, "elapsed_ms": None}
    try:
        connection, head = _wsclient.handshake(
            url, params["host"], params["origin"], params["headers"], params["subprotocols"], params["timeout"],
            params["validate_certs"], params["ca_path"], params["socketio"])
        result.update(head)
        if connection is None:
            return result, None
        try:
            if params["socketio"]:
                session = _wsclient.socketio_session(connection, message)
                result.update(sid=session["sid"], echo=session["echo"])
            elif message is not None:
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


def diagnose(module, proxy, proxy_error, backend, backend_error):
    status = proxy["status"]
    backend_status = backend["status"] if backend else None
    backend_url = module.params["backend_url"]
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
                "next_check": "nothing answers at %s: is nginx running and listening there?" % module.params["url"]}
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
    return {"code": "unexpected_status", "summary": "got %s, expected %s" % (status, module.params["expect_status"]),
            "next_check": "compare with backend_url and read the nginx error log"}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            host=dict(type="str"),
            origin=dict(type="str"),
            headers=dict(type="dict", default={}),
            subprotocols=dict(type="list", elements="str"),
            timeout=dict(type="float", default=5),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            echo_text=dict(type="str"),
            socketio=dict(type="bool", default=False),
            backend_url=dict(type="str"),
            expect_status=dict(type="int", default=101),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for option in ("url", "backend_url"):
        if params[option]:
            try:
                _wsclient.split_url(params[option])
            except ValueError as exc:
                module.fail_json(msg=str(exc).replace("url=", option + "=", 1))
    result, error = _attempt(params, params["url"], params["echo_text"])
    result["changed"] = False
    ok = error is None and result["status"] == params["expect_status"]
    if ok and params["expect_status"] == 101:
        ok = result["accept_valid"] and result["upgrade_valid"] and (params["echo_text"] is None or result["echo"] == params["echo_text"])
    if ok:
        module.exit_json(**result)
    backend, backend_error = (None, None)
    if params["backend_url"]:
        backend, backend_error = _attempt(params, params["backend_url"], None)
        result["backend"] = {"status": backend["status"], "error": str(backend_error) if backend_error else None}
    result["diagnosis"] = diagnose(module, result, error, backend, backend_error)
    if error is None and result["status"] == 101:
        what = "the echo came back as %r" % result["echo"] if result["accept_valid"] else "Sec-WebSocket-Accept is wrong"
        result["diagnosis"] = {"code": "unexpected_status", "summary": "101, but %s" % what,
                               "next_check": "check what sits between nginx and the backend"}
    module.fail_json(msg="%s: %s" % (result["diagnosis"]["code"], result["diagnosis"]["summary"]), **result)


if __name__ == "__main__":
    main()
