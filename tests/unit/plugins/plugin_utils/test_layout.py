# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_info's analysis over real layouts: each fixture is dumped by a real `nginx -T`, parsed by real crossplane."""

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._nginx_config import NginxConfig

STANDARD_MAP = """map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
}
"""


def describe(tree):
    return _layout.describe(NginxConfig.from_dump(tree.conf_path, tree.dump()))


def rel_placement(tree, info):
    return {key: tree.rel(value) if value else None for key, value in info["placement"].items()}


def http_patterns(tree, info):
    return [tree.rel(item["pattern"]) for item in info["includes"] if item["context"] == "http"]


def test_debian_stock_is_sites_enabled_with_conf_d_for_the_map(layout):
    tree = layout("debian")
    info = describe(tree)
    assert info["layout"] == "sites-enabled"
    assert rel_placement(tree, info) == {
        "map_dir": "/etc/nginx/conf.d",
        "site_dir": "/etc/nginx/sites-available",
        "enable_dir": "/etc/nginx/sites-enabled",
    }
    assert http_patterns(tree, info) == ["/etc/nginx/mime.types", "/etc/nginx/conf.d/*.conf", "/etc/nginx/sites-enabled/*"]
    main_includes = [tree.rel(item["pattern"]) for item in info["includes"] if item["context"] == "main"]
    assert main_includes == ["/etc/nginx/modules-enabled/*.conf"]
    assert tree.rel(info["http"]["file"]) == "/etc/nginx/nginx.conf" and info["http"]["line"] == 11
    # nginx reports the enabled path (the symlink), which is what the server block is found under.
    assert [(tree.rel(s["file"]), s["line"], s["listen"], s["server_name"]) for s in info["servers"]] == [
        ("/etc/nginx/sites-enabled/default", 3, ["80 default_server", "[::]:80 default_server"], ["_"])
    ]
    assert info["upgrade_maps"] == [] and info["connection_upgrade"] is None


def test_sites_enabled_without_conf_d_puts_the_map_in_the_site_file(layout):
    tree = layout("debian")
    text = open(tree.conf_path).read().replace("include %s/etc/nginx/conf.d/*.conf;" % tree.root, "")
    tree.write("etc/nginx/nginx.conf", text)
    info = describe(tree)
    assert info["layout"] == "sites-enabled"
    assert info["placement"]["map_dir"] is None
    assert tree.rel(info["placement"]["site_dir"]) == "/etc/nginx/sites-available"


def test_rocky_stock_is_conf_d_and_default_d_is_server_level(layout):
    tree = layout("rocky")
    info = describe(tree)
    assert info["layout"] == "conf.d"
    assert rel_placement(tree, info) == {"map_dir": "/etc/nginx/conf.d", "site_dir": "/etc/nginx/conf.d", "enable_dir": None}
    default_d = [item for item in info["includes"] if item["pattern"].endswith("default.d/*.conf")]
    assert [(item["context"], tree.rel(item["file"]), item["line"]) for item in default_d] == [
        ("server", "/etc/nginx/nginx.conf", 44)
    ]
    assert [tree.rel(f) for f in default_d[0]["files"]] == ["/etc/nginx/default.d/health.conf"]
    assert [(s["listen"], s["server_name"]) for s in info["servers"]] == [(["80", "[::]:80"], ["_"])]


def test_nginx_org_package_is_conf_d(layout):
    tree = layout("nginxorg")
    info = describe(tree)
    assert info["layout"] == "conf.d"
    assert tree.rel(info["placement"]["site_dir"]) == "/etc/nginx/conf.d"
    assert [(tree.rel(s["file"]), s["server_name"]) for s in info["servers"]] == [
        ("/etc/nginx/conf.d/default.conf", ["localhost"])
    ]


def test_alpine_http_d_is_the_site_dir_and_main_level_conf_d_is_not(layout):
    tree = layout("alpine")
    info = describe(tree)
    assert info["layout"] == "conf.d"
    assert rel_placement(tree, info) == {"map_dir": "/etc/nginx/http.d", "site_dir": "/etc/nginx/http.d", "enable_dir": None}
    conf_d = [item for item in info["includes"] if item["pattern"].endswith("/conf.d/*.conf")]
    assert [item["context"] for item in conf_d] == ["main"]


def test_alpine_stock_map_is_found_and_standard(layout):
    tree = layout("alpine")
    info = describe(tree)
    winner = info["connection_upgrade"]
    assert (tree.rel(winner["file"]), winner["line"], winner["context"]) == ("/etc/nginx/nginx.conf", 47, "http")
    assert winner["standard"] is True and winner["shadowed"] == []
    assert winner["entries"] == {"default": "upgrade", "": "close"}


