# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: every websocket_proxy value checked against an allowlist before it can reach a file.

Nothing user-supplied is escaped or quoted into nginx syntax: a value either matches the shape its directive
takes, or the task fails naming the option and the value. The characters that would change nginx's parse
(`;`, `{`, `}`, quotes, `#`, whitespace, control characters) are in none of the allowlists; `$` only where a
variable is meant (balance_key, from a list of variables, and the arguments of `directives`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

try:
    from crossplane import analyzer as _crossplane_analyzer
except ImportError:  # the action plugins fail with Ansible's missing-library message before validating
    _crossplane_analyzer = None

# Every allowlist ends in \Z, not $: $ also matches before a final newline, which would reach the file.
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = r"%s(?:\.%s)*" % (_LABEL, _LABEL)
SERVER_NAME_RE = re.compile(r"^(?:_|(?:\*\.)?%s|%s\.\*)\Z" % (_HOSTNAME, _HOSTNAME))
_IPV4 = r"(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_IPV6 = r"\[[0-9A-Fa-f:.]{2,45}\]"
_PORT = r"(?P<port>\d{1,5})"
LISTEN_RE = re.compile(r"^(?:(?:%s|%s|\*):)?%s\Z" % (_IPV4, _IPV6, _PORT))
UPSTREAM_RE = re.compile(r"^(?:(?:%s|%s|%s):%s|unix:/[A-Za-z0-9._/-]+)\Z" % (_IPV4, _IPV6, _HOSTNAME, _PORT))
URI_PATH_RE = re.compile(r"^/[A-Za-z0-9._~!*()@:+,=/%-]*\Z")
FILE_PATH_RE = re.compile(r"^/[A-Za-z0-9._/+@-]+\Z")
ORIGIN_RE = re.compile(r"^https?://%s(?::\d{1,5})?\Z" % _HOSTNAME)
TIMEOUT_RE = re.compile(r"^(?P<number>\d{1,7})(?P<unit>ms|s|m|h)?\Z")
LOG_FORMAT_RE = re.compile(r"^[A-Za-z0-9_]+\Z")
LOG_LEVELS = ("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg")
# One argument of a `directives` entry: nginx variables ($) are allowed, nothing that changes nginx's parse is.
DIRECTIVE_ARG_RE = re.compile(r"^[A-Za-z0-9_./:=,+*@%$!~^?()\[\]|-]+\Z")
DIRECTIVE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*\Z")
# balance_key: nginx variables from this list, joined by safe literal characters. A name listed here ends at the
# next character that cannot continue a variable name; the *_NAME families take the longest name, as nginx does.
_KEY_VARIABLE = (r"\$(?:(?:remote_addr|binary_remote_addr|remote_user|request_uri|uri|args|host|server_name|scheme)"
                 r"(?![A-Za-z0-9_])|(?:cookie|arg)_[A-Za-z0-9_]+|http_[a-z0-9_]+)")
BALANCE_KEY_RE = re.compile(r"^(?:%s|[A-Za-z0-9_.:/@,=+-])+\Z" % _KEY_VARIABLE)
_KEY_VARIABLE_RE = re.compile(_KEY_VARIABLE)
# A hash key that changes from one request of a client to the next spreads one Socket.IO session over backends.
PER_REQUEST_KEY_RE = re.compile(r"\$(?:request_uri|uri|args|arg_t|arg_sid)(?![A-Za-z0-9_])")
STICKY_BALANCE = ("ip_hash", "hash")
ACME_PATH = "/.well-known/acme-challenge/"
UPSTREAM_KEYS = ("address", "weight", "max_fails", "fail_timeout", "backup")


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


# nginx variable names take letters, digits and _ only. Every other character of a site name becomes `_` and a
# letter, and `_` itself doubles: no two names give one variable (a-b and a.b would both be a_b, and nginx would
# keep only the last map of the variable, silently replacing one site's Origin allowlist by the other's).
_VARIABLE_ESCAPES = {"_": "__", "-": "_h", ".": "_d"}


def _variable_part(name):
    """The site's part of its nginx variable names; injective over NAME_RE."""
    return "".join(_VARIABLE_ESCAPES.get(char, char) for char in name)


def site_name(value):
    # Imported here: _wsplan imports _workers, which imports InvalidOption from this module.
    from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _wsplan

    _check(NAME_RE, "name", value, "expected ^[a-z0-9][a-z0-9._-]{0,63}$")
    if _wsplan.reserved_site_name(value):
        # Its file would be the collection's own map: written over, or (state=absent) deleted by the plan that rewrites it.
        raise InvalidOption("name", value, "reserved: the collection's WebSocket map file has this name")
    return value


def _integer(option, value, low, high):
    """An int (or a string of digits) within [low, high]; bools are not numbers here."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and re.match(r"^\d{1,10}\Z", value):
        number = int(value)
    if number is None or not low <= number <= high:
        raise InvalidOption(option, value, "expected an integer from %d to %d" % (low, high))
    return number


def _address(option, value):
    _check(UPSTREAM_RE, option, value, "expected host:port, [IPv6]:port or unix:/path")
    match = UPSTREAM_RE.match(value)
    if match.group("port"):
        _port_ok(option, value, match)
    return value


def _upstream(index, item):
    """One backend: "host:port" or {address, weight, max_fails, fail_timeout, backup}."""
    option = "upstream[%d]" % index
    if isinstance(item, str):
        return {"address": _address(option, item), "weight": None, "max_fails": None, "fail_timeout": None,
                "backup": False}
    if not isinstance(item, dict):
        raise InvalidOption(option, item, "expected host:port, [IPv6]:port, unix:/path or a dict with address")
    unknown = sorted(str(key) for key in item if key not in UPSTREAM_KEYS)
    if unknown:
        raise InvalidOption(option + "." + unknown[0], item[unknown[0]] if unknown[0] in item else None,
                            "unknown key; an upstream item takes %s" % ", ".join(UPSTREAM_KEYS))
    if item.get("address") is None:
        raise InvalidOption(option + ".address", None, "every upstream item needs an address")
    backup = item.get("backup", False)
    if backup is None:
        backup = False
    if not isinstance(backup, bool):
        raise InvalidOption(option + ".backup", backup, "expected true or false")
    return {
        "address": _address(option + ".address", item["address"]),
        "weight": None if item.get("weight") is None else _integer(option + ".weight", item["weight"], 1, 1000),
        "max_fails": None if item.get("max_fails") is None else _integer(option + ".max_fails", item["max_fails"], 0, 1000),
        "fail_timeout": None if item.get("fail_timeout") is None else timeout(option + ".fail_timeout", item["fail_timeout"]),
        "backup": backup,
    }


def _balance(params, upstreams, locations):
    """(balance, key): the upstream's balancing method and, for hash, its key."""
    balance = params.get("balance") or "round_robin"
    key = params.get("balance_key")
    if key is not None:
        if balance != "hash":
            raise InvalidOption("balance_key", key, "only balance=hash takes a key (balance=%r)" % balance)
        if not isinstance(key, str) or not BALANCE_KEY_RE.match(key):
            raise InvalidOption("balance_key", key, "expected nginx variables ($remote_addr, $binary_remote_addr, "
                                "$remote_user, $request_uri, $uri, $args, $host, $server_name, $scheme, $cookie_NAME, "
                                "$arg_NAME, $http_NAME) joined by letters, digits or _.:/@,=+-")
        if not _KEY_VARIABLE_RE.search(key):
            raise InvalidOption("balance_key", key, "a key without a variable sends every client to one backend")
    elif balance == "hash":
        key = "$remote_addr"
    if balance in STICKY_BALANCE:
        for index, server in enumerate(upstreams):
            if server["backup"]:
                raise InvalidOption("upstream[%d].backup" % index, True,
                                    "nginx refuses backup servers with balance=%s" % balance)
    primaries = [server for server in upstreams if not server["backup"]]
    socketio = [location for location in locations if location["socketio"]]
    if socketio and len(primaries) > 1:
        if balance not in STICKY_BALANCE:
            raise InvalidOption("balance", balance, (
                "a Socket.IO location (%s) on %d backends needs sticky sessions (browsers poll before they upgrade, and "
                "every request of a session must reach the same backend): set balance: ip_hash or balance: hash"
                % (socketio[0]["path"], len(primaries))))
        if balance == "hash" and PER_REQUEST_KEY_RE.search(key):
            raise InvalidOption("balance_key", key, (
                "changes between the requests of one Socket.IO session (location %s on %d backends): hash on a client "
                "key such as $remote_addr or $cookie_NAME, or set balance: ip_hash" % (socketio[0]["path"], len(primaries))))
    return balance, key


def _directive_masks(name, context):
    """crossplane's masks of `name` that allow `context` (server or location), and whether the name is known."""
    masks = _crossplane_analyzer.DIRECTIVES.get(name)
    if not masks:
        return None
    bit = _CONTEXT_BITS[context]
    return [mask for mask in masks if mask & bit]


_CONTEXT_BITS, _ARGUMENT_COUNTS = {}, []
if _crossplane_analyzer is not None:
    _CONTEXT_BITS = {"server": _crossplane_analyzer.NGX_HTTP_SRV_CONF, "location": _crossplane_analyzer.NGX_HTTP_LOC_CONF}
    _ARGUMENT_COUNTS = [_crossplane_analyzer.NGX_CONF_NOARGS, _crossplane_analyzer.NGX_CONF_TAKE1,
                        _crossplane_analyzer.NGX_CONF_TAKE2, _crossplane_analyzer.NGX_CONF_TAKE3,
                        _crossplane_analyzer.NGX_CONF_TAKE4, _crossplane_analyzer.NGX_CONF_TAKE5,
                        _crossplane_analyzer.NGX_CONF_TAKE6, _crossplane_analyzer.NGX_CONF_TAKE7]
# What every site writes itself; a second copy would conflict with it or silently win over it.
OWNED_DIRECTIVES = {
    "listen": "listen (use the listen and tls.listen options)",
    "server_name": "server_name (use the server_name option)",
    "proxy_pass": "proxy_pass (use upstream and locations[].proxy_uri)",
    "proxy_http_version": "proxy_http_version 1.1 in every location",
    "ssl": "TLS (use the tls option)",
    "ssl_certificate": "ssl_certificate (use tls.certificate)",
    "ssl_certificate_key": "ssl_certificate_key (use tls.certificate_key)",
    "ssl_protocols": "ssl_protocols (use tls.protocols)",
    "http2": "http2 (use tls.http2)",
}
_FORWARDED_HEADERS = ("host", "x-real-ip", "x-forwarded-for", "x-forwarded-proto")


def _arguments_fit(mask, args):
    if mask & _crossplane_analyzer.NGX_CONF_ANY:
        return True
    if mask & _crossplane_analyzer.NGX_CONF_FLAG:
        return len(args) == 1 and args[0].lower() in ("on", "off")
    if mask & _crossplane_analyzer.NGX_CONF_1MORE:
        return len(args) >= 1
    if mask & _crossplane_analyzer.NGX_CONF_2MORE:
        return len(args) >= 2
    return len(args) < len(_ARGUMENT_COUNTS) and bool(mask & _ARGUMENT_COUNTS[len(args)])


def _argument(option, entry, name, value):
    if isinstance(value, bool):
        return "on" if value else "off"  # YAML 1.1 reads `gzip: on` as true
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str) or not DIRECTIVE_ARG_RE.match(value):
        raise InvalidOption(option, entry, (
            "%s: argument %r is not allowed: one word of letters, digits and _./:=,+*@%%$!~^?()[]|- per argument "
            "(several arguments as a list; no spaces, quotes, ;, {, }, # or control characters)" % (name, value)))
    return value


