# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: lint every proxying location of the live config for WebSocket proxy mistakes.

The troubleshooting table of the reference guide, as checks over the effective configuration: nginx's
inheritance rules are applied (a `proxy_set_header` at one level replaces every one inherited from above;
other proxy directives are taken from the nearest level that sets them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _nginx_config

_WS_PATH = re.compile(r"(^|/)(ws|wss|websocket|websockets|socket|sockets|socket\.io)(/|$)", re.IGNORECASE)
ERROR, WARNING, INFO = "error", "warning", "info"
# A hash key that changes from one request of a client to the next (the polling cache buster `t` is in the URI).
_PER_REQUEST_KEY = re.compile(r"\$(request_uri|args|query_string|arg_t|arg_sid|request_id|msec)\b", re.IGNORECASE)
_UPSTREAM_NAME = re.compile(r"^[a-z]+://([^/:$]+)(/.*)?$", re.IGNORECASE)


def _version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", version or "0")[:3])


class _Location(object):
    """One location with what it inherits from its server and http blocks."""

    def __init__(self, config, directive, path, stack):
        self.config = config
        self.directive = directive
        self.file = path
        self.stack = stack  # enclosing blocks, outermost first
        # The blocks whose directives this location inherits, outermost first, the location itself last. Each
        # level is looked up by directive name (the http level can hold thousands of server blocks).
        self.blocks = [block for block in stack if block["directive"] in ("http", "server", "location")]
        self.blocks.append(directive)
        self.server = next((block for block in reversed(stack) if block["directive"] == "server"), None)

    def in_server(self, name):
        """The `name` directives directly inside the enclosing server block, in order."""
        return self.config.children_named(self.server, name) if self.server else []

    @property
    def depth(self):
        """The number of levels; the location's own is the last."""
        return len(self.blocks)

    def level(self, index, name):
        """The `name` directives of level `index`, in order."""
        return self.config.children_named(self.blocks[index], name)

    def level_headers(self, index):
        """The proxy_set_header directives of level `index` that name a header and a value."""
        return [d for d in self.level(index, "proxy_set_header") if len(d["args"]) >= 2]

    def own(self, name):
        return self.level(-1, name)

    def nearest(self, name):
        """The directive from the nearest level that sets it (nginx's inheritance), or None."""
        for index in range(len(self.blocks) - 1, -1, -1):
            found = self.level(index, name)
            if found:
                return found[-1]
        return None

    def headers(self):
        """{lower-cased header: value} of the proxy_set_header level that applies, and that level's index."""
        for index in range(len(self.blocks) - 1, -1, -1):
            found = self.level_headers(index)
            if found:
                return dict((d["args"][0].lower(), d["args"][1]) for d in found), index
        return {}, None

    @property
    def modifier(self):
        args = self.directive["args"]
        return args[0] if len(args) > 1 else ""

    @property
    def path(self):
        return self.directive["args"][-1]


def _finding(finding_id, severity, message, fix):
    return {"id": finding_id, "severity": severity, "message": message, "fix": fix}


def _is_websocket(location, headers):
    connection = headers.get("connection", "")
    return "upgrade" in headers or "upgrade" in connection.lower() or bool(_WS_PATH.search(location.path))


def _upstream_uri(proxy_pass):
    match = re.match(r"^[a-z]+://[^/]+(/.*)?$", proxy_pass)
    return match.group(1) if match else None


def _sticky_method(config, upstream):
    """The directive that keeps one client on one server (ip_hash, hash on a per-client key, nginx plus's sticky)."""
    found = config.children_named(upstream, "ip_hash") + config.children_named(upstream, "sticky")
    found += [d for d in config.children_named(upstream, "hash") if d["args"] and not _PER_REQUEST_KEY.search(d["args"][0])]
    return found[0] if found else None


def _socketio_not_sticky(location, upstreams):
    """socketio_not_sticky: a Socket.IO location balanced over several servers without a sticky method."""
    match = _UPSTREAM_NAME.match(location.own("proxy_pass")[0]["args"][0])
    found = upstreams.get(match.group(1)) if match else None
    if found is None:
        return None
    upstream, upstream_file = found
    servers = [d for d in location.config.children_named(upstream, "server") if "backup" not in d["args"][1:]]
    if len(servers) < 2 or _sticky_method(location.config, upstream) is not None:
        return None
    return _finding(
        "socketio_not_sticky", ERROR,
        "upstream %s (%s:%s) balances this Socket.IO location over %d servers without a sticky method: a browser's "
        "polling requests of one session reach different backends, which answer 400 \"Invalid session\""
        % (match.group(1), upstream_file, upstream["line"], len(servers)),
        "add ip_hash; (or hash $remote_addr consistent;) to upstream %s" % match.group(1))


def _checks(location, headers, level, info, maps_by_variable, version, upstreams=None):
    findings = []
    connection = headers.get("connection")
    http_version = location.nearest("proxy_http_version")
    if not http_version or http_version["args"][0] != "1.1":
        newer = version >= (1, 29, 7)
        findings.append(_finding(
            "missing_http_version", INFO if newer else ERROR,
            "no proxy_http_version 1.1: nginx before 1.29.7 cannot tunnel the upgrade over HTTP/1.0",
            "add proxy_http_version 1.1; to the location"))
    if "upgrade" not in headers:
        findings.append(_finding("missing_upgrade_header", ERROR, "the Upgrade header is not passed to the backend",
                                 "add proxy_set_header Upgrade $http_upgrade;"))
    if connection is None:
        findings.append(_finding("missing_connection_header", ERROR, "the Connection header is not passed to the backend",
                                 "add proxy_set_header Connection $connection_upgrade; (with the map in the http context)"))
    elif connection.startswith("$"):
        variable = connection.lower()
        if variable not in ("$http_connection",) and variable not in maps_by_variable:
            findings.append(_finding("undefined_upgrade_map", ERROR,
                                     "%s is used but no map in the http context defines it" % connection,
                                     "add map $http_upgrade %s { default upgrade; '' close; } in the http context" % connection))
    elif connection.lower() == "upgrade" and location.modifier not in ("=",) and not _WS_PATH.search(location.path):
        findings.append(_finding("hardcoded_connection_upgrade", WARNING,
                                 "Connection \"upgrade\" is hard-coded on a location that also serves plain HTTP",
                                 "use proxy_set_header Connection $connection_upgrade; with the standard map"))
    if level == location.depth - 1:
        inherited = {}
        for upper in range(location.depth - 1):
            found = location.level_headers(upper)
            if found:
                inherited = dict((d["args"][0].lower(), d["args"][1]) for d in found)
        dropped = sorted(name for name in inherited if name not in headers)
        if dropped:
            severe = {"upgrade", "connection"} & set(dropped)
            findings.append(_finding(
                "dropped_inherited_headers", ERROR if severe else WARNING,
                "this location's proxy_set_header drops every one inherited from above: %s" % ", ".join(dropped),
                "repeat the inherited proxy_set_header lines in this location"))
    read_timeout = location.nearest("proxy_read_timeout")
    if read_timeout is None or read_timeout["args"][0] in ("60", "60s", "1m"):
        findings.append(_finding("default_read_timeout", WARNING,
                                 "proxy_read_timeout is nginx's 60 s default: idle WebSocket connections drop after a minute",
                                 "set proxy_read_timeout (for example 300s) and keep application heartbeats"))
    buffering = location.nearest("proxy_buffering")
    if "socket.io" in location.path.lower() and (buffering is None or buffering["args"][0] != "off"):
        findings.append(_finding("socketio_buffering", WARNING, "proxy_buffering is on for a Socket.IO location",
                                 "add proxy_buffering off;"))
    if "socket.io" in location.path.lower():
        not_sticky = _socketio_not_sticky(location, upstreams or {})
        if not_sticky:
            findings.append(not_sticky)
    xff = headers.get("x-forwarded-for")
    if xff and xff.lower() == "$http_x_forwarded_for":
        findings.append(_finding("xff_from_client", WARNING,
                                 "X-Forwarded-For is copied from the client's own header, which any client can forge",
                                 "use $proxy_add_x_forwarded_for and trust it only from known proxies"))
    proxy_pass = location.own("proxy_pass")[0]["args"][0]
    uri = _upstream_uri(proxy_pass)
    if uri is not None and location.modifier in ("", "^~") and uri.endswith("/") != location.path.endswith("/"):
        findings.append(_finding("proxy_pass_rewrites_uri", WARNING,
                                 "proxy_pass %s replaces the matched prefix %s: the backend gets a different path"
                                 % (proxy_pass, location.path),
                                 "drop the URI from proxy_pass, or make the location and the URI end alike on purpose"))
    return findings


def _regex_locations(server_locations):
    """(location, compiled pattern) of the regex locations among a server's locations, in order."""
    regexes = []
    for other in server_locations:
        if other.modifier not in ("~", "~*"):
            continue
        try:
            pattern = re.compile(other.path, re.IGNORECASE if other.modifier == "~*" else 0)
        except re.error:
            continue
        regexes.append((other, pattern))
    return regexes


def _regex_shadows(location, regexes):
    """Regex locations of the same server (from _regex_locations) that take requests from this prefix location."""
    if location.modifier != "":
        return []
    probes = [location.path, location.path.rstrip("/") + "/x", location.path + "x.js"]
    return [other for other, pattern in regexes if any(pattern.search(probe) for probe in probes)]


def lint(config, version):
    """{locations: [...], findings_total} for every location that proxies."""
    with _nginx_config.GcPaused():
        return _lint(config, version)


def _lint(config, version):
    description = _layout.describe(config)
    maps_by_variable = {}
    for item in description["upgrade_maps"]:
        if item["context"] == "http":
            maps_by_variable.setdefault(item["variable"].lower(), []).append(item)
    for directive, _path, stack in config.find("map", context="http"):
        if len(directive["args"]) == 2:
            maps_by_variable.setdefault(directive["args"][1].lower(), [])
    locations = [_Location(config, directive, path, stack) for directive, path, stack in config.find("location")]
    upstreams = dict((directive["args"][0], (directive, path)) for directive, path, _stack
                     in config.find("upstream", context="http") if directive["args"])
    by_server = {}
    for location in locations:
        by_server.setdefault(id(location.server), []).append(location)
    regexes_by_server = {}
    version_tuple = _version_tuple(version)
    results = []
    for location in locations:
        if not location.own("proxy_pass"):
            continue
        headers, level = location.headers()
        websocket = _is_websocket(location, headers)
        findings = _checks(location, headers, level, description, maps_by_variable, version_tuple,
                           upstreams) if websocket else []
        if websocket:
            key = id(location.server)
            if key not in regexes_by_server:
                regexes_by_server[key] = _regex_locations(by_server.get(key, []))
            for other in _regex_shadows(location, regexes_by_server[key]):
                where = "%s:%s" % (other.file, other.directive["line"])
                findings.append(_finding(
                    "regex_shadows_prefix", WARNING,
                    "regex location %s at %s takes requests for %s first" % (other.path, where, location.path),
                    "mark the WebSocket location: location ^~ %s" % location.path))
        server_names = [a for d in location.in_server("server_name") for a in d["args"]]
        listens = [" ".join(d["args"]) for d in location.in_server("listen")]
        results.append({
            "server_name": server_names, "listen": listens, "path": " ".join(location.directive["args"]),
            "file": location.file, "line": location.directive["line"], "upstream": location.own("proxy_pass")[0]["args"][0],
            "websocket": websocket, "findings": findings, "_headers": headers, "_tls": any("ssl" in l.split() for l in listens),
        })
    _https_twins(results)
    for item in results:
        item.pop("_headers")
        item.pop("_tls")
    for item in description["upgrade_maps"]:
        if item["context"] != "http":
            results.append(_map_result(item, _finding(
                "map_wrong_context", ERROR, "a map for %s is in the %s context" % (item["variable"], item["context"]),
                "move the map into the http context, outside every server block")))
    winner = description["connection_upgrade"]
    if winner and winner["shadowed"]:
        results.append(_map_result(winner, _finding(
            "duplicate_map", ERROR,
            "%d maps define $connection_upgrade; nginx silently uses the last one (%s:%s)"
            % (len(winner["shadowed"]) + 1, winner["file"], winner["line"]),
            "keep one map for the variable and remove the others")))
    results += _duplicate_map_variables(config)
    return {"locations": results, "findings_total": sum(len(item["findings"]) for item in results)}


def _duplicate_map_variables(config):
    """duplicate_map_variable: one finding per variable that several http-level maps define (nginx silently uses
    the last), at that last map. $connection_upgrade has its own finding (duplicate_map), not this one too."""
    places, order = {}, []
    for directive, path, _stack in config.find("map", context="http"):
        if len(directive["args"]) != 2:
            continue
        variable = directive["args"][1].lower()  # nginx variable names are case-insensitive
        if variable not in places:
            places[variable] = []
            order.append(variable)
        where = {"file": path, "line": directive["line"], "variable": directive["args"][1]}
        if not any(item["file"] == path and item["line"] == directive["line"] for item in places[variable]):
            places[variable].append(where)  # one map read twice (its file included twice) sets the same values
    results = []
    for variable in order:
        found = places[variable]
        if len(found) < 2 or variable == _layout.UPGRADE_VARIABLE:
            continue
        last = found[-1]
        results.append(_map_result(last, _finding(
            "duplicate_map_variable", ERROR,
            "%d maps define %s (%s); nginx silently uses the last one (%s:%s) and ignores the others"
            % (len(found), last["variable"], ", ".join("%s:%s" % (item["file"], item["line"]) for item in found),
               last["file"], last["line"]),
            "keep one map for %s, or rename the variable of the others (and where they use it)" % last["variable"])))
    return results


def _map_result(item, finding):
    return {"server_name": [], "listen": [], "path": None, "file": item["file"], "line": item["line"], "upstream": None,
            "websocket": False, "findings": [finding]}


def _https_twins(results):
    """An HTTPS server without the headers its plain-HTTP twin sets for the same location."""
    plain = dict(((tuple(r["server_name"]), r["path"]), r) for r in results if not r["_tls"])
    for item in results:
        twin = plain.get((tuple(item["server_name"]), item["path"])) if item["_tls"] else None
        if twin is None:
            continue
        missing = sorted(set(twin["_headers"]) - set(item["_headers"]))
        if missing:
            item["findings"].append(_finding(
                "https_twin_missing_headers", WARNING,
                "the HTTPS server lacks headers its HTTP twin (%s:%s) sets: %s" % (twin["file"], twin["line"], ", ".join(missing)),
                "set the same proxy_set_header lines in the HTTPS location"))