def test_no_include_is_nginx_conf_layout(layout):
    tree = layout("noinclude")
    info = describe(tree)
    assert info["layout"] == "nginx.conf"
    assert info["placement"] == {"map_dir": None, "site_dir": None, "enable_dir": None}
    assert info["includes"] == []
    assert [(s["listen"], s["server_name"]) for s in info["servers"]] == [(["8080"], ["app.example.com", "www.example.com"])]


def test_includes_nested_in_included_files_keep_their_context(layout):
    tree = layout("nested")
    info = describe(tree)
    # vhosts/*.conf is included from http/base.conf, itself included in http {}: an http-level directory.
    assert info["layout"] == "conf.d"
    assert tree.rel(info["placement"]["site_dir"]) == "/etc/nginx/vhosts"
    found = [(tree.rel(item["file"]), item["context"], tree.rel(item["pattern"])) for item in info["includes"]]
    assert found == [
        ("/etc/nginx/nginx.conf", "http", "/etc/nginx/http/base.conf"),
        ("/etc/nginx/http/base.conf", "http", "/etc/nginx/vhosts/*.conf"),
        ("/etc/nginx/vhosts/app.conf", "server", "/etc/nginx/snippets/*.conf"),
    ]
    # A dot file is never loaded by a `*` glob; nginx's own dump agrees.
    assert [(tree.rel(s["file"]), s["server_name"]) for s in info["servers"]] == [("/etc/nginx/vhosts/app.conf", ["app.internal"])]


def test_existing_standard_map_in_conf_d_is_reused(layout):
    tree = layout("debian")
    tree.write("etc/nginx/conf.d/websocket-map.conf", "# quoted the other way round\n" + STANDARD_MAP.replace("''", '""'))
    info = describe(tree)
    winner = info["connection_upgrade"]
    assert tree.rel(winner["file"]) == "/etc/nginx/conf.d/websocket-map.conf" and winner["line"] == 2
    assert winner["standard"] is True


def test_non_standard_connection_upgrade_map_is_reported_as_such(layout):
    tree = layout("nginxorg")
    tree.write(
        "etc/nginx/conf.d/legacy.conf",
        "map $http_upgrade $connection_upgrade {\n    default Upgrade;\n    '' '';\n}\n",
    )
    info = describe(tree)
    assert info["connection_upgrade"]["standard"] is False
    assert info["connection_upgrade"]["entries"] == {"default": "Upgrade", "": ""}
    assert [m["standard"] for m in info["upgrade_maps"]] == [False]


def test_other_maps_on_http_upgrade_are_listed_but_do_not_own_connection_upgrade(layout):
    tree = layout("nginxorg")
    tree.write("etc/nginx/conf.d/mine.conf", STANDARD_MAP.replace("$connection_upgrade", "$wsproxy_connection_upgrade"))
    info = describe(tree)
    assert [m["variable"] for m in info["upgrade_maps"]] == ["$wsproxy_connection_upgrade"]
    assert info["upgrade_maps"][0]["standard"] is True
    assert info["connection_upgrade"] is None


def test_two_competing_maps_the_last_one_loaded_wins(layout):
    tree = layout("debian")
    tree.write("etc/nginx/conf.d/websocket-map.conf", STANDARD_MAP)
    tree.write(
        "etc/nginx/sites-available/legacy",
        "map $http_upgrade $connection_upgrade {\n    default keep-alive;\n    '' close;\n}\n",
    )
    tree.link("etc/nginx/sites-enabled/legacy", "../sites-available/legacy")
    info = describe(tree)  # nginx -t accepts this: two maps for one variable are not an error
    winner = info["connection_upgrade"]
    assert tree.rel(winner["file"]) == "/etc/nginx/sites-enabled/legacy"
    assert winner["standard"] is False
    assert [(tree.rel(s["file"]), s["line"]) for s in winner["shadowed"]] == [("/etc/nginx/conf.d/websocket-map.conf", 1)]
    assert len(info["upgrade_maps"]) == 2


def test_map_in_the_wrong_context_is_reported_and_never_wins(layout):
    # nginx refuses a map inside server {} ("directive is not allowed here"), so this dump is written by hand,
    # the way nginx prints one, for the analysis alone; the real nginx's refusal is tested in test_nginx.py.
    dump = (
        "# configuration file /etc/nginx/nginx.conf:\n"
        "events {}\nhttp {\n    server {\n        listen 80;\n"
        "        map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n    }\n}\n\n"
    )
    info = _layout.describe(NginxConfig.from_dump("/etc/nginx/nginx.conf", dump))
    assert [(m["context"], m["line"]) for m in info["upgrade_maps"]] == [("server", 5)]
    assert info["connection_upgrade"] is None
