#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nginx_apply
short_description: Test, reload and confirm an nginx configuration change, or roll it back
version_added: 0.1.0
description:
  - Runs C(nginx -t), reloads nginx (C(systemctl reload nginx) when systemd runs this nginx, else
    C(nginx -c CONF -s reload)), and confirms that the reload took. nginx's exit code proves nothing - a
    C(listen) on a port that is taken passes C(nginx -t) and the reload exits 0 while nginx keeps its old
    configuration - so the module waits for a new generation of worker processes and watches the error logs
    for a new C([emerg]) line, up to O(reload_timeout) seconds.
  - On any failure it restores O(checkpoint), tests, reloads, and fails with nginx's own messages (file, line,
    text) in RV(errors).
  - With a checkpoint and no change since it, nothing is tested or reloaded and the result is C(changed=false),
    so a checkpoint, your own C(template) tasks and this module form an idempotent transaction.
  - Closes the transaction the checkpoint opened; on success the tree as applied is recorded in the checkpoint,
    so a later restore can tell whether somebody edited the files since.
  - When nginx is not running it is started only with O(start=true); otherwise the result says so and reports
    no reload.
author:
  - wsproxy.nginx contributors (@wsproxy)
extends_documentation_fragment:
  - wsproxy.nginx.nginx
  - wsproxy.nginx.transaction
  - wsproxy.nginx.transaction.UNUSED_CHECKPOINTS
  - wsproxy.nginx.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode runs C(nginx -t), which changes nothing, and reports whether a reload would happen.
  diff_mode:
    support: none
options:
  checkpoint:
    description:
      - Id of the checkpoint (from M(wsproxy.nginx.nginx_checkpoint)) to restore on failure.
      - Defaults to the checkpoint of the transaction open on the host, if any. Without a checkpoint a failure
        cannot be rolled back; the module then fails and says so.
    type: str
  reload:
    description:
      - Reload nginx after a successful test. With V(false) only C(nginx -t) runs.
    type: bool
    default: true
  start:
    description:
      - Start nginx when it is not running (systemd's C(nginx.service) when there is one, else the binary).
    type: bool
    default: false
seealso:
  - module: wsproxy.nginx.nginx_checkpoint
"""

EXAMPLES = r"""
- name: Take a checkpoint
  wsproxy.nginx.nginx_checkpoint:
  register: checkpoint

- name: Change the site with your own template
  ansible.builtin.template:
    src: app.conf.j2
    dest: /etc/nginx/conf.d/app.conf
    mode: "0644"

- name: Test, reload, confirm; roll back to the checkpoint on any failure
  wsproxy.nginx.nginx_apply:
    checkpoint: "{{ checkpoint.checkpoint.id }}"
    reload_timeout: 15

- name: Only test the configuration
  wsproxy.nginx.nginx_apply:
    reload: false
"""

RETURN = r"""
tested:
  description: Whether C(nginx -t) ran (and passed, unless the task failed).
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
  type: bool
reloaded:
  description: Whether nginx was reloaded with the new configuration and the reload was confirmed.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
  type: bool
started:
  description: Whether nginx was started (O(start=true)).
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
  type: bool
rolled_back:
  description: Whether the checkpoint was restored after a failure.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
  type: bool
method:
  description: How nginx was reloaded or started (C(systemd), C(signal), C(binary)), or null.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
  type: str
checkpoint:
  description: The checkpoint of this transaction, or null.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
  type: str
errors:
  description: nginx's own messages about the failure (the rollback's, if it failed too, are in RV(rollback)).
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
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
rollback:
  description: What the rollback did (C(checkpoint), C(paths), C(tested), C(reloaded), C(errors)).
  returned: when rolled back
  type: dict
draining_workers:
  description: nginx's old workers still alive after the reload, serving the connections they held.
  returned: when nginx was reloaded
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
recovered:
  description:
    - Set when the journal of a killed run was found and its checkpoint restored first; same keys as
      RV(rollback) plus C(journal).
  returned: when an earlier run was recovered
  type: dict
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _checkpoint, _control, _txn


def _apply(module, host, result, record):
    """Carry on the run's open transaction (`record`, or the checkpoint named): test, reload, commit."""
    checkpoint_id = module.params["checkpoint"] or (record or {}).get("checkpoint")
    result["checkpoint"] = checkpoint_id
    manifest = host.store.load(checkpoint_id) if checkpoint_id else None
    if manifest is not None and record is None and manifest.get("recovered"):
        module.fail_json(
            msg="The transaction of checkpoint %s is no longer open: another run found it past its lease and restored "
                "the checkpoint at %s (paths %s). What was changed since the checkpoint is undone; nothing was applied. "
                "Run the change again." % (checkpoint_id, manifest["recovered"]["at"],
                                           _checkpoint.describe_paths(manifest["recovered"]["paths"]) or "none"),
            **result)
    if record is not None and not module.check_mode:
        host.journal.take(record)  # held by this process now: if it dies, the next run recovers at once

    if manifest is not None and host.nginx.master_pid() is not None \
            and not _checkpoint.changes(manifest["entries"], _checkpoint.current_states(manifest)):
        if not module.check_mode and record is not None:
            host.journal.end()
        result["msg"] = "nothing changed since checkpoint %s: no test, no reload" % checkpoint_id
        return result

    host.activate(result, manifest, module.params["reload"], module.params["reload_timeout"], module.params["start"])
    if not module.check_mode:
        host.commit(manifest)
    return result


def main():
    argument_spec = dict(
        checkpoint=dict(type="str"),
        reload=dict(type="bool", default=True),
        start=dict(type="bool", default=False),
    )
    argument_spec.update(_control.NGINX_OPTIONS)
    argument_spec.update(_txn.STATE_OPTIONS)
    argument_spec.update(_txn.CHECKPOINT_OPTIONS)  # unused: one module_defaults fits the whole action group
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["reload_timeout"] < 1:
        module.fail_json(msg="reload_timeout=%r: must be at least 1 second" % module.params["reload_timeout"])
    result = {"changed": False, "tested": False, "reloaded": False, "started": False, "rolled_back": False,
              "method": None, "checkpoint": None, "errors": []}
    # Without a checkpoint named, this run continues whichever transaction is open.
    _txn.run_locked(module, result, lambda host, res, record: _apply(module, host, res, record),
                    continues=module.params["checkpoint"] or True)


if __name__ == "__main__":
    main()
