# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: what websocket_proxy must write, link or remove on a host, decided from its layout.

The result is a list of wsproxy.nginx.nginx_files operations; the host applies them in one transaction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _wsrender

MAP_NAME = "wsproxy-websocket-map"
STANDARD_VARIABLE = "connection_upgrade"
FALLBACK_VARIABLE = "wsproxy_connection_upgrade"


class PlanError(Exception):
    pass


class Paths(object):
    """Where this layout keeps a site, its link, the shared map (and its link), or the nginx.conf block."""

    def __init__(self, info, name):
        self.layout = info["layout"]
        placement = info["placement"]
        self.conf_path = info["conf_path"]
        conf_dir = os.path.dirname(self.conf_path)
        self.map_link = None
        self.site_link = None
        if self.layout == _layout.LAYOUT_SITES_ENABLED:
            self.site = os.path.join(placement["site_dir"], name)
            self.site_link = os.path.join(placement["enable_dir"], name)
            if placement["map_dir"]:
                self.map = os.path.join(placement["map_dir"], MAP_NAME + ".conf")
            else:
                self.map = os.path.join(placement["site_dir"], MAP_NAME)
                self.map_link = os.path.join(placement["enable_dir"], MAP_NAME)
        elif self.layout == _layout.LAYOUT_CONF_D:
            self.site = os.path.join(placement["site_dir"], name + ".conf")
            self.map = os.path.join(placement["map_dir"], MAP_NAME + ".conf")
        else:
            self.site_dir = os.path.join(conf_dir, "wsproxy.d")
            self.site = os.path.join(self.site_dir, name + ".conf")
            self.map = self.conf_path  # inside the marker block


def _ours(paths, item, block):
    """Whether a map (from nginx_info) is the collection's own."""
    if paths.layout == _layout.LAYOUT_NGINX_CONF:
        return item["file"] == paths.conf_path and _layout.in_block(block, item["line"])
    return item["file"] in (paths.map, paths.map_link)


def choose_variable(info, paths, block, warnings):
    """(variable, reuse): the upgrade variable the site uses, and whether an existing foreign map provides it."""
    foreign = [m for m in info["upgrade_maps"] if m["context"] == "http" and not _ours(paths, m, block)]
    owners = [m for m in foreign if m["variable"].lower() == "$" + STANDARD_VARIABLE]
    if not owners:
        return STANDARD_VARIABLE, False
    if all(m["standard"] for m in owners):
        return STANDARD_VARIABLE, True
    owner = owners[-1]
    warnings.append(
        "%s:%s defines $connection_upgrade differently from the standard map; it is left alone and this site uses "
        "$%s from its own map" % (owner["file"], owner["line"], FALLBACK_VARIABLE))
    fallback = [m for m in foreign if m["variable"].lower() == "$" + FALLBACK_VARIABLE]
    return FALLBACK_VARIABLE, bool(fallback) and all(m["standard"] for m in fallback)


def _variable_used_elsewhere(config, variable, excluded_files):
    needle = "$" + variable
    for directive, path, _stack in config.entries:
        if path in excluded_files or directive["directive"] == "map":
            continue
        if any(needle in arg for arg in directive["args"]):
            return True
    return False


def _file(path, content, expect=None):
    item = {"path": path, "state": "file", "content": content}
    if expect is not None:
        item["expect_sha256"] = hashlib.sha256(expect.encode("utf-8")).hexdigest()
    return item


def _nginx_conf_with_block(config, info, variable, include, drop):
    """(original, updated) nginx.conf: the marker block rendered in place, inserted after `http {`, or (drop)
    removed. Everything else stays byte for byte."""
    original = config.files[info["conf_path"]]
    lines = original.splitlines(True)
    span = _layout.block_span(original)
    if span is None and drop:
        return original, original
    if span is not None:
        at, before, after = span[0], lines[:span[0]], lines[span[1] + 1:]
        indent = lines[at][:len(lines[at]) - len(lines[at].lstrip())]
    else:
        http = info["http"]
        if not http or http["file"] != info["conf_path"]:
            raise PlanError("the http block is not in %s; cannot place the marker block" % info["conf_path"])
        line = lines[http["line"] - 1]
        if not line.split("#", 1)[0].rstrip().endswith("{"):
            raise PlanError("%s:%d: write 'http {' on a line of its own so the marker block can go inside it"
                            % (info["conf_path"], http["line"]))
        before, after = lines[:http["line"]], lines[http["line"]:]
        indent = line[:len(line) - len(line.lstrip())] + "    "
    block = []
    if not drop:
        text = _wsrender.render_block(indent, variable, include)
        block = [_wsrender.prove(text, _wsrender.block_tree(variable, include), "the nginx.conf block")]
    return original, "".join(before + block + after)


def plan(site, name, state, config, info):
    """{files: [nginx_files operations], map: {...}, layout, warnings} for one site."""
    paths = Paths(info, name)
    warnings = []
    block = None
    if paths.layout == _layout.LAYOUT_NGINX_CONF:
        block = _layout.block_span(config.files[info["conf_path"]])
    variable, reused = choose_variable(info, paths, block, warnings)
    files = []
    if state == "present":
        variables, host = {"upgrade": variable, "keepalive": variable}, {"version": info.get("version"), "ipv6": True}
        text = _wsrender.render_site(site, variables, host)
        files.append(_file(paths.site, _wsrender.prove(text, _wsrender.site_tree(site, variables, host), "the site file")))
        if paths.site_link:
            files.append({"path": paths.site_link, "state": "link", "target": paths.site})
        map_variable = None if reused else variable
        files += _map_files(paths, config, info, map_variable)
    else:
        files.append({"path": paths.site, "state": "absent"})
        if paths.site_link:
            files.insert(0, {"path": paths.site_link, "state": "absent", "target": paths.site})
        ours = [paths.site, paths.site_link, paths.map, paths.map_link]
        if paths.layout == _layout.LAYOUT_NGINX_CONF:
            others = [p for p in config.files if os.path.dirname(p) == paths.site_dir and p != paths.site]
            if others or _variable_used_elsewhere(config, variable, [paths.site]):
                files += _map_files(paths, config, info, None if reused else variable)
            else:
                files.append({"path": paths.site_dir, "state": "absent"})
                files += _map_files(paths, config, info, None, drop_block=True)
        elif reused or not _variable_used_elsewhere(config, variable, ours):
            files += _map_files(paths, config, info, None)
    return {
        "layout": paths.layout,
        "files": files,
        "map": {"path": paths.map, "variable": "$" + variable, "reused": reused},
        "warnings": warnings,
    }


def _map_files(paths, config, info, variable, drop_block=False):
    """Operations that make our map define `variable` (or, with None, disappear)."""
    if paths.layout == _layout.LAYOUT_NGINX_CONF:
        include = os.path.join(paths.site_dir, "*.conf")
        original, updated = _nginx_conf_with_block(config, info, variable, include, drop_block)
        return [_file(paths.conf_path, updated, expect=original)] if updated != original else []
    if variable is None:
        if not {paths.map, paths.map_link} & set(config.files):
            return []  # no map of ours is loaded: nothing to remove
        removals = [{"path": paths.map, "state": "absent"}]
        if paths.map_link:
            removals.insert(0, {"path": paths.map_link, "state": "absent", "target": paths.map})
        return removals
    text = _wsrender.prove(_wsrender.render_map(variable), _wsrender.map_tree(variable), "the map file")
    files = [_file(paths.map, text)]
    if paths.map_link:
        files.append({"path": paths.map_link, "state": "link", "target": paths.map})
    return files
