#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nginx_checkpoint
short_description: Take, restore or delete a snapshot of the nginx configuration tree
version_added: 0.1.0
description:
  - O(state=present) snapshots every file, directory and symlink under the configuration directory (the
    directory of O(conf_path)) and every file nginx loads from elsewhere (per C(nginx -T)), with contents,
    modes, owners, groups and link targets. It refuses a configuration that already fails C(nginx -t).
  - Taking a checkpoint opens a transaction on the host (see O(transaction)) that belongs to this playbook run
    until M(wsproxy.nginx.nginx_apply) or a restore closes it, for at most O(lease) seconds. Another run that
    needs the host meanwhile waits for it (up to O(lock_timeout)) and then fails naming it, changing nothing;
    once the lease is over the transaction counts as dead and the next run of the collection restores this
    checkpoint first. A module killed in the middle of its own work (lost connection, C(kill -9)) is recovered
    by the next run at once.
  - O(state=restored) brings back the exact tree of the checkpoint, removing files and links created since
    (every blob is verified against its sha256 first; a damaged checkpoint is never applied), then runs
    C(nginx -t) and reloads nginx (confirmed) if it runs. It refuses, changing nothing, when the tree was edited
    by someone after the collection's last applied change, unless O(force=true). Changes the collection applied
    after this checkpoint are not edits, so an older checkpoint restores over them.
  - O(state=absent) deletes a checkpoint.
  - Checkpoints are stored in O(state_dir)C(/checkpoints/<id>/) (0700), outside every directory nginx loads.
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
      - O(state=present) takes no checkpoint in check mode; O(state=restored) and O(state=absent) report what
        they would change.
  diff_mode:
    support: full
    details:
      - O(state=restored) lists every path it changes, with its state before and after.
options:
  state:
    description:
      - V(present) takes a new checkpoint, V(restored) restores one, V(absent) deletes one.
    type: str
    choices: [present, restored, absent]
    default: present
  id:
    description:
      - The checkpoint to restore or delete.
      - For O(state=restored) it defaults to the state before the last run - the oldest checkpoint carrying the
        same O(label) as the latest one (see O(label)). For O(state=absent) it defaults to the latest one.
    type: str
  label:
    description:
      - With O(state=present), a label stored with the new checkpoint; without it the checkpoint is labelled with
        its own id, a run of its own. The role gives every host of one playbook run the same label.
      - With O(state=restored) and no O(id), restore the state before the run so labelled (its oldest checkpoint).
      - Letters, digits, C(.), C(_), C(:) and C(-), at most 64.
    type: str
  force:
    description:
      - Restore even when the tree was edited after the collection's last applied change (those edits are lost),
        or while another run's transaction is open (that run's change is undone; it fails when it comes back).
    type: bool
    default: false
  lease:
    description:
      - With O(state=present) and O(transaction=true), how many seconds the open transaction belongs to this run.
        Until then no other run recovers it; after it, the next run restores the checkpoint (an unfinished change
        is taken for an abandoned one). Make it longer than the tasks between the checkpoint and
        M(wsproxy.nginx.nginx_apply).
    type: int
    default: 1800
  transaction:
    description:
      - Whether a new checkpoint opens a transaction that M(wsproxy.nginx.nginx_apply) closes. Set V(false) for
        a plain backup that is never restored automatically.
    type: bool
    default: true
  reload:
    description:
      - After a restore, reload nginx (confirmed) when it is running.
    type: bool
    default: true
notes:
  - Creating a checkpoint does not change nginx's configuration, so O(state=present) reports C(changed=false),
    the way a backup file does not count as a change.
seealso:
  - module: wsproxy.nginx.nginx_apply
  - module: wsproxy.nginx.nginx_checkpoint_info
"""

EXAMPLES = r"""
- name: A safe change of your own files
  block:
    - name: Take a checkpoint
      wsproxy.nginx.nginx_checkpoint:
      register: checkpoint

    - name: Change a site
      ansible.builtin.template:
        src: app.conf.j2
        dest: /etc/nginx/conf.d/app.conf
        mode: "0644"

    - name: Test, reload, confirm; roll back to the checkpoint on any failure
      wsproxy.nginx.nginx_apply:
        checkpoint: "{{ checkpoint.checkpoint.id }}"
  rescue:
    - name: Put everything back if a task in between failed
      wsproxy.nginx.nginx_checkpoint:
        state: restored
        id: "{{ checkpoint.checkpoint.id }}"

