#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: websocket_proxy
short_description: Proxy WebSocket traffic through nginx for one site, in one safe transaction
version_added: 0.1.0
description:
  - Places the WebSocket upgrade C(map) and a site (an C(upstream) block and its server blocks) where the host's
    nginx layout loads them, then tests, reloads and confirms in one transaction, and restores the previous tree
    byte for byte on any failure.
  - The layout comes from the include directives nginx really loads (see M(wsproxy.nginx.nginx_info)). In a
    C(sites-enabled) layout the site goes to C(sites-available/NAME) with a link in C(sites-enabled/) (a plain
    file or a foreign link at the link path is refused). In a C(conf.d) layout it is C(NAME.conf) there. In an
    C(nginx.conf) layout one marker-delimited block goes inside C(http {}) of the main file (the map and an
    include of C(wsproxy.d/*.conf) next to it); the rest of the file is untouched byte for byte.
  - An existing map equivalent to C(map $http_upgrade $connection_upgrade { default upgrade; '' close; }) is
    reused wherever it is loaded. If a different map owns C($connection_upgrade), it is never edited - the site
    uses C($wsproxy_connection_upgrade) from the collection's own map, with a warning. There are never two maps
    for one variable.
  - Every location carries C(proxy_http_version 1.1) and its own C(Upgrade) and C(Connection) headers (and the
    forwarded headers), so no location-level C(proxy_set_header) can silently drop them.
  - Every value is checked against an allowlist on the controller, and the files are rendered with Jinja2 and
    parsed back with crossplane and compared with the intended directives before anything is sent to the host.
    Bad input fails naming the option and the value, and nothing changes.
  - A second run changes nothing, takes no checkpoint and does not reload. O(state=absent) removes exactly what
    the site placed, and the shared map when nothing else uses its variable.
  - One module execution on the host when the site is already in place (the read of the configuration shows
    the files as wanted), two when something changes (the read, then M(wsproxy.nginx.nginx_files)).
author:
  - wsproxy.nginx contributors (@wsproxy)
extends_documentation_fragment:
  - wsproxy.nginx.nginx
  - wsproxy.nginx.transaction
  - wsproxy.nginx.transaction.CHECKPOINTS
  - wsproxy.nginx.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode plans the change and writes nothing.
  diff_mode:
    support: full
    details:
      - Every file created, updated, linked or removed - its
        changed lines with three lines of context and credentials masked, as M(wsproxy.nginx.nginx_files) shows them
options:
  name:
    description:
      - Name of the site, matching C(^[a-z0-9][a-z0-9._-]{0,63}$). Names the site file and the
        C(NAME_backend) upstream.
      - C(wsproxy-websocket-map) and C(wsproxy-websocket-map.conf) are refused, the names of the collection's own
        map file.
    type: str
    required: true
  state:
    description: Whether the site is present or absent.
    type: str
    choices: [present, absent]
    default: present
  server_name:
    description: Server names of the site (host names, C(*.example.com), C(example.*) or C(_)).
    type: list
    elements: str
    default: [_]
  listen:
    description:
      - Plain HTTP listen addresses (C(PORT), C(ADDRESS:PORT), C([IPv6]:PORT)), used as given.
      - When not set, C(80) and C([::]:80) where the host has IPv6 (C(80) alone on a host without IPv6, where
        nginx could not bind C([::]:80)).
    type: list
    elements: str
  upstream:
    description:
      - The backends, rendered as C(upstream NAME_backend {}). Each item is an address (C(host:port),
        C([v6]:port) or C(unix:/path)), or a dict with C(address) and optional C(weight) (1-1000),
        C(max_fails) (0-1000), C(fail_timeout) (seconds or an nginx time) and C(backup) (a bool), rendered as
        C(server ADDRESS weight=N max_fails=N fail_timeout=T backup;).
      - nginx refuses C(backup) servers with O(balance=ip_hash) or O(balance=hash); so does this module, naming
        C(upstream[N].backup).
    type: list
    elements: raw
    default: ["127.0.0.1:3000"]
  balance:
    description:
      - How the upstream spreads connections over its servers. V(round_robin) is nginx's default (nothing
        rendered), V(least_conn) renders C(least_conn;), V(ip_hash) C(ip_hash;) and V(hash)
        C(hash KEY consistent;) with O(balance_key) (default C($remote_addr)).
      - A site with a Socket.IO location (O(locations[].socketio=true)) on more than one non-backup server needs
        sticky sessions, because a browser's Socket.IO client polls over HTTP before it upgrades and every
        request of one session must reach the same backend; such a site is refused unless O(balance=ip_hash)
        or O(balance=hash) on a key that stays the same for a client (not C($request_uri), C($uri), C($args),
        C($arg_sid) or C($arg_t)).
    type: str
    choices: [round_robin, least_conn, ip_hash, hash]
    default: round_robin
  balance_key:
    description:
      - The key of O(balance=hash). nginx variables from this list - C($remote_addr), C($binary_remote_addr),
        C($remote_user), C($request_uri), C($uri), C($args), C($host), C($server_name), C($scheme),
        C($cookie_NAME), C($arg_NAME), C($http_NAME) - alone or joined by letters, digits and C(_.:/@,=+-), for
        example C($cookie_session) or C($http_x_tenant:$remote_addr). At least one variable; no spaces, quotes
        or braces.
      - Defaults to C($remote_addr) with O(balance=hash); only O(balance=hash) takes a key.
    type: str
  keepalive:
    description:
      - Idle keepalive connections to the backends kept by each worker (1-1024), rendered as C(keepalive N;)
        in the upstream. The site's locations then send, as C(Connection), a map variable that is C(upgrade) for
        a WebSocket handshake and empty otherwise (the collection's map file holds it), so ordinary requests
        reuse upstream connections while WebSockets still upgrade.
    type: int
  locations:
    description: The proxied locations. Each one is a WebSocket location.
    type: list
    elements: dict
    default: [{path: /}]
    suboptions:
      path:
        description: The location's URI path.
        type: str
        required: true
      match:
        description: V(prefix) (C(location /p)), V(exact) (C(location = /p)) or V(priority) (C(location ^~ /p)).
        type: str
        choices: [prefix, exact, priority]
        default: prefix
      socketio:
        description:
          - A Socket.IO location as in the guide - C(^~) prefix, C(proxy_buffering off), 600 s timeouts (unless
            set here). On several backends it needs O(balance=ip_hash) or O(balance=hash).
        type: bool
        default: false
      read_timeout:
        description: C(proxy_read_timeout) of this location (seconds or an nginx time). Defaults to O(read_timeout).
        type: raw
      send_timeout:
        description: C(proxy_send_timeout) of this location. Defaults to O(send_timeout).
        type: raw
      buffering:
        description: C(proxy_buffering on) or C(off); not set by default (off for Socket.IO).
        type: bool
      proxy_uri:
        description:
          - Replace the matched location prefix by this URI on the way to the backend (C(proxy_pass
            http://NAME_backend/URI)), for example to strip C(/ws/). Without it the URI is passed unchanged - no
            accidental trailing slash. It must end with C(/) exactly when O(locations[].path) does.
        type: str
      probe_path:
        description:
          - The path that M(wsproxy.nginx.websocket_probe) checks for this location (the C(verify.yml) and
            C(doctor.yml) playbooks, the role); defaults to O(probe_path), then O(locations[].path). Not part of
            the nginx configuration.
        type: str
      directives:
        description:
          - "More directives for this location, rendered after the collection's own, for example
            C([{proxy_buffer_size: 16k}, {proxy_set_header: [X-Tenant, $http_x_tenant]}]). The same rules as
            O(directives), for the C(location) context."
          - C(proxy_set_header) of C(Upgrade) and C(Connection) is refused (and of C(Host), C(X-Real-IP),
            C(X-Forwarded-For), C(X-Forwarded-Proto) while O(forwarded_headers=true)). With O(tls.hsts), a location
            with its own C(add_header) repeats the HSTS header in the TLS server (nginx would not inherit it).
        type: list
        elements: dict
  probe_path:
    description:
      - The path probes use for locations without their own O(locations[].probe_path), for example the
        application's WebSocket endpoint behind a location C(/). Not part of the nginx configuration.
    type: str
  read_timeout:
    description: Default C(proxy_read_timeout) (seconds or an nginx time such as C(300s), C(5m)).
    type: raw
    default: 300s
  send_timeout:
    description: Default C(proxy_send_timeout).
    type: raw
    default: 300s
  connect_timeout:
    description: C(proxy_connect_timeout); not set by default (nginx's 60 s).
    type: raw
  forwarded_headers:
    description: Send C(Host), C(X-Real-IP), C(X-Forwarded-For) and C(X-Forwarded-Proto) to the backend.
    type: bool
    default: true
  tls:
    description:
      - Add a C(wss://) server block terminating TLS. The plain HTTP server keeps proxying unless
        O(tls.redirect_http=true), which makes it redirect to HTTPS instead.
      - The certificate and key must exist on the host before the change (checked in the read, nothing written
        otherwise).
    type: dict
    suboptions:
      certificate:
        description: C(ssl_certificate) path on the host.
        type: path
        required: true
      certificate_key:
        description: C(ssl_certificate_key) path on the host.
        type: path
        required: true
      listen:
        description:
          - TLS listen addresses, used as given.
          - When not set, C(443) and C([::]:443) where the host has IPv6.
        type: list
        elements: str
      redirect_http:
        description:
          - Make the plain HTTP server answer C(301) to the HTTPS site. With O(acme_challenge_root) the redirect
            moves into C(location /), so ACME challenges are still served over plain HTTP.
        type: bool
        default: false
      protocols:
        description: C(ssl_protocols).
        type: list
        elements: str
        choices: [TLSv1, TLSv1.1, TLSv1.2, TLSv1.3]
        default: [TLSv1.2, TLSv1.3]
      http2:
        description:
          - Serve HTTP/2 to browsers on the TLS server, in the syntax of the host's nginx version - C(http2 on;)
            from nginx 1.25.1, C(listen ... ssl http2) before. WebSockets still reach the backends over HTTP/1.1.
        type: bool
        default: false
      hsts:
        description:
          - C(Strict-Transport-Security) max-age in seconds (0-315360000), rendered as C(add_header
            Strict-Transport-Security max-age=N always;) in the TLS server. Not sent by default.
        type: int
      acme_challenge_root:
        description:
          - The same as O(acme_challenge_root), next to the certificate it renews. Setting both to different
            directories is refused.
        type: path
  acme_challenge_root:
    description:
      - A webroot for ACME HTTP-01 challenges (certbot's C(--webroot -w DIR) layout, files under
        C(DIR/.well-known/acme-challenge/)), an absolute directory that must exist on the host. The plain HTTP
        server gets C(location ^~ /.well-known/acme-challenge/ { root DIR; default_type text/plain; }), also with
        O(tls.redirect_http=true), where everything else redirects.
      - "Let's Encrypt in three runs: first the site with O(acme_challenge_root) and no O(tls) (there is no
        certificate yet); then C(certbot certonly --webroot -w DIR -d NAME); then the same site with O(tls)
        naming the certificate, and O(tls.redirect_http=true) if wanted. Renewals keep working through the same
        location."
      - O(tls.acme_challenge_root) means the same.
    type: path
  access_log:
    description:
      - C(access_log) of each server of the site - a path, a dict C({path, format}) (C(format) a
        C(log_format) name such as C(combined), letters, digits and C(_)), or V(off). Not set by default
        (nginx's http-level log). The directory must exist on the host.
    type: raw
  error_log:
    description:
      - C(error_log) of each server of the site - a path or a dict C({path, level}) with C(level) one of
        C(debug), C(info), C(notice), C(warn), C(error), C(crit), C(alert), C(emerg). Not set by default. The
        directory must exist on the host.
    type: raw
  directives:
    description:
      - "More directives for each server block of the site, rendered after the collection's own and proven like
        them. A list of C({name: arguments}), one key each; C(arguments) a string, a number, a bool (C(on) or
        C(off)) or a list of them for several arguments, for example C([{client_max_body_size: 50m},
        {add_header: [X-Request-Id, $request_id, always]}])."
      - "Refused, naming the item: a name that is not an nginx directive of the C(server) context (per
        crossplane's directive table), a block directive (C(location), C(if), C(limit_except), ...), a directive
        the collection writes (C(listen), C(server_name), C(proxy_pass), C(proxy_http_version), C(ssl),
        C(ssl_certificate), C(ssl_certificate_key), C(ssl_protocols), C(http2); C(return) when the plain server
        redirects or serves ACME challenges; C(add_header Strict-Transport-Security) with O(tls.hsts)),
        C(proxy_set_header) (every location sets its own, so a server-level one would never be used; use
        O(locations[].directives)), C(include), embedded code (C(perl*), C(*lua*)), a wrong number of
        arguments, and any argument outside C(A-Za-z0-9_./:=,+*@%$!~^?()[]|-) (no spaces, quotes, C(;), braces,
        C(#) or control characters)."
    type: list
    elements: dict
  allowed_origins:
    description:
      - An exact allowlist of C(Origin) values (C(scheme://host[:port])). A WebSocket handshake from any other
        origin gets C(403), which protects against cross-site WebSocket hijacking. Requests without an C(Origin)
        (non-browser clients) pass.
    type: list
    elements: str
  check_backends:
    description:
      - Before changing anything, check from the managed node that every TCP backend of O(upstream) accepts a
        connection, and fail naming the first one that does not (nothing is changed). Checked in the same module
        execution that reads the configuration, so it costs no extra round trip. Skipped for O(state=absent).
    type: bool
    default: false
  reload:
    description: Reload nginx (confirmed) after a successful test.
    type: bool
    default: true
seealso:
  - module: wsproxy.nginx.nginx_info
  - module: wsproxy.nginx.nginx_files
  - name: nginx WebSocket proxying
    description: The upstream documentation of the pattern.
    link: https://nginx.org/en/docs/http/websocket.html
"""

EXAMPLES = r"""
- name: Proxy a whole site, WebSocket included
  wsproxy.nginx.websocket_proxy:
    name: chat
    server_name: [chat.example.com]
    upstream: [127.0.0.1:3000]

- name: Socket.IO and a /ws/ path stripped before the backend, over wss with a redirect
  wsproxy.nginx.websocket_proxy:
    name: app
    server_name: [app.example.com]
    upstream: [10.0.0.5:8080, 10.0.0.6:8080]
    balance: ip_hash  # Socket.IO on two backends needs sticky sessions
    locations:
      - path: /socket.io/
        socketio: true
      - path: /ws/
        match: priority
        proxy_uri: /
    tls:
      certificate: /etc/letsencrypt/live/app.example.com/fullchain.pem
      certificate_key: /etc/letsencrypt/live/app.example.com/privkey.pem
      redirect_http: true
    allowed_origins: [https://app.example.com]

- name: Two backends with sticky sessions, upstream keepalive, HTTP/2, HSTS, Let's Encrypt's webroot, logs and more
  wsproxy.nginx.websocket_proxy:
    name: live
    server_name: [live.example.com]
    upstream:
      - 10.0.0.5:8080
      - address: 10.0.0.6:8080
        weight: 2
        max_fails: 3
        fail_timeout: 30s
    balance: ip_hash
    keepalive: 16
    locations:
      - path: /socket.io/
        socketio: true
      - path: /
        directives:
          - proxy_set_header: [X-Request-Id, $request_id]
    tls:
      certificate: /etc/letsencrypt/live/live.example.com/fullchain.pem
      certificate_key: /etc/letsencrypt/live/live.example.com/privkey.pem
      redirect_http: true
      http2: true
      hsts: 31536000
    acme_challenge_root: /var/www/letsencrypt
    access_log: {path: /var/log/nginx/live.access.log, format: combined}
    error_log: {path: /var/log/nginx/live.error.log, level: warn}
    directives:
      - client_max_body_size: 50m
      - add_header: [X-Request-Id, $request_id, always]

- name: Remove the site (and the map when nothing else uses it)
  wsproxy.nginx.websocket_proxy:
    name: chat
    state: absent
"""

RETURN = r"""
layout:
  description: The host's layout (C(sites-enabled), C(conf.d) or C(nginx.conf)).
  returned: success, and when applying the change fails
  type: str
version:
  description: The nginx version of the host, from C(nginx -V).
  returned: success, and when applying the change fails
  type: str
  sample: 1.22.1
selinux:
  description: The SELinux mode of the host (C(enforcing), C(permissive) or C(disabled)).
  returned: success, and when applying the change fails
  type: str
  sample: disabled
ipv6:
  description: Whether the host has IPv6 (default listens include C([::]:PORT) only then).
  returned: success, and when applying the change fails
  type: bool
sites:
  description: The site of this task with the state it was brought to, and its files.
  returned: success, and when applying the change fails
  type: list
  elements: dict
  sample: [{name: chat, state: present, files: [/etc/nginx/sites-available/chat, /etc/nginx/sites-enabled/chat]}]
pruned:
  description: Always empty here (pruning is M(wsproxy.nginx.websocket_proxy_sites)' job).
  returned: success, and when applying the change fails
  type: list
  elements: str
managed_sites:
  description: The sites the collection manages on the host after this task.
  returned: success, and when applying the change fails
  type: list
  elements: dict
  sample: [{name: chat, files: [/etc/nginx/sites-available/chat, /etc/nginx/sites-enabled/chat]}]
label:
  description: The label of the checkpoint taken (O(label), else the checkpoint's own id).
  returned: when a checkpoint was taken
  type: str
draining_workers:
  description: nginx's old workers still alive after the reload, serving the connections they held.
  returned: when nginx was reloaded
  type: list
  elements: dict
  sample: [{pid: 4242, rss_kb: 5120}]
worker_limits:
  description:
    - nginx's worker limits as the configuration read sets them (null when unset), so a caller can decide
      whether M(wsproxy.nginx.nginx_workers) has anything to do without another read (the role does).
  returned: success, and when applying the change fails
  type: dict
  sample: {worker_connections: 768, worker_rlimit_nofile: null, worker_shutdown_timeout: null}
  contains:
    worker_connections:
      description: C(worker_connections) of the C(events) block.
      type: int
    worker_rlimit_nofile:
      description: C(worker_rlimit_nofile).
      type: int
    worker_shutdown_timeout:
      description: C(worker_shutdown_timeout), as written.
      type: str
files:
  description: What happened to each path that changed (C(created), C(updated), C(linked), C(removed)).
  returned: success, and when applying the change fails
  type: list
  elements: dict
  sample: [{path: /etc/nginx/sites-available/chat, action: created}, {path: /etc/nginx/sites-enabled/chat, action: linked}]
map:
  description: The upgrade map the site uses.
  returned: success, and when applying the change fails
  type: dict
  sample: {path: /etc/nginx/conf.d/wsproxy-websocket-map.conf, variable: $connection_upgrade, reused: false}
  contains:
    path:
      description: The collection's map file (or nginx.conf for the C(nginx.conf) layout).
      type: str
    variable:
      description: C($connection_upgrade), or C($wsproxy_connection_upgrade) when a different map owns the first.
      type: str
    reused:
      description: Whether an equivalent map that the collection does not own provides the variable.
      type: bool
check_mode:
  description: Whether the task ran in check mode (the change was only planned).
  returned: success, and when applying the change fails
  type: bool
probed:
  description: Always false - websocket_proxy runs no probe (M(wsproxy.nginx.websocket_proxy_sites) with
    O(wsproxy.nginx.websocket_proxy_sites#module:probe_targets) does, when nothing changes).
  returned: success, and when applying the change fails
  type: bool
checkpoint:
  description: Id of the checkpoint taken before the change, or null when nothing changed.
  returned: success, and when applying the change fails
  type: str
tested:
  description: Whether C(nginx -t) ran.
  returned: success, and when applying the change fails
  type: bool
reloaded:
  description: Whether nginx was reloaded and the reload confirmed.
  returned: success, and when applying the change fails
  type: bool
rolled_back:
  description: Whether the checkpoint was restored after a failure.
  returned: success, and when applying the change fails
  type: bool
rollback:
  description: What the rollback did (C(checkpoint), C(paths), C(tested), C(reloaded), C(errors)).
  returned: when rolled back
  type: dict
errors:
  description: nginx's own messages about a failure (C(file), C(line), C(message)) - of the change, or of
    the current configuration when it fails C(nginx -t) (nothing is changed then).
  returned: success, when applying the change fails, and when the current configuration fails C(nginx -t)
  type: list
  elements: dict
conf_path:
  description: The main configuration file nginx read, when it fails C(nginx -t) (see RV(errors)).
  returned: when the current configuration fails C(nginx -t)
  type: str
diff:
  description: In diff mode, every file created, updated, linked or removed - its
    changed lines with three lines of context and credentials masked, as M(wsproxy.nginx.nginx_files) shows them
  returned: when diff mode is on and something changes
  type: list
  elements: dict
recovered:
  description: Set when the journal of a killed run was found and its checkpoint restored first.
  returned: when an earlier run was recovered
  type: dict
tcp_checks:
  description: The connection check of every TCP backend (O(check_backends=true)); the task fails naming the first
    that refused, and nothing is changed.
  returned: when O(check_backends=true) and a backend refuses connections
  type: list
  elements: dict
  sample: [{address: "127.0.0.1:3000", ok: false, error: "[Errno 111] Connection refused"}]
  contains:
    address:
      description: The backend, C(host:port).
      type: str
    ok:
      description: Whether the connection was accepted.
      type: bool
    error:
      description: Why not, or null.
      type: str
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec


def main():
    # The work happens in the action plugin (rendering and proving on the controller) and in nginx_files on the
    # host; this entry point only exists for the documentation and fails if it is ever run on its own.
    module = AnsibleModule(argument_spec=_wsspec.ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="wsproxy.nginx.websocket_proxy runs through its action plugin; call it from a playbook task")


if __name__ == "__main__":
    main()
