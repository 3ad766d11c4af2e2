# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target-side helpers for running nginx (stdlib only: managed nodes need nothing but Python and nginx)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

# "nginx version: nginx/1.22.1", "nginx version: openresty/1.21.4.1", "nginx version: nginx/1.24.0 (Ubuntu)"
_VERSION_RE = re.compile(r"^nginx version: [^/\s]+/(\d+(?:\.\d+)+)", re.MULTILINE)
_CONFIGURE_RE = re.compile(r"^configure arguments:(.*)$", re.MULTILINE)
# nginx prints its messages either way, depending on whether its error log was open yet:
#   nginx: [emerg] unknown directive "foo" in /etc/nginx/conf.d/x.conf:3
#   2026/11/27 03:39:46 [emerg] 29597#29597: unexpected "}" in /etc/nginx/nginx.conf:5
_MESSAGE_RE = re.compile(
    r"^(?:nginx: |\d{4}/\d\d/\d\d \d\d:\d\d:\d\d )\[(?P<level>[a-z]+)\] (?:\d+#\d+: )?"
    r"(?P<text>.*?)(?: in (?P<file>/\S*):(?P<line>\d+))?\s*$"
)
_ERROR_LEVELS = ("emerg", "alert", "crit", "error")
# nginx's compiled-in default when neither --conf-path nor --prefix is given.
_DEFAULT_PREFIX = "/usr/local/nginx/"


def find_binary(module, binary):
    """Resolve the nginx executable or fail with a message naming the option."""
    if "/" in binary:
        path = binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else None
    else:
        path = module.get_bin_path(binary, opt_dirs=["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"])
    if not path:
        module.fail_json(
            msg="nginx executable not found: binary=%r. Install nginx on the host or set the binary option to its path." % binary
        )
    return path


def _configure_args(text):
    match = _CONFIGURE_RE.search(text)
    args = {}
    if match:
        for word in match.group(1).split():
            if word.startswith("--") and "=" in word:
                key, value = word[2:].split("=", 1)
                args[key] = value
    return args


def version_info(module, binary_path):
    """Run `nginx -V` and return {version, configure_conf_path, prefix}."""
    rc, out, err = module.run_command([binary_path, "-V"])
    text = (out or "") + (err or "")
    match = _VERSION_RE.search(text)
    if rc != 0 or not match:
        module.fail_json(msg="Could not read the nginx version from '%s -V' (rc=%d): %s" % (binary_path, rc, text.strip()[:500]))
    configure = _configure_args(text)
    prefix = configure.get("prefix", _DEFAULT_PREFIX).rstrip("/") + "/"
    conf_path = _under(prefix, configure.get("conf-path", "conf/nginx.conf"))
    return {
        "version": match.group(1),
        "configure_conf_path": conf_path,
        "prefix": prefix,
        "pid_path": _under(prefix, configure.get("pid-path", "logs/nginx.pid")),
        "error_log_path": _under(prefix, configure.get("error-log-path", "logs/error.log")),
    }


def _under(prefix, path):
    return path if path.startswith("/") else prefix + path


def parse_messages(text):
    """nginx's own messages from stderr: [{level, message, file, line}] (file/line None when nginx gave none)."""
    messages = []
    for raw in (text or "").splitlines():
        match = _MESSAGE_RE.match(raw.strip())
        if match:
            messages.append(
                {
                    "level": match.group("level"),
                    "message": match.group("text"),
                    "file": match.group("file"),
                    "line": int(match.group("line")) if match.group("line") else None,
                }
            )
    return messages


def errors_of(text):
    """Only the error-level messages of nginx's stderr, as {file, line, message}."""
    return [
        {"file": m["file"], "line": m["line"], "message": m["message"]}
        for m in parse_messages(text)
        if m["level"] in _ERROR_LEVELS
    ]


def warnings_of(text):
    """nginx's warnings (`[warn]`, e.g. a conflicting server name nginx ignores), as readable lines."""
    return ["%s%s" % (m["message"], " in %s:%s" % (m["file"], m["line"]) if m["file"] else "")
            for m in parse_messages(text) if m["level"] == "warn"]


def describe_errors(errors, fallback):
    """One readable line per nginx error, the way nginx prints them, for a task's msg."""
    if not errors:
        return fallback.strip()[:2000]
    parts = []
    for error in errors:
        where = " in %s:%s" % (error["file"], error["line"]) if error["file"] else ""
        parts.append(error["message"] + where)
    return "; ".join(parts)


def dump_config(module, binary_path, conf_path):
    """Run `nginx -T` (test + dump). Returns (rc, stdout, stderr); stdout can hold secrets: never log it."""
    return module.run_command([binary_path, "-T", "-c", conf_path])


_DUMP_HEADER_RE = re.compile(r"^# configuration file (/.*):$", re.MULTILINE)


def loaded_files(dump_text):
    """The files nginx loaded, in order, from the headers of an `nginx -T` dump."""
    seen = []
    known = set()
    for path in _DUMP_HEADER_RE.findall(dump_text or ""):
        if path not in known:
            known.add(path)
            seen.append(path)
    return seen


def directive_values(dump_text, name):
    """First argument of every `name` directive in the dump, comments ignored (for pid and error_log, whose
    places nginx allows in few contexts; a full parse is not needed on the host)."""
    pattern = re.compile(r"^\s*%s\s+([^\s;]+)" % re.escape(name))
    values = []
    for line in (dump_text or "").splitlines():
        match = pattern.match(line.split("#", 1)[0])
        if match:
            values.append(match.group(1).strip("'\""))
    return values