- name: Roll back the last run at 3 a.m. (the state before it, all of its checkpoints)
  wsproxy.nginx.nginx_checkpoint:
    state: restored

- name: Roll back the run the role labelled so, whatever ran after it
  wsproxy.nginx.nginx_checkpoint:
    state: restored
    label: wsproxy-20261127T034400Z

- name: Roll back even though someone edited the files since
  wsproxy.nginx.nginx_checkpoint:
    state: restored
    id: 20261127T034441.518204Z-3fa2c1
    force: true
"""

RETURN = r"""
checkpoint:
  description: The checkpoint taken, restored or deleted (null in check mode for O(state=present)).
  returned: success, and when the restore of a checkpoint that exists fails
  type: dict
  sample: {id: 20261127T034441.518204Z-3fa2c1, path: /var/lib/wsproxy/checkpoints/20261127T034441.518204Z-3fa2c1,
           created: "2026-11-27T03:44:41Z", files: 42}
  contains:
    id:
      description: Checkpoint id, sortable by time.
      type: str
    path:
      description: Directory of the checkpoint on the host.
      type: str
    created:
      description: When it was taken (UTC).
      type: str
    files:
      description: Number of regular files it holds.
      type: int
    label:
      description: The run it belongs to (its own id when it was taken without a label).
      type: str
    damaged:
      description: True when O(state=absent) deleted a checkpoint whose C(manifest.json) cannot be read; only
        C(id) and C(path) are there then.
      type: bool
paths:
  description: Paths a restore changed (or would change in check mode).
  returned: when O(state=restored) and the checkpoint exists (also when its restore fails)
  type: list
  elements: str
tested:
  description: Whether C(nginx -t) ran after the restore.
  returned: when O(state=restored) and the checkpoint exists (also when its restore fails)
  type: bool
reloaded:
  description: Whether nginx was reloaded after the restore, and the reload confirmed.
  returned: when O(state=restored) and the checkpoint exists (also when its restore fails)
  type: bool
errors:
  description:
    - nginx's own messages when the restored configuration failed to test or reload.
    - With O(state=present), why the current configuration cannot be checkpointed.
  returned: when O(state=restored) and the checkpoint exists (also when its restore fails), and when the current
    configuration fails C(nginx -t) before a checkpoint is taken
  type: list
  elements: dict
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
pruned:
  description: Checkpoints deleted by the retention (O(keep)).
  returned: when O(state=present) succeeds outside check mode
  type: list
  elements: str
edited:
  description:
    - The paths edited after the last change wsproxy.nginx applied, which a restore of an older checkpoint would
      undo; the restore is refused (O(force=true) restores anyway).
  returned: when a restore is refused for them
  type: list
  elements: str
diff:
  description: In diff mode, each path the restore changes (or would change) - its type, mode, owner and content
    hash now and in the checkpoint.
  returned: when O(state=restored) in diff mode, and the restore changes something
  type: dict
  contains:
    before:
      description: One line per path, as it is now.
      type: str
    after:
      description: One line per path, as the checkpoint holds it.
      type: str
    before_header:
      description: C(current tree).
      type: str
    after_header:
      description: C(checkpoint ID).
      type: str
recovered:
  description:
    - Set when the journal of a killed run was found and its checkpoint restored first; same keys as a restore
      (C(journal), C(checkpoint), C(paths), C(tested), C(reloaded), C(errors)).
  returned: when an earlier run was recovered
  type: dict
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _checkpoint, _control, _nginx, _txn


def _summary(store, manifest):
    return {"id": manifest["id"], "path": store.path(manifest["id"]), "created": manifest["created"],
            "files": manifest["files"], "label": _checkpoint.label_of(manifest)}


def _present(module, host, result, _record):
    if module.check_mode:
        ok, _dump_text, errors = host.nginx.dump()
        if not ok:
            module.fail_json(msg="The current nginx configuration fails 'nginx -t': %s"
                             % _nginx.describe_errors(errors, ""), errors=errors, **result)
        result["checkpoint"] = None
        return result
    manifest, result["pruned"], record = host.begin(module.params["keep"], "change" if module.params["transaction"] else None,
                                                    module.params["label"])
    if record is not None:
        host.journal.hand_over(record, module.params["lease"])
    result["checkpoint"] = _summary(host.store, manifest)
    return result


