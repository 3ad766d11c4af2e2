# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target-side file primitives: atomic writes and links, safe private directories, file states."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import grp
import hashlib
import os
import pwd
import stat
import uuid

from ansible_collections.wsproxy.nginx.plugins.module_utils import _hooks

# Temporary names start with a dot and end in .tmp: no nginx include glob (`*`, `*.conf`) loads them.
TMP_PREFIX = ".wsproxy-"
TMP_SUFFIX = ".tmp"


class Refused(Exception):
    """A path holds something the collection did not put there and will not replace or remove."""


class Stale(Refused):
    """A file changed between the controller's read and the write (another run, an edit): plan again."""


class UnsafeDirectory(Exception):
    """A private state directory is a symlink, foreign-owned or not a directory."""


def _tmp_path(path):
    return os.path.join(os.path.dirname(path), "%s%s%s" % (TMP_PREFIX, uuid.uuid4().hex, TMP_SUFFIX))


def is_tmp_name(name):
    return name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)


def fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path, data, mode=None, uid=None, gid=None, in_tree=False):
    """Replace `path` with `data` (bytes): temp file in the same directory, fsync, rename, fsync the directory.
    On any error the temp file is removed and `path` is untouched. `in_tree`: a write into the nginx
    configuration (where the tests' kill points apply), not into the collection's own state."""
    tmp = _tmp_path(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if in_tree:
                _hooks.reached("mid-write")
            os.fsync(fd)
        finally:
            os.close(fd)
        if uid is not None:
            os.chown(tmp, uid, gid)
        os.chmod(tmp, 0o644 if mode is None else mode)
        os.rename(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(path))
    if in_tree:
        _hooks.reached("after-rename")


def atomic_symlink(path, target, uid=None, gid=None):
    """Point the symlink `path` at `target`, replacing whatever is there in one rename."""
    tmp = _tmp_path(path)
    os.symlink(target, tmp)
    try:
        if uid is not None:
            os.lchown(tmp, uid, gid)
        os.rename(tmp, path)
    except BaseException:
        _remove_quietly(tmp)
        raise
    fsync_dir(os.path.dirname(path))


def _remove_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def remove(path):
    """Remove a file, a link or an empty directory, and make it durable."""
    if os.path.isdir(path) and not os.path.islink(path):
        os.rmdir(path)
    else:
        os.unlink(path)
    fsync_dir(os.path.dirname(path))


def private_dir(path, owned=1):
    """Create `path` (and missing parents) as a 0700 directory owned by us. Its last `owned` components must be
    ours: a symlink, a non-directory or a directory owned by someone else there is refused."""
    path = os.path.abspath(path)
    parts = path.strip("/").split("/")
    current = "/"
    for index, part in enumerate(parts):
        current = os.path.join(current, part)
        ours = index >= len(parts) - owned
        try:
            info = os.lstat(current)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise
            try:
                os.mkdir(current, 0o700 if ours else 0o755)
            except OSError as race:
                if race.errno != errno.EEXIST:  # a concurrent run made it first: check what it made
                    raise
            info = os.lstat(current)
        if not ours:
            continue  # the system's own directories (/var, /var/lib) are the administrator's business
        if stat.S_ISLNK(info.st_mode):
            raise UnsafeDirectory("%s is a symlink; refusing to keep checkpoints behind it" % current)
        if not stat.S_ISDIR(info.st_mode):
            raise UnsafeDirectory("%s is not a directory" % current)
        if info.st_uid != os.geteuid():
            raise UnsafeDirectory("%s is owned by uid %d, not by uid %d running this task" % (current, info.st_uid, os.geteuid()))
    os.chmod(path, 0o700)
    return path


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def state_of(path):
    """The manifest entry of one path (without following a symlink), or None when nothing is there."""
    try:
        info = os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    entry = {
        "path": path,
        "mode": "%04o" % stat.S_IMODE(info.st_mode),
        "uid": info.st_uid,
        "gid": info.st_gid,
        "owner": _name(pwd.getpwuid, info.st_uid),
        "group": _name(grp.getgrgid, info.st_gid),
    }
    if stat.S_ISLNK(info.st_mode):
        entry.update(type="link", target=os.readlink(path))
    elif stat.S_ISDIR(info.st_mode):
        entry["type"] = "dir"
    elif stat.S_ISREG(info.st_mode):
        entry.update(type="file", sha256=sha256_file(path), size=info.st_size)
    else:
        entry["type"] = "other"
    return entry


def same_state(left, right):
    """Equal for restore purposes: type, content, link target, mode, owner (names are informational)."""
    keys = ("type", "sha256", "target", "mode", "uid", "gid")
    if left is None or right is None:
        return left is right
    return all(left.get(key) == right.get(key) for key in keys)


def walk_tree(root):
    """Every directory, file and link under `root` (root included), links not followed."""
    paths = [root]
    for directory, dirs, files in os.walk(root):
        for name in sorted(dirs) + sorted(files):
            paths.append(os.path.join(directory, name))
        dirs.sort()
    return paths
