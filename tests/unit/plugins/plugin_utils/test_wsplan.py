# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_proxy's plan for each real layout: the files it writes, the map it reuses or adds, and proof by the
real nginx that the result is valid (the planned files are applied to the fixture tree and `nginx -t` runs)."""

import os

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _wsplan, _wsvalidate
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._nginx_config import NginxConfig
from conftest import nginx


def params(**overrides):
    raw = {"name": "chat", "server_name": ["chat.example.com"], "listen": ["127.0.0.1:8099"]}
    raw.update(overrides)
    result = ArgumentSpecValidator(_wsspec.ARGUMENT_SPEC).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def plan_for(tree, state="present", **overrides):
    config = NginxConfig.from_dump(tree.conf_path, tree.dump())
    info = _layout.describe(config)
    info["conf_path"] = tree.conf_path
    args = params(**overrides)
    site = _wsvalidate.site(args) if state == "present" else None
    return _wsplan.plan(site, args["name"], state, config, info)


def apply(tree, plan):
    """What nginx_files does on the host, done here by hand, then the real nginx -t."""
    for item in plan["files"]:
        if item["state"] == "file":
            os.makedirs(os.path.dirname(item["path"]), exist_ok=True)
            with open(item["path"], "w") as handle:
                handle.write(item["content"])
        elif item["state"] == "link":
            if not (os.path.islink(item["path"]) and os.readlink(item["path"]) == item["target"]):
                os.symlink(item["target"], item["path"])
        elif os.path.isdir(item["path"]) and not os.path.islink(item["path"]):
            os.rmdir(item["path"])
        elif os.path.lexists(item["path"]):
            os.unlink(item["path"])
    proc = nginx("-t", "-c", tree.conf_path)
    assert proc.returncode == 0, proc.stderr


def summary(tree, plan):
    return [(item["state"], tree.rel(item["path"])) for item in plan["files"]]


def snapshot(root):
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(directory, name)
            found[path] = os.readlink(path) if os.path.islink(path) else open(path, "rb").read()
        for name in _dirs:
            path = os.path.join(directory, name)
            found[path] = os.readlink(path) if os.path.islink(path) else "dir"
    return found


def test_debian_site_goes_to_sites_available_with_a_link_and_the_map_to_conf_d(layout):
    tree = layout("debian")
    plan = plan_for(tree)
    assert plan["layout"] == "sites-enabled"
    assert summary(tree, plan) == [
        ("file", "/etc/nginx/sites-available/chat"),
        ("link", "/etc/nginx/sites-enabled/chat"),
        ("file", "/etc/nginx/conf.d/wsproxy-websocket-map.conf"),
    ]
    assert plan["files"][1]["target"] == tree.path("etc/nginx/sites-available/chat")
    assert plan["map"]["variable"] == "$connection_upgrade" and plan["map"]["reused"] is False
    site = plan["files"][0]["content"]
    assert site.startswith("# Managed by wsproxy.nginx (websocket_proxy chat)")
    assert "proxy_set_header Connection $connection_upgrade;" in site
    apply(tree, plan)
    assert plan_for(tree)["files"][0]["content"] == site  # same input, same bytes


def test_debian_without_conf_d_gets_a_map_site_of_its_own(layout):
    tree = layout("debian")
    text = open(tree.conf_path).read().replace("include %s/etc/nginx/conf.d/*.conf;" % tree.root, "")
    tree.write("etc/nginx/nginx.conf", text)
    plan = plan_for(tree)
    assert summary(tree, plan)[2:] == [
        ("file", "/etc/nginx/sites-available/wsproxy-websocket-map"),
        ("link", "/etc/nginx/sites-enabled/wsproxy-websocket-map"),
    ]
    apply(tree, plan)


def test_rocky_site_and_map_are_conf_files_in_conf_d(layout):
    tree = layout("rocky")
    plan = plan_for(tree)
    assert summary(tree, plan) == [
        ("file", "/etc/nginx/conf.d/chat.conf"),
        ("file", "/etc/nginx/conf.d/wsproxy-websocket-map.conf"),
    ]
    apply(tree, plan)


def test_an_equivalent_existing_map_is_reused(layout):
    tree = layout("alpine")  # Alpine's stock nginx.conf has the standard map
    plan = plan_for(tree)
    assert plan["map"]["reused"] is True and plan["map"]["variable"] == "$connection_upgrade"
    assert summary(tree, plan) == [("file", "/etc/nginx/http.d/chat.conf")]
    apply(tree, plan)


def test_a_different_map_is_never_edited_and_a_fallback_variable_is_used(layout):
    tree = layout("nginxorg")
    legacy = tree.write("etc/nginx/conf.d/legacy.conf", "map $http_upgrade $connection_upgrade {\n    default keep-alive;\n}\n")
    plan = plan_for(tree)
    assert plan["map"]["variable"] == "$wsproxy_connection_upgrade" and plan["map"]["reused"] is False
    assert "%s:1 defines $connection_upgrade differently" % legacy in plan["warnings"][0]
    assert all(item["path"] != legacy for item in plan["files"])
    assert "proxy_set_header Connection $wsproxy_connection_upgrade;" in plan["files"][0]["content"]
    assert "map $http_upgrade $wsproxy_connection_upgrade {" in plan["files"][1]["content"]
    apply(tree, plan)


def test_nginx_conf_layout_inserts_one_block_and_absent_restores_the_file_byte_for_byte(layout):
    tree = layout("noinclude")
    before = snapshot(tree.root)
    original = open(tree.conf_path).read()
    plan = plan_for(tree)
    assert plan["layout"] == "nginx.conf"
    assert summary(tree, plan) == [("file", "/etc/nginx/wsproxy.d/chat.conf"), ("file", "/etc/nginx/nginx.conf")]
    updated = plan["files"][1]["content"]
    lines = updated.splitlines(True)
    begin = [i for i, line in enumerate(lines) if "# BEGIN wsproxy.nginx" in line]
    end = [i for i, line in enumerate(lines) if "# END wsproxy.nginx" in line]
    assert len(begin) == len(end) == 1
    assert lines[begin[0] - 1] == "http {\n"  # right inside http {}
    assert "".join(lines[:begin[0]] + lines[end[0] + 1:]) == original  # nothing else touched
    apply(tree, plan)
    assert plan_for(tree)["files"] == [plan["files"][0]]  # rerun: same site bytes, nginx.conf already right

    second = plan_for(tree, name="feed", server_name=["feed.example.com"], listen=["127.0.0.1:8098"])
    assert summary(tree, second) == [("file", "/etc/nginx/wsproxy.d/feed.conf")]  # block already right
    apply(tree, second)
    first_gone = plan_for(tree, state="absent")
    assert summary(tree, first_gone) == [("absent", "/etc/nginx/wsproxy.d/chat.conf")]  # feed still needs the block
    apply(tree, first_gone)
    last_gone = plan_for(tree, state="absent", name="feed")
    assert summary(tree, last_gone) == [
        ("absent", "/etc/nginx/wsproxy.d/feed.conf"),
        ("absent", "/etc/nginx/wsproxy.d"),
        ("file", "/etc/nginx/nginx.conf"),
    ]
    apply(tree, last_gone)
    assert snapshot(tree.root) == before


def test_absent_keeps_the_map_while_another_site_uses_it(layout):
    tree = layout("debian")
    before = snapshot(tree.root)
    apply(tree, plan_for(tree))
    apply(tree, plan_for(tree, name="feed", server_name=["feed.example.com"], listen=["127.0.0.1:8098"]))
    chat_gone = plan_for(tree, state="absent")
    # The map stays as it is (its write is a no-op the host skips; planned so a recovery before it cannot lose it).
    map_path = tree.path("etc/nginx/conf.d/wsproxy-websocket-map.conf")
    assert summary(tree, chat_gone) == [("absent", "/etc/nginx/sites-enabled/chat"), ("absent", "/etc/nginx/sites-available/chat"),
                                        ("file", "/etc/nginx/conf.d/wsproxy-websocket-map.conf")]
    assert chat_gone["files"][2]["content"] == open(map_path).read()
    apply(tree, chat_gone)
    feed_gone = plan_for(tree, state="absent", name="feed")
    assert ("absent", "/etc/nginx/conf.d/wsproxy-websocket-map.conf") in summary(tree, feed_gone)
    apply(tree, feed_gone)
    assert snapshot(tree.root) == before


def test_absent_of_a_site_that_is_not_there_touches_no_map(layout):
    tree = layout("rocky")
    plan = plan_for(tree, state="absent")
    assert summary(tree, plan) == []  # nothing loaded to remove: no operation, so no transaction either


def test_every_option_renders_and_nginx_accepts_it(layout, tmp_path):
    tree = layout("debian")
    cert = tmp_path / "cert.pem"
    key = tmp_path / "key.pem"
    proc = __import__("subprocess").run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=chat.example.com", "-days", "2",
         "-keyout", str(key), "-out", str(cert)], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("openssl is not available")
    plan = plan_for(
        tree,
        upstream=["127.0.0.1:3000", "[::1]:3001", "unix:/run/chat.sock"], balance="ip_hash",  # Socket.IO: sticky
        locations=[{"path": "/"}, {"path": "/socket.io/", "socketio": True}, {"path": "/ws/", "match": "priority", "proxy_uri": "/"},
                   {"path": "/exact", "match": "exact", "read_timeout": "1h", "buffering": True}],
        connect_timeout=5, forwarded_headers=False,
        tls={"certificate": str(cert), "certificate_key": str(key), "listen": ["127.0.0.1:8443"], "redirect_http": True},
        allowed_origins=["https://chat.example.com", "http://localhost:8080"],
    )
    site = plan["files"][0]["content"]
    assert "return 301 https://$host$request_uri;" in site
    assert "location ^~ /socket.io/ {" in site and "proxy_buffering off;" in site
    assert "proxy_pass http://chat_backend/;" in site and "location = /exact {" in site
    assert "X-Forwarded-For" not in site
    apply(tree, plan)


def test_http_block_on_one_line_is_refused_clearly(layout):
    tree = layout("noinclude")
    tree.write("etc/nginx/nginx.conf", "events {}\nhttp { server { listen 127.0.0.1:8097; } }\n")
    with pytest.raises(_wsplan.PlanError, match="on a line of its own"):
        plan_for(tree)


def host_plan(tree, sites, prune=False, workers=None):
    config = NginxConfig.from_dump(tree.conf_path, tree.dump())
    info = _layout.describe(config)
    info["conf_path"] = tree.conf_path
    items = []
    for raw in sites:
        args = params(**raw)
        items.append({"name": args["name"], "state": args["state"],
                      "site": _wsvalidate.site(args) if args["state"] == "present" else None})
    return _wsplan.plan_host(items, config, info, {"version": "1.22.1", "ipv6": True}, prune=prune, workers=workers)


def test_nginx_conf_layout_sites_block_and_worker_limits_are_one_write_of_nginx_conf(layout):
    tree = layout("noinclude")
    before = snapshot(tree.root)
    sites = [{"name": "chat", "server_name": ["chat.example.com"]}, {"name": "feed", "server_name": ["feed.example.com"]}]
    workers = {"worker_connections": 4096, "worker_rlimit_nofile": 8192, "worker_shutdown_timeout": None}
    plan = host_plan(tree, sites, workers=workers)
    assert [path for state, path in summary(tree, plan)].count("/etc/nginx/nginx.conf") == 1
    main = [item for item in plan["files"] if item["path"] == tree.conf_path][0]
    assert "worker_connections 4096;" in main["content"] and "worker_rlimit_nofile 8192;" in main["content"]
    assert _layout.BLOCK_BEGIN in main["content"]
    assert plan["workers"]["after"]["worker_connections"] == 4096
    apply(tree, plan)
    # Everything in place: the same plan writes the same bytes; prune with no sites takes it all back.
    again = host_plan(tree, sites, workers=workers)
    assert [item["content"] for item in again["files"] if item["state"] == "file"] == \
        [open(item["path"]).read() for item in again["files"] if item["state"] == "file"]
    emptied = host_plan(tree, [], prune=True)
    assert emptied["pruned"] == ["chat", "feed"]
    apply(tree, emptied)
    restored = open(tree.conf_path).read()
    assert _layout.BLOCK_BEGIN not in restored and "worker_connections 4096;" in restored  # limits stay raised
    assert set(snapshot(tree.root)) == set(before)


def test_a_keepalive_site_gets_the_second_map_and_the_standard_map_stays_for_the_others(layout):
    tree = layout("debian")
    plan = host_plan(tree, [{"name": "chat", "server_name": ["chat.example.com"]},
                            {"name": "feed", "server_name": ["feed.example.com"], "keepalive": 8}])
    map_file = [item for item in plan["files"] if item["path"].endswith("wsproxy-websocket-map.conf")][0]["content"]
    assert "map $http_upgrade $connection_upgrade" in map_file and "map $http_upgrade $wsproxy_connection_keepalive" in map_file
    feed = [item for item in plan["files"] if item["path"].endswith("sites-available/feed")][0]["content"]
    assert "proxy_set_header Connection $wsproxy_connection_keepalive;" in feed and "keepalive 8;" in feed
    apply(tree, plan)
    # Without the keepalive site the second map goes, the standard one stays.
    later = host_plan(tree, [{"name": "chat", "server_name": ["chat.example.com"]}], prune=True)
    map_file = [item for item in later["files"] if item["path"].endswith("wsproxy-websocket-map.conf")][0]["content"]
    assert "wsproxy_connection_keepalive" not in map_file and "$connection_upgrade" in map_file
    apply(tree, later)


def test_keepalive_next_to_a_reused_standard_map_adds_only_its_own_map(layout):
    tree = layout("alpine")  # Alpine's stock nginx.conf has the standard map
    before = snapshot(tree.root)
    plan = host_plan(tree, [{"name": "chat", "server_name": ["chat.example.com"]},
                            {"name": "feed", "server_name": ["feed.example.com"], "keepalive": 4}])
    assert plan["map"]["reused"] is True
    map_file = [item for item in plan["files"] if item["path"].endswith("wsproxy-websocket-map.conf")][0]["content"]
    assert "$wsproxy_connection_keepalive" in map_file and "$connection_upgrade" not in map_file
    chat = [item for item in plan["files"] if item["path"].endswith("/chat.conf")][0]["content"]
    assert "proxy_set_header Connection $connection_upgrade;" in chat  # the user's map, still reused
    apply(tree, plan)
    apply(tree, host_plan(tree, [], prune=True))
    assert snapshot(tree.root) == before


def test_sites_named_alike_keep_their_own_origin_map_and_upstream(layout):
    # a-b, a.b and a_b once shared $wsproxy_origin_denied_a_b: nginx kept the last map, for all three sites.
    tree = layout("debian")
    names = ["a-b", "a.b", "a_b"]
    plan = host_plan(tree, [{"name": name, "server_name": ["s%d.example.com" % index],
                             "allowed_origins": ["https://s%d.example.com" % index]}
                            for index, name in enumerate(names)])
    apply(tree, plan)
    config = NginxConfig.from_dump(tree.conf_path, tree.dump())
    maps, ifs, upstreams = {}, {}, {}
    for name in names:
        path = tree.path("etc/nginx/sites-enabled/" + name)  # the path nginx loads it by
        maps[name] = [d["args"][1] for d, p, _s in config.find("map") if p == path]
        ifs[name] = sorted(set(d["args"][0] for d, p, _s in config.find("if") if p == path))
        upstreams[name] = [d["args"][0] for d, p, _s in config.find("upstream") if p == path]
    assert maps == {"a-b": ["$wsproxy_origin_denied_a_hb"], "a.b": ["$wsproxy_origin_denied_a_db"],
                    "a_b": ["$wsproxy_origin_denied_a__b"]}
    assert ifs == maps  # each site's locations test its own map
    assert upstreams == {"a-b": ["a-b_backend"], "a.b": ["a.b_backend"], "a_b": ["a_b_backend"]}


_CANDIDATES = [_wsplan.MAP_NAME, _wsplan.MAP_NAME + ".conf", _wsplan.MAP_NAME + "-2", "wsproxy-websocket", "chat",
               "chat.conf"]


# Every place the map can take: conf.d, sites-enabled with and without a conf.d, a sites-available that a *.conf glob
# also loads (site files and the map in one directory), nginx.conf; and the candidate names whose site file is the map.
@pytest.mark.parametrize("fixture, conf_d_include, collide", [
    ("debian", None, []),
    ("debian", "", [_wsplan.MAP_NAME]),
    ("debian", "sites-available/*.conf", [_wsplan.MAP_NAME + ".conf"]),
    ("rocky", None, [_wsplan.MAP_NAME]),
    ("nginxorg", None, [_wsplan.MAP_NAME]),
    ("alpine", None, [_wsplan.MAP_NAME]),
    ("noinclude", None, []),
])
def test_a_site_name_is_reserved_where_its_file_would_be_the_map(layout, fixture, conf_d_include, collide):
    tree = layout(fixture)
    if conf_d_include is not None:
        text = open(tree.conf_path).read().replace(
            "include %s/etc/nginx/conf.d/*.conf;" % tree.root,
            "include %s/etc/nginx/%s;" % (tree.root, conf_d_include) if conf_d_include else "")
        tree.write("etc/nginx/nginx.conf", text)
    info = _layout.describe(NginxConfig.from_dump(tree.conf_path, tree.dump()))
    info["conf_path"] = tree.conf_path
    paths = _wsplan.Paths(info)
    own = set([paths.map, paths.map_link]) - set([None, tree.conf_path])
    assert [name for name in _CANDIDATES if set(paths.site(name)) & own] == collide
    assert all(_wsplan.reserved_site_name(name) for name in collide)


def test_only_the_names_of_the_map_are_reserved():
    assert [name for name in _CANDIDATES if _wsplan.reserved_site_name(name)] == [_wsplan.MAP_NAME,
                                                                                  _wsplan.MAP_NAME + ".conf"]


@pytest.mark.parametrize("fixture", ["rocky", "debian"])
@pytest.mark.parametrize("name", [_wsplan.MAP_NAME, _wsplan.MAP_NAME + ".conf"])
def test_a_site_named_like_the_map_is_refused_before_any_plan(layout, fixture, name):
    tree = layout(fixture)
    with pytest.raises(_wsvalidate.InvalidOption) as error:
        plan_for(tree, name=name)
    assert str(error.value) == "name=%r: reserved: the collection's WebSocket map file has this name" % name
