# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: the sites the collection manages on a host, and server names another block already serves.

A site the collection placed is known by the first line of its file (`# Managed by wsproxy.nginx (websocket_proxy
NAME)`), read from the files nginx loads. A name conflict is decided the way nginx decides which server answers:
per listen address and port, by the keys nginx hashes server names under (exact, `*.domain`, `domain.*`;
`.domain` is both `domain` and `*.domain`). Two blocks with the same key on one address: nginx keeps the first,
prints "conflicting server name ... ignored" and the other never answers for it. Regex names never win over an
exact or wildcard name, so they cannot take a name the collection renders (it renders no regex).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_HEADER_RE = re.compile(r"^# Managed by wsproxy\.nginx \(websocket_proxy (?P<name>[a-z0-9][a-z0-9._-]{0,63})\)")
_LISTEN_RE = re.compile(r"^(?:(?P<addr>\[[^\]]*\]|[^:\[\]]+):)?(?P<port>\d+)$|^(?P<only_addr>\[[^\]]*\]|[^:\[\]]+)$")
_WILDCARD_V4 = ("4", "*")
_WILDCARD_V6 = ("6", "[::]")


class Conflict(Exception):
    """A server name the site would share with another server block; the message names both."""


def managed_sites(config):
    """[{name, files}] of the sites the collection placed, from the files nginx loads (links with their targets)."""
    states = getattr(config, "file_states", None) or {}
    sites = {}
    for path, text in config.files.items():
        match = _HEADER_RE.match(text)
        if not match:
            continue
        files = sites.setdefault(match.group("name"), [])
        entry = states.get(path) or {}
        for owned in (entry.get("resolved"), path):
            if owned and owned not in files:
                files.append(owned)
    return [{"name": name, "files": sorted(files)} for name, files in sorted(sites.items())]


def _address(listen_args):
    """(family, address, port) a `listen` binds, or None for a unix socket."""
    first = listen_args[0] if listen_args else "80"
    if first.startswith("unix:"):
        return None
    match = _LISTEN_RE.match(first)
    if not match:
        return None
    if match.group("only_addr") is not None:
        addr, port = match.group("only_addr"), "80"
    else:
        addr, port = match.group("addr") or "*", match.group("port")
    if addr.startswith("["):
        return ("6", "[::]" if addr in ("[::]", "[::0]") else addr.lower(), int(port))
    return ("4", "*" if addr in ("*", "0.0.0.0") else addr.lower(), int(port))


def _overlap(one, other):
    """Whether two listen addresses receive some of the same connections."""
    if one is None or other is None or one[0] != other[0] or one[2] != other[2]:
        return False
    return one[1] == other[1] or (one[0], one[1]) in (_WILDCARD_V4, _WILDCARD_V6) or \
        (other[0], other[1]) in (_WILDCARD_V4, _WILDCARD_V6)


def _keys(name):
    """The keys nginx hashes a server name under (None for a regex name: it never beats ours)."""
    name = name.lower()
    if name.startswith("~"):
        return set()
    if name.startswith("*."):
        return {("head", name[2:])}
    if name.startswith("."):
        return {("exact", name[1:]), ("head", name[1:])}
    if name.endswith(".*"):
        return {("tail", name[:-2])}
    return {("exact", name)}


def _servers(tree_or_config, file_of=None):
    """[(file, line, [addresses], [names])] of the server blocks of a config (http level) or of a directive tree."""
    found = []
    if file_of is None:
        for directive, path, _stack in tree_or_config.find("server", context="http"):
            block = tree_or_config.children(directive)
            found.append((path, directive["line"], block))
    else:
        found = [(file_of, None, node["block"]) for node in tree_or_config if node["directive"] == "server"]
    servers = []
    for path, line, block in found:
        listens = [item["args"] for item in block if item["directive"] == "listen"] or [["80"]]
        names = [name for item in block if item["directive"] == "server_name" for name in item["args"]]
        servers.append((path, line, [_address(args) for args in listens], names or [""]))
    return servers


def _clash(ours, theirs):
    """(name, address) the two server lists share, or None."""
    for address in ours[2]:
        for other in theirs[2]:
            if not _overlap(address, other):
                continue
            for name in ours[3]:
                for their_name in theirs[3]:
                    if _keys(name) & _keys(their_name):
                        return name, address
    return None


def _where(address):
    return "%s:%d" % ("0.0.0.0" if address[1] == "*" else address[1], address[2])


def check_conflicts(trees, config, managed_files):
    """Raise Conflict when a site of `trees` ({site name: its directive tree}) would share a server name on an
    overlapping listen with a server block the collection does not manage, or with another site of the run."""
    foreign = [server for server in _servers(config) if server[0] not in managed_files]
    planned = [(name, server) for name, tree in sorted(trees.items()) for server in _servers(tree, name)]
    for index, (site, server) in enumerate(planned):
        for other in foreign:
            clash = _clash(server, other)
            if clash:
                raise Conflict(
                    "site %s: server_name %s on %s is already served by the server block at %s:%d, which "
                    "wsproxy.nginx does not manage (nginx would keep that one and ignore this site's); remove or "
                    "rename it there, or choose another server_name" % (site, clash[0], _where(clash[1]), other[0], other[1]))
        for other_site, other in planned[index + 1:]:
            clash = _clash(server, other) if other_site != site else None
            if clash:
                raise Conflict("sites %s and %s both serve server_name %s on %s; give each its own server_name"
                               % (site, other_site, clash[0], _where(clash[1])))
