# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: checkpoints of the nginx configuration tree, and their byte-identical restore.

A checkpoint holds every file, directory and symlink under the configuration directory, what its symlinks point
at (a linked directory is walked whole, a linked file kept), every file nginx loads from elsewhere (per
`nginx -T`) and every path the transaction will write wherever it is (recorded as absent when it does not exist
yet, so a rollback removes it). Contents are stored once per sha256 under `blobs/` and verified against that
sha256 before anything is restored; `manifest.json` is written last, so a checkpoint without one is incomplete
and ignored.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import time
import uuid

from ansible_collections.wsproxy.nginx.plugins.module_utils import _fs

MANIFEST = "manifest.json"


class CheckpointError(Exception):
    pass


def under(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _depth(path):
    return path.rstrip("/").count("/")


def _under_any(path, roots):
    return any(under(path, root) for root in roots)


def linked(conf_dir):
    """(directories, files) outside conf_dir that its symlinks point at: a write through `sites-available ->
    /srv/sites` lands there, so the checkpoint must hold those bytes. One level only (links inside a linked
    directory are kept as links), and never a directory holding conf_dir (that would take in /etc whole)."""
    directories, files = [], []
    for path in _fs.walk_tree(conf_dir):
        if not os.path.islink(path):
            continue
        real = os.path.realpath(path)
        if _under_any(real, [conf_dir] + directories) or under(conf_dir, real):
            continue
        if os.path.isdir(real):
            directories = [d for d in directories if not under(d, real)] + [real]
        elif os.path.isfile(real):
            files.append(real)
    return directories, sorted(set(files))


def resolved(path):
    """`path` with the symlinks of its directory resolved: where a write of it really lands."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


def _missing_from(path):
    """`path` and its missing parent directories (what creating it would add), topmost last."""
    missing = []
    while path != "/" and _fs.state_of(path) is None:
        missing.append(path)
        path = os.path.dirname(path)
    return missing


def snapshot(roots, extra_files=(), skip_tmp=False):
    """{path: state} of the trees under `roots` plus the given paths outside them (those that exist). Leftover
    temp files of a killed write are part of the current tree (so a restore removes them), never of a
    checkpoint (skip_tmp)."""
    states = {}
    for root in roots:
        for path in _fs.walk_tree(root):
            if skip_tmp and _fs.is_tmp_name(os.path.basename(path)):
                continue
            states[path] = _fs.state_of(path)
    for path in extra_files:
        if not _under_any(path, roots):
            state = _fs.state_of(path)
            if state is not None:
                states[path] = state
    return states


class Store(object):
    """Checkpoints under STATE_DIR/checkpoints, a private (0700, ours, no symlink) directory."""

    def __init__(self, state_dir):
        self.state_dir = os.path.abspath(state_dir)
        self.root = os.path.join(self.state_dir, "checkpoints")

    def ensure(self, conf_dir, loaded):
        """Create or check the store; it must never sit where nginx could load it."""
        for path in [conf_dir] + [os.path.dirname(p) for p in loaded]:
            if under(self.root, path):
                raise CheckpointError(
                    "state_dir=%r is inside %s, which nginx loads configuration from; choose a directory outside it"
                    % (self.state_dir, path)
                )
        _fs.private_dir(self.root, owned=2)

    def ids(self):
        """Complete checkpoint ids, oldest first."""
        if not os.path.isdir(self.root) or os.path.islink(self.root):
            return []
        return sorted(name for name in os.listdir(self.root) if os.path.isfile(os.path.join(self.root, name, MANIFEST)))

    def path(self, checkpoint_id):
        if not checkpoint_id or "/" in checkpoint_id or checkpoint_id.startswith("."):
            raise CheckpointError("id=%r is not a checkpoint id" % checkpoint_id)
        return os.path.join(self.root, checkpoint_id)

    def load(self, checkpoint_id=None):
        """The manifest of a checkpoint (default: the latest)."""
        if checkpoint_id is None:
            ids = self.ids()
            if not ids:
                raise CheckpointError("there is no checkpoint in %s" % self.root)
            checkpoint_id = ids[-1]
        manifest_path = os.path.join(self.path(checkpoint_id), MANIFEST)
        if not os.path.isfile(manifest_path):
            raise CheckpointError("id=%r: no such checkpoint in %s" % (checkpoint_id, self.root))
        try:
            with open(manifest_path) as handle:
                manifest = json.load(handle)
            if manifest.get("id") != checkpoint_id or not isinstance(manifest.get("entries"), list):
                raise ValueError("it does not describe checkpoint %s" % checkpoint_id)
        except ValueError as exc:
            raise CheckpointError(
                "%s is damaged (%s): checkpoint %s cannot be used and nothing was changed. Restore another checkpoint "
                "by id (nginx_checkpoint_info lists them), or delete this one with nginx_checkpoint state=absent id=%s"
                % (manifest_path, exc, checkpoint_id, checkpoint_id))
        return manifest

    def save(self, manifest):
        data = json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8")
        _fs.atomic_write(os.path.join(self.path(manifest["id"]), MANIFEST), data, mode=0o600)

    def find(self, checkpoint_id=None, label=None):
        """The manifest to restore: `checkpoint_id`; else the oldest checkpoint labelled `label` (the state before
        that run); else the oldest one sharing the latest checkpoint's label (the state before the last run)."""
        if checkpoint_id:
            return self.load(checkpoint_id)
        manifests = [self.load(cid) for cid in self.ids()]
        if not manifests:
            raise CheckpointError("there is no checkpoint in %s" % self.root)
        wanted = label or label_of(manifests[-1])
        runs = [manifest for manifest in manifests if label_of(manifest) == wanted]
        if not runs:
            raise CheckpointError("label=%r: no checkpoint carries this label in %s" % (label, self.root))
        return runs[0]

    def create(self, conf_path, loaded, label=None, paths=()):
        """Snapshot the tree now, with `paths` the transaction will write wherever they are; returns the manifest.
        Without a label the checkpoint is a run of its own."""
        conf_dir = os.path.dirname(conf_path)
        linked_dirs, linked_files = linked(conf_dir)
        roots = [conf_dir] + linked_dirs
        writes = [resolved(path) for path in paths]
        absent = sorted(set(missing for path in writes if not _under_any(path, roots) for missing in _missing_from(path)))
        # Names sort in creation order (latest, retention): microseconds, since fast runs take several a second.
        now = time.time()
        checkpoint_id = "%s.%06dZ-%s" % (time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)), int(now % 1 * 1000000),
                                         uuid.uuid4().hex[:6])
        directory = self.path(checkpoint_id)
        os.mkdir(directory, 0o700)
        blobs = os.path.join(directory, "blobs")
        os.mkdir(blobs, 0o700)
        entries = []
        try:
            for path, state in sorted(snapshot(roots, list(loaded) + linked_files + writes, skip_tmp=True).items()):
                if state["type"] == "file":
                    # Hash the very bytes that are kept, so a concurrent edit cannot split the two.
                    with open(path, "rb") as handle:
                        data = handle.read()
                    state["sha256"] = hashlib.sha256(data).hexdigest()
                    state["size"] = len(data)
                    blob = os.path.join(blobs, state["sha256"])
                    if not os.path.exists(blob):
                        _fs.atomic_write(blob, data, mode=0o600)
                entries.append(state)
            manifest = {
                "id": checkpoint_id,
                "label": label or checkpoint_id,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "conf_path": conf_path,
                "conf_dir": conf_dir,
                "roots": roots,
                "absent": absent,
                "entries": entries,
                "files": sum(1 for entry in entries if entry["type"] == "file"),
                "after": None,
            }
            self.save(manifest)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return manifest

    def delete(self, checkpoint_id):
        shutil.rmtree(self.path(checkpoint_id))

    def prune(self, keep, protect=()):
        """Delete the oldest checkpoints beyond `keep`; returns the deleted ids."""
        ids = self.ids()
        doomed = [cid for cid in ids[: max(len(ids) - keep, 0)] if cid not in protect]
        for cid in doomed:
            self.delete(cid)
        return doomed

    def blob(self, manifest, entry):
        """The kept bytes of a file entry, verified against its sha256: a damaged checkpoint is never applied."""
        path = os.path.join(self.path(manifest["id"]), "blobs", entry["sha256"])
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except (IOError, OSError) as exc:
            data, problem = None, "cannot be read: %s" % exc
        if data is not None and hashlib.sha256(data).hexdigest() == entry["sha256"]:
            return data
        problem = "no longer matches its sha256" if data is not None else problem
        raise CheckpointError(
            "checkpoint %s is damaged: the copy of %s (%s) %s; nothing was restored. Restore another checkpoint by id "
            "(nginx_checkpoint_info lists them)" % (manifest["id"], entry["path"], path, problem))


