#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: websocket_proxy_info
short_description: Lint the live nginx configuration for WebSocket proxy mistakes
version_added: 0.1.0
description:
  - Reads the configuration nginx really loads (C(nginx -T)) and, on the controller, reports every location that
    proxies (C(proxy_pass)) - its server, listen, path, upstream, file and line, whether it is set up for
    WebSocket - with findings, each with an id, a severity, a message and a fix.
  - nginx's inheritance is applied - a location-level C(proxy_set_header) replaces every header inherited from
    the server and http levels; other proxy directives come from the nearest level that sets them.
  - "Findings: C(missing_http_version), C(missing_upgrade_header), C(missing_connection_header),
    C(connection_header_blocks_upgrade), C(undefined_upgrade_map), C(map_wrong_context), C(duplicate_map),
    C(duplicate_map_variable), C(hardcoded_connection_upgrade), C(dropped_inherited_headers),
    C(default_read_timeout), C(regex_shadows_prefix), C(proxy_pass_rewrites_uri), C(socketio_buffering),
    C(socketio_not_sticky), C(https_twin_missing_headers), C(xff_from_client)."
  - Severities - C(error) and C(warning) are for what is wrong whatever the application does; C(info) is for what
    depends on it (a read timeout against its heartbeat interval, buffering of long-polling, a hard-coded
    C(Connection) on a location that may or may not get plain requests), says the condition, and does not count
    in RV(findings_total), so it never fails C(doctor.yml).
  - A location is checked as a WebSocket location when it passes the upgrade on - an C(Upgrade) header, or a
    C(Connection) header that can say upgrade (a literal naming it, or a variable such as a map's) - whatever its
    path; a location whose C(Connection) cannot upgrade (C("") or C(close) for upstream keepalive) and that passes
    no C(Upgrade) is not one. A location that passes no upgrade on but whose path names a WebSocket endpoint
    (a C(ws), C(wss), C(websocket), C(socket), C(socket.io) or C(engine.io) segment) may be meant as one - it is
    checked too, and what it lacks is reported as C(info), with "if".
  - C(missing_http_version) - an error when nginx sends the handshake as HTTP/1.0 (no C(proxy_http_version 1.1)
    before nginx 1.29.7, or C(proxy_http_version 1.0) set); RFC 6455 requires HTTP/1.1 and strict backends refuse
    it (lenient ones answer 101 and nginx tunnels it). Informational when the line is missing on nginx 1.29.7 and
    later, whose default is 1.1.
  - C(connection_header_blocks_upgrade) (an error) - C(proxy_set_header Connection "") (or C(close)) next to an
    C(Upgrade) header; the backend never sees C(Connection) say upgrade, and the upgrade cannot happen.
  - C(dropped_inherited_headers) - a location with a C(proxy_set_header) of its own inherits none from above. When
    the headers dropped are an upper level's C(Upgrade)/C(Connection), it is an error on every proxying location,
    whatever its path; other headers dropped are a warning on WebSocket locations.
  - C(hardcoded_connection_upgrade) (info) - C(Connection "upgrade") hard-coded where the location may also get
    plain requests; not reported on an endpoint that only upgrades, an exact (C(=)) location or a regex anchored at
    its end on a literal name, such as Mattermost's C(websocket$).
  - C(regex_shadows_prefix) (a warning) - a regex location of the same server takes a URI the WebSocket prefix
    location plausibly receives (the prefix itself, a path under it without a file extension; under C(location /) only C(/)) and does not pass
    the upgrade on; an asset regex matching file extensions does not count.
  - Engine.IO (Socket.IO) endpoints, which carry plain-HTTP long-polling as well as the upgrade, are recognised by
    a C(socket.io) or C(engine.io) path segment (also in a regex) or by the location or its server reading Engine.IO's
    query arguments (C($arg_EIO), C($arg_transport), C($arg_sid)). On them, C(socketio_not_sticky) (an error) is an
    C(upstream) of several servers with no sticky method (C(ip_hash), C(hash) on a per-client key, or nginx plus's
    C(sticky)) - polling requests of one session must reach the same backend - and C(socketio_buffering) (info)
    is C(proxy_buffering) left on. An Engine.IO endpoint at a custom path that nothing in the configuration
    identifies is checked like any other WebSocket location.
  - C(default_read_timeout) (info) - C(proxy_read_timeout) of 60 s or less on a WebSocket location; fine when the
    application sends heartbeats more often.
  - Configuration written by M(wsproxy.nginx.websocket_proxy) lints clean.
author:
  - wsproxy.nginx contributors (@wsproxy)
extends_documentation_fragment:
  - wsproxy.nginx.nginx
  - wsproxy.nginx.transaction.UNUSED_TIMEOUTS
  - wsproxy.nginx.transaction.UNUSED_CHECKPOINTS
  - wsproxy.nginx.attributes
  - wsproxy.nginx.attributes.INFO_MODULE
options:
  state_dir:
    description:
      - The collection's state directory (see M(wsproxy.nginx.nginx_info)); only read.
    type: path
    default: /var/lib/wsproxy
seealso:
  - module: wsproxy.nginx.websocket_probe
  - module: wsproxy.nginx.websocket_proxy
"""

EXAMPLES = r"""
- name: Lint the WebSocket locations
  wsproxy.nginx.websocket_proxy_info:
  register: lint

- name: Show what is wrong
  ansible.builtin.debug:
    msg: "{{ item.0.file }}:{{ item.0.line }} {{ item.0.path }}: {{ item.1.message }} - {{ item.1.fix }}"
  loop: "{{ lint.locations | subelements('findings') }}"
  loop_control:
    label: "{{ item.1.id }}"
"""

RETURN = r"""
locations:
  description: Every proxying location, plus one entry per misplaced or duplicated upgrade map.
  returned: success
  type: list
  elements: dict
  contains:
    server_name:
      description: Server names of the enclosing server block.
      type: list
      elements: str
    listen:
      description: Listen directives of the enclosing server block.
      type: list
      elements: str
    path:
      description: The location's arguments (modifier and path).
      type: str
    file:
      description: File of the location.
      type: str
    line:
      description: Line of the location.
      type: int
    upstream:
      description: The C(proxy_pass) target.
      type: str
    websocket:
      description: Whether the location is checked as a WebSocket location (it passes the upgrade on, or its path
        names a WebSocket endpoint).
      type: bool
    engineio:
      description: Whether the location is recognised as an Engine.IO (Socket.IO) endpoint.
      type: bool
    findings:
      description: What is wrong, each with C(id), C(severity) (C(error), C(warning), C(info)), C(message) and C(fix).
      type: list
      elements: dict
findings_total:
  description: Number of C(error) and C(warning) findings (what C(doctor.yml) fails on).
  returned: success
  type: int
info_total:
  description: Number of C(info) findings (what depends on the application); not in RV(findings_total).
  returned: success
  type: int
version:
  description: The nginx version (the C(proxy_http_version) finding depends on it).
  returned: success
  type: str
binary:
  description: The nginx executable that was run.
  returned: success
  type: str
conf_path:
  description: The main configuration file that was read.
  returned: success, and when the current configuration fails C(nginx -t)
  type: str
errors:
  description: nginx's own messages when the current configuration fails C(nginx -t) (C(file), C(line),
    C(message)); nothing is linted then.
  returned: when the current configuration fails C(nginx -t)
  type: list
  elements: dict
