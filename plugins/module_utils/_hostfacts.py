# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Target side: what the controller needs besides `nginx -T`, gathered in the same module execution.

The controller decides from these whether a change is needed at all (so a run that changes nothing costs
one module execution per host), whether the backends accept connections from this host, and whether SELinux
is enabled; each is cheap next to `nginx -T` itself.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import re
import socket
import stat
import zlib

from ansible_collections.wsproxy.nginx.plugins.module_utils import _nginx, _txn

# Keys under which nginx_info hands the packed `nginx -T` text and the state of the files it lists to the action
# plugins, which remove them from every result.
DUMP_KEY = "wsproxy_nginx_dump"
STATES_KEY = "wsproxy_nginx_file_states"
_ADDRESS_RE = re.compile(r"^\[?(?P<host>[^\[\]]+?)\]?:(?P<port>\d+)$")


def pack(text):
    """The dump as it travels to the controller: zlib (a config compresses about twentyfold) in base64, so a
    10,000-server configuration costs the module's JSON and the connection ~300 KB instead of ~6 MB."""
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 1)).decode("ascii")


def unpack(packed):
    return zlib.decompress(base64.b64decode(packed)).decode("utf-8")


def _lstat(path):
    try:
        info = os.lstat(path)
    except OSError:
        return None
    entry = {"mode": "%04o" % stat.S_IMODE(info.st_mode)}
    if stat.S_ISLNK(info.st_mode):
        entry.update(type="link", target=os.readlink(path))
    else:
        entry["type"] = "file" if stat.S_ISREG(info.st_mode) else "other"
    return entry


def file_states(dump):
    """{path: {type, mode, target}} of every file in an `nginx -T` dump, plus what each symlink points to:
    enough to tell, with the dump's contents, whether the files the controller wants are already there."""
    states = {}
    for path in _nginx.loaded_files(dump):
        entry = _lstat(path)
        if entry is None:
            continue
        states[path] = entry
        if entry["type"] == "link":
            target = os.path.normpath(os.path.join(os.path.dirname(path), entry["target"]))
            entry["resolved"] = target
            states.setdefault(target, _lstat(target))
    return states


def tcp_checks(addresses, timeout):
    """[{address, ok, error}]: whether each `host:port` accepts a TCP connection from this host."""
    checks = []
    for address in addresses:
        match = _ADDRESS_RE.match(address)
        check = {"address": address, "ok": False, "error": None}
        if not match:
            check["error"] = "not a host:port address"
        else:
            try:
                socket.create_connection((match.group("host"), int(match.group("port"))), timeout).close()
                check["ok"] = True
            except (OSError, socket.error) as exc:
                check["error"] = str(exc)
        checks.append(check)
    return checks


def has_ipv6():
    """Whether this host has IPv6 (an address on any interface): without it nginx cannot bind [::]:PORT."""
    try:
        with open("/proc/net/if_inet6") as handle:
            return bool(handle.read().strip())
    except (IOError, OSError):
        return False


def path_kinds(paths):
    """{path: "file" | "dir" | "other" | None}: what each path is on this host (None: missing or unreadable)."""
    kinds = {}
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            kinds[path] = None
            continue
        kinds[path] = "file" if stat.S_ISREG(info.st_mode) else "dir" if stat.S_ISDIR(info.st_mode) else "other"
    return kinds


def selinux_mode():
    """enforcing, permissive or disabled, read from selinuxfs (no libselinux needed)."""
    try:
        with open("/sys/fs/selinux/enforce") as handle:
            return "enforcing" if handle.read().strip() == "1" else "permissive"
    except (IOError, OSError):
        return "disabled"


def recovery_pending(state_dir):
    """True when a killed run left its journal: the next changing run restores its checkpoint first."""
    return os.path.exists(_txn.Journal(state_dir).path)
