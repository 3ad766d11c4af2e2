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


def _upstream_uri(proxy_pass):
    match = re.match(r"^[a-z]+://[^/]+(/.*)?$", proxy_pass)
    return match.group(1) if match else None


def _sticky_method(config, upstream):
    """The directive that keeps one client on one server (ip_hash, hash on a per-client key, nginx plus's sticky)."""
    found = config.children_named(upstream, "ip_hash") + config.children_named(upstream, "sticky")
    found += [d for d in config.children_named(upstream, "hash") if d["args"] and not _PER_REQUEST_KEY.search(d["args"][0])]
    return found[0] if found else None


def _finding(finding_id, severity, message, fix):
    return {"id": finding_id, "severity": severity, "message": message, "fix": fix}


# --- What a location does -------------------------------------------------------------------------------------

def _passes_upgrade(headers):
    """The Upgrade header reaches the backend (a value that can be non-empty)."""
    value = headers.get("upgrade")
    return value is not None and value.strip() != ""


def _connection_can_upgrade(headers):
    """The Connection header sent can say "upgrade": a literal naming it, or a variable (a map, $http_connection)."""
    value = headers.get("connection")
    return value is not None and ("upgrade" in value.lower() or value.startswith("$"))


def _is_websocket(location, headers):
    """A WebSocket location is one that passes the upgrade on: it sends the backend an Upgrade header, or a
    Connection header that can say upgrade. Its path plays no part; a location whose Upgrade/Connection headers
    cannot upgrade (Connection "" or close for keepalive, Upgrade "") is not one."""
    return _passes_upgrade(headers) or _connection_can_upgrade(headers)


# A path that names a WebSocket endpoint. It decides nothing about a location that passes the upgrade on; a
# location that does not, at such a path, may be meant to and is checked with "may" (info) findings.
_WS_NAME = re.compile(r"(^|/)(ws|wss|websocket|websockets|socket|sockets|socket\.io|engine\.io)(/|$)", re.IGNORECASE)


def _named_websocket(location):
    return bool(_WS_NAME.search(location.path.replace("\\", "")))


_ENGINEIO_PATH = re.compile(r"(^|/)(socket\.io|engine\.io)(/|$)", re.IGNORECASE)
_ENGINEIO_ARGS = re.compile(r"\$arg_(eio|transport|sid)\b", re.IGNORECASE)


def _is_engineio(location):
    """An Engine.IO (Socket.IO) endpoint, which carries plain-HTTP long-polling as well as the upgrade: its path
    has a socket.io or engine.io segment (the libraries' defaults, also as a regex), or the location (or its
    server) reads Engine.IO's query arguments ($arg_EIO, $arg_transport, $arg_sid), whatever its path."""
    if _ENGINEIO_PATH.search(location.path.replace("\\", "")):
        return True
    for block in location.blocks[1:]:
        for child in location.config.children(block):
            if child["directive"] != "location" and any(_ENGINEIO_ARGS.search(arg) for arg in child["args"]):
                return True
    return False


# A regex anchored at its end on a literal name (`/api/v[0-9]+/(users/)?websocket$`): an endpoint, not a tree.
_ENDPOINT_REGEX = re.compile(r"(^|[/^)?])[A-Za-z0-9_-]{2,}\$$")


def _endpoint_only(location):
    """The location matches one endpoint, not a tree of pages: an exact (=) location, or a regex anchored at its
    end on a literal name."""
    if location.modifier == "=":
        return True
    return location.modifier in ("~", "~*") and bool(_ENDPOINT_REGEX.search(location.path))


# --- One function per rule id; each takes a _Context and returns a list of findings -----------------------------

class _Context(object):
    """What the rules of one location read."""

    def __init__(self, location, headers, level, maps_by_variable, version, upstreams, websocket, engineio,
                 by_name=False):
        self.location = location
        self.headers = headers
        self.level = level
        self.maps_by_variable = maps_by_variable
        self.version = version
        self.upstreams = upstreams
        self.websocket = websocket  # it passes the upgrade on
        self.engineio = engineio
        self.by_name = by_name  # it does not, but its path names a WebSocket endpoint


