# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""wsproxy.nginx.nginx_info end to end on localhost: ansible runs the action plugin and the module, the module
runs the real nginx against fixture trees."""

import json
import os
import socket

from conftest import NGINX

SECRET = "wsproxy-test-secret-7f3a"


def test_reports_the_layout_and_never_returns_the_dump(layout, run_module):
    tree = layout("debian")
    # A credential in the config must not travel into the result.
    tree.write("etc/nginx/conf.d/auth.conf", 'proxy_set_header Authorization "Bearer %s";\n' % SECRET)
    result = run_module("wsproxy.nginx.nginx_info", {"conf_path": tree.conf_path})
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["layout"] == "sites-enabled"
    assert result["binary"] == os.path.realpath(NGINX) or result["binary"] == NGINX
    assert result["conf_path"] == tree.conf_path
    assert result["version"].count(".") == 2
    assert tree.rel(result["placement"]["map_dir"]) == "/etc/nginx/conf.d"
    assert SECRET not in json.dumps(result)
    assert "wsproxy_nginx_dump" not in result and "wsproxy_nginx_file_states" not in result


def test_check_mode_runs_the_read_only_module(layout, run_module):
    tree = layout("rocky")
    result = run_module("wsproxy.nginx.nginx_info", {"conf_path": tree.conf_path}, check=True)
    assert result.get("failed") is not True, result
    assert result["layout"] == "conf.d"


def test_config_that_fails_nginx_t_is_reported_with_nginx_file_and_line(layout, run_module):
    tree = layout("nginxorg")
    broken = tree.write("etc/nginx/conf.d/broken.conf", "server {\n    listen 80;\n    proxy_pas http://x;\n}\n")
    result = run_module("wsproxy.nginx.nginx_info", {"conf_path": tree.conf_path})
    assert result["failed"] is True
    assert 'unknown directive "proxy_pas" in %s:3' % broken in result["msg"]
    assert result["errors"] == [{"file": broken, "line": 3, "message": 'unknown directive "proxy_pas"'}]


def test_map_in_server_context_is_refused_by_nginx_and_reported(layout, run_module):
    tree = layout("nginxorg")
    bad = tree.write(
        "etc/nginx/conf.d/ws.conf",
        "server {\n    listen 8088;\n    map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n}\n",
    )
    result = run_module("wsproxy.nginx.nginx_info", {"conf_path": tree.conf_path})
    assert result["failed"] is True
    assert result["errors"][0]["file"] == bad and result["errors"][0]["line"] == 3
    assert "not allowed here" in result["errors"][0]["message"]


def test_missing_nginx_binary_names_the_option(run_module):
    result = run_module("wsproxy.nginx.nginx_info", {"binary": "/nonexistent/sbin/nginx"})
    assert result["failed"] is True
    assert "binary='/nonexistent/sbin/nginx'" in result["msg"]
    result = run_module("wsproxy.nginx.nginx_info", {"binary": "no-such-nginx"})
    assert "binary='no-such-nginx'" in result["msg"]


def test_missing_conf_path_names_the_option(run_module, tmp_path):
    missing = str(tmp_path / "nope.conf")
    result = run_module("wsproxy.nginx.nginx_info", {"conf_path": missing})
    assert result["failed"] is True
    assert result["msg"] == "conf_path=%r: no such file on the host" % missing


def test_unknown_option_is_refused(run_module):
    result = run_module("wsproxy.nginx.nginx_info", {"conf": "/etc/nginx/nginx.conf"})
    assert result["failed"] is True
    assert "conf" in result["msg"] and "Unsupported parameters" in result["msg"]


def test_missing_crossplane_gives_the_standard_message(layout, run_module, tmp_path, monkeypatch):
    # Shadow the library on the controller: its import then fails as if it were not installed.
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "crossplane.py").write_text("raise ImportError('No module named crossplane')\n")
    monkeypatch.setenv("PYTHONPATH", "%s:%s" % (shadow, os.environ.get("PYTHONPATH", "")))
    tree = layout("debian")
    before = {p: os.stat(os.path.join(d, p)).st_mtime for d, _s, fs in os.walk(tree.root) for p in fs}
    result = run_module("wsproxy.nginx.nginx_info", {"conf_path": tree.conf_path})
    assert result["failed"] is True
    assert "Failed to import the required Python library (crossplane)" in result["msg"]
    after = {p: os.stat(os.path.join(d, p)).st_mtime for d, _s, fs in os.walk(tree.root) for p in fs}
    assert before == after


def test_tcp_checks_selinux_and_recovery_are_reported(layout, run_module, tmp_path):
    tree = layout("debian")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: refuses
    try:
        alive, dead = "127.0.0.1:%d" % listener.getsockname()[1], "127.0.0.1:%d" % closed.getsockname()[1]
        state_dir = tmp_path / "state"
        state_dir.mkdir()
        args = {"conf_path": tree.conf_path, "state_dir": str(state_dir), "tcp_check": [alive, dead, "no-port"], "tcp_timeout": 2}
        result = run_module("wsproxy.nginx.nginx_info", args)
        assert [(c["address"], c["ok"]) for c in result["tcp_checks"]] == [(alive, True), (dead, False), ("no-port", False)]
        assert "refused" in result["tcp_checks"][1]["error"].lower()
        assert result["tcp_checks"][2]["error"] == "not a host:port address"
        assert result["selinux"] in ("enforcing", "permissive", "disabled")
        assert result["recovery_pending"] is False
        (state_dir / "journal.json").write_text("{}")
        result = run_module("wsproxy.nginx.nginx_info", {"conf_path": tree.conf_path, "state_dir": str(state_dir)})
        assert result["recovery_pending"] is True and result["tcp_checks"] == []
    finally:
        listener.close()
        closed.close()
