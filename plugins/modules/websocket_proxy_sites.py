#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: websocket_proxy_sites
short_description: Every WebSocket site of a host, the shared map and the worker limits in one transaction
version_added: 0.2.0
description:
  - The host-level path of the collection (the role uses it). From one read of the host (C(nginx -T)), plans every
    site of O(sites), the shared C($connection_upgrade) map and nginx's worker limits together, and applies them
    in one transaction - one checkpoint, one C(nginx -t), one confirmed reload - whatever the number of sites.
  - When nothing changes it costs one module execution, takes no checkpoint and does not reload.
  - Each item of O(sites) takes the site options of M(wsproxy.nginx.websocket_proxy); an unknown key fails naming
    it and the site, before anything reaches the host.
  - A site whose C(server_name) on an overlapping C(listen) is already served by a server block the collection
    does not manage (exact names, C(*.domain), C(domain.*) and C(.domain), the way nginx hashes them), or by
    another site of O(sites), fails naming that block's file and line, and nothing changes.
  - With O(prune=true), the sites the collection placed on the host that are not in O(sites) are removed in the
    same transaction, and the map once nothing uses it.
author:
  - wsproxy.nginx contributors (@wsproxy)
extends_documentation_fragment:
  - wsproxy.nginx.nginx
  - wsproxy.nginx.transaction
  - wsproxy.nginx.transaction.CHECKPOINTS
  - wsproxy.nginx.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode plans every site and writes nothing.
  diff_mode:
    support: full
    details:
      - Every file created, updated, linked or removed - its
        changed lines with three lines of context and credentials masked, as M(wsproxy.nginx.nginx_files) shows them
