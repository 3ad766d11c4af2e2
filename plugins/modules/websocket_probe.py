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
  - With O(socketio=true) it takes the path of a browser's Socket.IO client (Engine.IO v4) - long-polling first
    (the open packet, the namespace connect, and O(echo_text) as a C(message) event and its echo), each request on
    a connection of its own as a browser's may reach the proxy, then the upgrade of that same session to
    WebSocket (C(2probe), C(3probe), C(5)) and the echo over it. It runs O(sessions) such sessions in a row.
  - A session id that the next request of the same client does not know (C(400) with Engine.IO's C(Invalid
    session) or C(Session ID unknown)) means the proxy balanced one client's requests over several backends - the
    diagnosis is C(not_sticky).
  - When the result does not match O(expect_status), it fails with a RV(diagnosis) made by comparing the proxy
    with the backend (O(backend_url)) - backend down (with the listener check of C(ss)), backend rejects, proxy
    does not upgrade, timeout, TLS problem, sessions not sticky.
  - With O(targets), several probes run in one module execution (one round trip to the host) and RV(probes) holds
    one result per target; the module fails when any probe fails.
author:
  - wsproxy.nginx contributors (@wsproxy)
extends_documentation_fragment:
  - wsproxy.nginx.attributes
  - wsproxy.nginx.attributes.INFO_MODULE
