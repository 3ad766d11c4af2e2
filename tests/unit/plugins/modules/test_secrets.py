# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nothing `nginx -T` printed reaches a result, a diff or a log: a real nginx in the nginx.conf layout (its sites
in nginx.conf itself) holding a credential in a server the collection does not touch, the modules run by the real
`ansible` CLI with --diff, once with the json callback and once at -vvvv with the default callback and a log."""

import base64
import json
import os
import subprocess
import sys

import pytest

from conftest import Tree, free_port, nginx

PROXY = "wsproxy.nginx.websocket_proxy"
ENCODED = "c2VjcmV0OnBhc3N3b3Jk"
DECODED = base64.b64decode(ENCODED).decode()  # secret:password
SECRET_LINE = 'proxy_set_header Authorization "Basic %s";' % ENCODED

MAIN = """\
pid @ROOT@/run/nginx.pid;
error_log @ROOT@/log/error.log notice;
worker_processes 1;
events {
    worker_connections 64;
}
http {
    server {
        listen 127.0.0.1:%(port)d;
        %(secret)s
        location / {
            return 200 "old\\n";
        }
    }
    access_log off;
    client_body_temp_path @ROOT@/tmp/body;
    proxy_temp_path @ROOT@/tmp/proxy;
    fastcgi_temp_path @ROOT@/tmp/fastcgi;
    uwsgi_temp_path @ROOT@/tmp/uwsgi;
    scgi_temp_path @ROOT@/tmp/scgi;
    server {
        listen 127.0.0.1:%(far)d;
        server_name far-away.test;
    }
}
"""


class NginxConfHost(object):
    """A real nginx master on loopback whose only configuration file is nginx.conf (no include)."""

    def __init__(self, root):
        self.tree = Tree(root)
        self.root = self.tree.root
        for directory in ("etc/nginx", "run", "log", "tmp"):
            os.makedirs(self.tree.path(directory), exist_ok=True)
        self.conf_path = self.tree.write("etc/nginx/nginx.conf", MAIN % {
            "port": free_port(), "far": free_port(), "secret": SECRET_LINE})
        self.state_dir = self.tree.path("state")

    def start(self):
        proc = nginx("-c", self.conf_path)
        assert proc.returncode == 0, proc.stderr

    def stop(self):
        nginx("-c", self.conf_path, "-s", "stop")

    def read(self):
        with open(self.conf_path) as handle:
            return handle.read()

    def site_args(self, **extra):
        args = {"name": "chat", "server_name": ["chat.test"], "listen": ["127.0.0.1:%d" % free_port()],
                "upstream": ["127.0.0.1:9"], "conf_path": self.conf_path, "state_dir": self.state_dir}
        args.update(extra)
        return args


@pytest.fixture
def host(tmp_path):
    server = NginxConfHost(tmp_path / "host")
    server.start()
    yield server
    server.stop()


def verbose(module, args, log_path, check=False):
    """`ansible localhost -m module --diff -vvvv` with the default callback and ANSIBLE_LOG_PATH (the env of
    conftest.run_module otherwise): (returncode, stdout, stderr, log)."""
    env = dict(os.environ)
    env.pop("WSPROXY_TEST_KILL_AT", None)
    env.update(
        ANSIBLE_STDOUT_CALLBACK="default",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOG_PATH=str(log_path),
    )
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible"), "localhost", "-m", module, "-a", json.dumps(args),
         "--diff", "-vvvv"] + (["--check"] if check else []),
        capture_output=True, text=True, env=env, check=False,
    )
    with open(str(log_path)) as handle:
        log = handle.read()
    return proc.returncode, proc.stdout, proc.stderr, log


def assert_no_secret(*texts):
    for text in texts:
        for secret in (ENCODED, DECODED):
            assert secret not in text, text[max(0, text.find(secret) - 600):text.find(secret) + 200]
        assert "wsproxy_nginx_dump" not in text and "invocation" not in text


def test_the_diff_shows_the_change_and_never_the_unrelated_credential(host, run_module):
    planned = run_module(PROXY, host.site_args(), check=True, diff=True)
    assert planned.get("failed") is not True, planned
    assert planned["layout"] == "nginx.conf" and [f["action"] for f in planned["files"]] == ["created", "updated"]
    assert_no_secret(json.dumps(planned))
    site, main = planned["diff"]
    assert "upstream chat_backend" in site["after"] and site["before"] == ""
    assert main["before_header"].startswith(host.conf_path + " (updated; lines ")
    # The marker block added after `http {`, three lines of context around it, the credential among them masked.
    assert "    include %s/*.conf;\n" % host.tree.path("etc/nginx/wsproxy.d") in main["after"]
    assert main["before"] == ("    worker_connections 64;\n}\nhttp {\n    server {\n        listen 127.0.0.1:%s\n"
                              "        proxy_set_header <hidden>;\n" % main["before"].split("listen 127.0.0.1:")[1].split("\n")[0])
    assert "far-away.test" not in main["after"] and "worker_processes" not in main["after"]  # beyond the context

    log_path = host.tree.path("ansible.log")
    # The site's own credential (the user's, in the task) is masked in the diff the same way.
    own = [{"path": "/", "directives": [{"proxy_set_header": ["X-Api-Key", "own-key-0042"]}]}]
    rc, out, err, log = verbose(PROXY, host.site_args(locations=own), log_path)
    assert rc == 0, out[-3000:] + err[-3000:]
    assert_no_secret(out, err, log)
    assert "own-key-0042" not in out + err + log and "+        proxy_set_header <hidden>;\n" in out
    assert '"changed": true' in out and '"reloaded": true' in out
    # The default callback renders the diff: the added lines, the masked context.
    assert "+    # BEGIN wsproxy.nginx managed block: do not edit\n" in out
    assert "+    include %s/*.conf;\n" % host.tree.path("etc/nginx/wsproxy.d") in out
    assert "         proxy_set_header <hidden>;\n" in out
    assert SECRET_LINE in host.read()  # the credential itself is still there, untouched

    # The read-only modules at -vvvv: the configuration is parsed, none of it printed.
    for module in ("wsproxy.nginx.nginx_info", "wsproxy.nginx.websocket_proxy_info"):
        rc, out, err, log = verbose(module, {"conf_path": host.conf_path, "state_dir": host.state_dir}, log_path)
        assert rc == 0, out[-3000:] + err[-3000:]
        assert_no_secret(out, err, log)


def test_a_change_nginx_refuses_leaks_nothing_either(host):
    before = host.read()
    log_path = host.tree.path("ansible.log")
    # crossplane takes any argument; nginx -t refuses this size. The first site also adds the block to nginx.conf.
    args = host.site_args(locations=[{"path": "/", "directives": [{"client_max_body_size": "lots"}]}])
    rc, out, err, log = verbose(PROXY, args, log_path)
    assert rc != 0
    assert '"rolled_back": true' in out and "client_max_body_size" in out, out[-3000:]
    assert_no_secret(out, err, log)
    # A failed result is not rendered as a diff, but -vvvv prints its `diff`: the refused change, the context masked.
    assert "    include %s/*.conf;\\n    # END" % host.tree.path("etc/nginx/wsproxy.d") in out
    assert "\\n        proxy_set_header <hidden>;\\n" in out
    assert host.read() == before
