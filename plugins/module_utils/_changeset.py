# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: plan and apply a set of file, link and removal operations on the nginx configuration.

Planning only reads (check mode and diff fall out of it); applying writes atomically. An operation never
replaces what the collection did not write: a file without the managed marker, a plain file or a foreign link
where a link belongs, or a file that changed since the controller read it (`expect_sha256`) is refused.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import hashlib
import os
import re
import stat

from ansible_collections.wsproxy.nginx.plugins.module_utils import _fs


Refused = _fs.Refused


def _read(path):
    with open(path, "rb") as handle:
        return handle.read()


def _text(data):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(binary, sha256 %s)\n" % hashlib.sha256(data).hexdigest()


def _check_owned(item, current, data, marker):
    path = item["path"]
    if item.get("expect_sha256") and (data is None or hashlib.sha256(data).hexdigest() != item["expect_sha256"]):
        raise _fs.Stale("%s changed since it was read (another run or an edit); nothing was changed, run again" % path)
    if data is not None and marker and not item.get("expect_sha256") and marker.encode("utf-8") not in data:
        raise Refused("%s exists and was not written by wsproxy.nginx (no %r line); refusing to replace it" % (path, marker))


def plan(items, marker=None):
    """[(item, action, before_text, after_text)] for the operations that change something."""
    steps = []
    removed = set()  # paths an earlier operation of this plan removes
    for item in items:
        path, state = item["path"], item["state"]
        current = _fs.state_of(path)
        if state == "file":
            if current is not None and current["type"] != "file":
                raise Refused("%s is a %s, not a file; refusing to replace it" % (path, current["type"]))
            data = _read(path) if current else None
            _check_owned(item, current, data, marker)
            wanted = item["content"].encode("utf-8")
            if data == wanted and current["mode"] == (item.get("mode") or current["mode"]):
                continue
            steps.append((item, "updated" if current else "created", _text(data) if data is not None else "", item["content"]))
        elif state == "link":
            if current is not None and current["type"] != "link":
                raise Refused("%s is a %s where the site's link belongs; refusing to replace it" % (path, current["type"]))
            if current is not None and current["target"] != item["target"]:
                raise Refused("%s links to %s, not to %s; refusing to replace a link the collection did not make"
                              % (path, current["target"], item["target"]))
            if current is None:
                steps.append((item, "linked", "", "-> %s\n" % item["target"]))
        elif state == "absent":
            if current is None:
                continue
            if current["type"] == "link":
                if item.get("target") and current["target"] != item["target"]:
                    raise Refused("%s links to %s, not to %s; refusing to remove it" % (path, current["target"], item["target"]))
                steps.append((item, "removed", "-> %s\n" % current["target"], ""))
            elif current["type"] == "file":
                data = _read(path)
                _check_owned(item, current, data, marker)
                steps.append((item, "removed", _text(data), ""))
            elif current["type"] == "dir" and all(os.path.join(path, name) in removed for name in os.listdir(path)):
                steps.append((item, "removed", "(empty directory)\n", ""))
            else:
                raise Refused("%s is a %s; refusing to remove it" % (path, current["type"]))
            if steps and steps[-1][0] is item:
                removed.add(path)
    return steps


# What a diff shows of a file it changes: the changed lines with this many lines of context around each change
# (Ansible's own default, DIFF_CONTEXT), never the rest of the file.
CONTEXT = 3
HIDDEN = "<hidden>"

# Directives that set a header, a parameter or a variable from their first argument: their line is hidden when that
# name looks like a credential. more_set_headers and more_set_input_headers take "Name: value" in any argument.
_NAMED_VALUE_DIRECTIVES = frozenset((
    "proxy_set_header", "grpc_set_header", "add_header", "add_trailer", "fastcgi_param", "uwsgi_param", "scgi_param",
    "auth_http_header", "set"))
_HEADER_PAIR_DIRECTIVES = frozenset(("more_set_headers", "more_set_input_headers"))
# Directives whose arguments are themselves a secret (or an expression holding one), or a body that often is.
_SECRET_DIRECTIVES = frozenset(("secure_link_secret", "secure_link_md5", "proxy_set_body"))
_SECRET_NAME_RE = re.compile(r"auth|cookie|token|secret|passw|pwd|key|credential|session|signature|jwt|csrf|xsrf",
                             re.IGNORECASE)
# A value that looks like a credential wherever it is on a line (comments included): an HTTP authorization scheme
# followed by a credential, a name=value or name: value pair whose name is a credential, a password in a URL.
_SECRET_VALUE_RE = re.compile(
    r"\b(?:basic|bearer|digest|negotiate|token)\s+[^\s;\"']"
    r"|(?:passw(?:or)?d|pwd|secret|token|key|auth\w*)\s*[=:]"
    r"|://[^\s/@:]+:[^\s/@]*@",
    re.IGNORECASE)
_DIRECTIVE_RE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*|#)")
# One argument: a double- or single-quoted string (escapes included) or a bare word.
_ARGUMENT = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s;{}\"']+"
_ARGUMENT_RE = re.compile(_ARGUMENT)
# Each statement of a line (a line may hold several, `location / { proxy_set_header ...; }`): name, arguments.
_STATEMENT_RE = re.compile(r"(?:^|[;{}])\s*([A-Za-z_][A-Za-z0-9_]*)((?:\s+(?:%s))*)" % _ARGUMENT)


