# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: what must be written, linked or removed on a host, decided from its layout and one read.

One plan covers every site of a run, the shared map(s) and the worker limits, so the host applies them in one
transaction (nginx_files: one checkpoint, one nginx -t, one confirmed reload). websocket_proxy plans one site
the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _nginx_config, _sites, _workers, _wsrender

MAP_NAME = "wsproxy-websocket-map"
STANDARD_VARIABLE = "connection_upgrade"
FALLBACK_VARIABLE = "wsproxy_connection_upgrade"
# Sites with upstream keepalive: a plain request must send an empty Connection header (not `close`), or nginx
# closes the kept connection; upgrades still send `upgrade`.
KEEPALIVE_VARIABLE = "wsproxy_connection_keepalive"
EMPTY_VALUE = {STANDARD_VARIABLE: "close", FALLBACK_VARIABLE: "close", KEEPALIVE_VARIABLE: ""}


class PlanError(Exception):
    pass


def file_name(name, conf):
    """The file of a site or of the map called `name`: NAME.conf in a directory nginx loads by a *.conf glob,
    NAME in sites-available and sites-enabled."""
    return name + ".conf" if conf else name


def reserved_site_name(name):
    """Whether a site called `name` could land on the collection's own map file (or its link): a site file and
    the map can share a directory (conf.d, sites-available), and either may be NAME or NAME.conf there."""
    own = set(file_name(MAP_NAME, conf) for conf in (True, False))
    return any(file_name(name, conf) in own for conf in (True, False))


class Paths(object):
    """Where this layout keeps a site, its link, the shared map (and its link), or the nginx.conf block."""

    def __init__(self, info):
        self.layout = info["layout"]
        self.placement = info["placement"]
        self.conf_path = info["conf_path"]
        placement = self.placement
        self.map_link = None
        self.site_dir = placement["site_dir"]
        if self.layout == _layout.LAYOUT_SITES_ENABLED:
            if placement["map_dir"]:
                self.map = os.path.join(placement["map_dir"], file_name(MAP_NAME, conf=True))
            else:
                self.map = os.path.join(placement["site_dir"], file_name(MAP_NAME, conf=False))
                self.map_link = os.path.join(placement["enable_dir"], file_name(MAP_NAME, conf=False))
        elif self.layout == _layout.LAYOUT_CONF_D:
            self.map = os.path.join(placement["map_dir"], file_name(MAP_NAME, conf=True))
        else:
            self.site_dir = os.path.join(os.path.dirname(self.conf_path), "wsproxy.d")
            self.map = self.conf_path  # inside the marker block

    def site(self, name):
        """(site file, its link or None)."""
        if self.layout == _layout.LAYOUT_SITES_ENABLED:
            return (os.path.join(self.site_dir, file_name(name, conf=False)),
                    os.path.join(self.placement["enable_dir"], file_name(name, conf=False)))
        return os.path.join(self.site_dir, file_name(name, conf=True)), None


def _ours(paths, item, block):
    """Whether a map (from nginx_info) is the collection's own."""
    if paths.layout == _layout.LAYOUT_NGINX_CONF:
        return item["file"] == paths.conf_path and _layout.in_block(block, item["line"])
    return item["file"] in (paths.map, paths.map_link)


def choose_variable(info, paths, block, warnings):
    """(variable, reuse): the upgrade variable the sites use, and whether an existing foreign map provides it."""
    foreign = [m for m in info["upgrade_maps"] if m["context"] == "http" and not _ours(paths, m, block)]
    owners = [m for m in foreign if m["variable"].lower() == "$" + STANDARD_VARIABLE]
    if not owners:
        return STANDARD_VARIABLE, False
    if all(m["standard"] for m in owners):
        return STANDARD_VARIABLE, True
    owner = owners[-1]
    warnings.append(
        "%s:%s defines $connection_upgrade differently from the standard map; it is left alone and the sites use "
        "$%s from the collection's own map" % (owner["file"], owner["line"], FALLBACK_VARIABLE))
    fallback = [m for m in foreign if m["variable"].lower() == "$" + FALLBACK_VARIABLE]
    return FALLBACK_VARIABLE, bool(fallback) and all(m["standard"] for m in fallback)


