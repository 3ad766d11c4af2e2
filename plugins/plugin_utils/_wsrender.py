# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side: render the files of a WebSocket site with Jinja2, and prove them.

Two independent descriptions of the same config: the Jinja2 templates (what a person reads, laid out like
GUIDE.md), and the directive tree built here from the validated model (what nginx must see). The rendered text
is parsed back with crossplane and must equal the tree exactly, or nothing is sent to the host.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from jinja2 import Environment, StrictUndefined

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _nginx_config

MANAGED_MARKER = "Managed by wsproxy.nginx"

_SITE_TEMPLATE = """\
# {{ marker }} (websocket_proxy {{ site.name }}); local changes are overwritten.
{% if site.allowed_origins %}
# Browsers always send Origin on a WebSocket handshake: only these may open one (403 otherwise).
map $http_origin $wsproxy_origin_denied_{{ site.var }} {
    default 1;
    '' 0;
{% for origin in site.allowed_origins %}
    {{ origin }} 0;
{% endfor %}
}

{% endif %}
upstream {{ site.name }}_backend {
{% for server in site.upstreams %}
    server {{ server.address }}
{%- if server.weight is not none %} weight={{ server.weight }}{% endif %}
{%- if server.max_fails is not none %} max_fails={{ server.max_fails }}{% endif %}
{%- if server.fail_timeout is not none %} fail_timeout={{ server.fail_timeout }}{% endif %}
{%- if server.backup %} backup{% endif %};
{% endfor %}
{% if site.balance == 'hash' %}
    hash {{ site.balance_key }} consistent;
{% elif site.balance != 'round_robin' %}
    {{ site.balance }};
{% endif %}
{% if site.keepalive %}
    keepalive {{ site.keepalive }};
{% endif %}
}
{% macro own_directives(directives, indent) %}
{% for directive in directives %}
{{ indent }}{{ directive.name }}{% for arg in directive.args %} {{ arg }}{% endfor %};
{% endfor %}
{% endmacro %}
{% macro server_head() %}
    server_name {{ site.server_names | join(' ') }};
{% if site.access_log %}
    access_log {{ site.access_log.path }}{{ ' ' ~ site.access_log.format if site.access_log.format }};
{% endif %}
{% if site.error_log %}
    error_log {{ site.error_log.path }}{{ ' ' ~ site.error_log.level if site.error_log.level }};
{% endif %}
{% if site.directives %}
{{ own_directives(site.directives, '    ') }}{% endif %}
{% endmacro %}
{% macro locations(tls) %}
{% for location in site.locations %}

    location {{ location.modifier ~ ' ' if location.modifier }}{{ location.path }} {
{% if site.allowed_origins %}
        if ($wsproxy_origin_denied_{{ site.var }}) {
            return 403;
        }
{% endif %}
        proxy_pass http://{{ site.name }}_backend{{ location.proxy_uri or '' }};
        proxy_http_version 1.1;
{% if site.forwarded_headers %}
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
{% endif %}
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection ${{ upgrade_variable }};
{% if site.connect_timeout %}
        proxy_connect_timeout {{ site.connect_timeout }};
{% endif %}
        proxy_read_timeout {{ location.read_timeout }};
        proxy_send_timeout {{ location.send_timeout }};
{% if location.buffering is not none %}
        proxy_buffering {{ 'on' if location.buffering else 'off' }};
{% endif %}
{% if location.directives %}
{{ own_directives(location.directives, '        ') }}{% endif %}
{% if tls and site.tls.hsts is not none and location.directives | selectattr('name', 'equalto', 'add_header') | list %}
        # an add_header here hides the server's: HSTS again
        add_header Strict-Transport-Security max-age={{ site.tls.hsts }} always;
{% endif %}
    }
{% endfor %}
{% endmacro %}

server {
{% for address in listen %}
    listen {{ address }};
{% endfor %}
{{ server_head() }}{% if site.acme_challenge_root %}

    # ACME HTTP-01 challenges (certbot --webroot -w {{ site.acme_challenge_root }}).
    location ^~ /.well-known/acme-challenge/ {
        root {{ site.acme_challenge_root }};
        default_type text/plain;
    }
{% endif %}
{% if site.tls and site.tls.redirect_http %}
{% if site.acme_challenge_root %}

    location / {
        return 301 https://$host$request_uri;
    }
{% else %}

    return 301 https://$host$request_uri;
{% endif %}
{% else %}
{{ locations(false) }}{% endif %}
}
{% if site.tls %}

server {
{% for address in tls_listen %}
    listen {{ address }} ssl{{ ' http2' if http2_listen }};
{% endfor %}
{% if http2_directive %}
    http2 on;
{% endif %}
{{ server_head() }}    ssl_certificate {{ site.tls.certificate }};
    ssl_certificate_key {{ site.tls.certificate_key }};
    ssl_protocols {{ site.tls.protocols | join(' ') }};
{% if site.tls.hsts is not none %}
    add_header Strict-Transport-Security max-age={{ site.tls.hsts }} always;
{% endif %}
{{ locations(true) }}}
{% endif %}
"""