def label_of(manifest):
    """The run a checkpoint belongs to (checkpoints from before labels existed are runs of their own)."""
    return manifest.get("label") or manifest["id"]


def _scope(manifest):
    """(roots, paths outside them) a checkpoint looks at."""
    roots = manifest.get("roots") or [manifest["conf_dir"]]
    outside = [entry["path"] for entry in manifest["entries"] if not _under_any(entry["path"], roots)]
    return roots, outside + manifest.get("absent", [])


def current_states(manifest):
    """The tree as it is now, over the same paths a restore would look at."""
    return snapshot(*_scope(manifest))


def changes(wanted_entries, current):
    """Paths whose current state differs from the wanted one (missing, extra or different)."""
    wanted = dict((entry["path"], entry) for entry in wanted_entries)
    paths = set(wanted) | set(current)
    return sorted(path for path in paths if not _fs.same_state(wanted.get(path), current.get(path)))


def edited_since_last_commit(store):
    """Paths changed by someone after the collection's last applied change (the newest checkpoint whose change
    was applied records the tree as it left it). A tree exactly as the collection recorded it, before or after
    any of its changes (after a rollback, say), holds no edit; nor do later changes of the collection itself,
    so an older checkpoint can be restored over them. Each checkpoint is compared over its own paths."""
    manifests = [store.load(checkpoint_id) for checkpoint_id in reversed(store.ids())]
    scopes = [_scope(manifest) for manifest in manifests]
    everything = snapshot(sorted(set(root for roots, _o in scopes for root in roots)),
                          sorted(set(path for _r, outside in scopes for path in outside)))
    newest = None
    for manifest, (roots, outside) in zip(manifests, scopes):
        outside = set(outside)
        current = dict((path, state) for path, state in everything.items()
                       if path in outside or _under_any(path, roots))
        for recorded in (manifest.get("after"), manifest["entries"]):
            if recorded and not changes(recorded, current):
                return []
        if newest is None and manifest.get("after"):
            newest = (manifest, current)
    return changes(newest[0]["after"], newest[1]) if newest else []