def _keepalive_reused(info, paths, block):
    """Whether a foreign map already defines the keepalive variable (it must then be the one the sites need)."""
    foreign = [m for m in info["upgrade_maps"] if m["context"] == "http" and not _ours(paths, m, block)
               and m["variable"].lower() == "$" + KEEPALIVE_VARIABLE]
    for item in foreign:
        if item["entries"] != {"default": "upgrade", "": ""}:
            raise PlanError("%s:%s defines $%s differently from what keepalive sites need "
                            "(default upgrade; '' '';); rename or remove it" % (item["file"], item["line"], KEEPALIVE_VARIABLE))
    return bool(foreign)


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


def _nginx_conf_with_block(config, info, maps, include, drop):
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
        text = _wsrender.render_block(indent, maps, include)
        block = [_wsrender.prove(text, _wsrender.block_tree(maps, include), "the nginx.conf block")]
    return original, "".join(before + block + after)


def _known(path, config):
    """Whether the read saw `path` (a loaded file, or the target of a loaded link)."""
    return path in config.files or path in (getattr(config, "file_states", None) or {})


def _removal(paths, name, config):
    """Operations that remove a site's file and link (only what the read saw: a missing path needs no work)."""
    site, link = paths.site(name)
    if link and _known(link, config):
        return [{"path": link, "state": "absent", "target": site}, {"path": site, "state": "absent"}]
    return [{"path": site, "state": "absent"}] if _known(site, config) else []


def _workers_plan(config, files, wanted):
    """Worker limits planned on the main file as this plan leaves it: one operation for nginx.conf in all."""
    main = [item for item in files if item["path"] == config.conf_path]
    if main:
        # The marker block changed nginx.conf: plan the limits on that text (one operation, one expected sha256).
        text = main[0]["content"]
        parsed = dict(config.parsed)
        parsed[config.conf_path] = _nginx_config.parse_files({config.conf_path: text})[config.conf_path]
        config = _nginx_config.NginxConfig(config.conf_path, dict(config.files, **{config.conf_path: text}), parsed)
    plan = _workers.plan(config, wanted)
    if plan["files"] and main:
        main[0]["content"] = plan["files"][0]["content"]
        plan["files"] = []
    return plan


