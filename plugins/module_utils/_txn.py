# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: the host lock, the journal of an open transaction, and recovery from a killed run.

A transaction opens when a checkpoint is taken (or a restore starts) and closes when the change is applied or
rolled back. While it is open, `STATE_DIR/journal.json` names its checkpoint and who holds it:
- the module process that opened it, under the host lock (nginx_files, a restore): once another run holds the
  lock, that process is provably gone;
- or, handed over by nginx_checkpoint to its playbook run (checkpoint -> your tasks -> nginx_apply), the run, for
  a lease (`lease`, default 1800 s) from when the checkpoint was taken.
A run that finds a transaction it does not own waits for it (up to `lock_timeout`) while its holder may be
alive, then fails naming it; a dead one (the process gone, or the lease over) it recovers first: restores the
checkpoint, tests, reloads, reports it under `recovered`. An operator ends a live one explicitly with
nginx_apply (finish it) or nginx_checkpoint state=restored (put it back).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import re
import time

from ansible_collections.wsproxy.nginx.plugins.module_utils import _checkpoint, _control, _fs, _hooks, _nginx

# The options every changing module shares, defined once (documented once in the wsproxy.nginx.transaction doc
# fragment; meta/runtime.yml's action group lets a playbook set them once with module_defaults).
STATE_OPTIONS = dict(
    state_dir=dict(type="path", default="/var/lib/wsproxy"),
    lock_timeout=dict(type="int", default=60),
    reload_timeout=dict(type="int", default=10),
)
# ... and those that take checkpoints (fragment wsproxy.nginx.transaction.CHECKPOINTS).
CHECKPOINT_OPTIONS = dict(
    keep=dict(type="int", default=10, aliases=["checkpoint_keep"]),
    label=dict(type="str"),
)
# Accepted and unused by the read-only modules, so one module_defaults for the whole action group fits every
# module (Ansible passes a group's defaults to each member, and a module fails on an option it does not take).
UNUSED_BY_READERS = dict((name, spec) for name, spec in list(STATE_OPTIONS.items()) + list(CHECKPOINT_OPTIONS.items())
                         if name != "state_dir")


class LockTimeout(Exception):
    pass


class TransactionOpen(Exception):
    """Another run's transaction may still be alive."""


# How long a transaction handed to its playbook run (checkpoint -> tasks -> nginx_apply) counts as alive.
LEASE_DEFAULT = 1800


_LABEL_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}\Z")


def check_label(module):
    """Fail naming the option unless `label` is a safe checkpoint label (or unset)."""
    label = module.params.get("label")
    if label is not None and not _LABEL_RE.match(label):
        module.fail_json(msg="label=%r: expected 1 to 64 letters, digits, '.', '_', ':' or '-'" % label)


def io_failure(exc, journal):
    """The msg for an I/O error (full disk, read-only file system) in the middle of a change."""
    try:
        record = journal.read()
    except _checkpoint.CheckpointError:
        record = None
    tail = ""
    if record and record.get("checkpoint"):
        tail = " The transaction stays open: the next run of the collection restores checkpoint %s." % record["checkpoint"]
    return "Cannot change the host: %s.%s" % (exc, tail)


class HostLock(object):
    """An exclusive fcntl lock on STATE_DIR/lock: one collection run at a time on a host."""

    def __init__(self, state_dir, timeout, deadline):
        self.path = os.path.join(state_dir, "lock")
        self.timeout = timeout
        self.deadline = deadline
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        deadline = self.deadline
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.time() >= deadline:
                    holder = os.pread(self.fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                    os.close(self.fd)
                    raise LockTimeout(
                        "another wsproxy.nginx run (pid %s) holds the lock %s; waited lock_timeout=%d s"
                        % (holder, self.path, self.timeout)
                    )
                time.sleep(0.2)
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode("ascii"), 0)
        return self

    def __exit__(self, *exc_info):
        os.ftruncate(self.fd, 0)
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        return False