def check_missing_http_version(ctx):
    if not (ctx.websocket or ctx.by_name):
        return []
    http_version = ctx.location.nearest("proxy_http_version")
    if http_version and http_version["args"][0] == "1.1":
        return []
    if http_version is None and ctx.version >= (1, 29, 7):
        return [_finding(
            "missing_http_version", INFO,
            "no proxy_http_version 1.1: nginx 1.29.7 and later proxy over HTTP/1.1 by default, so the handshake is "
            "an HTTP/1.1 one here; an older nginx would send it as HTTP/1.0, which RFC 6455 does not allow",
            "add proxy_http_version 1.1; to the location to say so whatever the nginx version")]
    said = "proxy_http_version %s" % http_version["args"][0] if http_version else "no proxy_http_version 1.1"
    if ctx.by_name:
        return [_finding(
            "missing_http_version", INFO,
            "%s: if this location (whose path names a WebSocket endpoint) gets WebSocket requests, nginx sends "
            "them as HTTP/1.0, which RFC 6455 does not allow" % said, "add proxy_http_version 1.1; to the location")]
    return [_finding(
        "missing_http_version", ERROR,
        "%s: nginx sends the upgrade request to the backend as HTTP/1.0, and RFC 6455 requires an HTTP/1.1 "
        "handshake; strict backends refuse it (lenient ones answer 101 and nginx tunnels it, which is why it may "
        "seem to work)" % said,
        "add proxy_http_version 1.1; to the location")]


def _by_name(ctx, finding_id, what, fix):
    """The "may" finding of a location that passes no upgrade on but whose path names a WebSocket endpoint."""
    return [_finding(finding_id, INFO,
                     "%s, although the path %s names a WebSocket endpoint: if clients open WebSockets here, the upgrade "
                     "cannot happen (Engine.IO clients fall back to polling)" % (what, ctx.location.path), fix)]


def check_missing_upgrade_header(ctx):
    if ctx.by_name:
        return _by_name(ctx, "missing_upgrade_header", "no Upgrade header is passed to the backend",
                        "add proxy_set_header Upgrade $http_upgrade;")
    if ctx.websocket and not _passes_upgrade(ctx.headers):
        return [_finding("missing_upgrade_header", ERROR,
                         "the Upgrade header is not passed to the backend (it is hop-by-hop: nginx drops it unless "
                         "told), so no upgrade can happen here", "add proxy_set_header Upgrade $http_upgrade;")]
    return []


def check_missing_connection_header(ctx):
    if ctx.by_name and "connection" not in ctx.headers:
        return _by_name(ctx, "missing_connection_header", "no Connection header is passed to the backend",
                        "add proxy_set_header Connection $connection_upgrade; (with the map in the http context)")
    if ctx.websocket and "connection" not in ctx.headers:
        return [_finding("missing_connection_header", ERROR,
                         "the Connection header is not passed to the backend (it is hop-by-hop: nginx drops the "
                         "client's), so the backend never sees Connection: upgrade and the upgrade cannot happen",
                         "add proxy_set_header Connection $connection_upgrade; (with the map in the http context)")]
    return []


def check_connection_header_blocks_upgrade(ctx):
    """Connection set to a literal that does not say upgrade ("" sends none at all) next to an Upgrade header."""
    connection = ctx.headers.get("connection")
    if not _passes_upgrade(ctx.headers) or connection is None or _connection_can_upgrade(ctx.headers):
        return []
    said = "sends no Connection header" if connection.strip() == "" else "sends Connection: %s" % connection
    return [_finding(
        "connection_header_blocks_upgrade", ERROR,
        "proxy_set_header Connection \"%s\" next to an Upgrade header: nginx %s, so the backend never sees "
        "Connection: upgrade and the upgrade cannot happen" % (connection, said),
        "use proxy_set_header Connection $connection_upgrade; with map $http_upgrade $connection_upgrade "
        "{ default upgrade; '' ''; } to keep upstream keepalive for plain requests")]


def check_undefined_upgrade_map(ctx):
    connection = ctx.headers.get("connection") or ""
    if not ctx.websocket or not connection.startswith("$"):
        return []
    variable = connection.lower()
    if variable == "$http_connection" or variable in ctx.maps_by_variable:
        return []
    return [_finding("undefined_upgrade_map", ERROR, "%s is used but no map in the http context defines it" % connection,
                     "add map $http_upgrade %s { default upgrade; '' close; } in the http context" % connection)]


def check_hardcoded_connection_upgrade(ctx):
    connection = (ctx.headers.get("connection") or "").strip().lower()
    if not ctx.websocket or connection != "upgrade" or _endpoint_only(ctx.location):
        return []
    if ctx.engineio:
        message = ("Connection \"upgrade\" is hard-coded on an Engine.IO endpoint: its plain-HTTP polling requests "
                   "reach the backend with Connection: upgrade and no Upgrade header (harmless for most backends; "
                   "it rules out upstream keepalive)")
    else:
        message = ("Connection \"upgrade\" is hard-coded: if this location also receives plain HTTP requests, they "
                   "reach the backend with Connection: upgrade and no Upgrade header (harmless for most backends; "
                   "it rules out upstream keepalive); fine if only WebSocket requests come here")
    return [_finding("hardcoded_connection_upgrade", INFO, message,
                     "use proxy_set_header Connection $connection_upgrade; with the standard map")]


