# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: plan and apply a set of file, link and removal operations on the nginx configuration.

Planning only reads (check mode and diff fall out of it); applying writes atomically. An operation never
replaces what the collection did not write: a file without the managed marker, a plain file or a foreign link
where a link belongs, or a file that changed since the controller read it (`expect_sha256`) is refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import stat

from ansible_collections.wsproxy.nginx.plugins.module_utils import _fs


Refused = _fs.Refused


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _text(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary, sha256 %s)\n" % hashlib.sha256(data).hexdigest()


def _check_owned(item, current, data, marker):
    path = item["path"]
    if item.get("expect_sha256") and (data is None or hashlib.sha256(data).hexdigest() != item["expect_sha256"]):
        raise Refused("%s changed since it was read; nothing was changed, run again" % path)
    if data is not None and marker and not item.get("expect_sha256") and marker.encode("utf-8") not in data:
        raise Refused("%s exists and was not written by wsproxy.nginx (no %r line); refusing to replace it" % (path, marker))


def plan(items, marker=None):
    """[(item, action, before_text, after_text)] for the operations that change something."""
    steps = []
    removed = set()  # paths an earlier operation of this plan removes
    for item in items:
        path, state = item["path"], item["state"]
        current = _fs.state_of(path)
        if state == "file":
            if current is not None and current["type"] != "file":
                raise Refused("%s is a %s, not a file; refusing to replace it" % (path, current["type"]))
            data = _read(path) if current else None
            _check_owned(item, current, data, marker)
            wanted = item["content"].encode("utf-8")
            if data == wanted and current["mode"] == (item.get("mode") or current["mode"]):
                continue
            steps.append((item, "updated" if current else "created", _text(data) if data is not None else "", item["content"]))
        elif state == "link":
            if current is not None and current["type"] != "link":
                raise Refused("%s is a %s where the site's link belongs; refusing to replace it" % (path, current["type"]))
            if current is not None and current["target"] != item["target"]:
                raise Refused("%s links to %s, not to %s; refusing to replace a link the collection did not make"
                              % (path, current["target"], item["target"]))
            if current is None:
                steps.append((item, "linked", "", "-> %s\n" % item["target"]))
        elif state == "absent":
            if current is None:
                continue
            if current["type"] == "link":
                if item.get("target") and current["target"] != item["target"]:
                    raise Refused("%s links to %s, not to %s; refusing to remove it" % (path, current["target"], item["target"]))
                steps.append((item, "removed", "-> %s\n" % current["target"], ""))
            elif current["type"] == "file":
                data = _read(path)
                _check_owned(item, current, data, marker)
                steps.append((item, "removed", _text(data), ""))
            elif current["type"] == "dir" and all(os.path.join(path, name) in removed for name in os.listdir(path)):
                steps.append((item, "removed", "(empty directory)\n", ""))
            else:
                raise Refused("%s is a %s; refusing to remove it" % (path, current["type"]))
            if steps and steps[-1][0] is item:
                removed.add(path)
    return steps


def diff(steps):
    return [
        {"before": before, "after": after, "before_header": "%s (%s)" % (item["path"], action),
         "after_header": item["path"]}
        for item, action, before, after in steps
    ]


def apply(steps):
    for item, action, _before, _after in steps:
        path = item["path"]
        if action in ("created", "updated"):
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path), 0o755)
            # A replaced file keeps its owner and, unless a mode is given, its mode.
            info = os.lstat(path) if action == "updated" else None
            mode = int(item["mode"], 8) if item.get("mode") else (stat.S_IMODE(info.st_mode) if info else 0o644)
            uid, gid = (info.st_uid, info.st_gid) if info else (os.geteuid(), os.getegid())
            _fs.atomic_write(path, item["content"].encode("utf-8"), mode, uid, gid, in_tree=True)
        elif action == "linked":
            _fs.atomic_symlink(path, item["target"], os.geteuid(), os.getegid())
        elif action == "removed":
            _fs.remove(path)