selinux:
  description: The SELinux mode of the host, as RV(wsproxy.nginx.nginx_info#module:selinux).
  returned: success
  type: str
  sample: disabled
ipv6:
  description: Whether the host has IPv6, as RV(wsproxy.nginx.nginx_info#module:ipv6).
  returned: success
  type: bool
recovery_pending:
  description: Whether a transaction is open in O(state_dir), as RV(wsproxy.nginx.nginx_info#module:recovery_pending).
  returned: success
  type: bool
draining_workers:
  description: nginx's old workers still alive after earlier reloads, as
    RV(wsproxy.nginx.nginx_info#module:draining_workers).
  returned: success
  type: list
  elements: dict
  sample: [{pid: 4242, rss_kb: 5120}]
tcp_checks:
  description: Always empty - websocket_proxy_info checks no backend (M(wsproxy.nginx.nginx_info) with
    O(wsproxy.nginx.nginx_info#module:tcp_check) does).
  returned: success
  type: list
  elements: dict
paths:
  description: Always empty - websocket_proxy_info looks at no path on the host (M(wsproxy.nginx.nginx_info) with
    O(wsproxy.nginx.nginx_info#module:stat_paths) does).
  returned: success
  type: dict
probes:
  description: Always empty - websocket_proxy_info runs no probe (M(wsproxy.nginx.websocket_probe) does).
  returned: success
  type: list
  elements: dict
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _control, _txn


def main():
    # The host's part is nginx_info's (nginx -V, nginx -T); the lint runs in the action plugin.
    argument_spec = dict(_control.NGINX_OPTIONS, state_dir=_txn.STATE_OPTIONS["state_dir"])
    argument_spec.update(_txn.UNUSED_BY_READERS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    module.fail_json(msg="wsproxy.nginx.websocket_proxy_info runs through its action plugin; call it from a playbook task")


if __name__ == "__main__":
    main()
