# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: every websocket_proxy value checked against an allowlist before it can reach a file.

Nothing user-supplied is escaped or quoted into nginx syntax: a value either matches the shape its directive
takes, or the task fails naming the option and the value. The characters that would change nginx's parse
(`;`, `{`, `}`, quotes, `$`, `#`, whitespace, control characters) are in none of the allowlists.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = r"%s(?:\.%s)*" % (_LABEL, _LABEL)
SERVER_NAME_RE = re.compile(r"^(?:_|(?:\*\.)?%s|%s\.\*)$" % (_HOSTNAME, _HOSTNAME))
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_IPV6 = r"\[[0-9A-Fa-f:.]{2,45}\]"
_PORT = r"(?P<port>\d{1,5})"
LISTEN_RE = re.compile(r"^(?:(?:%s|%s|\*):)?%s$" % (_IPV4, _IPV6, _PORT))
UPSTREAM_RE = re.compile(r"^(?:(?:%s|%s|%s):%s|unix:/[A-Za-z0-9._/-]+)$" % (_IPV4, _IPV6, _HOSTNAME, _PORT))
URI_PATH_RE = re.compile(r"^/[A-Za-z0-9._~!*()@:+,=/%-]*$")
FILE_PATH_RE = re.compile(r"^/[A-Za-z0-9._/+@-]+$")
ORIGIN_RE = re.compile(r"^https?://%s(?::\d{1,5})?$" % _HOSTNAME)
TIMEOUT_RE = re.compile(r"^(?P<number>\d{1,7})(?P<unit>ms|s|m|h)?$")


class InvalidOption(Exception):
    """A value that must not reach a config file; the message names the option and the value."""

    def __init__(self, option, value, why):
        super(InvalidOption, self).__init__("%s=%r: %s" % (option, value, why))


def _check(regex, option, value, why):
    if not isinstance(value, str) or not regex.match(value):
        raise InvalidOption(option, value, why)
    return value


def _port_ok(option, value, match):
    if not 1 <= int(match.group("port")) <= 65535:
        raise InvalidOption(option, value, "port out of range 1-65535")


def timeout(option, value):
    """'300s', '5m', '90' (seconds) or an int -> nginx time ('300s')."""
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not TIMEOUT_RE.match(text):
        raise InvalidOption(option, value, "expected seconds (300) or an nginx time such as 300s, 5m, 1h")
    match = TIMEOUT_RE.match(text)
    if int(match.group("number")) == 0:
        raise InvalidOption(option, value, "a timeout of 0 is not allowed")
    return match.group("number") + (match.group("unit") or "s")


def listen(option, values):
    checked = []
    for value in values:
        _check(LISTEN_RE, option, value, "expected PORT, ADDRESS:PORT or [IPv6]:PORT")
        _port_ok(option, value, LISTEN_RE.match(value))
        checked.append(value)
    if not checked:
        raise InvalidOption(option, values, "at least one listen address is needed")
    if len(set(checked)) != len(checked):
        raise InvalidOption(option, values, "duplicate listen address")
    return checked


def _location(index, location, defaults):
    option = "locations[%d]" % index
    path = _check(URI_PATH_RE, option + ".path", location["path"],
                  "expected a URI path starting with / and no spaces, quotes, ;, {, }, $ or #")
    proxy_uri = location.get("proxy_uri")
    if proxy_uri is not None:
        _check(URI_PATH_RE, option + ".proxy_uri", proxy_uri, "expected a URI path starting with /")
        if location["match"] == "exact":
            raise InvalidOption(option + ".proxy_uri", proxy_uri, "an exact location passes its URI as is; remove proxy_uri")
        if proxy_uri.endswith("/") != path.endswith("/"):
            # nginx swaps the matched prefix for the URI: /ws/x with /socket would reach the backend as /socketx.
            raise InvalidOption(option + ".proxy_uri", proxy_uri,
                                "must end with / exactly when the location path %r does" % path)
    for key in ("probe_path",):
        if location.get(key) is not None:
            _check(URI_PATH_RE, option + "." + key, location[key], "expected a URI path starting with /")
    socketio = location["socketio"]
    read_default = "600s" if socketio else defaults["read_timeout"]
    send_default = "600s" if socketio else defaults["send_timeout"]
    buffering = location.get("buffering")
    return {
        "path": path,
        # The Socket.IO location of GUIDE.md is a ^~ prefix: regex locations must not take it over.
        "modifier": {"prefix": "", "exact": "=", "priority": "^~"}[location["match"]] if not socketio else "^~",
        "proxy_uri": proxy_uri,
        "read_timeout": timeout(option + ".read_timeout", location.get("read_timeout") or read_default),
        "send_timeout": timeout(option + ".send_timeout", location.get("send_timeout") or send_default),
        "buffering": False if (socketio and buffering is None) else buffering,
        "socketio": socketio,
    }


def site_name(value):
    return _check(NAME_RE, "name", value, "expected ^[a-z0-9][a-z0-9._-]{0,63}$")


def site(params):
    """The validated, normalized site model, or InvalidOption."""
    name = site_name(params["name"])
    server_names = [
        _check(SERVER_NAME_RE, "server_name", value, "expected a host name, *.domain, domain.* or _")
        for value in params["server_name"]
    ]
    if not server_names:
        raise InvalidOption("server_name", params["server_name"], "at least one server name is needed")
    upstreams = []
    for value in params["upstream"]:
        _check(UPSTREAM_RE, "upstream", value, "expected host:port, [IPv6]:port or unix:/path")
        match = UPSTREAM_RE.match(value)
        if match.group("port"):
            _port_ok("upstream", value, match)
        upstreams.append(value)
    if not upstreams:
        raise InvalidOption("upstream", params["upstream"], "at least one backend is needed")
    defaults = {
        "read_timeout": timeout("read_timeout", params["read_timeout"]),
        "send_timeout": timeout("send_timeout", params["send_timeout"]),
    }
    locations = [_location(index, location, defaults) for index, location in enumerate(params["locations"] or [])]
    if not locations:
        raise InvalidOption("locations", params["locations"], "at least one location is needed")
    keys = [(loc["modifier"] == "=", loc["path"]) for loc in locations]
    if len(set(keys)) != len(keys):
        raise InvalidOption("locations", [loc["path"] for loc in locations], "two locations for the same path")
    tls = None
    if params.get("tls"):
        tls = {
            "certificate": _check(FILE_PATH_RE, "tls.certificate", params["tls"]["certificate"], "expected an absolute file path"),
            "certificate_key": _check(FILE_PATH_RE, "tls.certificate_key", params["tls"]["certificate_key"],
                                      "expected an absolute file path"),
            "listen": listen("tls.listen", params["tls"]["listen"]),
            "redirect_http": params["tls"]["redirect_http"],
            "protocols": params["tls"]["protocols"],
        }
        if not tls["protocols"]:
            raise InvalidOption("tls.protocols", [], "at least one protocol is needed")
    origins = [
        _check(ORIGIN_RE, "allowed_origins", value, "expected scheme://host[:port], for example https://app.example.com")
        for value in params.get("allowed_origins") or []
    ]
    return {
        "name": name,
        # nginx variable names take no dots or dashes.
        "var": re.sub(r"[^a-z0-9_]", "_", name),
        "server_names": server_names,
        "listen": listen("listen", params["listen"]),
        "upstreams": upstreams,
        "locations": locations,
        "connect_timeout": timeout("connect_timeout", params["connect_timeout"]) if params.get("connect_timeout") else None,
        "forwarded_headers": params["forwarded_headers"],
        "tls": tls,
        "allowed_origins": origins,
    }
