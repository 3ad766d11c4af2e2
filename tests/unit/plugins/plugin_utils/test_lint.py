# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_proxy_info's lint: one config per finding that has it, and one that does not, each accepted by the
real nginx -t and read back through a real nginx -T (the misplaced map, which nginx refuses, is a written dump)."""

import pytest

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _lint
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._nginx_config import NginxConfig

MAP = "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}\n"
GOOD = """
    proxy_http_version 1.1;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_read_timeout 300s;
"""


def site(location_body=GOOD, path="/socket", server_extra="", extra="", listen="127.0.0.1:8090"):
    return "%sserver {\n    listen %s;\n    server_name app.test;\n%s    location %s {\n        proxy_pass http://127.0.0.1:3000;%s    }\n}\n%s" % (
        MAP, listen, server_extra, path, location_body, extra)


def socketio_site(balance="", servers=("server 127.0.0.1:3000;", "server 127.0.0.1:3001;")):
    """A Socket.IO location (buffering off) proxied to upstream sio with these servers and balancing method."""
    upstream = "upstream sio {\n%s%s}\n" % ("    %s\n" % balance if balance else "", "".join("    %s\n" % s for s in servers))
    return upstream + site(GOOD + "    proxy_buffering off;\n", path="/socket.io/").replace(
        "proxy_pass http://127.0.0.1:3000;", "proxy_pass http://sio;")


def lint(layout, text, version="1.22.1"):
    tree = layout("nginxorg")
    tree.write("etc/nginx/conf.d/app.conf", text)
    return _lint.lint(NginxConfig.from_dump(tree.conf_path, tree.dump()), version)


def ids(result):
    return sorted(f["id"] for item in result["locations"] for f in item["findings"])


ASSETS = "    location ~* \\.(css|js|png|svg|woff2?)$ {\n        return 404;\n    }\n"
SERVER_HEADERS = "    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection $connection_upgrade;\n"
OWN_HEADER = "\n    proxy_set_header X-Extra 1;\n    proxy_http_version 1.1;\n    proxy_read_timeout 300s;\n"
# (rule id, severity, config): one per rule, and the cases the issue (#14) names.
CASES = [
    ("missing_http_version", "error", site(GOOD.replace("proxy_http_version 1.1;", ""))),
    ("missing_upgrade_header", "error", site(GOOD.replace("proxy_set_header Upgrade $http_upgrade;", ""))),
    # A plain proxy at a path that names a WebSocket endpoint: it may be meant as one.
    ("missing_upgrade_header", "info", site("\n    proxy_set_header Host $host;\n", path="/socket")),
    ("missing_connection_header", "info", site("\n    proxy_set_header Host $host;\n", path="/socket")),
    ("missing_connection_header", "error", site(GOOD.replace("proxy_set_header Connection $connection_upgrade;", ""))),
    ("connection_header_blocks_upgrade", "error", site(GOOD.replace("$connection_upgrade", '""'))),
    ("connection_header_blocks_upgrade", "error", site(GOOD.replace("$connection_upgrade", "close"))),
    # nginx refuses a variable nothing defines; a `set` in another server makes it known, and empty here.
    ("undefined_upgrade_map", "error", site(extra="server {\n    listen 127.0.0.1:8091;\n    set $connection_upgrade upgrade;\n}\n")
     .replace(MAP, "")),
    ("hardcoded_connection_upgrade", "info", site(GOOD.replace("$connection_upgrade", '"upgrade"'), path="/")),
    ("hardcoded_connection_upgrade", "info", site(GOOD.replace("$connection_upgrade", '"upgrade"'), path="/my-custom-path/")),
    ("hardcoded_connection_upgrade", "info", site(GOOD.replace("$connection_upgrade", '"upgrade"') + "    proxy_buffering off;\n",
                                                  path="/socket.io/")),
    ("hardcoded_connection_upgrade", "info", site(GOOD.replace("$connection_upgrade", '"upgrade"'), path="~ ^/colibri-ws/default-id/(.*)")),
    ("dropped_inherited_headers", "error", site(OWN_HEADER, server_extra=SERVER_HEADERS)),
    # The headline case: /chat/ no longer looks like WebSocket at all, and is reported whatever its path.
    ("dropped_inherited_headers", "error", site(OWN_HEADER, path="/chat/", server_extra=SERVER_HEADERS)),
    ("dropped_inherited_headers", "error", site(OWN_HEADER, path="/static/", server_extra=SERVER_HEADERS)),
    ("dropped_inherited_headers", "warning", site(GOOD, server_extra="    proxy_set_header X-Real-IP $remote_addr;\n")),
    ("default_read_timeout", "info", site(GOOD.replace("proxy_read_timeout 300s;", "proxy_read_timeout 60s;"))),
    ("default_read_timeout", "info", site(GOOD.replace("proxy_read_timeout 300s;", ""))),
    ("regex_shadows_prefix", "warning", site(path="/socket", server_extra="    location ~ ^/(api|socket) {\n        return 404;\n    }\n")),
    ("regex_shadows_prefix", "warning", site(path="/ws/", server_extra="    location ~ /ws/ {\n        return 404;\n    }\n")),
    ("proxy_pass_rewrites_uri", "warning", site(path="/ws").replace("proxy_pass http://127.0.0.1:3000;", "proxy_pass http://127.0.0.1:3000/;")),
    ("socketio_buffering", "info", site(path="/socket.io/")),
    ("socketio_buffering", "info", site(path="~ ^/engine\\.io/")),
    # An Engine.IO endpoint at a custom path, recognised by the query argument it reads.
    ("socketio_buffering", "info", site(GOOD + "    add_header X-Transport $arg_transport;\n", path="/my-custom-path/")),
    ("xff_from_client", "warning", site(GOOD.replace("$proxy_add_x_forwarded_for", "$http_x_forwarded_for"))),
    ("socketio_not_sticky", "error", socketio_site()),
    ("socketio_not_sticky", "error", socketio_site("least_conn;")),
    ("socketio_not_sticky", "error", socketio_site("hash $request_uri consistent;")),  # `t` changes with every poll
]


@pytest.mark.parametrize("finding, severity, text", CASES)
def test_each_finding_is_reported_where_it_applies(layout, finding, severity, text):
    result = lint(layout, text)
    assert finding in ids(result), ids(result)
    located = [item for item in result["locations"] if any(f["id"] == finding for f in item["findings"])][0]
    assert located["file"].endswith("/conf.d/app.conf") and located["line"] > 0
    assert [f["severity"] for f in located["findings"] if f["id"] == finding] == [severity]
    for item in located["findings"]:
        assert item["severity"] in ("error", "warning", "info") and item["message"] and item["fix"]
    # findings_total counts what doctor.yml fails on: never an info finding.
    every = [f for item in result["locations"] for f in item["findings"]]
    assert result["findings_total"] == len([f for f in every if f["severity"] != "info"])
    assert result["info_total"] == len([f for f in every if f["severity"] == "info"])


NEAR_MISSES = [
    ("missing_http_version", site()),
    ("missing_http_version", site("\n    proxy_read_timeout 300s;\n", server_extra="    proxy_http_version 1.1;\n" + SERVER_HEADERS)),
    ("missing_upgrade_header", site("\n    proxy_http_version 1.1;\n    proxy_read_timeout 300s;\n", server_extra=SERVER_HEADERS)),
    ("missing_connection_header", site("\n    proxy_http_version 1.1;\n    proxy_read_timeout 300s;\n", server_extra=SERVER_HEADERS)),
    # Connection "" for upstream keepalive on a location that passes no Upgrade: not a WebSocket location.
    ("connection_header_blocks_upgrade", site("\n    proxy_http_version 1.1;\n    proxy_set_header Connection \"\";\n", path="/api/")),
    ("connection_header_blocks_upgrade", site()),
    ("undefined_upgrade_map", site()),
    # An endpoint that only ever upgrades is where nginx's own docs hard-code "upgrade".
    ("hardcoded_connection_upgrade", site(GOOD.replace("$connection_upgrade", '"upgrade"'), path="= /socket")),
    ("hardcoded_connection_upgrade", site(GOOD.replace("$connection_upgrade", '"upgrade"'), path="~ /api/v[0-9]+/(users/)?websocket$")),
    ("dropped_inherited_headers", site(GOOD, server_extra=SERVER_HEADERS)),
    # Only plain headers dropped, on a location that does not upgrade: not this lint's business.
    ("dropped_inherited_headers", site(OWN_HEADER, path="/api/", server_extra="    proxy_set_header X-Real-IP $remote_addr;\n")),
    ("default_read_timeout", site()),
    ("default_read_timeout", site("\n    proxy_read_timeout 60s;\n", path="/api/")),  # not a WebSocket location
    ("regex_shadows_prefix", site(path="^~ /socket", server_extra="    location ~ ^/(api|socket) {\n        return 404;\n    }\n")),
    # An asset regex never sees the URIs a WebSocket endpoint receives.
    ("regex_shadows_prefix", site(path="/push/", server_extra=ASSETS)),
    ("regex_shadows_prefix", site(path="/socket.io/", server_extra=ASSETS)),
    # Under location / the WebSocket endpoint could be anywhere: a regex over other paths is not reported.
    ("regex_shadows_prefix", site(path="/", server_extra="    location ~ ^/([^/?&:'\"]+)$ {\n        return 404;\n    }\n")),
    # A regex that takes the requests but passes the upgrade on itself.
    ("regex_shadows_prefix", site(path="/ws/", server_extra="    location ~ ^/ws/ {\n        proxy_pass http://127.0.0.1:3000;%s    }\n" % GOOD)),
    ("proxy_pass_rewrites_uri", site(path="/ws/").replace("3000;", "3000/;")),
    ("socketio_buffering", site(GOOD + "    proxy_buffering off;\n", path="/socket.io/")),
    ("socketio_buffering", site(path="/my-custom-path/")),  # nothing says Engine.IO
    ("xff_from_client", site()),
    ("socketio_not_sticky", socketio_site("ip_hash;")),
    ("socketio_not_sticky", socketio_site("hash $remote_addr consistent;")),
    ("socketio_not_sticky", socketio_site(servers=("server 127.0.0.1:3000;",))),
    ("socketio_not_sticky", socketio_site(servers=("server 127.0.0.1:3000;", "server 127.0.0.1:3001 backup;"))),
    ("socketio_not_sticky", socketio_site().replace("location /socket.io/", "location /socket")),
    ("duplicate_map", site()),
    ("map_wrong_context", site()),
    ("duplicate_map_variable", site()),
]


@pytest.mark.parametrize("finding, text", NEAR_MISSES)
def test_each_finding_stays_quiet_on_its_near_miss(layout, finding, text):
    assert finding not in ids(lint(layout, text))


def test_a_correct_websocket_location_has_no_finding(layout):
    result = lint(layout, site())
    [location] = [item for item in result["locations"] if item["path"] == "/socket"]
    assert location["websocket"] is True and location["findings"] == []
    assert location["upstream"] == "http://127.0.0.1:3000"
    assert location["server_name"] == ["app.test"] and location["listen"] == ["127.0.0.1:8090"]
    assert result["findings_total"] == 0


def test_negative_cases_do_not_fire(layout):
    # Server-level headers inherited by a location without its own: nothing dropped.
    inherited = site("\n    proxy_http_version 1.1;\n    proxy_read_timeout 300s;\n",
                     server_extra="    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection $connection_upgrade;\n")
    assert lint(layout, inherited)["findings_total"] == 0
    # A ^~ location is not shadowed by a regex; a Socket.IO location with buffering off; a deliberate URI.
    assert lint(layout, site(path="^~ /socket", server_extra="    location ~* \\.js$ {\n        return 404;\n    }\n"))["findings_total"] == 0
    assert lint(layout, site(GOOD + "    proxy_buffering off;\n", path="/socket.io/"))["findings_total"] == 0
    assert lint(layout, site(path="/ws/").replace("3000;", "3000/;"))["findings_total"] == 0
    # nginx 1.29.7 and later tunnel the upgrade without proxy_http_version 1.1: only informational.
    late = lint(layout, site(GOOD.replace("proxy_http_version 1.1;", "")), version="1.29.7")
    assert [(f["id"], f["severity"]) for item in late["locations"] for f in item["findings"]] == [("missing_http_version", "info")]
    # A plain HTTP location is not checked as a WebSocket one.
    plain = lint(layout, site("\n    proxy_set_header Host $host;\n", path="/api/"))
    assert [item["websocket"] for item in plain["locations"] if item["path"] == "/api/"] == [False]
    assert plain["findings_total"] == 0


def test_https_twin_without_the_headers_of_its_http_twin(layout):
    text = site() + "server {\n    listen 127.0.0.1:8443 ssl;\n    server_name app.test;\n" \
        "    ssl_certificate %s;\n    ssl_certificate_key %s;\n    location /socket {\n        proxy_pass http://127.0.0.1:3000;\n" \
        "        proxy_http_version 1.1;\n        proxy_set_header Upgrade $http_upgrade;\n" \
        "        proxy_set_header Connection $connection_upgrade;\n        proxy_read_timeout 300s;\n    }\n}\n"
    import subprocess  # a throwaway certificate for nginx -t
    tree = layout("nginxorg")
    cert, key = tree.path("cert.pem"), tree.path("key.pem")
    proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=app.test", "-days", "1",
                           "-keyout", key, "-out", cert], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("openssl is not available")
    tree.write("etc/nginx/conf.d/app.conf", text.replace("%", "%%").replace("%%s;", "%s;") % (cert, key))
    result = _lint.lint(NginxConfig.from_dump(tree.conf_path, tree.dump()), "1.22.1")
    twins = [item for item in result["locations"] if "127.0.0.1:8443 ssl" in item["listen"]]
    assert [f["id"] for f in twins[0]["findings"]] == ["https_twin_missing_headers"]
    assert "host, x-forwarded-for" in twins[0]["findings"][0]["message"]


def test_duplicate_and_misplaced_maps():
    dump = (
        "# configuration file /etc/nginx/nginx.conf:\n"
        "events {}\nhttp {\n" + MAP + MAP.replace("default upgrade", "default keep-alive") +
        "    server {\n        listen 80;\n        map $http_upgrade $connection_upgrade { default upgrade; }\n    }\n}\n\n"
    )
    result = _lint.lint(NginxConfig.from_dump("/etc/nginx/nginx.conf", dump), "1.22.1")
    assert ids(result) == ["duplicate_map", "map_wrong_context"]


def test_what_websocket_proxy_writes_lints_clean(layout):
    from test_wsplan import apply, plan_for  # the same fixtures and plans as the planning tests
    tree = layout("debian")
    apply(tree, plan_for(tree, locations=[{"path": "/"}, {"path": "/socket.io/", "socketio": True},
                                          {"path": "/ws/", "match": "priority", "proxy_uri": "/"}],
                         allowed_origins=["https://chat.example.com"]))
    result = _lint.lint(NginxConfig.from_dump(tree.conf_path, tree.dump()), "1.22.1")
    ours = [item for item in result["locations"] if item["file"].endswith("sites-enabled/chat")]
    assert len(ours) == 3 and all(item["websocket"] for item in ours)
    assert (result["findings_total"], result["info_total"]) == (0, 0), result


def test_socketio_not_sticky_names_the_upstream_and_the_fix(layout):
    result = lint(layout, socketio_site())
    [location] = [item for item in result["locations"] if item["path"] == "/socket.io/"]
    [finding] = location["findings"]
    assert (finding["id"], finding["severity"]) == ("socketio_not_sticky", "error")
    assert "upstream sio (" in finding["message"] and "over 2 servers" in finding["message"]
    assert "ip_hash" in finding["fix"] and "hash $remote_addr consistent" in finding["fix"]


def test_socketio_sticky_of_nginx_plus_counts():
    # nginx plus's `sticky` is unknown to the nginx of the tests: a written dump.
    dump = ("# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n" + MAP +
            "upstream sio {\n    sticky cookie srv_id expires=1h;\n    server 127.0.0.1:3000;\n    server 127.0.0.1:3001;\n}\n"
            "server {\n    listen 80;\n    location /socket.io/ {\n        proxy_pass http://sio;" + GOOD +
            "        proxy_buffering off;\n    }\n}\n}\n\n")
    assert ids(_lint.lint(NginxConfig.from_dump("/etc/nginx/nginx.conf", dump), "1.22.1")) == []
    plain = dump.replace("    sticky cookie srv_id expires=1h;\n", "")
    assert ids(_lint.lint(NginxConfig.from_dump("/etc/nginx/nginx.conf", plain), "1.22.1")) == ["socketio_not_sticky"]


def origin_map(variable, origin):
    return "map $http_origin %s {\n    default 1;\n    '' 0;\n    %s 0;\n}\n" % (variable, origin)


def test_a_variable_defined_by_two_maps_is_reported_once_naming_both(layout):
    # What a-b and a.b once rendered: nginx -t accepts it and keeps the last map, for both sites.
    tree = layout("nginxorg")
    first = tree.write("etc/nginx/conf.d/a-b.conf", "# a-b\n" + origin_map("$wsproxy_origin_denied_a_b", "https://a.example"))
    second = tree.write("etc/nginx/conf.d/a.b.conf", origin_map("$wsproxy_origin_denied_a_b", "https://b.example"))
    tree.write("etc/nginx/conf.d/other.conf", origin_map("$other_denied", "https://c.example"))
    result = _lint.lint(NginxConfig.from_dump(tree.conf_path, tree.dump()), "1.22.1")
    assert ids(result) == ["duplicate_map_variable"]
    [item] = [item for item in result["locations"] if item["findings"]]
    assert (item["file"], item["line"], item["path"]) == (second, 1, None)  # the map nginx uses
    [finding] = item["findings"]
    assert finding["severity"] == "error"
    assert finding["message"] == (
        "2 maps define $wsproxy_origin_denied_a_b (%s:2, %s:1); nginx silently uses the last one (%s:1) and ignores "
        "the others" % (first, second, second))
    assert "$wsproxy_origin_denied_a_b" in finding["fix"]


def test_duplicate_map_variables_each_once_and_not_twice_for_connection_upgrade(layout):
    tree = layout("nginxorg")
    tree.write("etc/nginx/conf.d/a.conf", origin_map("$denied", "https://a.example") + MAP + origin_map("$x", "https://x.example"))
    tree.write("etc/nginx/conf.d/b.conf", origin_map("$Denied", "https://b.example") + MAP)
    tree.write("etc/nginx/conf.d/c.conf", origin_map("$denied", "https://c.example"))
    result = _lint.lint(NginxConfig.from_dump(tree.conf_path, tree.dump()), "1.22.1")
    # $denied thrice (nginx variable names ignore case): one finding; $connection_upgrade twice: duplicate_map only.
    assert ids(result) == ["duplicate_map", "duplicate_map_variable"]
    [finding] = [f for item in result["locations"] for f in item["findings"] if f["id"] == "duplicate_map_variable"]
    assert finding["message"].startswith("3 maps define $denied (")
    assert finding["message"].count("/conf.d/") == 4  # the three maps, and the last one again


def test_sites_named_alike_lint_clean(layout):
    from test_wsplan import apply, host_plan  # the same fixtures and plans as the planning tests
    tree = layout("debian")
    apply(tree, host_plan(tree, [{"name": name, "server_name": ["s%d.example.com" % index],
                                  "allowed_origins": ["https://s%d.example.com" % index]}
                                 for index, name in enumerate(["a-b", "a.b", "a_b"])]))
    result = _lint.lint(NginxConfig.from_dump(tree.conf_path, tree.dump()), "1.22.1")
    assert result["findings_total"] == 0, result


def test_websocket_is_decided_from_what_the_location_does_not_its_path(layout):
    # A regex endpoint that passes the upgrade on is a WebSocket location whatever its path; a plain proxy at a
    # path that names a WebSocket endpoint may be meant as one: only "may" (info) findings; /api/ is not one.
    text = site("\n    proxy_set_header Host $host;\n", path="/ws/") + site(path="~ /api/v[0-9]+/(users/)?websocket$").replace(
        MAP, "").replace("8090", "8092") + site("\n    proxy_set_header Host $host;\n", path="/api/").replace(
        MAP, "").replace("8090", "8093")
    result = lint(layout, text)
    flags = dict((item["path"], item["websocket"]) for item in result["locations"])
    assert flags == {"/ws/": True, "~ /api/v[0-9]+/(users/)?websocket$": True, "/api/": False}
    found = [(f["id"], f["severity"], item["path"]) for item in result["locations"] for f in item["findings"]]
    assert sorted(found) == [("missing_connection_header", "info", "/ws/"), ("missing_http_version", "info", "/ws/"),
                             ("missing_upgrade_header", "info", "/ws/")]
    assert all("names a WebSocket endpoint" in f["message"] for item in result["locations"] for f in item["findings"])
    assert result["findings_total"] == 0


def test_a_plain_socketio_proxy_still_needs_stickiness(layout):
    # No upgrade passed: Engine.IO polls, and polling needs every request of a session on one backend.
    text = socketio_site().replace("proxy_set_header Upgrade $http_upgrade;", "").replace(
        "proxy_set_header Connection $connection_upgrade;", "")
    [location] = [item for item in lint(layout, text)["locations"] if item["path"] == "/socket.io/"]
    assert location["engineio"] is True
    assert [(f["id"], f["severity"]) for f in location["findings"] if f["severity"] != "info"] == [("socketio_not_sticky", "error")]


def test_missing_http_version_says_why_it_is_wrong(layout):
    [finding] = [f for item in lint(layout, site(GOOD.replace("proxy_http_version 1.1;", "")))["locations"]
                 for f in item["findings"]]
    assert "RFC 6455" in finding["message"] and "strict backends refuse" in finding["message"]
    assert "cannot tunnel" not in finding["message"]


def test_info_findings_do_not_count_in_findings_total(layout):
    result = lint(layout, site(GOOD.replace("proxy_read_timeout 300s;", ""), path="/my-custom-path/").replace(
        "$connection_upgrade;\n    proxy_read", '"upgrade";\n    proxy_read'))
    assert ids(result) == ["default_read_timeout"]
    assert (result["findings_total"], result["info_total"]) == (0, 1)


def test_an_explicit_http_1_0_is_an_error_whatever_the_version(layout):
    text = site(GOOD.replace("proxy_http_version 1.1;", "proxy_http_version 1.0;"))
    for version in ("1.22.1", "1.29.7"):
        found = [(f["id"], f["severity"]) for item in lint(layout, text, version)["locations"] for f in item["findings"]]
        assert found == [("missing_http_version", "error")], version
