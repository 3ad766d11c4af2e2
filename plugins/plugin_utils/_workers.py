# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side of wsproxy.nginx.nginx_workers: the worker limits long-lived WebSocket connections need.

Every value is validated first (nothing reaches the host on bad input). The plan edits the text lines of the
main file in place (crossplane gives the line of each directive), so every other byte, comments included, stays
as it was; the result is parsed back with crossplane and must differ from the original only by the wanted
directives. The new main file goes to nginx_files with the sha256 of the content it was computed from.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _nginx_config
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._wsvalidate import InvalidOption

WORKER_CONNECTIONS = "worker_connections"
WORKER_RLIMIT_NOFILE = "worker_rlimit_nofile"
WORKER_SHUTDOWN_TIMEOUT = "worker_shutdown_timeout"
# The order the directives are planned, inserted and reported in.
DIRECTIVES = (WORKER_CONNECTIONS, WORKER_RLIMIT_NOFILE, WORKER_SHUTDOWN_TIMEOUT)
CONTEXT = {WORKER_CONNECTIONS: "events", WORKER_RLIMIT_NOFILE: "main", WORKER_SHUTDOWN_TIMEOUT: "main"}
AT_LEAST = (WORKER_CONNECTIONS, WORKER_RLIMIT_NOFILE)

MAX_NUMBER = 1048576
NGINX_DEFAULT_CONNECTIONS = 512  # nginx's worker_connections when the directive is absent
COMMON_SOFT_LIMIT = 1024  # the usual soft RLIMIT_NOFILE nginx inherits when worker_rlimit_nofile is unset

# nginx time: units from the largest to the smallest (y M w d h m s ms), or a bare number of seconds.
_TIME_MS = (("y", 365 * 86400000), ("M", 30 * 86400000), ("w", 7 * 86400000), ("d", 86400000),
            ("h", 3600000), ("m", 60000), ("s", 1000), ("ms", 1))
_TIME_RE = re.compile(r"^(?:\d{1,9}|(?:\d{1,9}(?:ms|[yMwdhms]))+)\Z")
_TIME_PART_RE = re.compile(r"(\d+)(ms|[yMwdhms])?")
MAX_TIME_MS = 2147483647


class PlanError(Exception):
    pass


def time_ms(text):
    """Milliseconds of an nginx time ('1h30m' -> 5400000), or None when it is not one (units in any other order,
    spaces, a bare number after a unit)."""
    text = text.strip()
    if not _TIME_RE.match(text):
        return None
    order = [unit for unit, _ms in _TIME_MS]
    total, last = 0, -1
    for number, unit in _TIME_PART_RE.findall(text):
        unit = unit or "s"
        if order.index(unit) <= last:
            return None
        last = order.index(unit)
        total += int(number) * dict(_TIME_MS)[unit]
    return total