_MAP_TEMPLATE = """\
{% if standalone %}
# {{ marker }}: the WebSocket upgrade map, shared by its sites. Removed with the last site that uses it.
{% endif %}
{% for variable, empty in maps %}
{% if not loop.first %}

{% endif %}
map $http_upgrade ${{ variable }} {
    default upgrade;
    '' {{ empty if empty else "''" }};
}
{% endfor %}
"""

_BLOCK_TEMPLATE = """\
{{ indent }}{{ begin }}
{% for line in map_text.splitlines() %}
{{ indent }}{{ line }}
{% endfor %}
{{ indent }}include {{ include }};
{{ indent }}{{ end }}
"""

_ENV = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,  # nosec: nginx text
                   trim_blocks=True, lstrip_blocks=True)


class RenderError(Exception):
    """The rendered text does not parse back to the intended directives: a bug, never sent to a host."""


def _d(directive, *args, **kwargs):
    node = {"directive": directive, "args": list(args)}
    if "block" in kwargs:
        node["block"] = kwargs["block"]
    return node


def _location_tree(site, location, variables, tls=False):
    body = []
    if site["allowed_origins"]:
        # crossplane gives the condition of an if without its parentheses.
        body.append(_d("if", "$wsproxy_origin_denied_%s" % site["var"], block=[_d("return", "403")]))
    body += [_d("proxy_pass", "http://%s_backend%s" % (site["name"], location["proxy_uri"] or "")),
             _d("proxy_http_version", "1.1")]
    if site["forwarded_headers"]:
        body += [_d("proxy_set_header", "Host", "$host"),
                 _d("proxy_set_header", "X-Real-IP", "$remote_addr"),
                 _d("proxy_set_header", "X-Forwarded-For", "$proxy_add_x_forwarded_for"),
                 _d("proxy_set_header", "X-Forwarded-Proto", "$scheme")]
    body += [_d("proxy_set_header", "Upgrade", "$http_upgrade"),
             _d("proxy_set_header", "Connection", "$" + connection_variable(site, variables))]
    if site["connect_timeout"]:
        body.append(_d("proxy_connect_timeout", site["connect_timeout"]))
    body += [_d("proxy_read_timeout", location["read_timeout"]), _d("proxy_send_timeout", location["send_timeout"])]
    if location["buffering"] is not None:
        body.append(_d("proxy_buffering", "on" if location["buffering"] else "off"))
    own = location.get("directives") or []
    body += [_d(directive["name"], *directive["args"]) for directive in own]
    if tls and site["tls"]["hsts"] is not None and any(directive["name"] == "add_header" for directive in own):
        # nginx inherits add_header only into a location that has none of its own.
        body.append(_hsts(site))
    args = ([location["modifier"]] if location["modifier"] else []) + [location["path"]]
    return _d("location", *args, block=body)


def _hsts(site):
    return _d("add_header", "Strict-Transport-Security", "max-age=%d" % site["tls"]["hsts"], "always")


def connection_variable(site, variables):
    """The map variable a site's locations send as Connection (variables: {"upgrade": ..., "keepalive": ...})."""
    return variables["keepalive"] if site.get("keepalive") else variables["upgrade"]


HTTP2_DIRECTIVE_SINCE = (1, 25, 1)


def version_tuple(version):
    """'1.25.1' -> (1, 25, 1); None or an unreadable version -> None."""
    numbers = re.findall(r"\d+", version or "")
    return tuple(int(number) for number in numbers[:3]) if numbers else None


def http2_directive(host):
    """Whether this host's nginx takes `http2 on;` (1.25.1 and later) rather than `listen ... ssl http2`."""
    version = version_tuple(host.get("version"))
    return version is not None and version >= HTTP2_DIRECTIVE_SINCE


def listen_addresses(site, host):
    """(plain, tls) listen addresses: as given, or by default the port on IPv4, and on IPv6 where the host has it."""
    ipv6 = host.get("ipv6", True)
    plain = site["listen"] if site["listen"] is not None else ["80"] + (["[::]:80"] if ipv6 else [])
    tls = None
    if site["tls"]:
        tls = site["tls"]["listen"] if site["tls"]["listen"] is not None else ["443"] + (["[::]:443"] if ipv6 else [])
    return plain, tls


def _server_head(site):
    head = [_d("server_name", *site["server_names"])]
    if site.get("access_log"):
        log = site["access_log"]
        head.append(_d("access_log", log["path"], *([log["format"]] if log["format"] else [])))
    if site.get("error_log"):
        log = site["error_log"]
        head.append(_d("error_log", log["path"], *([log["level"]] if log["level"] else [])))
    head += [_d(directive["name"], *directive["args"]) for directive in site.get("directives") or []]
    return head


