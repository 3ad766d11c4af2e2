# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: turn the text of `nginx -T` into the effective directive tree, with crossplane.

nginx -T prints every file it loaded, in load order, each after a line `# configuration file PATH:`.
Each file is parsed on its own (crossplane, `single=True`), and includes are then resolved the way nginx
does it, against the files nginx reported, never against the controller's or the host's disk.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re
import shutil
import tempfile

try:
    import crossplane

    HAS_CROSSPLANE = True
    CROSSPLANE_IMPORT_ERROR = None
except ImportError as exc:  # reported by the action plugins with missing_required_lib()
    HAS_CROSSPLANE = False
    CROSSPLANE_IMPORT_ERROR = exc

_FILE_HEADER_RE = re.compile(r"^# configuration file (?P<path>/.*):$")
_GLOB_CHARS = re.compile(r"[*?\[]")


class ConfigError(Exception):
    """The dump could not be read or parsed."""


def split_dump(text):
    """{path: content} of every file in an `nginx -T` dump, in the order nginx loaded them."""
    files = {}
    current = None
    lines = []
    for line in text.splitlines(True):
        match = _FILE_HEADER_RE.match(line.rstrip("\r\n"))
        if match:
            if current is not None:
                files[current] = _strip_dump_separator("".join(lines))
            current = match.group("path")
            lines = []
        elif current is not None:
            lines.append(line)
    if current is not None:
        files[current] = _strip_dump_separator("".join(lines))
    if not files:
        raise ConfigError("the output of 'nginx -T' lists no configuration file")
    return files


def _strip_dump_separator(content):
    # nginx writes a newline after each file's contents.
    return content[:-1] if content.endswith("\n") else content


def parse_files(files):
    """{path: crossplane directive list} for every file. The texts go through a private temporary directory
    because crossplane reads files by name; it is removed before returning."""
    parsed = {}
    tmpdir = tempfile.mkdtemp(prefix="wsproxy-nginx-")
    try:
        for index, (path, content) in enumerate(files.items()):
            local = os.path.join(tmpdir, "%d.conf" % index)
            with open(local, "w") as handle:
                handle.write(content)
            payload = crossplane.parse(local, single=True, check_ctx=False, check_args=False, comments=False)
            config = payload["config"][0]
            if config["errors"]:
                error = config["errors"][0]
                raise ConfigError("cannot parse %s:%s: %s" % (path, error.get("line"), error.get("error")))
            parsed[path] = config["parsed"]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return parsed


def _absolute(pattern, prefix):
    return pattern if pattern.startswith("/") else os.path.normpath(os.path.join(prefix, pattern))


def _glob_match(pattern, path):
    """True when `path` matches the include glob as glob(3) does: per path component, `*` never crossing `/`
    and a leading dot matched only explicitly."""
    want = pattern.split("/")
    have = path.split("/")
    if len(want) != len(have):
        return False
    for part, name in zip(want, have):
        if name.startswith(".") and not part.startswith("."):
            return False
        if not fnmatch.fnmatchcase(name, part):
            return False
    return True


def resolve_include(pattern, known_paths):
    """Files an include loads, in nginx's order, out of the files nginx reported."""
    if not _GLOB_CHARS.search(pattern):
        return [pattern] if pattern in known_paths else []
    return sorted(path for path in known_paths if _glob_match(pattern, path))


class NginxConfig(object):
    """The effective configuration: every directive nginx loads, in load order, with its file and context."""

    def __init__(self, conf_path, files, parsed):
        self.conf_path = conf_path
        self.prefix = os.path.dirname(conf_path)
        self.files = files
        self.parsed = parsed
        self.includes = []
        # (directive, file, stack) in load order; the stack holds the enclosing block directives, outermost first.
        self.entries = []
        self._children = {}
        self._walk(conf_path, parsed.get(conf_path, []), ())

    @classmethod
    def from_dump(cls, conf_path, dump_text):
        files = split_dump(dump_text)
        if conf_path not in files:
            # nginx always prints the main file first, whatever path it was given as.
            conf_path = next(iter(files))
        return cls(conf_path, files, parse_files(files))

    def _walk(self, path, directives, stack):
        for directive in directives:
            name = directive["directive"]
            self.entries.append((directive, path, stack))
            if stack:
                self._children.setdefault(id(stack[-1]), []).append(directive)
            if name == "include" and directive["args"]:
                pattern = _absolute(directive["args"][0], self.prefix)
                loaded = resolve_include(pattern, self.files)
                self.includes.append(
                    {
                        "file": path,
                        "line": directive["line"],
                        "context": context_name(stack),
                        "pattern": pattern,
                        "files": loaded,
                    }
                )
                for included in loaded:
                    self._walk(included, self.parsed.get(included, []), stack)
            elif "block" in directive:
                # A map's or a types' body holds values, not directives; nothing to include or walk there.
                if name in ("map", "types", "geo", "split_clients", "charset_map", "match"):
                    continue
                self._walk(path, directive["block"], stack + (directive,))

    def children(self, block):
        """Directives directly inside a block directive, including those its includes bring in."""
        return self._children.get(id(block), [])

    def find(self, name, context=None):
        """(directive, file, stack) of every `name` directive, optionally only directly inside `context`."""
        return [
            (directive, path, stack)
            for directive, path, stack in self.entries
            if directive["directive"] == name and (context is None or context_name(stack) == context)
        ]


def context_name(stack):
    return stack[-1]["directive"] if stack else "main"