def _diff(manifest, current, paths):
    wanted = dict((entry["path"], entry) for entry in manifest["entries"])

    def _line(state):
        if state is None:
            return "(absent)"
        detail = state.get("sha256", "")[:12] or state.get("target", "")
        return "%s %s %s:%s %s" % (state["type"], state["mode"], state["owner"], state["group"], detail)

    return {
        "before": "".join("%s: %s\n" % (path, _line(current.get(path))) for path in paths),
        "after": "".join("%s: %s\n" % (path, _line(wanted.get(path))) for path in paths),
        "before_header": "current tree",
        "after_header": "checkpoint %s" % manifest["id"],
    }


def _restored(module, host, result, record):
    """`record`: the open transaction this restore ends (its own checkpoint's, or any with force)."""
    manifest = host.store.find(module.params["id"], module.params["label"])
    result["checkpoint"] = _summary(host.store, manifest)
    current = _checkpoint.current_states(manifest)
    paths = _checkpoint.changes(manifest["entries"], current)
    result.update(paths=paths, tested=False, reloaded=False, errors=[])
    if not paths:
        if record is not None and not module.check_mode:
            host.journal.end()  # the open transaction ends with nothing to undo
        return result
    edited = [] if record is not None and record.get("checkpoint") == manifest["id"] else \
        _checkpoint.edited_since_last_commit(host.store)
    if edited and not module.params["force"]:
        module.fail_json(
            msg="Refusing to restore checkpoint %s: these paths were edited after the last change wsproxy.nginx applied: %s. "
                "Nothing was changed; set force=true to restore anyway and lose those edits."
                % (manifest["id"], _checkpoint.describe_paths(edited)),
            edited=edited, **result
        )
    if module._diff:
        result["diff"] = _diff(manifest, current, paths)
    if module.check_mode:
        result["changed"] = True
        return result
    host.journal.begin(manifest["id"], "restore", host.nginx.conf_path)
    report = host.restore(manifest, module.params["reload_timeout"], module.params["reload"])
    host.journal.end()
    result.update(changed=True, paths=report["paths"], tested=report["tested"], reloaded=report["reloaded"],
                  errors=report["errors"])
    if report["errors"]:
        module.fail_json(msg="Checkpoint %s was restored, but nginx reports: %s"
                         % (manifest["id"], _nginx.describe_errors(report["errors"], "")), **result)
    return result


def _absent(module, host, result, _record):
    ids = host.store.ids()
    checkpoint_id = module.params["id"] or (ids[-1] if ids else None)
    if checkpoint_id not in ids:
        result["checkpoint"] = None
        return result
    record = host.journal.read()
    if record and record.get("checkpoint") == checkpoint_id:
        module.fail_json(msg="Checkpoint %s belongs to an open transaction; apply or restore it first" % checkpoint_id,
                         **result)
    try:
        result["checkpoint"] = _summary(host.store, host.store.load(checkpoint_id))
    except _checkpoint.CheckpointError:  # a damaged checkpoint can still be deleted: that is the way out
        result["checkpoint"] = {"id": checkpoint_id, "path": host.store.path(checkpoint_id), "damaged": True}
    result["changed"] = True
    if not module.check_mode:
        host.store.delete(checkpoint_id)
    return result


def main():
    argument_spec = dict(
        state=dict(type="str", default="present", choices=["present", "restored", "absent"]),
        id=dict(type="str"),
        force=dict(type="bool", default=False),
        transaction=dict(type="bool", default=True),
        reload=dict(type="bool", default=True),
        lease=dict(type="int", default=_txn.LEASE_DEFAULT),
    )
    argument_spec.update(_control.NGINX_OPTIONS)
    argument_spec.update(_txn.STATE_OPTIONS)
    argument_spec.update(_txn.CHECKPOINT_OPTIONS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    _txn.check_label(module)
    if module.params["keep"] < 1:
        module.fail_json(msg="keep=%r: keep at least 1 checkpoint" % module.params["keep"])
    if module.params["lease"] < 1:
        module.fail_json(msg="lease=%r: must be at least 1 second" % module.params["lease"])
    result = {"changed": False}
    handlers = {"present": _present, "restored": _restored, "absent": _absent}
    restoring = module.params["state"] == "restored"
    # A restore ends the transaction of the checkpoint it restores (or, forced, any); a damaged journal is ended
    # only by restoring a checkpoint named by id.
    _txn.run_locked(module, result, lambda host, res, record: handlers[module.params["state"]](module, host, res, record),
                    continues=module.params["id"] if restoring else None, takeover=restoring and module.params["force"],
                    damaged_ok=restoring and bool(module.params["id"]))


if __name__ == "__main__":
    main()
