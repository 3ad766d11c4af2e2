# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_probe with Socket.IO the way browsers connect (polling, then the upgrade), and several targets in
one execution: real Engine.IO v4 servers (the platform images' backend, python-socketio on aiohttp) behind a
real nginx on loopback, the module run by ansible."""

import asyncio
import os
import socket
import sys
import threading
import time

import pytest

from conftest import free_port, nginx

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "images", "backend"))
from wsproxy_backend import build_app  # noqa: E402  (the backend the platform images run)

from aiohttp import web  # noqa: E402
from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsclient  # noqa: E402

PROBE = "wsproxy.nginx.websocket_probe"
TEXT = "hello through nginx"
SITE = """
map $http_upgrade $connection_upgrade {
    default upgrade;
    '' close;
}
upstream sio_round_robin {
    server 127.0.0.1:%(first)d;
    server 127.0.0.1:%(second)d;
}
upstream sio_sticky {
    ip_hash;
    server 127.0.0.1:%(first)d;
    server 127.0.0.1:%(second)d;
}
server {
    listen 127.0.0.1:%(round_robin)d;
    location /socket.io/ {
        proxy_pass http://sio_round_robin;
%(proxy)s    }
}
server {
    listen 127.0.0.1:%(sticky)d;
    location /socket.io/ {
        proxy_pass http://sio_sticky;
%(proxy)s    }
}
"""
PROXY = "".join("        %s;\n" % line for line in (
    "proxy_http_version 1.1", "proxy_set_header Upgrade $http_upgrade", "proxy_set_header Connection $connection_upgrade",
    "proxy_set_header Host $host", "proxy_buffering off", "proxy_read_timeout 300s"))


class SocketIOBackend(object):
    """The images' Socket.IO backend (echoes a `message` event) on its own event loop in a thread."""

    def __init__(self):
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(build_app())
        self.loop.run_until_complete(self._start())
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _start(self):
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def _shutdown(self):
        await self.runner.cleanup()
        # Engine.IO's ping tasks of sessions the probe left behind: end them before the loop closes.
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self):
        asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @property
    def url(self):
        return "ws://127.0.0.1:%d/socket.io/" % self.port


@pytest.fixture
def backends():
    servers = [SocketIOBackend(), SocketIOBackend()]
    yield servers
    for server in servers:
        server.stop()


def _wait_listening(port, seconds=5):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("nginx does not listen on %d after the reload" % port)


@pytest.fixture
def balanced(running_nginx, backends):
    """nginx with two servers over the same two backends: round-robin (nginx's default) and ip_hash.
    Returns {round_robin: port, sticky: port}."""
    ports = {"round_robin": free_port(), "sticky": free_port()}
    running_nginx.tree.write("etc/nginx/conf.d/sio.conf", SITE % dict(
        ports, first=backends[0].port, second=backends[1].port, proxy=PROXY))
    proc = nginx("-c", running_nginx.conf_path, "-s", "reload")
    assert proc.returncode == 0, proc.stderr
    for port in ports.values():
        _wait_listening(port)
    return ports


def sio_url(port):
    return "ws://127.0.0.1:%d/socket.io/" % port


def test_engineio_payloads_split_and_join_on_the_record_separator():
    body = b'0{"sid":"abc","upgrades":["websocket"]}\x1e40{"sid":"def"}\x1e42["message","a\xe2\x9c\x93"]'
    assert _wsclient.decode_payload(body) == ['0{"sid":"abc","upgrades":["websocket"]}', '40{"sid":"def"}',
                                              u'42["message","a\u2713"]']
    assert _wsclient.decode_payload(b"") == [] and _wsclient.decode_payload(b"6") == ["6"]
    assert _wsclient.encode_payload(["40", '42["message","x"]']) == b'40\x1e42["message","x"]'
    packets = ["40", '42["message","one"]', "3"]
    assert _wsclient.decode_payload(_wsclient.encode_payload(packets)) == packets
    # What python-engineio and the Node engine.io server answer for a session id they never issued.
    assert _wsclient.unknown_session(400, b'"Invalid session AbC"')
    assert _wsclient.unknown_session(400, b'{"code":1,"message":"Session ID unknown"}')
    assert not _wsclient.unknown_session(400, b'"Invalid websocket upgrade"')
    assert not _wsclient.unknown_session(200, b'"Invalid session AbC"')


def test_backend_direct_runs_the_browser_path_with_echo(run_module, backends):
    result = run_module(PROBE, {"url": backends[0].url, "socketio": True, "echo_text": TEXT})
    assert result.get("failed") is not True, result
    assert (result["status"], result["accept_valid"], result["upgrade_valid"]) == (101, True, True)
    assert result["echo"] == TEXT and result["sid"]
    assert result["sessions"] == {"succeeded": 5, "ran": 5}


def test_round_robin_over_two_backends_is_not_sticky(run_module, balanced):
    result = run_module(PROBE, {"url": sio_url(balanced["round_robin"]), "socketio": True, "echo_text": TEXT})
    assert result["failed"] is True
    assert result["diagnosis"]["code"] == "not_sticky", result["diagnosis"]
    assert "ip_hash" in result["diagnosis"]["next_check"] and "hash" in result["diagnosis"]["next_check"]
    assert result["status"] == 400 and result["sessions"]["succeeded"] < result["sessions"]["ran"]
    assert result["msg"].startswith("not_sticky: session 1 of 5")