def plan_host(sites, config, info, host, prune=False, workers=None):
    """One plan for every site of a run. `sites`: [{name, state, site (the validated model, None when absent)}];
    `host`: what the read found ({version, ipv6}); `prune`: remove the managed sites not in `sites`;
    `workers`: the wanted worker limits ({directive: value or None}), or None.
    Returns {files: [nginx_files operations], map, layout, warnings, sites: [{name, state}], pruned: [names],
    workers: {before, after}}."""
    paths = Paths(info)
    warnings = []
    block = _layout.block_span(config.files[info["conf_path"]]) if paths.layout == _layout.LAYOUT_NGINX_CONF else None
    variable, reused = choose_variable(info, paths, block, warnings)
    managed = _sites.managed_sites(config)
    managed_files = set(path for item in managed for path in item["files"])
    listed = set(item["name"] for item in sites)
    removed = [item["name"] for item in sites if item["state"] == "absent"]
    pruned = [item["name"] for item in managed if prune and item["name"] not in listed]
    present = [item for item in sites if item["state"] == "present"]
    keepalive_needed = any(item["site"].get("keepalive") for item in present)
    keepalive_reused = keepalive_needed and _keepalive_reused(info, paths, block)
    variables = {"upgrade": variable, "keepalive": KEEPALIVE_VARIABLE}

    files, trees, rewritten = [], {}, set()
    for item in present:
        site_path, link = paths.site(item["name"])
        tree = _wsrender.site_tree(item["site"], variables, host)
        text = _wsrender.prove(_wsrender.render_site(item["site"], variables, host), tree, "the site file of %s" % item["name"])
        trees[item["name"]] = tree
        files.append(_file(site_path, text))
        if link:
            files.append({"path": link, "state": "link", "target": site_path})
        rewritten.update((site_path, link))
    _sites.check_conflicts(trees, config, managed_files)
    for name in removed + pruned:
        files += _removal(paths, name, config)
        rewritten.update(paths.site(name))

    # A map stays while a site of this run uses its variable, or anything else loaded still does.
    ours = rewritten | set([paths.map, paths.map_link])
    if paths.layout == _layout.LAYOUT_NGINX_CONF:
        ours.discard(paths.map)  # nginx.conf itself: what the user wrote there counts

    def needed(name, used_by_run):
        return used_by_run or _variable_used_elsewhere(config, name, ours)

    maps = []
    if not reused and needed(variable, any(not item["site"].get("keepalive") for item in present)):
        maps.append((variable, EMPTY_VALUE[variable]))
    if not keepalive_reused and needed(KEEPALIVE_VARIABLE, keepalive_needed):
        maps.append((KEEPALIVE_VARIABLE, EMPTY_VALUE[KEEPALIVE_VARIABLE]))
    if paths.layout == _layout.LAYOUT_NGINX_CONF:
        gone = set(path for name in removed + pruned for path in paths.site(name))
        remaining = [path for path in config.files if os.path.dirname(path) == paths.site_dir and path not in gone]
        keep_block = bool(present or remaining or maps)
        if not keep_block and (block is not None or gone):
            files.append({"path": paths.site_dir, "state": "absent"})
        files += _block_files(paths, config, info, maps, drop=not keep_block)
    else:
        files += _map_files(paths, config, maps)
    worker_plan = None
    if workers and any(value is not None for value in workers.values()):
        worker_plan = _workers_plan(config, files, workers)
        files += worker_plan["files"]
        warnings += worker_plan["warnings"]
    return {
        "layout": paths.layout,
        "files": files,
        "map": {"path": paths.map, "variable": "$" + variable, "reused": reused},
        "warnings": warnings,
        "sites": [{"name": item["name"], "state": item["state"],
                   "files": sorted(path for path in paths.site(item["name"]) if path) if item["state"] == "present" else []}
                  for item in sites],
        "pruned": pruned,
        "managed_sites": managed,
        "workers": {"before": worker_plan["before"], "after": worker_plan["after"]} if worker_plan else None,
    }


def plan(site, name, state, config, info, host=None):
    """websocket_proxy's plan: one site, the map, nothing else."""
    host = host or {"version": info.get("version"), "ipv6": True}
    return plan_host([{"name": name, "state": state, "site": site}], config, info, host)


def _block_files(paths, config, info, maps, drop):
    include = os.path.join(paths.site_dir, "*.conf")
    original, updated = _nginx_conf_with_block(config, info, maps, include, drop)
    return [_file(paths.conf_path, updated, expect=original)] if updated != original else []


def _map_files(paths, config, maps):
    """Operations that make the collection's map file define `maps` [(variable, empty value)] (or, with none,
    disappear)."""
    if not maps:
        if not {paths.map, paths.map_link} & set(config.files):
            return []  # no map of ours is loaded: nothing to remove
        removals = [{"path": paths.map, "state": "absent"}]
        if paths.map_link:
            removals.insert(0, {"path": paths.map_link, "state": "absent", "target": paths.map})
        return removals
    text = _wsrender.prove(_wsrender.render_map(maps), _wsrender.map_tree(maps), "the map file")
    files = [_file(paths.map, text)]
    if paths.map_link:
        files.append({"path": paths.map_link, "state": "link", "target": paths.map})
    return files