_UPGRADE_HEADERS = ("upgrade", "connection")


def check_dropped_inherited_headers(ctx):
    """A location with proxy_set_header of its own inherits none from above. Dropping Upgrade/Connection is reported
    on every proxying location, whatever its path (it no longer looks like a WebSocket one: that is the point)."""
    location = ctx.location
    if ctx.level != location.depth - 1:
        return []
    inherited, where = {}, None
    for upper in range(location.depth - 1):
        found = location.level_headers(upper)
        if found:
            inherited = dict((d["args"][0].lower(), d["args"][1]) for d in found)
            where = upper
    dropped = sorted(name for name in inherited if name not in ctx.headers)
    if not dropped:
        return []
    upgrade_dropped = [name for name in dropped if name in _UPGRADE_HEADERS]
    if upgrade_dropped and (_passes_upgrade(inherited) or _connection_can_upgrade(inherited)):
        return [_finding(
            "dropped_inherited_headers", ERROR,
            "this location's own proxy_set_header drops every one inherited from the %s level, %s among them: "
            "WebSocket requests here are not upgraded (dropped: %s)"
            % (location.blocks[where]["directive"], " and ".join(upgrade_dropped), ", ".join(dropped)),
            "repeat the inherited proxy_set_header lines (Upgrade and Connection too) in this location")]
    if not ctx.websocket:
        return []
    return [_finding(
        "dropped_inherited_headers", WARNING,
        "this location's proxy_set_header drops every one inherited from the %s level: %s"
        % (location.blocks[where]["directive"], ", ".join(dropped)),
        "repeat the inherited proxy_set_header lines in this location")]


def check_default_read_timeout(ctx):
    if not ctx.websocket:
        return []
    read_timeout = ctx.location.nearest("proxy_read_timeout")
    seconds = _seconds(read_timeout["args"][0]) if read_timeout else 60
    if seconds is None or seconds > 60:
        return []
    said = "nginx's 60 s default" if read_timeout is None else "%s" % read_timeout["args"][0]
    return [_finding(
        "default_read_timeout", INFO,
        "proxy_read_timeout is %s: a WebSocket on which the backend sends nothing for that long is closed; fine "
        "if the application sends heartbeats (pings) more often, which many do" % said,
        "if the backend can stay silent longer, set proxy_read_timeout above its heartbeat interval (for example 300s)")]


def _seconds(value):
    """nginx time (`90`, `90s`, `5m`, `1h`, `1m30s`) in seconds, or None."""
    units = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "ms": 0.001}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|)", value or "")
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(int(n) * units[u] for n, u in parts)


def check_socketio_buffering(ctx):
    if not ctx.engineio:
        return []
    buffering = ctx.location.nearest("proxy_buffering")
    if buffering is not None and buffering["args"][0] == "off":
        return []
    return [_finding("socketio_buffering", INFO,
                     "proxy_buffering is on for an Engine.IO (Socket.IO) endpoint: nginx buffers its long-polling "
                     "responses, which may delay or batch messages of clients that poll",
                     "add proxy_buffering off;")]


def check_socketio_not_sticky(ctx):
    """socketio_not_sticky: an Engine.IO endpoint balanced over several servers without a sticky method."""
    location = ctx.location
    if not ctx.engineio:
        return []
    match = _UPSTREAM_NAME.match(location.own("proxy_pass")[0]["args"][0])
    found = ctx.upstreams.get(match.group(1)) if match else None
    if found is None:
        return []
    upstream, upstream_file = found
    servers = [d for d in location.config.children_named(upstream, "server") if "backup" not in d["args"][1:]]
    if len(servers) < 2 or _sticky_method(location.config, upstream) is not None:
        return []
    return [_finding(
        "socketio_not_sticky", ERROR,
        "upstream %s (%s:%s) balances this Engine.IO (Socket.IO) endpoint over %d servers without a sticky method: "
        "a browser's polling requests of one session reach different backends, which answer 400 \"Invalid session\""
        % (match.group(1), upstream_file, upstream["line"], len(servers)),
        "add ip_hash; (or hash $remote_addr consistent;) to upstream %s" % match.group(1))]