class _NoLock(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class Journal(object):
    """STATE_DIR/journal.json: the open transaction's checkpoint, its holder and, once handed to a playbook run,
    its lease. Written atomically, so a damaged one was damaged by something else: it is refused, never guessed."""

    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, "journal.json")

    def read(self):
        try:
            with open(self.path) as handle:
                record = json.load(handle)
            if not isinstance(record, dict) or "checkpoint" not in record:
                raise ValueError("no checkpoint recorded")
            return record
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        except ValueError as exc:
            raise _checkpoint.CheckpointError(
                "%s is damaged (%s): a transaction may be open and which checkpoint it started from is unknown. Nothing "
                "was changed. Restore a checkpoint by id with nginx_checkpoint state=restored id=ID (nginx_checkpoint_info "
                "lists them; the newest is the likeliest), which ends the damaged journal" % (self.path, exc))

    def _write(self, record):
        _fs.atomic_write(self.path, json.dumps(record, sort_keys=True).encode("utf-8"), mode=0o600)
        return record

    def begin(self, checkpoint_id, op, conf_path, label=None):
        """Open a transaction held by this module process (under the host lock)."""
        return self._write({"checkpoint": checkpoint_id, "op": op, "conf_path": conf_path, "label": label,
                            "pid": os.getpid(), "started": _utc(time.time()), "lease_until": None})

    def hand_over(self, record, lease):
        """The transaction outlives this module: its playbook run holds it for `lease` seconds."""
        until = time.time() + lease
        record.update(lease=lease, lease_until=until, lease_ends=_utc(until))
        return self._write(record)

    def take(self, record):
        """A module continuing its run's transaction (nginx_apply) holds it again while it works."""
        record.update(pid=os.getpid(), lease_until=None)
        return self._write(record)

    def end(self):
        try:
            _fs.remove(self.path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise


def _utc(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def may_be_alive(record):
    """True while a run may still hold the transaction: its lease runs. A transaction held by a module process
    is dead once the caller holds the host lock (that process held it until it died)."""
    return bool(record and record.get("lease_until") and time.time() < record["lease_until"])


def describe(record):
    """One line naming an open transaction, for messages."""
    text = "checkpoint %s (%s, opened %s" % (record.get("checkpoint"), record.get("op", "change"), record.get("started", "?"))
    if record.get("label"):
        text += ", run %s" % record["label"]
    if record.get("lease_ends"):
        text += ", its run holds it until %s" % record["lease_ends"]
    return text + ")"


def _open_elsewhere_msg(record, waited):
    checkpoint_id = record.get("checkpoint")
    return ("Another run's transaction is open on this host: %s. Waited lock_timeout=%d s for it to end; nothing was "
            "changed. Run again once it has ended. If that run is gone, end it yourself: nginx_apply checkpoint=%s "
            "applies what it changed, nginx_checkpoint state=restored id=%s puts it back."
            % (describe(record), waited, checkpoint_id, checkpoint_id))


class Host(object):
    """What a changing module works with: nginx, the checkpoint store, the journal."""

    def __init__(self, module, nginx):
        self.module = module
        self.nginx = nginx
        self.store = _checkpoint.Store(module.params["state_dir"])
        self.journal = Journal(self.store.state_dir)

    def lock(self, deadline):
        conf_dir = os.path.dirname(self.nginx.conf_path)
        if _checkpoint.under(self.store.state_dir, conf_dir):
            raise _checkpoint.CheckpointError(
                "state_dir=%r is inside %s, which nginx loads configuration from; choose a directory outside it"
                % (self.store.state_dir, conf_dir)
            )
        if self.module.check_mode and not os.path.isdir(self.store.state_dir):
            return _NoLock()  # check mode creates nothing, not even the state directory
        _fs.private_dir(self.store.state_dir)
        return HostLock(self.store.state_dir, self.module.params["lock_timeout"], deadline)

    def restore(self, manifest, reload_timeout, reload=True, always=False):
        """Bring the tree back to `manifest`, test, and reload if nginx runs (`always`: even when the files were
        already right, as after a run killed between its last write and its reload). Returns a report."""
        current = _checkpoint.current_states(manifest)
        changed = _checkpoint.restore(self.store, manifest, current)
        report = {"checkpoint": manifest["id"], "paths": changed, "tested": False, "reloaded": False, "errors": []}
        if not changed and not always:
            return report
        ok, dump_text, errors = self.nginx.dump()  # the test, and where the pid file and error logs are
        report["tested"] = True
        report["errors"] = errors
        if ok and reload and self.nginx.master_pid(dump_text) is not None:
            ok, _method, errors = self.nginx.reload(reload_timeout, dump_text)
            report["reloaded"] = ok
            report["errors"] = errors
        return report

    def recover(self, record, reload_timeout):
        """Restore the checkpoint of a dead run's transaction (`record`), test, reload. Returns the report; the
        checkpoint keeps a note of it, so the run that opened it, if it ever comes back, learns what happened."""
        report = {"journal": record}
        if record.get("checkpoint"):
            manifest = self.store.load(record["checkpoint"])
            report.update(self.restore(manifest, reload_timeout, always=True))
            manifest["recovered"] = {"at": _utc(time.time()), "by_pid": os.getpid(), "paths": report["paths"]}
            self.store.save(manifest)
        self.journal.end()
        return report

    def begin(self, keep, op="change", label=None, paths=()):
        """Take a checkpoint of the current, valid configuration (and of `paths`, which the transaction will
        write, wherever they are) and open a transaction on it. Returns (manifest, pruned ids, journal record)."""
        ok, dump_text, errors = self.nginx.dump()
        if not ok:
            self.module.fail_json(
                msg="The current nginx configuration fails 'nginx -t'; nothing was changed: %s"
                % _nginx.describe_errors(errors, ""), errors=errors)
        loaded = _nginx.loaded_files(dump_text)
        self.store.ensure(os.path.dirname(self.nginx.conf_path), loaded)
        manifest = self.store.create(self.nginx.conf_path, loaded, label, paths)
        record = self.journal.begin(manifest["id"], op, self.nginx.conf_path, label) if op else None
        _hooks.reached("after-checkpoint")
        pruned = self.store.prune(keep, protect=[manifest["id"]])
        return manifest, pruned, record

    def commit(self, manifest):
        """Record the tree as applied in its checkpoint and close the transaction."""
        record = self.journal.read()
        if manifest is not None:
            manifest["after"] = sorted(_checkpoint.current_states(manifest).values(), key=lambda entry: entry["path"])
            self.store.save(manifest)
        if record and (manifest is None or record.get("checkpoint") == manifest["id"]):
            self.journal.end()

    def _rollback_and_fail(self, result, manifest, what, errors, reload_timeout, reload_after=False):
        """Restore the checkpoint (and reload when nginx may have seen the new configuration), then fail."""
        result["errors"] = errors
        detail = _nginx.describe_errors(errors, "")
        if manifest is None:
            self.module.fail_json(msg="%s, and there is no checkpoint to roll back to: %s" % (what, detail), **result)
        report = self.restore(manifest, reload_timeout, reload=reload_after)
        self.journal.end()
        # The tree is back byte for byte: the host changed only if nginx was reloaded (or started) on the way.
        result.update(rolled_back=True, rollback=report,
                      changed=bool(report["reloaded"] or result.get("started") or result.get("recovered", {}).get("paths")))
        self.module.fail_json(msg="%s; checkpoint %s restored: %s" % (what, manifest["id"], detail), **result)

    def activate(self, result, manifest, reload, reload_timeout, start):
        """nginx -t, then reload (or start) and confirm; on failure restore `manifest` and fail. In check mode
        only the test runs. Updates result: tested, reloaded, started, method, changed."""
        module = self.module
        ok, dump_text, errors = self.nginx.dump()  # the test, and where the pid file and error logs are
        master = self.nginx.master_pid(dump_text)
        running = master is not None
        result["tested"] = True
        for warning in self.nginx.warnings:
            module.warn("nginx -t: %s" % warning)
        if not ok:
            if module.check_mode:
                module.fail_json(msg="nginx -t fails: %s" % _nginx.describe_errors(errors, ""), errors=errors, **result)
            self._rollback_and_fail(result, manifest, "nginx -t failed", errors, reload_timeout)
        if module.check_mode:
            result["changed"] = result.get("changed") or (reload and running)
            return
        if not reload:
            return
        if not running and not start:
            module.warn("nginx is not running: the configuration passed nginx -t but was not loaded; set start=true to start it")
        elif not running:
            ok, result["method"], errors = self.nginx.start(reload_timeout)
            if not ok:
                self._rollback_and_fail(result, manifest, "nginx did not start", errors, reload_timeout)
            result.update(started=True, changed=True)
        else:
            ok, result["method"], errors = self.nginx.reload(reload_timeout, dump_text)
            if not ok:
                self._rollback_and_fail(result, manifest, "the reload did not take", errors, reload_timeout, reload_after=True)
            result.update(reloaded=True, changed=True, draining_workers=_control.draining_workers(master))


def run_locked(module, result, work, continues=None, takeover=False, damaged_ok=False):
    """The frame of every changing module: lock the host; if another run's transaction is open, wait for it while
    it may be alive (releasing the lock) and recover it once it is dead; then do `work(host, result, record)` and
    turn refusals and I/O errors into a clear failure. Exits the module.

    `continues`: the checkpoint id of the transaction the caller carries on (True: whichever is open), which is
    then handed to `work` as `record`. `takeover`: the caller ends whatever is open itself (a forced restore): a
    live transaction is neither waited for nor recovered. `damaged_ok`: a damaged journal is ended, not refused
    (the operator's way out: restoring a checkpoint named by id)."""
    host = Host(module, _control.Nginx(module, module.params["binary"], module.params["conf_path"]))
    started = time.time()
    deadline = started + module.params["lock_timeout"]
    try:
        while True:
            with host.lock(deadline):
                record = _open_record(host, damaged_ok)
                ours = record is not None and (continues is True or record.get("checkpoint") == continues)
                if record is not None and not ours and not takeover and not module.check_mode:
                    if may_be_alive(record):
                        if time.time() >= deadline:
                            raise TransactionOpen(_open_elsewhere_msg(record, module.params["lock_timeout"]))
                        record = False  # wait outside the lock, so its owner can finish
                    else:
                        _recovered(module, host, result, record)
                        record = None
                if record is not False:
                    result = work(host, result, record if ours or takeover else None)
                    break
            time.sleep(0.5)
    except _fs.Stale as exc:
        module.fail_json(msg="Refused: %s" % exc, stale=True, **result)
    except _fs.Refused as exc:
        module.fail_json(msg="Refused: %s" % exc, **result)
    except (_checkpoint.CheckpointError, _fs.UnsafeDirectory, LockTimeout, TransactionOpen) as exc:
        module.fail_json(msg=str(exc), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg=io_failure(exc, host.journal), **result)
    module.exit_json(**result)


def _open_record(host, damaged_ok):
    """The open transaction's journal, or None. A damaged journal stops every run but a restore by id."""
    try:
        return host.journal.read()
    except _checkpoint.CheckpointError:
        if damaged_ok:
            return {"checkpoint": None, "op": "unknown", "damaged": True}
        raise


def _recovered(module, host, result, record):
    """Recover a dead run's transaction into `result`; a recovery nginx does not accept is a failed task."""
    recovered = host.recover(record, module.params["reload_timeout"])
    result["recovered"] = recovered
    result["changed"] = result["changed"] or bool(recovered.get("paths"))
    if recovered.get("errors"):
        module.fail_json(
            msg="A dead run's transaction (%s) was recovered: its checkpoint is restored, but nginx reports: %s"
            % (describe(record), _nginx.describe_errors(recovered["errors"], "")), **result)
