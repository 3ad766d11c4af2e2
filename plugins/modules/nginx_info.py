#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nginx_info
short_description: Detect an nginx host's include layout, WebSocket upgrade maps and server blocks
version_added: 0.1.0
description:
  - Reads the configuration nginx really loads (C(nginx -T), which also runs C(nginx -t)) and parses it on the
    controller with crossplane, so the managed node needs only Python and nginx.
  - Resolves every C(include) against the files nginx reports, keeping the context it appears in
    (main, events, http, server, location, ...).
  - Decides the layout from the http-level include directives, never from which directories happen to exist,
    and says where a WebSocket C(map) and a site belong.
  - Finds every C(map) on C($http_upgrade) and every map that defines C($connection_upgrade), and reports
    which one nginx uses (the last one loaded) and whether it is equivalent to the standard map
    C(map $http_upgrade $connection_upgrade { default upgrade; '' close; }).
  - Fails with nginx's own message (file and line) when the current configuration does not pass C(nginx -t).
  - The output of C(nginx -T) can hold secrets; it is parsed in memory and never returned or logged.
author:
  - wsproxy.nginx contributors (@wsproxy)
options:
  tcp_check:
    description:
      - Backends (C(host:port) or C([v6]:port)) that must accept a TCP connection from the managed node, as in
        the guide's first troubleshooting step; each result is in RV(tcp_checks). Checking does not fail the
        module.
    type: list
    elements: str
    default: []
  tcp_timeout:
    description:
      - Seconds to wait for each connection of O(tcp_check).
    type: int
    default: 5
  state_dir:
    description:
      - The collection's state directory (see M(wsproxy.nginx.nginx_files)); RV(recovery_pending) tells whether a
        transaction is open there.
    type: path
    default: /var/lib/wsproxy
  probe_targets:
    description:
      - Probes to run after the read, each an item of M(wsproxy.nginx.websocket_probe)'s
        O(wsproxy.nginx.websocket_probe#module:targets); the results are in RV(probes). A run of the role that changes
        nothing proves its sites this way, in the same module execution. A failed probe does not fail this module.
    type: list
    elements: dict
    default: []
  probe_validate_certs:
    description: Verify TLS certificates in O(probe_targets).
    type: bool
    default: true
  stat_paths:
    description:
      - Paths whose kind on the managed node is reported in RV(paths) (for example certificates a site will
        name, which must exist before nginx is given them).
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - wsproxy.nginx.nginx
  - wsproxy.nginx.transaction.UNUSED_TIMEOUTS
  - wsproxy.nginx.transaction.UNUSED_CHECKPOINTS
  - wsproxy.nginx.attributes
  - wsproxy.nginx.attributes.INFO_MODULE
seealso:
  - name: nginx include directive
    description: How nginx resolves include globs.
    link: https://nginx.org/en/docs/ngx_core_module.html#include
  - name: nginx WebSocket proxying
    description: The map pattern this module looks for.
    link: https://nginx.org/en/docs/http/websocket.html
"""

EXAMPLES = r"""
- name: Detect where the WebSocket map and site belong
  wsproxy.nginx.nginx_info:
  register: nginx

- name: Show the layout
  ansible.builtin.debug:
    msg: "{{ nginx.layout }}: sites go to {{ nginx.placement.site_dir | default('nginx.conf', true) }}"

- name: Use an nginx that is not on PATH, with another main file
  wsproxy.nginx.nginx_info:
    binary: /opt/nginx/sbin/nginx
    conf_path: /opt/nginx/conf/nginx.conf

- name: Check from the nginx host that the backends accept connections
  wsproxy.nginx.nginx_info:
    tcp_check: [127.0.0.1:3000, "[::1]:3001"]
  register: nginx

- name: Fail on the first backend that does not
  ansible.builtin.assert:
    that: nginx.tcp_checks | rejectattr('ok') | list | length == 0
    fail_msg: "{{ nginx.tcp_checks | rejectattr('ok') | map(attribute='address') | join(', ') }} refused"

- name: Stop when a different map already owns $connection_upgrade
  ansible.builtin.assert:
    that: nginx.connection_upgrade is none or nginx.connection_upgrade.standard
    fail_msg: "{{ nginx.connection_upgrade.file }}:{{ nginx.connection_upgrade.line }} defines a non-standard map"
"""

RETURN = r"""
version:
  description: The nginx version, from C(nginx -V).
  returned: success
  type: str
  sample: 1.22.1
binary:
  description: Absolute path of the nginx executable that was run.
  returned: success
  type: str
  sample: /usr/sbin/nginx
conf_path:
  description: The main configuration file that was read.
  returned: success, and when the current configuration fails C(nginx -t)
  type: str
  sample: /etc/nginx/nginx.conf
layout:
  description:
    - C(sites-enabled) when the http context includes a C(sites-enabled) directory (Debian, Ubuntu).
    - C(conf.d) when the http context includes a directory glob such as C(conf.d/*.conf) (RHEL family,
      nginx.org packages, Alpine's C(http.d)).
    - C(nginx.conf) when the http context includes no directory; changes then go inside C(http {}) of the main file.
  returned: success
  type: str
  choices: [sites-enabled, conf.d, nginx.conf]
  sample: sites-enabled
http:
  description: Where the http block is (null when the configuration has none).
  returned: success
  type: dict
  sample: {file: /etc/nginx/nginx.conf, line: 17}
  contains:
    file:
      description: File of the http block.
      type: str
    line:
      description: Line of the http block.
      type: int
includes:
  description: Every include directive nginx loads, in load order.
  returned: success
  type: list
  elements: dict
  sample:
    - {file: /etc/nginx/nginx.conf, line: 60, context: http, pattern: /etc/nginx/conf.d/*.conf, files: []}
  contains:
    file:
      description: File holding the include directive.
      type: str
    line:
      description: Line of the include directive.
      type: int
    context:
      description: The block the include is in (C(main), C(events), C(http), C(server), C(location), ...).
      type: str
    pattern:
      description: The included path or glob, made absolute against the configuration prefix.
      type: str
    files:
      description: The files nginx loaded for this include, in order.
      type: list
      elements: str
placement:
  description: Where the collection places a map and a site on this host. All null for the C(nginx.conf) layout.
  returned: success
  type: dict
  sample: {map_dir: /etc/nginx/conf.d, site_dir: /etc/nginx/sites-available, enable_dir: /etc/nginx/sites-enabled}
  contains:
    map_dir:
      description:
        - The http-level C(conf.d)-kind directory for the map. Null in a C(sites-enabled) layout without one
          (the map then goes into the site file itself).
      type: str
    site_dir:
      description: Directory for the site file (C(sites-available) or the C(conf.d)-kind directory).
      type: str
    enable_dir:
      description: Directory of the enabling symlink (C(sites-enabled) layout only).
      type: str
upgrade_maps:
  description: Every map on C($http_upgrade) and every map that defines C($connection_upgrade), in load order.
  returned: success
  type: list
  elements: dict
  contains:
    file:
      description: File of the map.
      type: str
    line:
      description: Line of the map.
      type: int
    source:
      description: The map's source value, for example C($http_upgrade).
      type: str
    variable:
      description: The variable the map defines.
      type: str
    entries:
      description: The map's entries, key to value (null for parameters such as C(hostnames)).
      type: dict
    context:
      description: The block the map is in; only C(http) is valid.
      type: str
    standard:
      description: True when the map is equivalent to C(map $http_upgrade $connection_upgrade { default upgrade; '' close; }).
      type: bool
connection_upgrade:
  description:
    - The map nginx uses for C($connection_upgrade) (the last one loaded in the http context), or null when
      none defines it.
    - Same keys as an item of RV(upgrade_maps), plus C(shadowed), the other maps defining the variable, which
      nginx silently ignores.
  returned: success
  type: dict
  sample:
    file: /etc/nginx/conf.d/websocket-map.conf
    line: 1
    source: $http_upgrade
    variable: $connection_upgrade
    entries: {default: upgrade, "": close}
    context: http
    standard: true
    shadowed: []
tcp_checks:
  description: One entry per address of O(tcp_check), in order.
  returned: success
  type: list
  elements: dict
  sample:
    - {address: "127.0.0.1:3000", ok: false, error: "[Errno 111] Connection refused"}
  contains:
    address:
      description: The address as given.
      type: str
    ok:
      description: Whether the connection was accepted.
      type: bool
    error:
      description: Why not, or null.
      type: str
selinux:
  description: The SELinux mode of the managed node, C(enforcing), C(permissive) or C(disabled).
  returned: success
  type: str
  sample: disabled
ipv6:
  description: Whether the managed node has IPv6 (an address in C(/proc/net/if_inet6)); without it nginx cannot
    listen on C([::]:PORT).
  returned: success
  type: bool
  sample: true
paths:
  description: For each path of O(stat_paths), V(file), V(dir), V(other), or null when it does not exist.
  returned: success
  type: dict
  sample: {/etc/letsencrypt/live/chat.example.com/fullchain.pem: file}
draining_workers:
  description:
    - nginx's old workers still alive after earlier reloads, serving the connections they held (WebSockets keep
      them until the clients leave, or until C(worker_shutdown_timeout)); each holds memory.
  returned: success
  type: list
  elements: dict
  sample: [{pid: 4242, rss_kb: 5120}]
  contains:
    pid:
      description: Process id.
      type: int
    rss_kb:
      description: Resident memory in KiB.
      type: int
probes:
  description:
    - The result of each of O(probe_targets), in order, with the keys of M(wsproxy.nginx.websocket_probe)'s
      RV(wsproxy.nginx.websocket_probe#module:probes) (C(url), C(site), C(status), C(failed), C(diagnosis), ...).
  returned: success
  type: list
  elements: dict
  sample: [{url: ws://127.0.0.1:80/socket, site: chat, status: 101, accept_valid: true, echo: wsproxy-probe, failed: false}]
managed_sites:
  description: The sites wsproxy.nginx placed on the host (found by the header of the files nginx loads).
  returned: success
  type: list
  elements: dict
  sample: [{name: chat, files: [/etc/nginx/sites-available/chat, /etc/nginx/sites-enabled/chat]}]
  contains:
    name:
      description: The site's name.
      type: str
    files:
      description: Its files and links.
      type: list
      elements: str
recovery_pending:
  description:
    - True when a transaction is open in O(state_dir) - another run's, which the next changing module of the
      collection waits for while it may be alive, or a killed run's, which it restores first.
  returned: success
  type: bool
  sample: false
servers:
  description: The http server blocks, in load order.
  returned: success
  type: list
  elements: dict
  sample:
    - {file: /etc/nginx/sites-enabled/default, line: 22, listen: ["80 default_server", "[::]:80 default_server"], server_name: [_]}
  contains:
    file:
      description: File of the server block.
      type: str
    line:
      description: Line of the server block.
      type: int
    listen:
      description: Each listen directive's arguments, joined by a space.
      type: list
      elements: str
    server_name:
      description: All server names of the block.
      type: list
      elements: str
errors:
  description: nginx's own messages when the current configuration fails C(nginx -t).
  returned: when the current configuration fails C(nginx -t)
  type: list
  elements: dict
  sample: [{file: /etc/nginx/conf.d/app.conf, line: 3, message: "unknown directive \"proxy_pas\""}]
  contains:
    file:
      description: File nginx named, if any.
      type: str
    line:
      description: Line nginx named, if any.
      type: int
    message:
      description: nginx's message.
      type: str
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.wsproxy.nginx.plugins.module_utils import _control, _hostfacts, _nginx, _txn, _wsprobe

ARGUMENT_SPEC = dict(
    tcp_check=dict(type="list", elements="str", default=[]),
    tcp_timeout=dict(type="int", default=5),
    state_dir=dict(type="path", default="/var/lib/wsproxy"),
    stat_paths=dict(type="list", elements="path", default=[]),
    probe_targets=dict(type="list", elements="dict", default=[]),
    probe_validate_certs=dict(type="bool", default=True),
)


def _probes(module):
    """The results of `probe_targets` (websocket_probe's targets), run after the read; each item checked first."""
    targets = []
    for index, raw in enumerate(module.params["probe_targets"]):
        checked = ArgumentSpecValidator(_wsprobe.TARGET_OPTIONS).validate(raw)
        if checked.error_messages:
            module.fail_json(msg="probe_targets[%d]: %s" % (index, "; ".join(checked.error_messages)))
        targets.append(checked.validated_parameters)
    settings = {"timeout": _wsprobe.RUN_OPTIONS["timeout"]["default"], "ca_path": None,
                "validate_certs": module.params["probe_validate_certs"]}
    return _wsprobe.run_targets(module, settings, targets)


def main():
    argument_spec = dict(ARGUMENT_SPEC)
    argument_spec.update(_control.NGINX_OPTIONS)
    argument_spec.update(_txn.UNUSED_BY_READERS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    nginx = _control.Nginx(module, module.params["binary"], module.params["conf_path"])
    ok, out, errors = nginx.dump()
    master = nginx.master_pid(out) if ok else None
    for warning in nginx.warnings:
        module.warn("nginx -t: %s" % warning)
    if not ok:
        module.fail_json(
            msg="The current nginx configuration fails 'nginx -t': %s" % _nginx.describe_errors(errors, ""),
            errors=errors,
            conf_path=nginx.conf_path,
        )
    module.exit_json(
        changed=False,
        ipv6=_hostfacts.has_ipv6(),
        paths=_hostfacts.path_kinds(module.params["stat_paths"]),
        draining_workers=_control.draining_workers(master) if master else [],
        probes=_probes(module),
        version=nginx.build["version"],
        binary=nginx.binary,
        conf_path=nginx.conf_path,
        tcp_checks=_hostfacts.tcp_checks(module.params["tcp_check"], module.params["tcp_timeout"]),
        selinux=_hostfacts.selinux_mode(),
        recovery_pending=_hostfacts.recovery_pending(module.params["state_dir"]),
        **{_hostfacts.DUMP_KEY: _hostfacts.pack(out), _hostfacts.STATES_KEY: _hostfacts.file_states(out)}
    )


if __name__ == "__main__":
    main()