def test_ip_hash_keeps_every_session_on_one_backend(run_module, balanced):
    result = run_module(PROBE, {"url": sio_url(balanced["sticky"]), "socketio": True, "echo_text": TEXT})
    assert result.get("failed") is not True, result
    assert (result["status"], result["accept_valid"], result["echo"]) == (101, True, TEXT)
    assert result["sessions"] == {"succeeded": 5, "ran": 5}


def test_direct_websocket_probe_of_socketio_path_is_not_the_browser_path(run_module, balanced):
    # Without socketio the probe is a plain RFC 6455 handshake: Engine.IO refuses it without EIO/transport.
    result = run_module(PROBE, {"url": sio_url(balanced["sticky"]), "expect_status": 400})
    assert result.get("failed") is not True and result["status"] == 400 and "sessions" not in result


def test_targets_probe_every_location_in_one_execution(run_module, balanced, backends):
    good, bad = sio_url(balanced["sticky"]), sio_url(balanced["round_robin"])
    result = run_module(PROBE, {"targets": [
        {"url": good, "socketio": True, "echo_text": TEXT, "site": "chat"},
        {"url": bad, "socketio": True, "echo_text": TEXT, "sessions": 2, "backend_url": backends[0].url},
    ], "timeout": 5})
    assert result["failed"] is True
    first, second = result["probes"]
    assert (first["url"], first["site"], first["failed"], first["echo"]) == (good, "chat", False, TEXT)
    assert first["sessions"] == {"succeeded": 5, "ran": 5} and "diagnosis" not in first
    assert (second["url"], second["site"], second["failed"]) == (bad, None, True)
    assert second["diagnosis"]["code"] == "not_sticky" and second["backend"]["status"] == 101
    assert result["msg"].startswith(bad + ": not_sticky: session 1 of 2")
    assert good not in result["msg"]


def test_targets_all_good_and_option_errors(run_module, balanced, backends):
    result = run_module(PROBE, {"targets": [{"url": sio_url(balanced["sticky"]), "socketio": True, "sessions": 2},
                                            {"url": backends[1].url, "socketio": True, "echo_text": "x"}]})
    assert result.get("failed") is not True, result
    assert [p["sessions"] for p in result["probes"]] == [{"succeeded": 2, "ran": 2}, {"succeeded": 5, "ran": 5}]
    both = run_module(PROBE, {"url": backends[0].url, "targets": [{"url": backends[0].url}]})
    assert both["failed"] is True and "mutually exclusive" in both["msg"]
    bad = run_module(PROBE, {"targets": [{"url": backends[0].url}, {"url": "ftp://x/"}]})
    assert bad["failed"] is True and bad["msg"].startswith("targets[1].url='ftp://x/'")


def test_socketio_over_tls_with_host_and_origin(run_module, running_nginx, backends, tmp_path):
    import subprocess
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=sio.test", "-days", "1",
                           "-keyout", key, "-out", cert], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("openssl is not available")
    port = free_port()
    running_nginx.tree.write("etc/nginx/conf.d/tls.conf", (
        "map $http_upgrade $connection_upgrade {\n    default upgrade;\n    '' close;\n}\n"
        "server {\n    listen 127.0.0.1:%d ssl;\n    server_name sio.test;\n    ssl_certificate %s;\n"
        "    ssl_certificate_key %s;\n    location /socket.io/ {\n        proxy_pass http://127.0.0.1:%d;\n%s    }\n}\n")
        % (port, cert, key, backends[0].port, PROXY))
    assert nginx("-c", running_nginx.conf_path, "-s", "reload").returncode == 0
    _wait_listening(port)
    args = {"url": "wss://127.0.0.1:%d/socket.io/" % port, "host": "sio.test", "origin": "https://sio.test",
            "socketio": True, "echo_text": TEXT, "sessions": 2}
    refused = run_module(PROBE, args)  # a self-signed certificate
    assert refused["failed"] is True and refused["diagnosis"]["code"] == "tls_error", refused.get("diagnosis")
    result = run_module(PROBE, dict(args, validate_certs=False))
    assert result.get("failed") is not True, result
    assert (result["status"], result["echo"], result["sessions"]) == (101, TEXT, {"succeeded": 2, "ran": 2})
    trusted = run_module(PROBE, dict(args, ca_path=cert))
    assert trusted.get("failed") is not True, trusted


def test_polling_passes_but_the_upgrade_does_not(run_module, running_nginx, backends):
    # The classic mistake: no Upgrade/Connection headers. Polling works, the upgrade of the session is refused.
    port = free_port()
    running_nginx.tree.write("etc/nginx/conf.d/plain.conf", "server {\n    listen 127.0.0.1:%d;\n"
                             "    location /socket.io/ {\n        proxy_pass http://127.0.0.1:%d;\n    }\n}\n"
                             % (port, backends[0].port))
    assert nginx("-c", running_nginx.conf_path, "-s", "reload").returncode == 0
    _wait_listening(port)
    result = run_module(PROBE, {"url": sio_url(port), "socketio": True, "echo_text": TEXT, "backend_url": backends[0].url})
    assert result["failed"] is True and result["status"] == 400 and result["sid"]
    assert result["backend"]["status"] == 101 and result["diagnosis"]["code"] == "proxy_no_upgrade"
