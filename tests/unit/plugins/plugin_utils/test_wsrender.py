# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site file of websocket_proxy's production options: the rendered text parses back (crossplane) to exactly the
intended tree, holds the directives each option stands for (asserted on the parse, not on text), and the real nginx
accepts it (`nginx -t`); the ACME location is served by a real nginx while everything else redirects."""

import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _wsrender, _wsvalidate
from conftest import free_port, nginx

VARIABLES = {"upgrade": "connection_upgrade", "keepalive": "wsproxy_connection_keepalive"}
NGINX_VERSION = re.search(r"nginx/(\S+)", nginx("-v").stderr).group(1)
NGINX_BUILD = nginx("-V").stderr


def model(**overrides):
    raw = {"name": "chat", "server_name": ["chat.example.com"]}
    raw.update(overrides)
    result = ArgumentSpecValidator(_wsspec.ARGUMENT_SPEC).validate(raw)
    assert not result.error_messages, result.error_messages
    return _wsvalidate.site(result.validated_parameters)


def render(site, version=NGINX_VERSION, ipv6=True):
    """The rendered site, proven against site_tree, and crossplane's parse of it."""
    host = {"version": version, "ipv6": ipv6}
    text = _wsrender.render_site(site, VARIABLES, host)
    _wsrender.prove(text, _wsrender.site_tree(site, VARIABLES, host), "the site file")
    return text, _wsrender.parse_text(text)


def blocks(parsed, name):
    return [node for node in parsed if node["directive"] == name]


def args_of(block, name):
    """The argument lists of every `name` directive directly in a block."""
    return [node["args"] for node in block["block"] if node["directive"] == name]


def servers(parsed):
    found = blocks(parsed, "server")
    return found[0], (found[1] if len(found) > 1 else None)


def location(server, *args):
    return [node for node in server["block"] if node["directive"] == "location" and node["args"] == list(args)][0]


class NginxRoot(object):
    """A throwaway nginx.conf around one site file, with both upgrade maps, for the real nginx."""

    def __init__(self, root):
        self.root = str(root)
        for directory in ("tmp", "log", "www"):
            os.makedirs(os.path.join(self.root, directory), exist_ok=True)
        self.conf = os.path.join(self.root, "nginx.conf")
        self.site = os.path.join(self.root, "site.conf")

    def write(self, text):
        with open(self.site, "w") as handle:
            handle.write(text)
        temp = "".join("    %s_temp_path %s/tmp/%s;\n" % (kind, self.root, kind)
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(self.conf, "w") as handle:
            handle.write(
                # As root, workers would run as nobody, who cannot read the test's private temporary directory.
                ("user root;\n" if os.geteuid() == 0 else "") +
                "pid %s/nginx.pid;\nerror_log %s/log/error.log;\nworker_processes 1;\nevents {\n    worker_connections 64;\n}\n"
                "http {\n    access_log off;\n%s"
                "    map $http_upgrade $connection_upgrade {\n        default upgrade;\n        '' close;\n    }\n"
                "    map $http_upgrade $wsproxy_connection_keepalive {\n        default upgrade;\n        '' '';\n    }\n"
                "    include %s;\n}\n" % (self.root, self.root, temp, self.site))

    def test(self, text):
        self.write(text)
        return nginx("-t", "-c", self.conf)

    def accepts(self, text):
        proc = self.test(text)
        assert proc.returncode == 0, proc.stderr + "\n" + text


@pytest.fixture
def real(tmp_path):
    return NginxRoot(tmp_path / "nginx")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tls")
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=chat.example.com",
                           "-days", "2", "-keyout", key, "-out", cert], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("openssl cannot make a test certificate: %s" % proc.stderr)
    return {"certificate": cert, "certificate_key": key}


@pytest.mark.parametrize("balance, key, expected", [
    ("round_robin", None, []),
    ("least_conn", None, [["least_conn"]]),
    ("ip_hash", None, [["ip_hash"]]),
    ("hash", None, [["hash", "$remote_addr", "consistent"]]),
    ("hash", "$cookie_session", [["hash", "$cookie_session", "consistent"]]),
    ("hash", "$http_x_tenant:$remote_addr", [["hash", "$http_x_tenant:$remote_addr", "consistent"]]),
])
def test_balance_renders_its_method_after_the_servers(real, balance, key, expected):
    site = model(upstream=["127.0.0.1:3001", "127.0.0.1:3002"], balance=balance, balance_key=key,
                 locations=[{"path": "/socket.io/", "socketio": True}] if balance in ("ip_hash", "hash") else [{"path": "/"}])
    text, parsed = render(site)
    upstream = blocks(parsed, "upstream")[0]
    assert upstream["args"] == ["chat_backend"]
    assert [node["directive"] for node in upstream["block"]][:2] == ["server", "server"]
    methods = [[node["directive"]] + node["args"] for node in upstream["block"]
               if node["directive"] in ("least_conn", "ip_hash", "hash")]
    assert methods == expected
    real.accepts(text)


