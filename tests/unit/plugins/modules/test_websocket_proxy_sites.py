# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_proxy_sites end to end: a real nginx on loopback with a foreign site, real WebSocket backends, the
module run by ansible. One run = one checkpoint and one reload (counted from nginx's own SIGHUP notices) whatever
the number of sites; rollback by run label; prune; refusals that leave the tree byte for byte."""

import pytest

from conftest import free_port
from wsbackend import EchoBackend

SITES = "wsproxy.nginx.websocket_proxy_sites"
PROBE = "wsproxy.nginx.websocket_probe"
CHECKPOINT = "wsproxy.nginx.nginx_checkpoint"


@pytest.fixture
def backends():
    servers = [EchoBackend() for _index in range(3)]
    yield servers
    for server in servers:
        server.stop()


def three_sites(backends, port):
    return [{"name": name, "server_name": ["%s.test" % name], "listen": ["127.0.0.1:%d" % port],
             "upstream": ["127.0.0.1:%d" % backend.port]}
            for name, backend in zip(("chat", "feed", "game"), backends)]


def run_sites(run_module, server, sites, **extra):
    args = server.args(sites=sites)
    args.update(extra)
    return run_module(SITES, args)


def echo_through(run_module, port, name):
    return run_module(PROBE, {"url": "ws://127.0.0.1:%d/socket" % port, "host": "%s.test" % name, "echo_text": name})


def test_three_sites_and_the_worker_limits_in_one_checkpoint_and_one_reload(running_nginx, run_module, backends):
    server = running_nginx
    port = free_port()
    before, reloads = server.fingerprint(), server.reloads()
    first = run_sites(run_module, server, three_sites(backends, port), worker_connections=128, label="run-one")
    assert first.get("failed") is not True, first
    assert first["changed"] is True and first["reloaded"] is True and first["label"] == "run-one"
    assert server.reloads() == reloads + 1 and len(server.checkpoints()) == 1
    assert [site["name"] for site in first["managed_sites"]] == ["chat", "feed", "game"]
    assert first["worker_limits"]["worker_connections"] == 128
    for name in ("chat", "feed", "game"):
        probe = echo_through(run_module, port, name)
        assert (probe["status"], probe["echo"]) == (101, name), probe

    second = run_sites(run_module, server, three_sites(backends, port), worker_connections=128, label="run-two")
    assert (second["changed"], second["checkpoint"], second["reloaded"]) == (False, None, False), second
    assert server.reloads() == reloads + 1 and len(server.checkpoints()) == 1

    # The whole run back, worker limits included, by its label.
    restored = run_module(CHECKPOINT, server.args(state="restored", label="run-one"))
    assert restored.get("failed") is not True and restored["checkpoint"]["label"] == "run-one", restored
    assert server.fingerprint() == before


def test_a_run_that_changes_nothing_proves_its_sites_in_the_read(running_nginx, run_module, backends):
    server = running_nginx
    port = free_port()
    sites = three_sites(backends, port)
    targets = [{"url": "ws://127.0.0.1:%d/socket" % port, "host": "%s.test" % site["name"], "echo_text": site["name"],
                "site": site["name"]} for site in sites]
    first = run_sites(run_module, server, sites, probe_targets=targets)
    # The read ran before the change: its probes tested the old configuration and are not reported.
    assert first["changed"] is True and first["probed"] is False and "probes" not in first, first
    again = run_sites(run_module, server, sites, probe_targets=targets)
    assert (again["changed"], again["probed"]) == (False, True), again
    assert [(probe["site"], probe["status"], probe["echo"]) for probe in again["probes"]] == [
        (name, 101, name) for name in ("chat", "feed", "game")]
    broken = run_sites(run_module, server, sites, probe_targets=targets + [dict(targets[0], url="ws://127.0.0.1:%d/socket" % free_port())])
    assert (broken["changed"], broken["probed"]) == (False, False) and broken["probes"][-1]["failed"] is True, broken


def test_rollback_without_arguments_undoes_the_last_run_whatever_its_number_of_checkpoints(running_nginx, run_module, backends):
    server = running_nginx
    port = free_port()
    sites = three_sites(backends, port)
    assert run_sites(run_module, server, sites[:1], label="deploy-1")["changed"] is True
    after_first = server.fingerprint()
    # One run that took two transactions (as single-site websocket_proxy tasks would): both carry its label.
    assert run_sites(run_module, server, sites[:2], label="deploy-2")["changed"] is True
    assert run_sites(run_module, server, sites, label="deploy-2")["changed"] is True
    assert len(server.checkpoints()) == 3
    restored = run_module(CHECKPOINT, server.args(state="restored"))
    assert restored.get("failed") is not True, restored
    assert restored["checkpoint"]["label"] == "deploy-2" and server.fingerprint() == after_first
    info = run_module("wsproxy.nginx.nginx_checkpoint_info", {"state_dir": server.state_dir})
    assert [item["label"] for item in info["checkpoints"]] == ["deploy-2", "deploy-2", "deploy-1"]


def test_prune_removes_the_sites_no_longer_listed_and_the_map_with_the_last(running_nginx, run_module, backends):
    server = running_nginx
    port = free_port()
    before = server.fingerprint()
    assert run_sites(run_module, server, three_sites(backends, port))["changed"] is True
    kept = run_sites(run_module, server, three_sites(backends, port)[:1], prune=True)
    assert kept.get("failed") is not True, kept
    assert kept["pruned"] == ["feed", "game"] and [site["name"] for site in kept["managed_sites"]] == ["chat"]
    info = run_module("wsproxy.nginx.nginx_info", {"conf_path": server.conf_path})
    assert [site["name"] for site in info["managed_sites"]] == ["chat"] and info["ipv6"] in (True, False), info
    assert echo_through(run_module, port, "chat")["status"] == 101
    assert run_sites(run_module, server, three_sites(backends, port)[:1], prune=True)["changed"] is False
    emptied = run_sites(run_module, server, [], prune=True)
    assert emptied["pruned"] == ["chat"] and emptied["managed_sites"] == [], emptied
    assert server.fingerprint() == before  # the map went with the last site


def test_a_name_a_foreign_server_block_serves_is_refused_naming_its_file_and_line(running_nginx, run_module, backends):
    server = running_nginx
    port = free_port()
    foreign = server.tree.write("etc/nginx/conf.d/legacy.conf", (
        "# the other team's\nserver {\n    listen 127.0.0.1:%d;\n    server_name .feed.test;\n"
        "    return 200 legacy;\n}\n") % port)
    assert run_module("wsproxy.nginx.nginx_apply", server.args()).get("failed") is not True
    before, reloads = server.fingerprint(), server.reloads()
    result = run_sites(run_module, server, three_sites(backends, port))
    assert result["failed"] is True, result
    assert "site feed: server_name feed.test on 127.0.0.1:%d is already served by the server block at %s:2" % (
        port, foreign) in result["msg"], result["msg"]
    assert server.fingerprint() == before and server.reloads() == reloads and server.checkpoints() == []
    # Another port, or another name under the wildcard that an exact name of ours beats, is fine.
    fine = three_sites(backends, port)
    fine[1]["server_name"] = ["live.feed.test"]
    assert run_sites(run_module, server, fine).get("failed") is not True
    assert echo_through(run_module, port, "live.feed")["echo"] == "live.feed"  # nginx picks the exact name


def test_two_sites_of_one_run_with_the_same_name_are_refused(running_nginx, run_module, backends):
    server = running_nginx
    sites = three_sites(backends, free_port())
    sites[2]["server_name"] = ["chat.test"]
    before = server.fingerprint()
    result = run_sites(run_module, server, sites)
    assert result["failed"] is True and "sites chat and game both serve server_name chat.test" in result["msg"], result
    assert server.fingerprint() == before


def test_a_typo_in_a_site_key_fails_naming_it_and_nothing_changes(running_nginx, run_module, backends):
    server = running_nginx
    sites = three_sites(backends, free_port())
    sites[1]["upstreams"] = sites[1].pop("upstream")
    sites[2]["locations"] = [{"path": "/", "socket_io": True}]
    before = server.fingerprint()
    result = run_sites(run_module, server, sites)
    assert result["failed"] is True and "sites[1] (feed)" in result["msg"] and "upstreams" in result["msg"], result
    assert server.fingerprint() == before
    sites[1]["upstream"] = sites[1].pop("upstreams")
    result = run_sites(run_module, server, sites)
    assert result["failed"] is True and "sites[2] (game)" in result["msg"] and "socket_io" in result["msg"], result


def test_warnings_nginx_prints_are_returned(running_nginx, run_module, backends):
    server = running_nginx
    port = free_port()
    for name in ("one", "two"):
        server.tree.write("etc/nginx/conf.d/%s.conf" % name,
                          "server {\n    listen 127.0.0.1:%d;\n    server_name dup.test;\n    return 204;\n}\n" % port)
    result = run_sites(run_module, server, three_sites(backends, free_port())[:1])
    assert result.get("failed") is not True, result
    assert any('conflicting server name "dup.test"' in warning for warning in result["warnings"]), result["warnings"]


def test_old_workers_holding_websockets_are_reported_as_draining(running_nginx, run_module, backends):
    import socket
    server = running_nginx
    port = free_port()
    sites = three_sites(backends, port)
    assert run_sites(run_module, server, sites[:1]).get("failed") is not True
    held = socket.create_connection(("127.0.0.1", port), timeout=5)
    held.sendall(b"GET /socket HTTP/1.1\r\nHost: chat.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    assert held.recv(1024).startswith(b"HTTP/1.1 101")
    try:
        result = run_sites(run_module, server, sites[:2])
        assert result["reloaded"] is True and len(result["draining_workers"]) >= 1, result
        assert all(worker["rss_kb"] > 0 for worker in result["draining_workers"])
    finally:
        held.close()


def test_module_defaults_of_the_action_group_reach_every_module(running_nginx, tmp_path, backends):
    """One module_defaults for group/wsproxy.nginx.nginx: every member takes every shared option."""
    import json
    import os
    import subprocess
    import sys
    server = running_nginx
    port = free_port()
    playbook = tmp_path / "defaults.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False,
        "module_defaults": {"group/wsproxy.nginx.nginx": {
            "conf_path": server.conf_path, "state_dir": server.state_dir, "reload_timeout": 15, "keep": 3,
            "lock_timeout": 30, "label": "from-defaults", "binary": "nginx"}},
        "tasks": [
            {"wsproxy.nginx.websocket_proxy_sites": {"sites": three_sites(backends, port)[:1]}, "register": "placed"},
            {"wsproxy.nginx.nginx_info": {}, "register": "info"},
            {"wsproxy.nginx.nginx_checkpoint_info": {}, "register": "listed"},
            {"wsproxy.nginx.websocket_proxy_info": {}},
            {"wsproxy.nginx.nginx_apply": {}},
            {"ansible.builtin.assert": {"that": [
                "placed.label == 'from-defaults'", "info.managed_sites | map(attribute='name') | list == ['chat']",
                "listed.checkpoints | map(attribute='label') | list == ['from-defaults']"]}},
        ]}]))
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook)],
                          capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