def _number(option, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NUMBER:
        raise InvalidOption(option, value, "expected an integer from 1 to %d" % MAX_NUMBER)
    return value


def validate(params):
    """{directive: wanted value or None} from the module's options; InvalidOption names the option and value."""
    wanted = {
        WORKER_CONNECTIONS: _number(WORKER_CONNECTIONS, params.get(WORKER_CONNECTIONS)),
        WORKER_RLIMIT_NOFILE: _number(WORKER_RLIMIT_NOFILE, params.get(WORKER_RLIMIT_NOFILE)),
        WORKER_SHUTDOWN_TIMEOUT: params.get(WORKER_SHUTDOWN_TIMEOUT),
    }
    timeout = wanted[WORKER_SHUTDOWN_TIMEOUT]
    if timeout is not None and timeout != "":
        total = time_ms(timeout) if _TIME_RE.match(timeout) else None
        if total is None:
            raise InvalidOption(WORKER_SHUTDOWN_TIMEOUT, timeout,
                                "expected an nginx time such as 30s, 10m, 1h or 1h30m (units y M w d h m s ms, the "
                                "largest first, no spaces), or an empty string to remove the directive")
        if total == 0:
            raise InvalidOption(WORKER_SHUTDOWN_TIMEOUT, timeout,
                                "a time of 0 is not allowed; use an empty string to remove the directive")
        if total > MAX_TIME_MS:
            raise InvalidOption(WORKER_SHUTDOWN_TIMEOUT, timeout, "at most %d ms (about 24 days)" % MAX_TIME_MS)
    return wanted


# --- reading the text -------------------------------------------------------------------------------------------

def _code(line):
    """The part of a line before its comment: a `#` at the start of a token, outside quotes."""
    quote, escaped, token_start = None, False, True
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and token_start:
            return line[:index]
        token_start = quote is None and (char.isspace() or char in ";{}")
    return line.rstrip("\r\n")


def _directive_re(name):
    return re.compile(r"(?:^|(?<=[\s;{}]))(?P<name>%s)(?P<space>\s+)(?P<arg>\"[^\"]*\"|'[^']*'|[^\s;{}\"']+)\s*;"
                      % re.escape(name))


def _indent(line):
    return line[:len(line) - len(line.lstrip(" \t"))]


def _eol(line):
    return "\r\n" if line.endswith("\r\n") else "\n"


def _only(config, name):
    """(directive, file) of `name` in its context anywhere nginx loads it, or None."""
    found = config.find(name, CONTEXT[name])
    if len(found) > 1:
        places = ", ".join("%s:%s" % (path, directive["line"]) for directive, path, _stack in found)
        raise PlanError("%s is set more than once (%s); fix that by hand first" % (name, places))
    return (found[0][0], found[0][1]) if found else None


def _value(name, directive):
    if directive is None:
        return None
    arg = directive["args"][0] if directive["args"] else ""
    if name in AT_LEAST:
        try:
            return int(arg)
        except ValueError:
            raise PlanError("%s %r is not a number" % (name, arg))
    return arg


def current(config):
    """{directive: value or None} as the configuration sets them now (what nginx uses: the last one)."""
    values = {}
    for name in DIRECTIVES:
        found = config.find(name, CONTEXT[name])
        try:
            values[name] = _value(name, found[-1][0] if found else None)
        except PlanError:
            values[name] = None
    return values


# --- the plan ---------------------------------------------------------------------------------------------------

class _Edits(object):
    """Line edits of one file, applied together: in-place argument changes and removals, and inserted lines."""

    def __init__(self, path, text):
        self.path = path
        self.lines = text.splitlines(True)
        self.replace = {}  # line index -> [(name, new argument or None to remove)]
        self.insert = {}  # line index after which to insert (-1: at the top) -> [lines]

    def line(self, number):
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def change(self, name, directive, value):
        number = directive["line"]
        matches = list(_directive_re(name).finditer(_code(self.line(number))))
        if len(matches) != 1 or _unquote(matches[0].group("arg")) != directive["args"][0]:
            raise PlanError("%s:%d: cannot edit '%s' in place; write it as '%s VALUE;' on one line"
                            % (self.path, number, name, name))
        self.replace.setdefault(number - 1, []).append((name, value))

    def add_after(self, index, anchor, text):
        self.insert.setdefault(index, []).append(_indent(anchor) + text + _eol(anchor))

    def result(self):
        out = list(self.insert.get(-1, []))
        for index, line in enumerate(self.lines):
            for name, value in self.replace.get(index, []):
                line = _edit_line(line, name, value)
            added = self.insert.get(index, [])
            if added and line and not line.endswith("\n"):
                line += _eol(added[0])
            out.append(line)
            out.extend(added)
        return "".join(out)


def _unquote(arg):
    return arg[1:-1] if len(arg) >= 2 and arg[0] == arg[-1] and arg[0] in "\"'" else arg


def _edit_line(line, name, value):
    code = _code(line)
    match = _directive_re(name).search(code)
    if value is not None:
        return line[:match.start("arg")] + str(value) + line[match.end("arg"):]
    rest = code[:match.start()] + code[match.end():]
    if not rest.strip():
        return ""  # the directive had the line to itself (with its own comment, if any)
    end = match.end()
    while end < len(line) and line[end] in " \t" and end < len(code):
        end += 1
    return line[:match.start()] + line[end:]


def _main_anchor(edits, top):
    """(line index to insert after, line to copy the indent from) for a new main-context directive: after
    worker_processes, else after the last simple directive before the first block, else above the first one."""
    def ends_line(directive):
        return _code(edits.line(directive["line"])).rstrip().endswith(";")

    for directive in top:
        if directive["directive"] == "worker_processes" and "block" not in directive and ends_line(directive):
            return directive["line"] - 1, edits.line(directive["line"])
    simple = []
    for directive in top:
        if "block" in directive:
            break
        simple.append(directive)
    for directive in reversed(simple):
        if ends_line(directive):
            return directive["line"] - 1, edits.line(directive["line"])
    if not top:
        raise PlanError("%s holds no directive to place %s next to" % (edits.path, " and ".join(DIRECTIVES[1:])))
    return top[0]["line"] - 2, edits.line(top[0]["line"])


def _events_anchor(edits, config, conf_path):
    """(line index of `events {`, indented line to copy) for a new worker_connections."""
    events = [(d, path) for d, path, _stack in config.find("events", "main")]
    if not events or events[0][1] != conf_path:
        where = "%s:%s" % (events[0][1], events[0][0]["line"]) if events else "nowhere"
        raise PlanError("the events block is not in %s (found %s); worker_connections is only added to the main file"
                        % (conf_path, where))
    number = events[0][0]["line"]
    line = edits.line(number)
    if not _code(line).rstrip().endswith("{"):
        raise PlanError("%s:%d: write 'events {' on a line of its own so worker_connections can go inside it"
                        % (conf_path, number))
    inner = _indent(line) + "    "
    for following in edits.lines[number:]:
        if not following.strip():
            continue
        if not following.strip().startswith("}") and len(_indent(following)) > len(_indent(line)):
            inner = _indent(following)
        break
    return number - 1, inner + line.lstrip(" \t")


def _shape(directives, drop):
    """The directive tree without line numbers and without the `drop` directives of (context, name)."""
    shaped = []
    for directive in directives:
        if (None, directive["directive"]) in drop:
            continue
        block = directive.get("block")
        if block is not None:
            inside = set((None, name) for context, name in drop if context == directive["directive"])
            block = _shape(block, inside)
        shaped.append((directive["directive"], tuple(directive["args"]), block))
    return shaped


def _find(directives, name, context):
    if context != "main":
        return [found for d in directives if d["directive"] == context and "block" in d
                for found in _find(d["block"], name, "main")]
    return [d for d in directives if d["directive"] == name]


def _prove(conf_path, original, updated, targets):
    """Parse both texts with crossplane: they must differ only by the edited directives, which must hold the
    wanted values (None: absent)."""
    try:
        parsed = _nginx_config.parse_files({conf_path: original, conf_path + ".new": updated})
    except _nginx_config.ConfigError as exc:
        raise PlanError("the edited %s does not parse (%s); nothing was sent to the host" % (conf_path, exc))
    before, after = parsed[conf_path], parsed[conf_path + ".new"]
    drop = set((None if CONTEXT[name] == "main" else CONTEXT[name], name) for name in targets)
    if _shape(before, drop) != _shape(after, drop):
        raise PlanError("the edit of %s would change more than %s; nothing was sent to the host"
                        % (conf_path, ", ".join(sorted(targets))))
    for name, value in targets.items():
        found = _find(after, name, CONTEXT[name])
        wanted = [] if value is None else [[str(value)]]
        if [d["args"] for d in found] != wanted:
            raise PlanError("the edited %s does not hold %s %s; nothing was sent to the host" % (conf_path, name, value))


def plan(config, wanted):
    """{files: [nginx_files operations] (empty when nothing changes), before: {directive: value}, after: {...},
    warnings: [...]} for the wanted worker limits."""
    conf_path = config.conf_path
    original = config.files[conf_path]
    edits = _Edits(conf_path, original)
    before, after, targets = {}, {}, {}
    events_added = main_added = None
    for name in DIRECTIVES:
        found = _only(config, name)
        current = _value(name, found[0] if found else None)
        before[name] = after[name] = current
        value = wanted.get(name)
        if value is None:
            continue
        if name in AT_LEAST:
            if current is not None and current >= value:
                continue
        elif value == "":
            if current is None:
                continue
            value = None
        elif current is not None and time_ms(current) == time_ms(value):
            continue
        after[name] = value
        targets[name] = value
        if found is not None:
            directive, path = found
            if path != conf_path:
                raise PlanError("%s is set in %s:%s, which is included by %s; this module only edits the main file. "
                                "Change it there by hand or move the directive to %s"
                                % (name, path, directive["line"], conf_path, conf_path))
            edits.change(name, directive, value)
        elif CONTEXT[name] == "events":
            events_added = events_added or _events_anchor(edits, config, conf_path)
            edits.add_after(events_added[0], events_added[1], "%s %s;" % (name, value))
        else:
            if main_added is None:
                top = _nginx_config.parse_files({conf_path: original})[conf_path]
                main_added = _main_anchor(edits, top)
            edits.add_after(main_added[0], main_added[1], "%s %s;" % (name, value))
    files = []
    if targets:
        updated = edits.result()
        _prove(conf_path, original, updated, targets)
        files.append({"path": conf_path, "state": "file", "content": updated,
                      "expect_sha256": hashlib.sha256(original.encode("utf-8")).hexdigest()})
    return {"files": files, "before": before, "after": after, "warnings": warnings(after)}


def warnings(values):
    """Each WebSocket through nginx holds two connections, each one a file descriptor of the worker."""
    connections = values.get(WORKER_CONNECTIONS) or NGINX_DEFAULT_CONNECTIONS
    nofile = values.get(WORKER_RLIMIT_NOFILE)
    if nofile is not None and nofile < 2 * connections:
        return ["worker_rlimit_nofile %d is less than 2 x worker_connections (%d): each proxied WebSocket holds two "
                "connections, so a worker runs out of file descriptors first; set worker_rlimit_nofile to at least %d"
                % (nofile, connections, 2 * connections)]
    if nofile is None and 2 * connections > COMMON_SOFT_LIMIT:
        return ["worker_rlimit_nofile is not set: each worker keeps the open-file limit nginx was started with "
                "(often %d), less than 2 x worker_connections (%d); set worker_rlimit_nofile to at least %d"
                % (COMMON_SOFT_LIMIT, connections, 2 * connections)]
    return []
