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
        description: A label returned with this probe's result (the C(site) that the
          P(wsproxy.nginx.probe_targets#filter) filter gives each target).
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

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsprobe


def main():
    argument_spec = dict(_wsprobe.PROBE_OPTIONS, targets=dict(type="list", elements="dict", options=_wsprobe.TARGET_OPTIONS))
    argument_spec.update(_wsprobe.RUN_OPTIONS)
    module = AnsibleModule(argument_spec=argument_spec, mutually_exclusive=[("url", "targets")],
                           required_one_of=[("url", "targets")], supports_check_mode=True)
    params = module.params
    if params["targets"] is None:
        _wsprobe.check_urls(module, params, "")
        result = _wsprobe.probe_one(module, params, params)
        result["changed"] = False
        if result.pop("failed"):
            module.fail_json(**result)
        module.exit_json(**result)
    probes = _wsprobe.run_targets(module, params, params["targets"])
    if any(item["failed"] for item in probes):
        module.fail_json(msg=_wsprobe.failure_message(probes), probes=probes, changed=False)
    module.exit_json(probes=probes, changed=False)


if __name__ == "__main__":
    main()