def directive(option, entry, context, site_facts):
    """One `directives` item ({name: arguments}) for a server or a location -> {"name", "args"}, or InvalidOption."""
    if not isinstance(entry, dict) or len(entry) != 1:
        raise InvalidOption(option, entry, "expected one {name: arguments} per item, for example {client_max_body_size: 50m}")
    name, raw = next(iter(entry.items()))
    if not isinstance(name, str) or not DIRECTIVE_NAME_RE.match(name):
        raise InvalidOption(option, entry, "%r is not an nginx directive name" % (name,))
    if name == "include":
        raise InvalidOption(option, entry, "include: refused, an included file would reach nginx unchecked")
    if name.startswith("perl") or "lua" in name:
        raise InvalidOption(option, entry, "%s: embedded code (perl, lua) is refused" % name)
    if name in OWNED_DIRECTIVES:
        raise InvalidOption(option, entry, "%s: the collection sets %s" % (name, OWNED_DIRECTIVES[name]))
    masks = _directive_masks(name, context)
    if masks is None:
        raise InvalidOption(option, entry, "%s: not an nginx directive (crossplane's table of nginx directives does "
                                           "not list it)" % name)
    if any(mask & _crossplane_analyzer.NGX_CONF_BLOCK for mask in _crossplane_analyzer.DIRECTIVES[name]):
        raise InvalidOption(option, entry, "%s: a block directive; only simple directives are allowed" % name)
    if not masks:
        raise InvalidOption(option, entry, "%s: not allowed in a %s block" % (name, context))
    if raw is None:
        values = []
    elif isinstance(raw, list):
        values = raw
    else:
        values = [raw]
    args = [_argument(option, entry, name, value) for value in values]
    if not any(_arguments_fit(mask, args) for mask in masks):
        raise InvalidOption(option, entry, "%s: nginx does not take %d argument%s %s" % (
            name, len(args), "" if len(args) == 1 else "s", " ".join(args) or "(none)"))
    if name == "proxy_set_header" and args:
        header = args[0].lower()
        if header in ("upgrade", "connection"):
            raise InvalidOption(option, entry, "proxy_set_header %s: the collection sets the WebSocket headers in every "
                                               "location" % args[0])
        if header in _FORWARDED_HEADERS and site_facts["forwarded_headers"]:
            raise InvalidOption(option, entry, "proxy_set_header %s: already sent (forwarded_headers); set "
                                               "forwarded_headers: false to send your own" % args[0])
        if context == "server":
            raise InvalidOption(option, entry, (
                "proxy_set_header: every location sets its own headers, so nginx never uses a server-level one; put it "
                "in locations[].directives"))
    if name == "return" and context == "server" and (site_facts["redirect_http"] or site_facts["acme"]):
        raise InvalidOption(option, entry, "return: the plain HTTP server already redirects or serves ACME challenges")
    if name == "add_header" and args and args[0].lower() == "strict-transport-security" and site_facts["hsts"]:
        raise InvalidOption(option, entry, "add_header Strict-Transport-Security: the collection sets it (tls.hsts)")
    return {"name": name, "args": args}