def plan_restore(manifest, current):
    """(removals deepest first, writes parents first) that bring the tree back to the checkpoint."""
    wanted = dict((entry["path"], entry) for entry in manifest["entries"])
    removals = [
        path for path, state in current.items()
        if path not in wanted or state["type"] != wanted[path]["type"]
    ]
    writes = [
        entry for path, entry in wanted.items()
        if not _fs.same_state(entry, current.get(path))
    ]
    removals.sort(key=_depth, reverse=True)
    writes.sort(key=lambda entry: (_depth(entry["path"]), entry["path"]))
    return removals, writes


def restore(store, manifest, current):
    """Apply plan_restore; returns the changed paths. Every blob is read and verified before the first change."""
    removals, writes = plan_restore(manifest, current)
    contents = dict(
        (entry["path"], store.blob(manifest, entry)) for entry in writes
        if entry["type"] == "file" and (current.get(entry["path"]) or {}).get("sha256") != entry["sha256"]
    )
    for path in removals:
        if current[path]["type"] == "dir":
            shutil.rmtree(path)
            _fs.fsync_dir(os.path.dirname(path))
        else:
            _fs.remove(path)
    for entry in writes:
        path, mode = entry["path"], int(entry["mode"], 8)
        now = _fs.state_of(path)
        if entry["type"] == "dir":
            if now is None:
                os.mkdir(path, mode)
            os.chown(path, entry["uid"], entry["gid"])
            os.chmod(path, mode)
        elif entry["type"] == "link":
            _fs.atomic_symlink(path, entry["target"], entry["uid"], entry["gid"])
        elif entry["type"] == "file":
            if now is not None and now.get("sha256") == entry["sha256"]:
                os.chown(path, entry["uid"], entry["gid"])
                os.chmod(path, mode)
            else:
                _fs.atomic_write(path, contents[path], mode, entry["uid"], entry["gid"], in_tree=True)
    return sorted(set(removals) | set(entry["path"] for entry in writes))


def describe_paths(paths, limit=10):
    shown = ", ".join(paths[:limit])
    return shown + (" and %d more" % (len(paths) - limit) if len(paths) > limit else "")
