# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A large, realistic nginx configuration for the scaling benchmark and its unit test (standard library only).

`generate(server_blocks, per_file)` returns {path relative to the nginx.conf directory: text} of the files
a conf.d layout includes: `per_file` server blocks per file (`conf.d/large-0001.conf`, ...), the standard
`$connection_upgrade` map in a file of its own, an http-level file that sizes the server_names hash for
that many names, and the snippets the servers include (one by name, two by a glob).

Every server listens on port 80 or 8080 with names of its own and has a static root, a proxied location and
usually more: proxy_set_header at the server or location level or from an included file, a regex location,
and on every seventh server a WebSocket location, most of them with mistakes the lint reports (hard-coded
Connection, dropped inherited headers, Socket.IO with buffering on, no proxy_http_version 1.1).

`nginx_conf(root)` is a Debian-like nginx.conf that includes conf.d, with its pid, logs and temporary paths
under `root`; `write_tree(root, server_blocks, per_file)` writes it and the generated files under
`root`/etc/nginx and returns the path of nginx.conf. Everything passes `nginx -t`; nothing needs a
certificate.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

MAP_FILE = "conf.d/large-map.conf"
HTTP_FILE = "conf.d/large-http.conf"
CONF_DIR = "etc/nginx"
# Included by the servers: one file by name (relative to the nginx.conf directory, as Debian's
# proxy_params), and a directory by glob.
PROXY_PARAMS = "snippets/proxy-params.conf"
SECURITY_GLOB = "snippets/security/*.conf"
SNIPPETS = {
    PROXY_PARAMS: "".join(line + "\n" for line in (
        "proxy_set_header Host $host;",
        "proxy_set_header X-Real-IP $remote_addr;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    )),
    "snippets/security/frame-options.conf": "add_header X-Frame-Options SAMEORIGIN always;\n",
    "snippets/security/nosniff.conf": "add_header X-Content-Type-Options nosniff always;\n",
}

_MAP = "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}\n"

_NGINX_CONF = """\
worker_processes auto;
pid {root}/run/nginx.pid;
error_log {root}/log/error.log;

events {{
    worker_connections 768;
}}

http {{
    sendfile on;
    tcp_nopush on;
    types_hash_max_size 2048;
    default_type application/octet-stream;

    access_log {root}/log/access.log;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;

    gzip on;

    include {root}/etc/nginx/conf.d/*.conf;
}}
"""

_FORWARDED = (
    "proxy_set_header Host $host;",
    "proxy_set_header X-Real-IP $remote_addr;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header X-Forwarded-Proto $scheme;",
)


def _block(indent, head, lines):
    pad = "    " * indent
    inner = "".join("%s    %s\n" % (pad, line) for line in lines)
    return "%s%s {\n%s%s}\n" % (pad, head, inner, pad)


def _websocket_location(number):
    """A WebSocket location; three in four of them carry mistakes the lint reports."""
    kind = (number // 7) % 4
    if kind == 1:  # Connection hard-coded on a path that also serves plain HTTP
        return _block(1, "location /live/", (
            "proxy_pass http://127.0.0.1:3001;",
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            'proxy_set_header Connection "upgrade";',
            "proxy_read_timeout 300s;",
        ))
    if kind == 2:  # Socket.IO with buffering on and the default read timeout
        return _block(1, "location /socket.io/", (
            "proxy_pass http://127.0.0.1:3002;",
            "proxy_http_version 1.1;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $connection_upgrade;",
        ))
    if kind == 3:  # no proxy_http_version 1.1 and no Connection header
        return _block(1, "location /websocket", (
            "proxy_pass http://127.0.0.1:3003;",
            "proxy_set_header Upgrade $http_upgrade;",
            "proxy_read_timeout 1h;",
        ))
    return _block(1, "location /ws/", (
        "proxy_pass http://127.0.0.1:3000;",
        "proxy_http_version 1.1;",
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        "proxy_set_header Host $host;",
        "proxy_read_timeout 300s;",
        "proxy_send_timeout 300s;",
    ))


def server_block(number):
    """The text of server block `number` (0-based); its names are unique to it."""
    name = "site-%05d.example.test" % number
    top = [
        "listen %s;" % ("8080" if number % 5 == 4 else "80"),
        "server_name %s www.%s;" % (name, name),
        "root /var/www/site-%05d;" % number,
        "index index.html;",
        "access_log off;",
    ]
    if number % 3 == 0:  # headers at the server level, inherited by the locations that set none
        top.extend(_FORWARDED[:3])
    if number % 10 == 0:
        top.append("include %s;" % SECURITY_GLOB)
    body = [
        _block(1, "location /", ("try_files $uri $uri/ =404;",)),
        _block(1, "location /static/", ("alias /var/www/site-%05d/static/;" % number, "expires 7d;")),
    ]
    if number % 6 == 1:
        body.append(_block(1, "location /api/", ("proxy_pass http://127.0.0.1:3000;",) + _FORWARDED))
    elif number % 3 == 1:
        body.append(_block(1, "location /api/", ("proxy_pass http://127.0.0.1:3000;", "include %s;" % PROXY_PARAMS)))
    elif number % 3 == 2:
        body.append(_block(1, "location /api/", ("proxy_pass http://127.0.0.1:3000/;", "proxy_read_timeout 90s;")))
    else:
        # Its own proxy_set_header drops the three the server sets.
        body.append(_block(1, "location /api/", ("proxy_pass http://127.0.0.1:3000;", "proxy_set_header X-Api 1;")))
    if number % 4 == 0:
        body.append(_block(1, r"location ~* \.(png|jpg|css|js)$", ("expires 30d;", "add_header Cache-Control public;")))
    if number % 7 == 0:
        body.append(_websocket_location(number))
    return _block(0, "server", top)[:-2] + "".join(body) + "}\n"


def http_settings(server_blocks):
    """http-level settings a config with this many server names needs (two names per server)."""
    size = 1024
    while size < 2 * server_blocks:
        size *= 2
    return "server_names_hash_bucket_size 128;\nserver_names_hash_max_size %d;\n" % size


def generate(server_blocks, per_file):
    """{path relative to the nginx.conf directory: text}: `server_blocks` server blocks, `per_file` a file."""
    if server_blocks < 0 or per_file < 1:
        raise ValueError("server_blocks must be >= 0 and per_file >= 1")
    files = dict(SNIPPETS)
    files.update({MAP_FILE: _MAP, HTTP_FILE: http_settings(server_blocks)})
    for start in range(0, server_blocks, per_file):
        numbers = range(start, min(start + per_file, server_blocks))
        path = "conf.d/large-%04d.conf" % (start // per_file + 1)
        files[path] = "\n".join(server_block(number) for number in numbers)
    return files


def nginx_conf(root):
    """A Debian-like nginx.conf whose http block includes `root`/etc/nginx/conf.d/*.conf."""
    return _NGINX_CONF.format(root=root.rstrip("/"))


def write_tree(root, server_blocks, per_file):
    """Write nginx.conf and the generated files under `root`/etc/nginx; return the path of nginx.conf."""
    conf_dir = os.path.join(root, CONF_DIR)
    files = dict(generate(server_blocks, per_file))
    files["nginx.conf"] = nginx_conf(root)
    directories = set(os.path.join(conf_dir, os.path.dirname(relative)) for relative in files)
    directories.update(os.path.join(root, name) for name in ("run", "log", "tmp"))
    for directory in sorted(directories):
        if not os.path.isdir(directory):
            os.makedirs(directory)
    for relative, text in files.items():
        with open(os.path.join(conf_dir, relative), "w") as handle:
            handle.write(text)
    return os.path.join(conf_dir, "nginx.conf")
