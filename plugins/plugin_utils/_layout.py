# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: what `nginx_info` reports, computed from an NginxConfig (see DESIGN.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os

from ansible_collections.wsproxy.nginx.plugins.plugin_utils._nginx_config import GcPaused, context_name

LAYOUT_SITES_ENABLED = "sites-enabled"
LAYOUT_CONF_D = "conf.d"
LAYOUT_NGINX_CONF = "nginx.conf"

UPGRADE_SOURCE = "$http_upgrade"
UPGRADE_VARIABLE = "$connection_upgrade"
# `map $http_upgrade $connection_upgrade { default upgrade; '' close; }`
STANDARD_ENTRIES = {"default": "upgrade", "": "close"}


def _directory_glob(pattern):
    """The directory of an include like `<dir>/*.conf` or `<dir>/*`, else None."""
    directory, name = os.path.split(pattern)
    if any(char in directory for char in "*?[") or not any(char in name for char in "*?["):
        return None
    return directory


def _is_conf_d_kind(pattern):
    # A directory glob that loads files named NAME.conf: conf.d, http.d, nginx.org's conf.d, ...
    return _directory_glob(pattern) is not None and fnmatch.fnmatchcase("site.conf", os.path.basename(pattern))


# The block websocket_proxy keeps inside http {} of nginx.conf in the nginx.conf layout.
BLOCK_BEGIN = "# BEGIN wsproxy.nginx managed block: do not edit"
BLOCK_END = "# END wsproxy.nginx managed block"


class DamagedBlock(Exception):
    pass


def block_span(text):
    """(first, last) 0-based line indexes of the collection's marker block in a file's text, or None."""
    lines = text.splitlines()
    begin = [i for i, line in enumerate(lines) if line.strip() == BLOCK_BEGIN]
    end = [i for i, line in enumerate(lines) if line.strip() == BLOCK_END]
    if not begin and not end:
        return None
    if len(begin) != 1 or len(end) != 1 or end[0] < begin[0]:
        raise DamagedBlock("the wsproxy.nginx marker block in nginx.conf is damaged; restore a checkpoint or fix it by hand")
    return begin[0], end[0]


def in_block(span, line):
    """Whether 1-based `line` lies inside the marker block `span`."""
    return span is not None and span[0] < line - 1 < span[1]


def detect_layout(includes, conf_path=None, span=None):
    """(layout, placement) from the http-level include directives nginx loads. The include in the collection's
    own nginx.conf block does not count: with it, the layout is still nginx.conf."""
    http_includes = [
        include for include in includes
        if include["context"] == "http" and not (include["file"] == conf_path and in_block(span, include["line"]))
    ]
    sites_enabled = None
    conf_d = None
    for include in http_includes:
        directory = _directory_glob(include["pattern"])
        if directory is None:
            continue
        if os.path.basename(directory) == "sites-enabled":
            sites_enabled = sites_enabled or directory
        elif _is_conf_d_kind(include["pattern"]):
            conf_d = conf_d or directory
    if sites_enabled:
        return LAYOUT_SITES_ENABLED, {
            "map_dir": conf_d,
            "site_dir": os.path.join(os.path.dirname(sites_enabled), "sites-available"),
            "enable_dir": sites_enabled,
        }
    if conf_d:
        return LAYOUT_CONF_D, {"map_dir": conf_d, "site_dir": conf_d, "enable_dir": None}
    return LAYOUT_NGINX_CONF, {"map_dir": None, "site_dir": None, "enable_dir": None}


def _map_entries(block):
    entries = {}
    for entry in block:
        entries[entry["directive"]] = " ".join(entry["args"]) if entry["args"] else None
    return entries


def is_standard_map(source, entries):
    return source.lower() == UPGRADE_SOURCE and entries == STANDARD_ENTRIES


def upgrade_maps(config):
    """Every map on $http_upgrade and every map that defines $connection_upgrade, in load order."""
    maps = []
    for directive, path, stack in config.find("map"):
        if len(directive["args"]) != 2:
            continue
        source, variable = directive["args"]
        if source.lower() != UPGRADE_SOURCE and variable.lower() != UPGRADE_VARIABLE:
            continue
        entries = _map_entries(directive.get("block", []))
        maps.append(
            {
                "file": path,
                "line": directive["line"],
                "source": source,
                "variable": variable,
                "entries": entries,
                "context": context_name(stack),
                "standard": is_standard_map(source, entries),
            }
        )
    return maps


def winning_map(maps, variable=UPGRADE_VARIABLE):
    """The map nginx uses for `variable`: with several in the http context, nginx silently takes the last."""
    defining = [item for item in maps if item["context"] == "http" and item["variable"].lower() == variable]
    if not defining:
        return None
    winner = dict(defining[-1])
    winner["shadowed"] = [{"file": item["file"], "line": item["line"]} for item in defining[:-1]]
    return winner


def servers(config):
    found = []
    for directive, path, stack in config.find("server", context="http"):
        block = config.children(directive)
        found.append(
            {
                "file": path,
                "line": directive["line"],
                "listen": [" ".join(item["args"]) for item in block if item["directive"] == "listen"],
                "server_name": [name for item in block if item["directive"] == "server_name" for name in item["args"]],
            }
        )
    return found


def http_block(config):
    blocks = config.find("http", context="main")
    if not blocks:
        return None
    directive, path, _stack = blocks[0]
    return {"file": path, "line": directive["line"]}


def describe(config):
    """The layout part of the nginx_info result."""
    with GcPaused():
        return _describe(config)


def _describe(config):
    span = block_span(config.files.get(config.conf_path, ""))
    layout, placement = detect_layout(config.includes, config.conf_path, span)
    maps = upgrade_maps(config)
    return {
        "layout": layout,
        "http": http_block(config),
        "includes": config.includes,
        "placement": placement,
        "upgrade_maps": maps,
        "connection_upgrade": winning_map(maps),
        "servers": servers(config),
    }
