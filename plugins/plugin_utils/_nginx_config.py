# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: turn the text of `nginx -T` into the effective directive tree, with crossplane.

nginx -T prints every file it loaded, in load order, each after a line `# configuration file PATH:`.
Each file is parsed on its own (crossplane, `single=True`), and includes are then resolved the way nginx
does it, against the files nginx reported, never against the controller's or the host's disk.

Large configurations (10,000 server blocks and more) are read in time linear in their size: crossplane's
parser reads the texts from memory, its lexer is fed runs of characters it treats alike instead of one
character at a time (see `_chunks`), include globs are matched against the files of their own directory
only, and the directives are indexed by name and by block.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import gc
import os
import re
import shutil
import tempfile
import threading

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


# Runs of characters crossplane's lexer handles one by one in the same way, so that feeding it a run at a
# time gives the very same tokens (and line numbers): plain characters (nothing that starts or ends a token,
# a quoted string, a comment or an escape), an escape with the character it escapes, blanks other than the
# newline (which alone advances the line count), and any other single character.
_CHUNK_RE = re.compile(r"[^\s\"'{};#\\]+|\\.|[^\S\n]+|.", re.S)
_memory = threading.local()


def _chunks(text):
    """What crossplane's lexer iterates over for `text`. Where an extension lexer (ngx_lua's *_by_lua_block)
    may take over, the text is given a character at a time, exactly as crossplane reads a file."""
    if any(name in text for name in crossplane.lexer.EXTERNAL_LEXERS):
        return text
    return _CHUNK_RE.findall(text)


def lex_text(text, name):
    """crossplane's tokens (token, line, quoted) of a file's text, without writing it anywhere."""
    # crossplane reads files in text mode, which turns \r\n and \r into \n.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lexer = crossplane.lexer
    return lexer._balance_braces(lexer._lex_file_object([_chunks(text)]), name)


def _memory_lex(filename):
    """Stands in for the lexer crossplane's parser calls: texts registered by this thread's parse_files are
    read from memory, every other file from disk by crossplane's own lexer."""
    texts = getattr(_memory, "texts", None)
    if texts is not None and filename in texts:
        return lex_text(texts[filename], filename)
    return _memory_lex.wsproxy_original(filename)


def _can_parse_from_memory():
    lexer = getattr(crossplane, "lexer", None)
    return (
        getattr(crossplane, "parser", None) is not None
        and callable(getattr(crossplane.parser, "lex", None))
        and all(hasattr(lexer, name) for name in ("_lex_file_object", "_balance_braces", "EXTERNAL_LEXERS"))
    )


if HAS_CROSSPLANE and _can_parse_from_memory():
    # Installed once per process; a second import of this module replaces the first one's stand-in.
    _memory_lex.wsproxy_original = getattr(crossplane.parser.lex, "wsproxy_original", crossplane.parser.lex)
    crossplane.parser.lex = _memory_lex
    FROM_MEMORY = True
else:
    FROM_MEMORY = False


def _parse_one(name, path):
    payload = crossplane.parse(name, single=True, check_ctx=False, check_args=False, comments=False)
    config = payload["config"][0]
    if config["errors"]:
        error = config["errors"][0]
        raise ConfigError("cannot parse %s:%s: %s" % (path, error.get("line"), error.get("error")))
    return config["parsed"]


class GcPaused(object):
    """No cyclic garbage collection while a big tree of fresh dicts and lists is built or analysed (none of it
    is garbage; with tens of thousands of directives alive, the collector would only walk them again and
    again, for most of the time spent)."""

    def __enter__(self):
        self.was_enabled = gc.isenabled()
        gc.disable()
        return self

    def __exit__(self, *exc_info):
        if self.was_enabled:
            gc.enable()


def parse_files(files):
    """{path: crossplane directive list} for every file. crossplane parses each text from memory; with a
    crossplane whose internals differ, the texts go through a private temporary directory instead (crossplane
    reads files by name), removed before returning."""
    if not FROM_MEMORY:
        return _parse_files_on_disk(files)
    previous = getattr(_memory, "texts", None)
    _memory.texts = files
    try:
        with GcPaused():
            return dict((path, _parse_one(path, path)) for path in files)
    finally:
        _memory.texts = previous


def _parse_files_on_disk(files):
    parsed = {}
    tmpdir = tempfile.mkdtemp(prefix="wsproxy-nginx-")
    try:
        for index, (path, content) in enumerate(files.items()):
            local = os.path.join(tmpdir, "%d.conf" % index)
            with open(local, "w") as handle:
                handle.write(content)
            parsed[path] = _parse_one(local, path)
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
    return _IncludeResolver(known_paths).resolve(pattern)


class _IncludeResolver(object):
    """resolve_include for many includes against the same files: a glob is matched only against the files of
    the directory it names (all files only when a directory part is itself a glob), and each pattern once."""

    def __init__(self, known_paths):
        self.known = known_paths
        self.by_directory = {}
        for path in known_paths:
            self.by_directory.setdefault(os.path.dirname(path), []).append(path)
        self.resolved = {}

    def resolve(self, pattern):
        if pattern not in self.resolved:
            self.resolved[pattern] = self._resolve(pattern)
        return list(self.resolved[pattern])

    def _resolve(self, pattern):
        if not _GLOB_CHARS.search(pattern):
            return [pattern] if pattern in self.known else []
        directory = os.path.dirname(pattern)
        candidates = self.known if _GLOB_CHARS.search(directory) else self.by_directory.get(directory, [])
        return sorted(path for path in candidates if _glob_match(pattern, path))


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
        self._by_name = {}
        self._named_children = {}
        self._resolver = _IncludeResolver(files)
        with GcPaused():
            self._walk(conf_path, parsed.get(conf_path, []), ())

    @classmethod
    def from_dump(cls, conf_path, dump_text):
        files = split_dump(dump_text)
        if conf_path not in files:
            # nginx always prints the main file first, whatever path it was given as.
            conf_path = next(iter(files))
        return cls(conf_path, files, parse_files(files))

    def _walk(self, path, directives, stack):
        siblings = self._children.setdefault(id(stack[-1]), []) if stack else None
        for directive in directives:
            name = directive["directive"]
            entry = (directive, path, stack)
            self.entries.append(entry)
            self._by_name.setdefault(name, []).append(entry)
            if siblings is not None:
                siblings.append(directive)
            if name == "include" and directive["args"]:
                pattern = _absolute(directive["args"][0], self.prefix)
                loaded = self._resolver.resolve(pattern)
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

    def children_named(self, block, name):
        """The directives `name` directly inside a block directive, in order (an index: no scan of the block)."""
        index = self._named_children.get(id(block))
        if index is None:
            index = {}
            for child in self._children.get(id(block), []):
                index.setdefault(child["directive"], []).append(child)
            self._named_children[id(block)] = index
        return index.get(name, [])

    def find(self, name, context=None):
        """(directive, file, stack) of every `name` directive, optionally only directly inside `context`."""
        return [
            (directive, path, stack)
            for directive, path, stack in self._by_name.get(name, [])
            if context is None or context_name(stack) == context
        ]


def context_name(stack):
    return stack[-1]["directive"] if stack else "main"
