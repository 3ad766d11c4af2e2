#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nginx_workers
short_description: Make nginx's worker limits fit long-lived WebSocket connections, in one safe transaction
version_added: 0.1.0
description:
  - Every proxied WebSocket holds two connections (the client's and the upstream's) for its whole life, each one a
    file descriptor of an nginx worker. Debian's default C(worker_connections 768) caps a two-worker host near 768
    WebSockets, and the usual open-file soft limit of 1024 bites before that.
  - Raises C(worker_connections) (in the C(events) block) and C(worker_rlimit_nofile) (main context) to at least the
    given values, and sets or removes C(worker_shutdown_timeout), then tests, reloads and confirms in one
    transaction (checkpoint, atomic write, C(nginx -t), confirmed reload, byte-identical rollback on any failure),
    like M(wsproxy.nginx.websocket_proxy).
  - The configuration is read once with C(nginx -T) and the change is planned on the controller. Only the main
    file (O(conf_path)) is edited, line by line where the directive is - every other byte, comments included,
    stays as it was. A missing C(worker_connections) is added right after the C(events {) line; a missing
    main-context directive after C(worker_processes) (else after the last simple directive before the first block).
    The edited file is parsed back with crossplane and must differ from the original only by these directives.
  - Fails and changes nothing when a directive that must change is set in an included file, when C(worker_connections)
    must be added and the main file has no C(events {) line of its own, or when the main file changed on the host
    since it was read.
  - When nothing needs to change, nothing is sent to the host after the read - no checkpoint, no reload,
    C(changed=false) - unless a killed run left a transaction open, which is recovered first as by every changing
    module of the collection.
  - Warns when C(worker_rlimit_nofile) ends up below twice C(worker_connections), or is unset while twice
    C(worker_connections) exceeds 1024.
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
      - Check mode plans the change and writes nothing.
  diff_mode:
    support: full
    details:
      - The main file's
        changed lines with three lines of context and credentials masked, as M(wsproxy.nginx.nginx_files) shows them
options:
  worker_connections:
    description:
      - At least this many connections per worker (C(worker_connections) in the C(events) block), from 1 to 1048576.
      - A larger value already set is never lowered. Not changed when omitted.
      - Budget two connections per proxied WebSocket, plus the other traffic.
    type: int
  worker_rlimit_nofile:
    description:
      - At least this open-file limit per worker (C(worker_rlimit_nofile), main context), from 1 to 1048576.
      - A larger value already set is never lowered. Not changed when omitted. Should be at least twice
        O(worker_connections).
    type: int
  worker_shutdown_timeout:
    description:
      - Exactly this C(worker_shutdown_timeout) (main context), an nginx time such as V(30s), V(10m), V(1h) or
        V(1h30m) (units y M w d h m s ms, the largest first, no spaces; a bare number means seconds). A value
        already set to the same duration is left as written.
      - An empty string removes the directive. Not changed when omitted.
      - After each reload, nginx closes the connections still open on the old workers once this time has passed,
        live WebSockets included. Without it old workers keep serving their WebSockets until the clients leave,
        which is why it is not set by default.
    type: str
  reload:
    description: Reload nginx (confirmed) after a successful test.
    type: bool
    default: true
notes:
  - The limits are per worker. The number of workers (C(worker_processes)) is not changed.
  - C(worker_rlimit_nofile) needs nginx's master to run as root to raise the hard limit; otherwise systemd's
    C(LimitNOFILE) bounds it.
seealso:
  - module: wsproxy.nginx.websocket_proxy
  - module: wsproxy.nginx.nginx_files
  - name: nginx core module
    description: worker_connections, worker_rlimit_nofile and worker_shutdown_timeout.
    link: https://nginx.org/en/docs/ngx_core_module.html
"""

EXAMPLES = r"""
- name: Room for about 2,000 WebSockets per worker
  wsproxy.nginx.nginx_workers:
    worker_connections: 4096
    worker_rlimit_nofile: 8192

- name: Close what old workers still hold 30 minutes after each reload
  wsproxy.nginx.nginx_workers:
    worker_shutdown_timeout: 30m

- name: Let old workers serve their WebSockets until the clients leave (the default)
  wsproxy.nginx.nginx_workers:
    worker_shutdown_timeout: ""
"""

RETURN = r"""
worker_connections:
  description:
    - The C(worker_connections) of the configuration after the run (planned in check mode), or null when unset
      (nginx uses 512).
    - When applying the change failed, this and the other limits are those of the configuration before it.
  returned: success, and when applying the change fails
  type: int
  sample: 4096
worker_rlimit_nofile:
  description: The C(worker_rlimit_nofile) after the run, or null when unset.
  returned: success, and when applying the change fails
  type: int
  sample: 8192
worker_shutdown_timeout:
  description: The C(worker_shutdown_timeout) after the run, as written in the file, or null when unset.
  returned: success, and when applying the change fails
  type: str
  sample: 30m
check_mode:
  description: Whether the task ran in check mode (the change was only planned).
  returned: success, and when applying the change fails
  type: bool
files:
  description: What happened to each path that changed (the main file, C(updated)).
  returned: success, and when applying the change fails
  type: list
  elements: dict
  sample: [{path: /etc/nginx/nginx.conf, action: updated}]
checkpoint:
  description: Id of the checkpoint taken before the change, or null when nothing changed.
  returned: success, and when applying the change fails
  type: str
tested:
  description: Whether C(nginx -t) ran.
  returned: success, and when applying the change fails
  type: bool
reloaded:
  description: Whether nginx was reloaded and the reload confirmed.
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
conf_path:
  description: The main configuration file nginx read, when it fails C(nginx -t) (see RV(errors)).
  returned: when the current configuration fails C(nginx -t)
  type: str
diff:
  description: In diff mode, the main file's
    changed lines with three lines of context and credentials masked, as M(wsproxy.nginx.nginx_files) shows them
  returned: when diff mode is on and something changes
  type: list
  elements: dict
recovered:
  description: Set when the journal of a killed run was found and its checkpoint restored first.
  returned: when an earlier run was recovered
  type: dict
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec

ARGUMENT_SPEC = dict(_wsspec.WORKER_OPTIONS, reload=dict(type="bool", default=True))
ARGUMENT_SPEC.update(_wsspec.SHARED_OPTIONS)


def main():
    # The work happens in the action plugin (planning on the controller) and in nginx_files on the host; this
    # entry point only exists for the documentation and fails if it is ever run on its own.
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="wsproxy.nginx.nginx_workers runs through its action plugin; call it from a playbook task")


if __name__ == "__main__":
    main()
