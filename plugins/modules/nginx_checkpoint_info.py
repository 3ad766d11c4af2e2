#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nginx_checkpoint_info
short_description: List the nginx configuration checkpoints on a host
version_added: 0.1.0
description:
  - Lists the checkpoints M(wsproxy.nginx.nginx_checkpoint) took, newest first, and the transaction open on the
    host, if any. Never returns file contents.
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
      - Where the collection keeps its state on the host (see M(wsproxy.nginx.nginx_checkpoint)).
    type: path
    default: /var/lib/wsproxy
seealso:
  - module: wsproxy.nginx.nginx_checkpoint
"""

EXAMPLES = r"""
- name: List the checkpoints
  wsproxy.nginx.nginx_checkpoint_info:
  register: checkpoints

- name: Restore the one before the latest
  wsproxy.nginx.nginx_checkpoint:
    state: restored
    id: "{{ checkpoints.checkpoints[1].id }}"
"""

RETURN = r"""
checkpoints:
  description: The checkpoints, newest first.
  returned: success
  type: list
  elements: dict
  sample: [{id: 20261127T034441.518204Z-3fa2c1, created: "2026-11-27T03:44:41Z", files: 42,
            conf_path: /etc/nginx/nginx.conf, applied: true, label: wsproxy-20261127T034400Z}]
  contains:
    id:
      description: Checkpoint id.
      type: str
    created:
      description: When it was taken (UTC).
      type: str
    files:
      description: Number of regular files it holds.
      type: int
    conf_path:
      description: The main configuration file it was taken for.
      type: str
    applied:
      description: Whether the change made after it was applied by M(wsproxy.nginx.nginx_apply).
      type: bool
    label:
      description:
        - The run it belongs to - the role labels all hosts of one playbook run alike; a checkpoint taken without
          a label carries its own id.
      type: str
    damaged:
      description:
        - Set instead of the other keys but RV(checkpoints[].id) when the checkpoint's C(manifest.json) cannot be
          read - why, and the way out.
      type: str
transaction:
  description:
    - The transaction open on the host, or null - C(checkpoint), C(op), C(label), C(pid) and C(started) when it
      was opened; C(lease_ends) (UTC) while it belongs to a playbook run between M(wsproxy.nginx.nginx_checkpoint)
      and M(wsproxy.nginx.nginx_apply).
    - C(damaged) (why, and the way out) when the journal cannot be read.
  returned: success
  type: dict
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _checkpoint, _control, _txn


def main():
    module = AnsibleModule(
        argument_spec=dict(_control.NGINX_OPTIONS, state_dir=_txn.STATE_OPTIONS["state_dir"], **_txn.UNUSED_BY_READERS),
        supports_check_mode=True,
    )
    store = _checkpoint.Store(module.params["state_dir"])
    checkpoints = []
    for checkpoint_id in reversed(store.ids()):
        try:
            manifest = store.load(checkpoint_id)
        except _checkpoint.CheckpointError as exc:
            checkpoints.append({"id": checkpoint_id, "damaged": str(exc)})
            continue
        checkpoints.append({
            "id": manifest["id"],
            "created": manifest["created"],
            "files": manifest["files"],
            "conf_path": manifest["conf_path"],
            "label": _checkpoint.label_of(manifest),
            "applied": bool(manifest.get("after")),
        })
    try:
        transaction = _txn.Journal(store.state_dir).read()
    except _checkpoint.CheckpointError as exc:
        transaction = {"damaged": str(exc)}
    module.exit_json(changed=False, checkpoints=checkpoints, transaction=transaction)


if __name__ == "__main__":
    main()