def secret_line(line):
    """Whether a line of an nginx configuration may hold a credential (see the nginx_files `diff` return value)."""
    text = line.strip()
    if _SECRET_VALUE_RE.search(text):
        return True
    for name, arguments in _STATEMENT_RE.findall(text):
        args = [arg.strip("\"'") for arg in _ARGUMENT_RE.findall(arguments)]
        if name in _SECRET_DIRECTIVES:
            return True
        if name in _NAMED_VALUE_DIRECTIVES and args and _SECRET_NAME_RE.search(args[0]):
            return True
        if name in _HEADER_PAIR_DIRECTIVES and any(_SECRET_NAME_RE.search(arg) for arg in args):
            return True
    return False


def _mask(line, marker=HIDDEN):
    """A line as a diff shows it: as is or, when it may hold a credential, its directive name and `marker` only."""
    if not secret_line(line):
        return line
    match = _DIRECTIVE_RE.match(line)
    shown = "%s%s %s" % (match.group(1), match.group(2), marker) if match else line[:len(line) - len(line.lstrip())] + marker
    end = line.rstrip()
    if end.endswith(";"):
        shown += ";"
    elif end.endswith("{"):
        shown += " {"
    return shown + ("\n" if line.endswith("\n") else "")


def _ranges(spans):
    return ", ".join("%d-%d" % span if span[1] > span[0] else "%d" % span[0] for span in spans) or "none"


def _hunks(before, after):
    """(before excerpt, after excerpt, [(first, last)] lines shown before, the same after) of an updated file: each
    change with CONTEXT lines around it, hunks apart by a `...` line. A line that may hold a credential shows as
    HIDDEN where it is context, as `<hidden: old value>` / `<hidden: new value>` where it changed (a changed secret
    still shows as a change)."""
    old, new = before.splitlines(True), after.splitlines(True)
    excerpt_old, excerpt_new, spans_old, spans_new = [], [], [], []
    for group in difflib.SequenceMatcher(None, old, new).get_grouped_opcodes(CONTEXT):
        if spans_old:
            excerpt_old.append("...\n")
            excerpt_new.append("...\n")
        spans_old.append((group[0][1] + 1, group[-1][2]))
        spans_new.append((group[0][3] + 1, group[-1][4]))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                context = [_mask(line) for line in old[i1:i2]]
                excerpt_old += context
                excerpt_new += context
            else:
                excerpt_old += [_mask(line, "<hidden: old value>") for line in old[i1:i2]]
                excerpt_new += [_mask(line, "<hidden: new value>") for line in new[j1:j2]]
    return ("".join(excerpt_old), "".join(excerpt_new), [span for span in spans_old if span[1] >= span[0]],
            [span for span in spans_new if span[1] >= span[0]])


def _step_diff(item, action, before, after):
    path = item["path"]
    before_header, after_header = "%s (%s)" % (path, action), path
    if action == "created":
        after = "".join(_mask(line) for line in after.splitlines(True))
    elif action == "removed" and not (os.path.islink(path) or os.path.isdir(path)):
        # A removed file: one line, none of its content (a link shows its target, a directory that it was empty).
        count = len(before.splitlines())
        before = "(removed; its %d line%s not shown)\n" % (count, "" if count == 1 else "s")
    elif action == "updated" and before == after:
        before, after = "(content unchanged)\n", "(content unchanged; mode %s)\n" % item.get("mode")
    elif action == "updated":
        total_old, total_new = len(before.splitlines()), len(after.splitlines())
        before, after, spans_old, spans_new = _hunks(before, after)
        before_header = "%s (updated; lines %s of %d)" % (path, _ranges(spans_old), total_old)
        after_header = "%s (lines %s of %d)" % (path, _ranges(spans_new), total_new)
    return {"before": before, "after": after, "before_header": before_header, "after_header": after_header}


def diff(steps):
    """Ansible diffs [{before, after, before_header, after_header}] of planned steps (before apply()), safe to print
    and to log: an updated file shows only its changed lines with CONTEXT lines around them (the headers name the
    line ranges shown), a created file its content, a removed file one line saying so; a line that may hold a
    credential (secret_line) shows only its directive name and <hidden>, wherever it is."""
    return [_step_diff(item, action, before, after) for item, action, before, after in steps]


def apply(steps):
    for item, action, _before, _after in steps:
        path = item["path"]
        if action in ("created", "updated"):
            if not os.path.isdir(os.path.dirname(path)):
                os.makedirs(os.path.dirname(path), 0o755)
            # A replaced file keeps its owner and, unless a mode is given, its mode.
            info = os.lstat(path) if action == "updated" else None
            mode = int(item["mode"], 8) if item.get("mode") else (stat.S_IMODE(info.st_mode) if info else 0o644)
            uid, gid = (info.st_uid, info.st_gid) if info else (os.geteuid(), os.getegid())
            _fs.atomic_write(path, item["content"].encode("utf-8"), mode, uid, gid, in_tree=True)
        elif action == "linked":
            _fs.atomic_symlink(path, item["target"], os.geteuid(), os.getegid())
        elif action == "removed":
            _fs.remove(path)
