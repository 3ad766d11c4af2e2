# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: is a planned change already true on the host?

Decided from what the single read brought back (the contents nginx -T printed and the state of those files),
so a run that changes nothing skips the apply module, its lock and its round trip. Anything this cannot prove
(a path nginx does not load, a removal, a journal left by a killed run) answers "no" and the apply module,
which checks on the host itself, decides.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _content_source(path, files, states):
    """The dump entry holding `path`'s text: itself, or a loaded symlink pointing to it."""
    entry = states.get(path)
    if not entry or entry["type"] != "file":
        return None
    if path in files:
        return path
    for loaded, link in states.items():
        if loaded in files and link and link["type"] == "link" and link.get("resolved") == path:
            return loaded
    return None


def _item_in_place(item, config, states):
    entry = states.get(item["path"])
    state = item.get("state", "file")
    if state == "link":
        return bool(entry) and entry["type"] == "link" and entry["target"] == item["target"]
    if state != "file":
        return False
    source = _content_source(item["path"], config.files, states)
    if source is None or config.files.get(source) != item["content"]:
        return False
    return not item.get("mode") or int(entry["mode"], 8) == int(item["mode"], 8)


def in_place(items, config, recovery_pending):
    """True when every operation of `items` (nginx_files' `files`) would change nothing."""
    if recovery_pending:
        return False
    states = getattr(config, "file_states", None) or {}
    return all(_item_in_place(item, config, states) for item in items)