options:
  sites:
    description:
      - The sites, each a dict with the site options of M(wsproxy.nginx.websocket_proxy) - O(wsproxy.nginx.websocket_proxy#module:name)
        (required), O(wsproxy.nginx.websocket_proxy#module:state), O(wsproxy.nginx.websocket_proxy#module:server_name),
        O(wsproxy.nginx.websocket_proxy#module:listen), O(wsproxy.nginx.websocket_proxy#module:upstream),
        O(wsproxy.nginx.websocket_proxy#module:locations), O(wsproxy.nginx.websocket_proxy#module:tls) and the others
        documented there. Names must be unique.
      - A site without its own C(state) takes O(state).
    type: list
    elements: dict
    required: true
  state:
    description: The state of the sites that do not set their own.
    type: str
    choices: [present, absent]
    default: present
  prune:
    description:
      - Remove every site the collection placed on the host (see RV(managed_sites)) that is not in O(sites).
    type: bool
    default: false
  worker_connections:
    description:
      - Raise C(worker_connections) to at least this (see M(wsproxy.nginx.nginx_workers)), in the same transaction.
        Never lowered; not changed when omitted.
    type: int
  worker_rlimit_nofile:
    description: Raise C(worker_rlimit_nofile) to at least this, in the same transaction. Not changed when omitted.
    type: int
  worker_shutdown_timeout:
    description:
      - Set C(worker_shutdown_timeout) to exactly this (an empty string removes it), in the same transaction. Not
        changed when omitted. See M(wsproxy.nginx.nginx_workers) for what it does to live WebSockets.
    type: str
  probe_targets:
    description:
      - Probes (items of M(wsproxy.nginx.websocket_probe)'s O(wsproxy.nginx.websocket_probe#module:targets)) run in the
        read. When nothing changes, their results are RV(probes) and RV(probed) tells whether all succeeded, so a
        run that changes nothing proves its sites in one module execution. After a change they are not reported
        (they tested the configuration before it); probe then with M(wsproxy.nginx.websocket_probe), as the role does.
    type: list
    elements: dict
    default: []
  probe_validate_certs:
    description: Verify TLS certificates in O(probe_targets).
    type: bool
    default: true
  check_backends:
    description:
      - Before changing anything, check from the managed node that every TCP backend of the present sites accepts
        a connection, in the same module execution that reads the configuration; fail naming the first one that
        does not (nothing is changed).
    type: bool
    default: false
  reload:
    description: Reload nginx (confirmed) after a successful test.
    type: bool
    default: true
notes:
  - The worker limits edit the main file in place, as M(wsproxy.nginx.nginx_workers) does; in the C(nginx.conf)
    layout that edit and the collection's marker block are one write.
seealso:
  - module: wsproxy.nginx.websocket_proxy
  - module: wsproxy.nginx.nginx_workers
  - module: wsproxy.nginx.nginx_checkpoint
"""

EXAMPLES = r"""
- name: Three sites, the map and the worker limits in one transaction, labelled for a run-wide rollback
  wsproxy.nginx.websocket_proxy_sites:
    label: deploy-2026-11-28
    prune: true
    worker_connections: 4096
    worker_rlimit_nofile: 8192
    sites:
      - name: chat
        server_name: [chat.example.com]
        locations:
          - path: /socket.io/
            socketio: true
      - name: feed
        server_name: [feed.example.com]
        upstream: [127.0.0.1:3001]
      - name: old
        state: absent

- name: The shared options once for every module of the collection
  module_defaults:
    group/wsproxy.nginx.nginx:
      state_dir: /srv/wsproxy
      reload_timeout: 20
  block:
    - name: Sites
      wsproxy.nginx.websocket_proxy_sites:
        sites: "{{ my_sites }}"
"""

RETURN = r"""
layout:
  description: The host's layout (C(sites-enabled), C(conf.d) or C(nginx.conf)).
  returned: success, and when applying the change fails
  type: str
  sample: sites-enabled
version:
  description: The nginx version of the host.
  returned: success, and when applying the change fails
  type: str
  sample: 1.22.1
selinux:
  description: The SELinux mode of the host (C(enforcing), C(permissive) or C(disabled)).
  returned: success, and when applying the change fails
  type: str
ipv6:
  description: Whether the host has IPv6 (the default listens include C([::]:PORT) only then).
  returned: success, and when applying the change fails
  type: bool
sites:
  description: The sites of this run with the state each was brought to.
  returned: success, and when applying the change fails
  type: list
  elements: dict
  sample: [{name: chat, state: present}, {name: old, state: absent}]
pruned:
  description: Names of the managed sites O(prune) removed.
  returned: success, and when applying the change fails
  type: list
  elements: str
managed_sites:
  description: The sites the collection manages on the host after this run (check mode - what it would be).
  returned: success, and when applying the change fails
  type: list
  elements: dict
  sample: [{name: chat, files: [/etc/nginx/sites-available/chat, /etc/nginx/sites-enabled/chat]}]
map:
  description: The upgrade map the sites use.
  returned: success, and when applying the change fails
  type: dict
  sample: {path: /etc/nginx/conf.d/wsproxy-websocket-map.conf, variable: $connection_upgrade, reused: false}
worker_limits:
  description: C(worker_connections), C(worker_rlimit_nofile) and C(worker_shutdown_timeout) after this run
    (null where nginx's default applies).
  returned: success, and when applying the change fails
  type: dict
  sample: {worker_connections: 4096, worker_rlimit_nofile: 8192, worker_shutdown_timeout: null}
files:
  description: Each path changed (C(created), C(updated), C(linked), C(removed)).
  returned: success, and when applying the change fails
  type: list
  elements: dict
checkpoint:
  description: Id of the one checkpoint taken before the change, or null when nothing changed.
  returned: success, and when applying the change fails
  type: str
label:
  description: The label of that checkpoint (O(label), else its own id).
  returned: when a checkpoint was taken
  type: str
tested:
  description: Whether C(nginx -t) ran.
  returned: success, and when applying the change fails
  type: bool
reloaded:
  description: Whether nginx was reloaded (once) and the reload confirmed.
  returned: success, and when applying the change fails
  type: bool
draining_workers:
  description: nginx's old workers still alive after the reload, serving the connections they held.
  returned: when nginx was reloaded
  type: list
  elements: dict
  sample: [{pid: 4242, rss_kb: 5120}]
rolled_back:
  description: Whether the checkpoint was restored after a failure.
  returned: success, and when applying the change fails
  type: bool
rollback:
  description: What the rollback did (C(checkpoint), C(paths), C(tested), C(reloaded), C(errors)).
  returned: when rolled back
  type: dict
errors:
  description: nginx's own messages about a failure (C(file), C(line), C(message)) - of the change, or of
    the current configuration when it fails C(nginx -t) (nothing is changed then).
  returned: success, when applying the change fails, and when the current configuration fails C(nginx -t)
  type: list
  elements: dict
diff:
  description: In diff mode, one item per path in RV(files), as RV(wsproxy.nginx.nginx_files#module:diff) shows it.
  returned: when diff mode is on and something changes
  type: list
  elements: dict
conf_path:
  description: The main configuration file nginx read, when it fails C(nginx -t) (see RV(errors)).
  returned: when the current configuration fails C(nginx -t)
  type: str
recovered:
  description: Set when the journal of a killed run was found and its checkpoint restored first.
  returned: when an earlier run was recovered
  type: dict
tcp_checks:
  description: The connection check of every TCP backend (O(check_backends=true)); the task fails naming the first
    that refused, and nothing is changed.
  returned: when O(check_backends=true) and a backend refuses connections
  type: list
  elements: dict
  sample: [{address: "127.0.0.1:3000", ok: false, error: "[Errno 111] Connection refused"}]
  contains:
    address:
      description: The backend, C(host:port).
      type: str
    ok:
      description: Whether the connection was accepted.
      type: bool
    error:
      description: Why not, or null.
      type: str
probed:
  description: Whether nothing changed and every one of O(probe_targets) succeeded in the read.
  returned: success, and when applying the change fails
  type: bool
probes:
  description: The results of O(probe_targets), as M(wsproxy.nginx.websocket_probe) returns them.
  returned: when O(probe_targets) was given and nothing changed
  type: list
  elements: dict
check_mode:
  description: Whether this was a check-mode run (nothing was placed, so there is nothing to probe).
  returned: success, and when applying the change fails
  type: bool
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec


def main():
    # The work happens in the action plugin (planning on the controller) and in nginx_files on the host; this entry
    # point only exists for the documentation and fails if it is ever run on its own.
    module = AnsibleModule(argument_spec=_wsspec.SITES_ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="wsproxy.nginx.websocket_proxy_sites runs through its action plugin; call it from a playbook task")


if __name__ == "__main__":
    main()