options:
  url:
    description:
      - Where to probe (C(ws://), C(wss://), C(http://) or C(https://)), usually nginx on the host itself.
      - Exactly one of O(url) and O(targets) is required.
    type: str
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
    description: Seconds for each network step (also for every probe of O(targets)).
    type: float
    default: 5
  validate_certs:
    description: Verify the TLS certificate of a C(wss://) or C(https://) URL (also for every probe of O(targets)).
    type: bool
    default: true
  ca_path:
    description: CA bundle to verify the certificate with (also for every probe of O(targets)).
    type: path
  echo_text:
    description:
      - Text to send after the upgrade; the probe fails unless the same text comes back.
      - (Ansible reserves the option name C(message).)
    type: str
  socketio:
    description: Probe a Socket.IO (Engine.IO v4) endpoint the way a browser connects - polling, then the upgrade.
    type: bool
    default: false
  sessions:
    description:
      - How many browser-style Socket.IO sessions to run in a row (O(socketio=true)); the probe stops at the first
        that fails. Several sessions catch a balancing that only sometimes splits a session.
    type: int
    default: 5
  backend_url:
    description: The backend's own URL (for example C(ws://127.0.0.1:3000/socket)); on failure the same
      handshake is sent there to tell the proxy's faults from the backend's.
    type: str
  expect_status:
    description: The status that counts as success.
    type: int
    default: 101
  targets:
    description:
      - Several probes in one module execution, in order; mutually exclusive with O(url).
      - Each item takes the per-probe options; O(timeout), O(validate_certs) and O(ca_path) apply to all of them,
        the per-probe options at the top level do not.
    type: list
    elements: dict
    suboptions:
      url:
        description: Where to probe, as O(url).
        type: str
        required: true
      site:
        description: A label returned with this probe's result (the C(site) that the M(wsproxy.nginx.probe_targets)
          filter gives each target).
        type: str
      host:
        description: As O(host).
        type: str
      origin:
        description: As O(origin).
        type: str
      headers:
        description: As O(headers).
        type: dict
        default: {}
      subprotocols:
        description: As O(subprotocols).
        type: list
        elements: str
      echo_text:
        description: As O(echo_text).
        type: str
      socketio:
        description: As O(socketio).
        type: bool
        default: false
      sessions:
        description: As O(sessions).
        type: int
        default: 5
      backend_url:
        description: As O(backend_url).
        type: str
      expect_status:
        description: As O(expect_status).
        type: int
        default: 101
seealso:
  - module: wsproxy.nginx.websocket_proxy_info
"""

EXAMPLES = r"""
- name: Handshake and echo through nginx
  wsproxy.nginx.websocket_probe:
    url: ws://127.0.0.1/socket
    host: chat.example.com
    echo_text: ping
    backend_url: ws://127.0.0.1:3000/socket

- name: Socket.IO the way browsers connect (polling, then the upgrade), over wss with a self-signed certificate
  wsproxy.nginx.websocket_probe:
    url: wss://127.0.0.1/socket.io/
    host: chat.example.com
    socketio: true
    sessions: 5
    echo_text: hello
    validate_certs: false

- name: A foreign Origin must be refused
  wsproxy.nginx.websocket_probe:
    url: ws://127.0.0.1/socket
    origin: https://evil.example
    expect_status: 403

- name: Every location of a host in one round trip
  wsproxy.nginx.websocket_probe:
    targets:
      - url: ws://127.0.0.1/socket
        host: chat.example.com
        echo_text: ping
      - url: ws://127.0.0.1/socket.io/
        host: chat.example.com
        socketio: true
        echo_text: ping
        backend_url: ws://127.0.0.1:3000/socket.io/
    timeout: 10
  register: probes

- name: The probes of the sites of websocket_proxy_sites
  wsproxy.nginx.websocket_probe:
    targets: "{{ websocket_proxy_sites | wsproxy.nginx.probe_targets }}"
    validate_certs: false
"""

RETURN = r"""
status:
  description:
    - The HTTP status of the handshake, or null when no HTTP answer came.
    - With O(socketio=true), the status of the WebSocket upgrade, or of the request that ended the session
      (C(400) for C(not_sticky)).
  returned: with O(url)
  type: int
  sample: 101
headers:
  description: The response headers, lower-cased names.
  returned: with O(url)
  type: dict
accept_valid:
  description: Whether C(Sec-WebSocket-Accept) matches the key that was sent.
  returned: with O(url)
  type: bool
upgrade_valid:
  description: Whether the response was C(101) with C(Upgrade websocket) and C(Connection upgrade).
  returned: with O(url)
  type: bool
echo:
  description: The text that came back for O(echo_text) (with O(socketio=true), the polling echo when it differs,
    else the echo over the WebSocket).
  returned: with O(url)
  type: str
sid:
  description: The Engine.IO session id of the last session (O(socketio=true)).
  returned: with O(url) and O(socketio=true)
  type: str
sessions:
  description: The browser-style Socket.IO sessions (O(socketio=true)).
  returned: with O(url) and O(socketio=true)
  type: dict
  contains:
    succeeded:
      description: How many sessions succeeded.
      type: int
      sample: 5
    ran:
      description: How many sessions ran (the probe stops at the first that fails).
      type: int
      sample: 5
elapsed_ms:
  description: Milliseconds from connecting to the response head (with O(socketio=true), from the polling open
    to the upgrade's echo of the last session).
  returned: with O(url)
  type: int
backend:
  description: The same handshake sent to O(backend_url) (C(status), C(error)), on failure.
  returned: when the probe failed and O(backend_url) is set
  type: dict
diagnosis:
  description: Why the probe failed.
  returned: on failure, with O(url)
  type: dict
  contains:
    code:
      description: One of C(backend_down), C(backend_rejected), C(proxy_no_upgrade), C(timeout), C(tls_error),
        C(unexpected_status), C(not_sticky) (the Socket.IO session of one client landed on different backends).
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
probes:
  description:
    - One result per item of O(targets), in order, each with the keys of a single probe's result (RV(status),
      RV(headers), RV(accept_valid), RV(upgrade_valid), RV(echo), RV(elapsed_ms), and RV(sid), RV(sessions),
      RV(backend), RV(diagnosis) where they apply) plus C(url), C(site), C(failed) and C(msg).
  returned: with O(targets)
  type: list
  elements: dict
  contains:
    url:
      description: The target's O(targets[].url).
      type: str
    site:
      description: The target's O(targets[].site), or null.
      type: str
    failed:
      description: Whether this probe failed.
      type: bool
    msg:
      description: The diagnosis code and summary of a failed probe.
      type: str
      returned: when this probe failed
msg:
  description: On failure, the diagnosis code and summary; with O(targets), of every failed probe, each with its URL.
  returned: on failure
  type: str
  sample: "ws://127.0.0.1/socket.io/: not_sticky: session 1 of 5: ..."
"""

from ansible.module_utils.basic import AnsibleModule
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


def _check_urls(module, probe, where):
    for option in ("url", "backend_url"):
        if probe[option]:
            try:
                _wsclient.split_url(probe[option])
            except ValueError as exc:
                module.fail_json(msg=str(exc).replace("url=", where + option + "=", 1))


def main():
    argument_spec = dict(PROBE_OPTIONS, timeout=dict(type="float", default=5),
                         validate_certs=dict(type="bool", default=True), ca_path=dict(type="path"),
                         targets=dict(type="list", elements="dict", options=TARGET_OPTIONS))
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=[("url", "targets")],
                           required_one_of=[("url", "targets")], supports_check_mode=True)
    params = module.params
    if params["targets"] is None:
        _check_urls(module, params, "")
        result = probe_one(module, params, params)
        result["changed"] = False
        if result.pop("failed"):
            module.fail_json(**result)
        module.exit_json(**result)
    for index, target in enumerate(params["targets"]):
        _check_urls(module, target, "targets[%d]." % index)
    probes = []
    for target in params["targets"]:
        result = probe_one(module, params, target)
        result.update(url=target["url"], site=target["site"])
        probes.append(result)
    failed = [item for item in probes if item["failed"]]
    if failed:
        module.fail_json(msg="; ".join("%s: %s" % (item["url"], item["msg"]) for item in failed), probes=probes,
                         changed=False)
    module.exit_json(probes=probes, changed=False)


if __name__ == "__main__":
    main()