def _upstream_tree(site):
    servers = []
    for server in site["upstreams"]:
        args = [server["address"]]
        for key in ("weight", "max_fails", "fail_timeout"):
            if server[key] is not None:
                args.append("%s=%s" % (key, server[key]))
        if server["backup"]:
            args.append("backup")
        servers.append(_d("server", *args))
    if site["balance"] == "hash":
        servers.append(_d("hash", site["balance_key"], "consistent"))
    elif site["balance"] != "round_robin":
        servers.append(_d(site["balance"]))
    if site["keepalive"]:
        # after the balancing method, as nginx requires
        servers.append(_d("keepalive", str(site["keepalive"])))
    return _d("upstream", "%s_backend" % site["name"], block=servers)


def site_tree(site, variables, host):
    """The directives nginx must see in the site file. `variables`: the map variables ({"upgrade": name,
    "keepalive": name}, without $); `host`: what the read found ({"version": "1.22.1", "ipv6": bool})."""
    tree = []
    if site["allowed_origins"]:
        entries = [_d("default", "1"), _d("", "0")] + [_d(origin, "0") for origin in site["allowed_origins"]]
        tree.append(_d("map", "$http_origin", "$wsproxy_origin_denied_%s" % site["var"], block=entries))
    tree.append(_upstream_tree(site))
    plain_listen, tls_listen = listen_addresses(site, host)
    head = [_d("listen", address) for address in plain_listen] + _server_head(site)
    if site["acme_challenge_root"]:
        head.append(_d("location", "^~", "/.well-known/acme-challenge/", block=[
            _d("root", site["acme_challenge_root"]), _d("default_type", "text/plain")]))
    redirect = _d("return", "301", "https://$host$request_uri")
    if site["tls"] and site["tls"]["redirect_http"]:
        # With an ACME location the 301 moves into location /, so that the challenge location wins.
        tree.append(_d("server", block=head + [_d("location", "/", block=[redirect]) if site["acme_challenge_root"]
                                               else redirect]))
    else:
        tree.append(_d("server", block=head + [_location_tree(site, location, variables) for location in site["locations"]]))
    if site["tls"]:
        tls = site["tls"]
        http2 = tls["http2"] and http2_directive(host)
        listen_args = ["ssl", "http2"] if tls["http2"] and not http2 else ["ssl"]
        head = [_d("listen", address, *listen_args) for address in tls_listen]
        if http2:
            head.append(_d("http2", "on"))
        head += _server_head(site) + [
            _d("ssl_certificate", tls["certificate"]),
            _d("ssl_certificate_key", tls["certificate_key"]),
            _d("ssl_protocols", *tls["protocols"]),
        ]
        if tls["hsts"] is not None:
            head.append(_hsts(site))
        tree.append(_d("server", block=head + [_location_tree(site, location, variables, tls=True)
                                               for location in site["locations"]]))
    return tree


def map_tree(maps):
    """The upgrade maps [(variable, value for requests without Upgrade)]: `close`, or '' with upstream keepalive."""
    return [_d("map", "$http_upgrade", "$" + variable, block=[_d("default", "upgrade"), _d("", empty)])
            for variable, empty in maps]


def render_site(site, variables, host):
    plain_listen, tls_listen = listen_addresses(site, host)
    http2 = bool(site["tls"] and site["tls"]["http2"])
    return _ENV.from_string(_SITE_TEMPLATE).render(
        site=site, upgrade_variable=connection_variable(site, variables), listen=plain_listen, tls_listen=tls_listen,
        http2_directive=http2 and http2_directive(host), http2_listen=http2 and not http2_directive(host),
        marker=MANAGED_MARKER)


def render_map(maps, standalone=True):
    return _ENV.from_string(_MAP_TEMPLATE).render(maps=maps, marker=MANAGED_MARKER, standalone=standalone)


def render_block(indent, maps, include):
    """The marker-delimited block inside http {} of nginx.conf (layout nginx.conf)."""
    map_text = render_map(maps, standalone=False) if maps else ""
    return _ENV.from_string(_BLOCK_TEMPLATE).render(indent=indent, begin=_layout.BLOCK_BEGIN, end=_layout.BLOCK_END,
                                                    map_text=map_text, include=include)


def block_tree(maps, include):
    return map_tree(maps) + [_d("include", include)]


def _strip(nodes):
    stripped = []
    for node in nodes:
        item = {"directive": node["directive"], "args": node["args"]}
        if "block" in node:
            item["block"] = _strip(node["block"])
        stripped.append(item)
    return stripped


def parse_text(text):
    """crossplane's directive tree of a piece of config text."""
    return _strip(_nginx_config.parse_files({"rendered": text})["rendered"])


def prove(text, intended, what):
    """Fail unless `text` parses back to exactly the `intended` directives."""
    try:
        parsed = parse_text(text)
    except _nginx_config.ConfigError as exc:
        raise RenderError("%s does not parse: %s" % (what, exc))
    if parsed != _strip(intended):
        raise RenderError("%s does not parse back to the intended directives" % what)
    return text