def check_xff_from_client(ctx):
    xff = ctx.headers.get("x-forwarded-for")
    if ctx.websocket and xff and xff.lower() == "$http_x_forwarded_for":
        return [_finding("xff_from_client", WARNING,
                         "X-Forwarded-For is copied from the client's own header, which any client can forge",
                         "use $proxy_add_x_forwarded_for and trust it only from known proxies")]
    return []


def check_proxy_pass_rewrites_uri(ctx):
    location = ctx.location
    if not ctx.websocket:
        return []
    proxy_pass = location.own("proxy_pass")[0]["args"][0]
    uri = _upstream_uri(proxy_pass)
    if uri is not None and location.modifier in ("", "^~") and uri.endswith("/") != location.path.endswith("/"):
        return [_finding("proxy_pass_rewrites_uri", WARNING,
                         "proxy_pass %s replaces the matched prefix %s: the backend gets a different path"
                         % (proxy_pass, location.path),
                         "drop the URI from proxy_pass, or make the location and the URI end alike on purpose")]
    return []


LOCATION_RULES = (
    check_missing_http_version,
    check_missing_upgrade_header,
    check_missing_connection_header,
    check_connection_header_blocks_upgrade,
    check_undefined_upgrade_map,
    check_hardcoded_connection_upgrade,
    check_dropped_inherited_headers,
    check_default_read_timeout,
    check_socketio_buffering,
    check_socketio_not_sticky,
    check_xff_from_client,
    check_proxy_pass_rewrites_uri,
)


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
        headers, _level = other.headers()
        upgrades = bool(other.own("proxy_pass")) and _is_websocket(other, headers)
        regexes.append((other, pattern, upgrades))
    return regexes


def _probes(location):
    """The URIs a WebSocket prefix location plausibly receives: the prefix itself and a path under it without a
    file extension (Engine.IO's query form, /socket.io/?EIO=4&transport=websocket, is matched on /socket.io/).
    Under `location /` the endpoint could be anywhere: only / itself is known."""
    path = location.path
    if path == "/":
        return [path]
    probes = [path, path.rstrip("/") + "/websocket"]
    if path.endswith("/"):
        probes.append(path.rstrip("/"))  # nginx redirects it, the client follows to the prefix
    return probes


def check_regex_shadows_prefix(ctx, regexes):
    """regex_shadows_prefix: regex locations of the same server (from _regex_locations) that take the requests this
    prefix WebSocket location is meant for, unless they pass the upgrade on themselves."""
    location = ctx.location
    if not ctx.websocket or location.modifier != "":
        return []
    probes = _probes(location)
    findings = []
    for other, pattern, upgrades in regexes:
        hit = next((probe for probe in probes if pattern.search(probe)), None)
        if hit is None or upgrades:
            continue
        where = "%s:%s" % (other.file, other.directive["line"])
        findings.append(_finding(
            "regex_shadows_prefix", WARNING,
            "regex location %s at %s takes requests for %s (for example %s) first, and does not pass the upgrade on"
            % (other.path, where, location.path, hit),
            "mark the WebSocket location: location ^~ %s" % location.path))
    return findings


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
        ctx = _Context(location, headers, level, maps_by_variable, version_tuple, upstreams, websocket,
                       _is_engineio(location), by_name=not websocket and _named_websocket(location))
        findings = []
        for rule in LOCATION_RULES:
            findings += rule(ctx)
        if websocket and location.modifier == "":
            key = id(location.server)
            if key not in regexes_by_server:
                regexes_by_server[key] = _regex_locations(by_server.get(key, []))
            findings += check_regex_shadows_prefix(ctx, regexes_by_server[key])
        server_names = [a for d in location.in_server("server_name") for a in d["args"]]
        listens = [" ".join(d["args"]) for d in location.in_server("listen")]
        results.append({
            "server_name": server_names, "listen": listens, "path": " ".join(location.directive["args"]),
            "file": location.file, "line": location.directive["line"], "upstream": location.own("proxy_pass")[0]["args"][0],
            "websocket": websocket or ctx.by_name, "engineio": ctx.engineio, "findings": findings,
            "_headers": headers, "_tls": any("ssl" in l.split() for l in listens),
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
    every = [f for item in results for f in item["findings"]]
    # findings_total counts what is wrong whatever the application does (error, warning): doctor.yml fails on it.
    # info findings depend on the application (heartbeats, polling) and are counted apart.
    return {"locations": results, "findings_total": sum(1 for f in every if f["severity"] != INFO),
            "info_total": sum(1 for f in every if f["severity"] == INFO)}


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
            "websocket": False, "engineio": False, "findings": [finding]}


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