def test_upstream_items_take_server_parameters_and_keepalive_follows_the_method(real):
    site = model(upstream=["127.0.0.1:3001", {"address": "[::1]:3002", "weight": 5, "max_fails": 2, "fail_timeout": "15s"},
                           {"address": "unix:/run/chat.sock", "backup": True, "max_fails": 0}],
                 balance="least_conn", keepalive=16)
    text, parsed = render(site)
    upstream = blocks(parsed, "upstream")[0]
    assert [[node["directive"]] + node["args"] for node in upstream["block"]] == [
        ["server", "127.0.0.1:3001"], ["server", "[::1]:3002", "weight=5", "max_fails=2", "fail_timeout=15s"],
        ["server", "unix:/run/chat.sock", "max_fails=0", "backup"], ["least_conn"], ["keepalive", "16"]]
    real.accepts(text)


def test_keepalive_locations_send_the_keepalive_map_variable(real):
    plain, _tls = servers(render(model(keepalive=8, locations=[{"path": "/"}, {"path": "/ws"}]))[1])
    for path in ("/", "/ws"):
        headers = args_of(location(plain, path), "proxy_set_header")
        assert ["Connection", "$wsproxy_connection_keepalive"] in headers and ["Upgrade", "$http_upgrade"] in headers
        assert args_of(location(plain, path), "proxy_http_version") == [["1.1"]]
    plain, _tls = servers(render(model())[1])
    assert ["Connection", "$connection_upgrade"] in args_of(location(plain, "/"), "proxy_set_header")
    real.accepts(render(model(keepalive=8))[0])


@pytest.mark.parametrize("version, directive", [
    ("1.22.1", False), ("1.24.0", False), ("1.25.0", False), ("1.25.1", True), ("1.26.0", True), ("1.29.7", True)])
def test_http2_follows_the_nginx_version(version, directive, certificate):
    site = model(tls=dict(certificate, http2=True, listen=["443", "[::]:443"]))
    _plain, tls = servers(render(site, version=version)[1])
    if directive:
        assert args_of(tls, "http2") == [["on"]]
        assert args_of(tls, "listen") == [["443", "ssl"], ["[::]:443", "ssl"]]
    else:
        assert args_of(tls, "http2") == []
        assert args_of(tls, "listen") == [["443", "ssl", "http2"], ["[::]:443", "ssl", "http2"]]
    # Without http2 neither form appears.
    _plain, tls = servers(render(model(tls=dict(certificate)), version=version)[1])
    assert args_of(tls, "http2") == [] and all("http2" not in args for args in args_of(tls, "listen"))


def test_http2_for_this_hosts_nginx_is_accepted_by_it(real, certificate):
    if "--with-http_v2_module" not in NGINX_BUILD:
        pytest.skip("this nginx has no HTTP/2 module (nginx -V)")
    site = model(listen=["127.0.0.1:8080"], tls=dict(certificate, http2=True, listen=["127.0.0.1:8443"]))
    real.accepts(render(site)[0])
    other = "1.22.1" if _wsrender.http2_directive({"version": NGINX_VERSION}) else "1.25.1"
    # The other syntax is what the version check is for: `http2 on;` is unknown before 1.25.1.
    if other == "1.25.1":
        proc = real.test(render(site, version=other)[0])
        assert proc.returncode != 0 and "http2" in proc.stderr


@pytest.mark.parametrize("ipv6, plain_listen, tls_listen", [
    (True, [["80"], ["[::]:80"]], [["443", "ssl"], ["[::]:443", "ssl"]]),
    (False, [["80"]], [["443", "ssl"]]),
])
def test_default_listen_follows_the_hosts_ipv6(ipv6, plain_listen, tls_listen, certificate, real):
    site = model(tls=dict(certificate))
    text, parsed = render(site, ipv6=ipv6)
    plain, tls = servers(parsed)
    assert args_of(plain, "listen") == plain_listen and args_of(tls, "listen") == tls_listen
    real.accepts(text)
    # Explicit addresses are used as given, IPv6 or not.
    explicit = model(listen=["8080", "[::]:8080"], tls=dict(certificate, listen=["[::1]:8443"]))
    plain, tls = servers(render(explicit, ipv6=ipv6)[1])
    assert args_of(plain, "listen") == [["8080"], ["[::]:8080"]] and args_of(tls, "listen") == [["[::1]:8443", "ssl"]]