def directives(option, entries, context, site_facts):
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InvalidOption(option, entries, "expected a list of {name: arguments}")
    return [directive("%s[%d]" % (option, index), entry, context, site_facts) for index, entry in enumerate(entries)]


def _log(option, value, second, choices_re, why):
    """access_log / error_log: a path, {path, <second>}, or (access_log) off."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"path": value}
    if not isinstance(value, dict) or value.get("path") is None or set(value) - {"path", second}:
        raise InvalidOption(option, value, "expected a path or {path: /var/log/..., %s: ...}" % second)
    path = value["path"]
    extra = value.get(second)
    if path == "off" and option == "access_log":
        if extra is not None:
            raise InvalidOption(option + "." + second, extra, "access_log off takes no %s" % second)
        return {"path": "off", second: None}
    _check(FILE_PATH_RE, option + ".path", path, "expected an absolute file path%s" % (
        " or off" if option == "access_log" else ""))
    if extra is not None:
        _check(choices_re, option + "." + second, extra, why)
    return {"path": path, second: extra}


def _acme_root(params):
    """(path, option) of the ACME webroot from acme_challenge_root and/or tls.acme_challenge_root."""
    top = params.get("acme_challenge_root")
    nested = (params.get("tls") or {}).get("acme_challenge_root")
    if top is not None and nested is not None and top != nested:
        raise InvalidOption("tls.acme_challenge_root", nested,
                            "differs from acme_challenge_root=%r; set one of them" % top)
    option = "tls.acme_challenge_root" if nested is not None else "acme_challenge_root"
    root = nested if nested is not None else top
    if root is None:
        return None, None
    _check(FILE_PATH_RE, option, root, "expected an absolute directory path")
    return root.rstrip("/") or "/", option


def _tls(params):
    tls_params = params.get("tls")
    if not tls_params:
        return None
    tls = {
        "certificate": _check(FILE_PATH_RE, "tls.certificate", tls_params["certificate"], "expected an absolute file path"),
        "certificate_key": _check(FILE_PATH_RE, "tls.certificate_key", tls_params["certificate_key"],
                                  "expected an absolute file path"),
        "listen": None if tls_params.get("listen") is None else listen("tls.listen", tls_params["listen"]),
        "redirect_http": tls_params["redirect_http"],
        "protocols": tls_params["protocols"],
        "http2": bool(tls_params.get("http2")),
        "hsts": None if tls_params.get("hsts") is None else _integer("tls.hsts", tls_params["hsts"], 0, 315360000),
    }
    if not tls["protocols"]:
        raise InvalidOption("tls.protocols", [], "at least one protocol is needed")
    return tls


def site(params):
    """The validated, normalized site model, or InvalidOption."""
    name = site_name(params["name"])
    server_names = [
        _check(SERVER_NAME_RE, "server_name", value, "expected a host name, *.domain, domain.* or _")
        for value in params["server_name"]
    ]
    if not server_names:
        raise InvalidOption("server_name", params["server_name"], "at least one server name is needed")
    if not isinstance(params["upstream"], list):
        raise InvalidOption("upstream", params["upstream"], "expected a list of backends")
    upstreams = [_upstream(index, item) for index, item in enumerate(params["upstream"])]
    if not upstreams:
        raise InvalidOption("upstream", params["upstream"], "at least one backend is needed")
    if all(server["backup"] for server in upstreams):
        raise InvalidOption("upstream", params["upstream"], "at least one backend must not be a backup")
    defaults = {
        "read_timeout": timeout("read_timeout", params["read_timeout"]),
        "send_timeout": timeout("send_timeout", params["send_timeout"]),
    }
    locations = [_location(index, location, defaults) for index, location in enumerate(params["locations"] or [])]
    if not locations:
        raise InvalidOption("locations", params["locations"], "at least one location is needed")
    if params.get("probe_path") is not None:
        # Not rendered, but probes send it in a request line: the same allowlist as locations[].probe_path.
        _check(URI_PATH_RE, "probe_path", params["probe_path"], "expected a URI path starting with /")
    keys = [(loc["modifier"] == "=", loc["path"]) for loc in locations]
    if len(set(keys)) != len(keys):
        raise InvalidOption("locations", [loc["path"] for loc in locations], "two locations for the same path")
    balance, balance_key = _balance(params, upstreams, locations)
    keepalive = params.get("keepalive")
    if keepalive is not None:
        keepalive = _integer("keepalive", keepalive, 1, 1024)
    acme_root, acme_option = _acme_root(params)
    tls = _tls(params)
    if acme_root:
        for index, location in enumerate(locations):
            if location["path"] == ACME_PATH and location["modifier"] != "=":
                raise InvalidOption("locations[%d].path" % index, location["path"],
                                    "the ACME challenge location of %s serves this path" % acme_option)
    facts = {"forwarded_headers": params["forwarded_headers"], "redirect_http": bool(tls and tls["redirect_http"]),
             "acme": bool(acme_root), "hsts": tls is not None and tls["hsts"] is not None}
    for index, (location, raw) in enumerate(zip(locations, params["locations"])):
        location["directives"] = directives("locations[%d].directives" % index, raw.get("directives"), "location", facts)
    origins = [
        _check(ORIGIN_RE, "allowed_origins", value, "expected scheme://host[:port], for example https://app.example.com")
        for value in params.get("allowed_origins") or []
    ]
    return {
        "name": name,
        "var": _variable_part(name),
        "server_names": server_names,
        # None: the host decides (80, and [::]:80 where it has IPv6).
        "listen": None if params.get("listen") is None else listen("listen", params["listen"]),
        "upstreams": upstreams,
        "balance": balance,
        "balance_key": balance_key,
        "keepalive": keepalive,
        "locations": locations,
        "connect_timeout": timeout("connect_timeout", params["connect_timeout"]) if params.get("connect_timeout") else None,
        "forwarded_headers": params["forwarded_headers"],
        "tls": tls,
        "acme_challenge_root": acme_root,
        "acme_option": acme_option,
        "access_log": _log("access_log", params.get("access_log"), "format", LOG_FORMAT_RE,
                           "expected a log_format name (letters, digits, _)"),
        "error_log": _log("error_log", params.get("error_log"), "level",
                          re.compile(r"^(?:%s)\Z" % "|".join(LOG_LEVELS)), "expected one of %s" % ", ".join(LOG_LEVELS)),
        "directives": directives("directives", params.get("directives"), "server", facts),
        "allowed_origins": origins,
    }


def host_paths(site_model):
    """[(option, path, kind)]: what must exist on the host (kind "file" or "dir") before anything is written."""
    paths = []
    if site_model["tls"]:
        paths += [("tls.certificate", site_model["tls"]["certificate"], "file"),
                  ("tls.certificate_key", site_model["tls"]["certificate_key"], "file")]
    if site_model["acme_challenge_root"]:
        paths.append((site_model["acme_option"], site_model["acme_challenge_root"], "dir"))
    for option in ("access_log", "error_log"):
        log = site_model[option]
        if log and log["path"] != "off":
            # nginx creates the log file, not its directory.
            paths.append((option, os.path.dirname(log["path"]), "dir"))
    return paths
