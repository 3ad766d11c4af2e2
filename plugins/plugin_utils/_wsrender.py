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
    server {{ server }};
{% endfor %}
}
{% macro locations() %}
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
    }
{% endfor %}
{% endmacro %}

server {
{% for address in site.listen %}
    listen {{ address }};
{% endfor %}
    server_name {{ site.server_names | join(' ') }};
{% if site.tls and site.tls.redirect_http %}

    return 301 https://$host$request_uri;
{% else %}
{{ locations() }}{% endif %}
}
{% if site.tls %}

server {
{% for address in site.tls.listen %}
    listen {{ address }} ssl;
{% endfor %}
    server_name {{ site.server_names | join(' ') }};

    ssl_certificate {{ site.tls.certificate }};
    ssl_certificate_key {{ site.tls.certificate_key }};
    ssl_protocols {{ site.tls.protocols | join(' ') }};
{{ locations() }}}
{% endif %}
"""

_MAP_TEMPLATE = """\
{% if standalone %}
# {{ marker }}: the WebSocket upgrade map, shared by its sites. Removed with the last site that uses it.
{% endif %}
map $http_upgrade ${{ variable }} {
    default upgrade;
    '' close;
}
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


def _location_tree(site, location, variables):
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
    args = ([location["modifier"]] if location["modifier"] else []) + [location["path"]]
    return _d("location", *args, block=body)


def connection_variable(site, variables):
    """The map variable a site's locations send as Connection (variables: {"upgrade": ..., "keepalive": ...})."""
    return variables["keepalive"] if site.get("keepalive") else variables["upgrade"]


def site_tree(site, variables, host):
    """The directives nginx must see in the site file. `variables`: the map variables ({"upgrade": name,
    "keepalive": name}, without $); `host`: what the read found ({"version": "1.22.1", "ipv6": bool})."""
    tree = []
    if site["allowed_origins"]:
        entries = [_d("default", "1"), _d("", "0")] + [_d(origin, "0") for origin in site["allowed_origins"]]
        tree.append(_d("map", "$http_origin", "$wsproxy_origin_denied_%s" % site["var"], block=entries))
    tree.append(_d("upstream", "%s_backend" % site["name"], block=[_d("server", server) for server in site["upstreams"]]))
    locations = [_location_tree(site, location, variables) for location in site["locations"]]
    head = [_d("listen", address) for address in site["listen"]] + [_d("server_name", *site["server_names"])]
    if site["tls"] and site["tls"]["redirect_http"]:
        tree.append(_d("server", block=head + [_d("return", "301", "https://$host$request_uri")]))
    else:
        tree.append(_d("server", block=head + locations))
    if site["tls"]:
        tls = site["tls"]
        head = [_d("listen", address, "ssl") for address in tls["listen"]] + [
            _d("server_name", *site["server_names"]),
            _d("ssl_certificate", tls["certificate"]),
            _d("ssl_certificate_key", tls["certificate_key"]),
            _d("ssl_protocols", *tls["protocols"]),
        ]
        tree.append(_d("server", block=head + locations))
    return tree


def map_tree(variable):
    return [_d("map", "$http_upgrade", "$" + variable, block=[_d("default", "upgrade"), _d("", "close")])]


def render_site(site, variables, host):
    return _ENV.from_string(_SITE_TEMPLATE).render(site=site, upgrade_variable=connection_variable(site, variables),
                                                   host=host, marker=MANAGED_MARKER)


def render_map(variable, standalone=True):
    return _ENV.from_string(_MAP_TEMPLATE).render(variable=variable, marker=MANAGED_MARKER, standalone=standalone)


def render_block(indent, map_variable, include):
    """The marker-delimited block inside http {} of nginx.conf (layout nginx.conf)."""
    map_text = render_map(map_variable, standalone=False) if map_variable else ""
    return _ENV.from_string(_BLOCK_TEMPLATE).render(indent=indent, begin=_layout.BLOCK_BEGIN, end=_layout.BLOCK_END,
                                                    map_text=map_text, include=include)


def block_tree(map_variable, include):
    return (map_tree(map_variable) if map_variable else []) + [_d("include", include)]


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