def test_hsts_is_sent_by_the_tls_server_and_again_where_a_location_adds_headers(certificate, real):
    site = model(tls=dict(certificate, hsts=31536000),
                 locations=[{"path": "/"}, {"path": "/api/", "directives": [{"add_header": ["X-Api", "1"]}]}])
    text, parsed = render(site)
    plain, tls = servers(parsed)
    hsts = ["Strict-Transport-Security", "max-age=31536000", "always"]
    assert args_of(tls, "add_header") == [hsts] and args_of(plain, "add_header") == []
    assert args_of(location(tls, "/api/"), "add_header") == [["X-Api", "1"], hsts]
    assert args_of(location(plain, "/api/"), "add_header") == [["X-Api", "1"]]
    assert args_of(location(tls, "/"), "add_header") == []
    real.accepts(text)


def test_acme_location_without_tls_serves_the_webroot_next_to_the_proxy(real):
    webroot = os.path.join(real.root, "www")
    text, parsed = render(model(acme_challenge_root=webroot))
    plain, tls = servers(parsed)
    assert tls is None
    acme = location(plain, "^~", "/.well-known/acme-challenge/")
    assert [[node["directive"]] + node["args"] for node in acme["block"]] == [["root", webroot], ["default_type", "text/plain"]]
    assert args_of(location(plain, "/"), "proxy_pass") == [["http://chat_backend"]]
    real.accepts(text)


def test_acme_with_redirect_puts_the_challenge_location_before_the_catch_all_301(real, certificate):
    webroot = os.path.join(real.root, "www")
    site = model(tls=dict(certificate, redirect_http=True, acme_challenge_root=webroot))
    text, parsed = render(site)
    plain, tls = servers(parsed)
    order = [(node["directive"], node["args"]) for node in plain["block"] if node["directive"] in ("location", "return")]
    assert order == [("location", ["^~", "/.well-known/acme-challenge/"]), ("location", ["/"])]
    assert args_of(location(plain, "/"), "return") == [["301", "https://$host$request_uri"]]
    assert args_of(plain, "return") == []  # a server-level return would answer before any location
    assert [node["args"] for node in tls["block"] if node["directive"] == "location"] == [["/"]]
    # Without the ACME root the redirect stays a server-level return.
    plain, _tls = servers(render(model(tls=dict(certificate, redirect_http=True)))[1])
    assert args_of(plain, "return") == [["301", "https://$host$request_uri"]] and args_of(plain, "location") == []
    real.accepts(text)


def test_acme_challenge_is_served_by_a_real_nginx_while_the_rest_redirects(real, certificate):
    webroot = os.path.join(real.root, "www")
    os.makedirs(os.path.join(webroot, ".well-known", "acme-challenge"))
    with open(os.path.join(webroot, ".well-known", "acme-challenge", "tok-EN_1"), "w") as handle:
        handle.write("tok-EN_1.thumbprint")
    port = free_port()
    site = model(listen=["127.0.0.1:%d" % port], tls=dict(certificate, redirect_http=True, listen=["127.0.0.1:%d" % free_port()]),
                 acme_challenge_root=webroot)
    real.write(render(site)[0])
    proc = nginx("-c", real.conf)
    assert proc.returncode == 0, proc.stderr
    try:
        body, content_type = None, None
        for dummy in range(50):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/.well-known/acme-challenge/tok-EN_1" % port, timeout=5) as resp:
                    body, content_type = resp.read().decode(), resp.headers["Content-Type"]
                break
            except urllib.error.URLError:
                time.sleep(0.1)
        assert (body, content_type) == ("tok-EN_1.thumbprint", "text/plain")

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(urllib.request.Request("http://127.0.0.1:%d/chat?x=1" % port,
                                               headers={"Host": "chat.example.com"}), timeout=5)
        assert answer.value.code == 301 and answer.value.headers["Location"] == "https://chat.example.com/chat?x=1"
    finally:
        nginx("-c", real.conf, "-s", "stop")
        for dummy in range(50):
            if not os.path.exists(os.path.join(real.root, "nginx.pid")):
                break
            time.sleep(0.1)


