# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_proxy and websocket_probe end to end: a real nginx on loopback, a real WebSocket backend, the
modules run by ansible. A 101 with a correct accept key and the echo back through nginx is the proof."""

import os

import pytest

from conftest import free_port
from wsbackend import EchoBackend

PROXY = "wsproxy.nginx.websocket_proxy"
PROBE = "wsproxy.nginx.websocket_probe"


@pytest.fixture
def backend():
    server = EchoBackend()
    yield server
    server.stop()


def site_args(server, backend, port, **extra):
    args = server.args(name="chat", server_name=["chat.test"], listen=["127.0.0.1:%d" % port],
                       upstream=["127.0.0.1:%d" % backend.port],
                       locations=[{"path": "/"}, {"path": "/ws/", "match": "priority", "proxy_uri": "/"}])
    args.update(extra)
    return args


def probe(run_module, port, path="/socket", **extra):
    args = {"url": "ws://127.0.0.1:%d%s" % (port, path), "host": "chat.test", "echo_text": "hello through nginx"}
    args.update(extra)
    return run_module(PROBE, args)


def test_site_placed_proxies_a_real_handshake_and_is_idempotent(running_nginx, run_module, backend):
    server = running_nginx
    port = free_port()
    first = run_module(PROXY, site_args(server, backend, port), diff=True)
    assert first.get("failed") is not True, first
    assert first["changed"] is True and first["reloaded"] is True and first["layout"] == "conf.d"
    assert [f["action"] for f in first["files"]] == ["created", "created"]
    assert "upstream chat_backend" in first["diff"][0]["after"]

    result = probe(run_module, port)
    assert result.get("failed") is not True, result
    assert (result["status"], result["accept_valid"], result["echo"]) == (101, True, "hello through nginx")
    request_line, headers = backend.requests[-1]
    assert request_line == "GET /socket HTTP/1.1"
    assert headers["x-forwarded-proto"] == "http" and headers["x-real-ip"] == "127.0.0.1"
    stripped = probe(run_module, port, path="/ws/feed")
    assert stripped["status"] == 101 and backend.requests[-1][0] == "GET /feed HTTP/1.1"  # /ws/ replaced by /

    lint = run_module("wsproxy.nginx.websocket_proxy_info", {"conf_path": server.conf_path})
    ours = [item for item in lint["locations"] if item["file"].endswith("/chat.conf")]
    assert [item["path"] for item in ours] == ["/", "^~ /ws/"] and all(item["websocket"] for item in ours)
    assert lint["findings_total"] == 0, lint["locations"]

    workers = server.workers()
    second = run_module(PROXY, site_args(server, backend, port))
    assert (second["changed"], second["checkpoint"], second["reloaded"]) == (False, None, False)
    assert server.workers() == workers  # no reload


def test_check_mode_plans_and_writes_nothing(running_nginx, run_module, backend):
    server = running_nginx
    before = server.fingerprint()
    result = run_module(PROXY, site_args(server, backend, free_port()), check=True, diff=True)
    assert result["changed"] is True and [f["action"] for f in result["files"]] == ["created", "created"]
    assert server.fingerprint() == before
    assert not os.path.exists(server.state_dir)


def test_bad_input_changes_nothing_and_names_the_option(running_nginx, run_module, backend):
    server = running_nginx
    before = server.fingerprint()
    result = run_module(PROXY, site_args(server, backend, free_port(), server_name=["chat.test;evil"]))
    assert result["failed"] is True and result["msg"].startswith("server_name='chat.test;evil'")
    result = run_module(PROXY, site_args(server, backend, free_port(), bogus=1))
    assert result["failed"] is True and "bogus" in result["msg"]
    assert server.fingerprint() == before


def test_absent_restores_the_tree_byte_for_byte(running_nginx, run_module, backend):
    server = running_nginx
    before = server.fingerprint()
    port = free_port()
    assert run_module(PROXY, site_args(server, backend, port))["changed"] is True
    gone = run_module(PROXY, site_args(server, backend, port, state="absent"))
    assert gone["changed"] is True and gone["reloaded"] is True
    assert server.fingerprint() == before
    again = run_module(PROXY, site_args(server, backend, port, state="absent"))
    assert again["changed"] is False


def test_a_foreign_site_file_is_refused_not_replaced(running_nginx, run_module, backend):
    server = running_nginx
    server.tree.write("etc/nginx/conf.d/chat.conf", "# the operator's own chat site\n")
    before = server.fingerprint()
    result = run_module(PROXY, site_args(server, backend, free_port()))
    assert result["failed"] is True and "was not written by wsproxy.nginx" in result["msg"]
    assert server.fingerprint() == before


def test_a_failing_reload_rolls_the_site_back(running_nginx, run_module, backend):
    server = running_nginx
    before = server.fingerprint()
    result = run_module(PROXY, site_args(server, backend, backend.port, reload_timeout=5))  # the backend's port is taken
    assert result["failed"] is True and result["rolled_back"] is True
    assert any("Address already in use" in e["message"] for e in result["errors"])
    assert server.fingerprint() == before
    assert server.get() == "old\n"


def test_allowed_origins_refuse_a_foreign_origin(running_nginx, run_module, backend):
    server = running_nginx
    port = free_port()
    assert run_module(PROXY, site_args(server, backend, port, allowed_origins=["https://chat.test"]))["changed"]
    assert probe(run_module, port, origin="https://chat.test")["status"] == 101
    refused = probe(run_module, port, origin="https://evil.test", expect_status=403)
    assert refused.get("failed") is not True and refused["status"] == 403
    assert probe(run_module, port)["status"] == 101  # no Origin: not a browser


def test_probe_diagnoses_a_stopped_backend(running_nginx, run_module, backend):
    server = running_nginx
    port = free_port()
    assert run_module(PROXY, site_args(server, backend, port))["changed"]
    backend.stop()
    result = probe(run_module, port, backend_url="ws://127.0.0.1:%d/socket" % backend.port)
    assert result["failed"] is True and result["status"] == 502
    assert result["diagnosis"]["code"] == "backend_down"
    assert "ss -tuln" in result["diagnosis"]["next_check"]


def test_probe_diagnoses_a_proxy_that_does_not_upgrade(running_nginx, run_module, backend):
    server = running_nginx
    port = free_port()
    server.tree.write("etc/nginx/conf.d/plain.conf",
                      "server {\n    listen 127.0.0.1:%d;\n    location / {\n        proxy_pass http://127.0.0.1:%d;\n    }\n}\n"
                      % (port, backend.port))
    assert run_module("wsproxy.nginx.nginx_apply", server.args())["reloaded"] is True
    result = probe(run_module, port, backend_url="ws://127.0.0.1:%d/socket" % backend.port)
    assert result["failed"] is True and result["backend"]["status"] == 101
    assert result["diagnosis"]["code"] == "proxy_no_upgrade"


def test_probe_bad_url_names_the_option(run_module):
    result = run_module(PROBE, {"url": "ftp://x/"})
    assert result["failed"] is True and result["msg"].startswith("url='ftp://x/'")


def test_a_site_in_place_costs_one_module_execution(running_nginx, run_module, backend):
    server = running_nginx
    port = free_port()
    assert run_module(PROXY, site_args(server, backend, port))["changed"] is True
    # nginx_files takes the host lock (creating STATE_DIR/lock) whenever it runs; the read alone never does.
    lock = os.path.join(server.state_dir, "lock")
    os.remove(lock)
    second = run_module(PROXY, site_args(server, backend, port))
    assert (second["changed"], second["files"], second["reloaded"]) == (False, [], False)
    assert not os.path.exists(lock)
    # A site file edited by hand is not in place any more: the apply module runs and puts it back.
    server.tree.write("etc/nginx/conf.d/chat.conf", open(server.tree.path("etc/nginx/conf.d/chat.conf")).read() + "\n")
    third = run_module(PROXY, site_args(server, backend, port))
    assert third["changed"] is True and [f["action"] for f in third["files"]] == ["updated"]
    assert os.path.exists(lock)


def test_files_in_place_after_a_killed_run_still_recover(running_nginx, run_module, backend):
    server = running_nginx
    before = server.fingerprint()
    port = free_port()
    # Killed after the files were renamed into place and nginx reloaded, before the commit: the files on disk
    # are exactly what the next run wants, but the journal says the transaction never finished.
    killed = run_module(PROXY, site_args(server, backend, port), kill_at="after-reload")
    assert killed.get("failed") is True
    assert os.path.exists(os.path.join(server.state_dir, "journal.json"))
    rerun = run_module(PROXY, site_args(server, backend, port))
    assert rerun.get("failed") is not True, (rerun.get("msg"), rerun.get("errors"), rerun.get("recovered"))
    assert rerun["recovered"] and rerun["changed"] is True and rerun["reloaded"] is True
    assert not os.path.exists(os.path.join(server.state_dir, "journal.json"))
    assert server.fingerprint() != before


def test_check_backends_refuses_a_dead_backend_before_any_change(running_nginx, run_module, backend):
    server = running_nginx
    before = server.fingerprint()
    dead = free_port()
    result = run_module(PROXY, site_args(server, backend, free_port(), upstream=["127.0.0.1:%d" % dead],
                                         check_backends=True))
    assert result["failed"] is True
    assert "backend 127.0.0.1:%d does not accept connections from localhost" % dead in result["msg"]
    assert result["tcp_checks"][0]["ok"] is False
    assert server.fingerprint() == before
    alive = run_module(PROXY, site_args(server, backend, free_port(), check_backends=True))
    assert alive.get("failed") is not True and alive["changed"] is True


def test_lets_encrypt_first_run_serves_the_challenge_webroot_before_any_certificate(running_nginx, run_module, backend):
    """The README's Let's Encrypt step 1: plain HTTP with acme_challenge_root, no certificate yet."""
    import shutil
    import tempfile
    import urllib.request
    server = running_nginx
    port = free_port()
    webroot = tempfile.mkdtemp(prefix="wsproxy-acme-")  # outside the test's private tmp: nginx's workers read it
    try:
        os.chmod(webroot, 0o755)
        os.makedirs(os.path.join(webroot, ".well-known", "acme-challenge"), 0o755)
        with open(os.path.join(webroot, ".well-known", "acme-challenge", "token-1"), "w") as handle:
            handle.write("token-1.key-authorization")
        placed = run_module(PROXY, server.args(name="app", server_name=["app.example.com"], listen=["127.0.0.1:%d" % port],
                                               upstream=["127.0.0.1:%d" % backend.port], acme_challenge_root=webroot))
        assert placed.get("failed") is not True and placed["changed"] is True, placed
        request = urllib.request.Request("http://127.0.0.1:%d/.well-known/acme-challenge/token-1" % port,
                                         headers={"Host": "app.example.com"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert (response.status, response.read()) == (200, b"token-1.key-authorization")
        probe = run_module(PROBE, {"url": "ws://127.0.0.1:%d/socket" % port, "host": "app.example.com", "echo_text": "le"})
        assert (probe["status"], probe["echo"]) == (101, "le"), probe  # everything else still proxied
    finally:
        shutil.rmtree(webroot)
