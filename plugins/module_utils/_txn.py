# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: the host lock, the journal of an open transaction, and recovery from a killed run.

A transaction opens when a checkpoint is taken (or a restore starts) and closes when the change is applied or
rolled back. While it is open, `STATE_DIR/journal.json` names its checkpoint. A run that dies in between (lost
SSH connection, SIGKILL, reboot) leaves the journal behind; the next run of any changing module of the
collection restores that checkpoint first, tests, reloads, and reports it under `recovered`.
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


_LABEL_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def check_label(module):
    """Fail naming the option unless `label` is a safe checkpoint label (or unset)."""
    label = module.params.get("label")
    if label is not None and not _LABEL_RE.match(label):
        module.fail_json(msg="label=%r: expected 1 to 64 letters, digits, '.', '_', ':' or '-'" % label)


def io_failure(exc, journal):
    """The msg for an I/O error (full disk, read-only file system) in the middle of a change."""
    record = journal.read()
    tail = ""
    if record and record.get("checkpoint"):
        tail = " The transaction stays open: the next run of the collection restores checkpoint %s." % record["checkpoint"]
    return "Cannot change the host: %s.%s" % (exc, tail)


class HostLock(object):
    """An exclusive fcntl lock on STATE_DIR/lock: one collection run at a time on a host."""

    def __init__(self, state_dir, timeout):
        self.path = os.path.join(state_dir, "lock")
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        deadline = time.time() + self.timeout
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
    def __init__(self, state_dir):
        self.path = os.path.join(state_dir, "journal.json")

    def read(self):
        try:
            with open(self.path) as handle:
                return json.load(handle)
        except (IOError, OSError) as exc:
            if exc.errno == errno.ENOENT:
                return None
            raise
        except ValueError:
            # A journal cut short by a crash while it was being written: the transaction never began writing.
            return {"checkpoint": None, "op": "unknown"}

    def begin(self, checkpoint_id, op, conf_path):
        record = {"checkpoint": checkpoint_id, "op": op, "conf_path": conf_path, "pid": os.getpid(),
                  "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        _fs.atomic_write(self.path, json.dumps(record).encode("utf-8"), mode=0o600)
        return record

    def end(self):
        try:
            _fs.remove(self.path)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise


class Host(object):
    """What a changing module works with: nginx, the checkpoint store, the journal."""

    def __init__(self, module, nginx):
        self.module = module
        self.nginx = nginx
        self.store = _checkpoint.Store(module.params["state_dir"])
        self.journal = Journal(self.store.state_dir)

    def lock(self):
        conf_dir = os.path.dirname(self.nginx.conf_path)
        if _checkpoint.under(self.store.state_dir, conf_dir):
            raise _checkpoint.CheckpointError(
                "state_dir=%r is inside %s, which nginx loads configuration from; choose a directory outside it"
                % (self.store.state_dir, conf_dir)
            )
        if self.module.check_mode and not os.path.isdir(self.store.state_dir):
            return _NoLock()  # check mode creates nothing, not even the state directory
        _fs.private_dir(self.store.state_dir)
        return HostLock(self.store.state_dir, self.module.params["lock_timeout"])

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

    def recover(self, reload_timeout, keep_open=None):
        """Restore the checkpoint of a journal left by a killed run. `keep_open` names the checkpoint of the
        transaction the caller is continuing (not stale). Returns the recovery report or None."""
        record = self.journal.read()
        if record is None or (keep_open and record.get("checkpoint") == keep_open):
            return None
        report = {"journal": record}
        if record.get("checkpoint"):
            manifest = self.store.load(record["checkpoint"])
            report.update(self.restore(manifest, reload_timeout, always=True))
        self.journal.end()
        return report

    def begin(self, keep, op="change", label=None):
        """Take a checkpoint of the current, valid configuration and open a transaction on it."""
        ok, dump_text, errors = self.nginx.dump()
        if not ok:
            self.module.fail_json(
                msg="The current nginx configuration fails 'nginx -t'; nothing was changed: %s"
                % _nginx.describe_errors(errors, ""), errors=errors)
        loaded = _nginx.loaded_files(dump_text)
        self.store.ensure(os.path.dirname(self.nginx.conf_path), loaded)
        manifest = self.store.create(self.nginx.conf_path, loaded, label)
        if op:
            self.journal.begin(manifest["id"], op, self.nginx.conf_path)
        _hooks.reached("after-checkpoint")
        pruned = self.store.prune(keep, protect=[manifest["id"]])
        return manifest, pruned

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
        result.update(rolled_back=True, rollback=report, changed=True)
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


def run_locked(module, result, work, recover=True, keep_open=None):
    """The frame of every changing module: lock the host, recover a killed run's transaction, do `work(host,
    result)`, and turn refusals and I/O errors into a clear failure. Exits the module."""
    host = Host(module, _control.Nginx(module, module.params["binary"], module.params["conf_path"]))
    try:
        with host.lock():
            if recover and not module.check_mode:
                recovered = host.recover(module.params["reload_timeout"], keep_open=keep_open)
                if recovered:
                    result["recovered"] = recovered
                    result["changed"] = result["changed"] or bool(recovered.get("paths"))
            result = work(host, result)
    except _fs.Refused as exc:
        module.fail_json(msg="Refused: %s" % exc, **result)
    except (_checkpoint.CheckpointError, _fs.UnsafeDirectory, LockTimeout) as exc:
        module.fail_json(msg=str(exc), **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg=io_failure(exc, host.journal), **result)
    module.exit_json(**result)