@pytest.mark.parametrize("access_log, error_log, access_args, error_args", [
    ("/LOG/a.log", "/LOG/e.log", [["/LOG/a.log"]], [["/LOG/e.log"]]),
    ({"path": "/LOG/a.log", "format": "combined"}, {"path": "/LOG/e.log", "level": "warn"},
     [["/LOG/a.log", "combined"]], [["/LOG/e.log", "warn"]]),
    ("off", None, [["off"]], []),
    ({"path": "off"}, {"path": "/LOG/e.log", "level": "debug"}, [["off"]], [["/LOG/e.log", "debug"]]),
])
def test_logs_go_into_each_server_of_the_site(real, certificate, access_log, error_log, access_args, error_args):
    logs = os.path.join(real.root, "log")

    def here(value):
        if isinstance(value, dict):
            return dict((key, item.replace("/LOG", logs) if isinstance(item, str) else item) for key, item in value.items())
        return value.replace("/LOG", logs) if isinstance(value, str) else value

    site = model(access_log=here(access_log), error_log=here(error_log), tls=dict(certificate, redirect_http=True))
    text, parsed = render(site)
    expected_access = [[arg.replace("/LOG", logs) for arg in args] for args in access_args]
    expected_error = [[arg.replace("/LOG", logs) for arg in args] for args in error_args]
    for server in servers(parsed):
        assert args_of(server, "access_log") == expected_access
        assert args_of(server, "error_log") == expected_error
    real.accepts(text)


def test_directives_render_after_the_collections_own_in_servers_and_locations(real, certificate):
    site = model(
        tls=dict(certificate, hsts=600),
        directives=[{"client_max_body_size": "50m"}, {"server_tokens": False}, {"add_header": ["X-Request-Id", "$request_id", "always"]}],
        locations=[{"path": "/", "directives": [{"proxy_buffer_size": "16k"}, {"proxy_buffers": [8, "16k"]},
                                                {"proxy_set_header": ["X-Tenant", "$http_x_tenant"]}]},
                   {"path": "/internal/", "directives": [{"internal": None}]}])
    text, parsed = render(site)
    plain, tls = servers(parsed)
    for server in (plain, tls):
        names = [node["directive"] for node in server["block"]]
        assert args_of(server, "client_max_body_size") == [["50m"]] and args_of(server, "server_tokens") == [["off"]]
        assert names.index("client_max_body_size") > names.index("server_name")
        assert ["X-Request-Id", "$request_id", "always"] in args_of(server, "add_header")
        root = location(server, "/")
        body = [node["directive"] for node in root["block"]]
        assert body[-3:] == ["proxy_buffer_size", "proxy_buffers", "proxy_set_header"]
        assert args_of(root, "proxy_buffers") == [["8", "16k"]]
        assert args_of(root, "proxy_set_header")[-1] == ["X-Tenant", "$http_x_tenant"]
        assert args_of(location(server, "/internal/"), "internal") == [[]]
    real.accepts(text)


def test_every_production_option_together_is_accepted_by_nginx(real, certificate):
    logs = os.path.join(real.root, "log")
    site = model(
        listen=["127.0.0.1:8080"],
        upstream=["127.0.0.1:3001", {"address": "127.0.0.1:3002", "weight": 2, "max_fails": 3, "fail_timeout": "30s"}],
        balance="ip_hash", keepalive=16,
        locations=[{"path": "/socket.io/", "socketio": True},
                   {"path": "/", "directives": [{"proxy_buffer_size": "16k"}, {"proxy_buffers": [8, "16k"]}]}],
        tls=dict(certificate, listen=["127.0.0.1:8443"], redirect_http=True, http2="--with-http_v2_module" in NGINX_BUILD,
                 hsts=31536000),
        acme_challenge_root=os.path.join(real.root, "www"), access_log={"path": logs + "/a.log", "format": "combined"},
        error_log={"path": logs + "/e.log", "level": "warn"},
        directives=[{"client_max_body_size": "50m"}, {"add_header": ["X-Request-Id", "$request_id", "always"]}],
        allowed_origins=["https://chat.example.com"], connect_timeout=5)
    text, parsed = render(site)
    assert [node["directive"] for node in blocks(parsed, "upstream")[0]["block"]] == ["server", "server", "ip_hash", "keepalive"]
    real.accepts(text)
    for option, path, kind in _wsvalidate.host_paths(site):
        assert (os.path.isdir if kind == "dir" else os.path.isfile)(path), (option, path)
