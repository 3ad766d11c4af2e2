# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe targets derived from websocket_proxy sites (the inventory of verify.yml and doctor.yml)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.wsproxy.nginx.plugins.filter.probe_targets import probe_targets


def test_one_target_per_location_with_scheme_port_host_and_backend():
    sites = [
        {"name": "plain", "server_name": ["plain.test"], "probe_path": "/socket"},
        {"name": "sio", "server_name": ["_", "sio.test"], "listen": ["10.0.0.5:8080"], "upstream": ["127.0.0.1:4000"],
         "locations": [{"path": "/socket.io/", "socketio": True}, {"path": "/ws/", "proxy_uri": "/socket"}]},
        {"name": "secure", "server_name": ["secure.test"], "tls": {"certificate": "/c", "certificate_key": "/k", "listen": ["[::]:8443"]}},
        {"name": "gone", "state": "absent"},
        {"name": "unix", "upstream": ["unix:/run/app.sock"]},
    ]
    assert probe_targets(sites, "ping") == [
        {"site": "plain", "url": "ws://127.0.0.1:80/socket", "host": "plain.test", "socketio": False, "echo_text": "ping",
         "backend_url": "ws://127.0.0.1:3000/socket"},
        {"site": "sio", "url": "ws://10.0.0.5:8080/socket.io/", "host": "sio.test", "socketio": True, "echo_text": "ping",
         "backend_url": "ws://127.0.0.1:4000/socket.io/"},
        {"site": "sio", "url": "ws://10.0.0.5:8080/ws/", "host": "sio.test", "socketio": False, "echo_text": "ping",
         "backend_url": "ws://127.0.0.1:4000/socket"},
        {"site": "secure", "url": "wss://[::1]:8443/", "host": "secure.test", "socketio": False, "echo_text": "ping",
         "backend_url": "ws://127.0.0.1:3000/"},
        {"site": "unix", "url": "ws://127.0.0.1:80/", "host": None, "socketio": False, "echo_text": "ping", "backend_url": None},
    ]


def test_upstream_items_may_be_dicts_and_backups_are_not_the_backend():
    sites = [
        {"name": "pool", "listen": ["8080"], "locations": [{"path": "/socket.io/", "socketio": True}],
         "upstream": [{"address": "10.0.0.9:4000", "backup": True}, {"address": "127.0.0.1:4001", "weight": 2,
                                                                     "max_fails": 3, "fail_timeout": "10s"}, "127.0.0.1:4002"]},
        {"name": "mixed", "upstream": ["127.0.0.1:5000", {"address": "127.0.0.1:5001"}]},
        {"name": "sock", "upstream": [{"address": "unix:/run/app.sock"}, "127.0.0.1:6000"]},
        {"name": "backups", "upstream": [{"address": "127.0.0.1:7000", "backup": True}]},
    ]
    targets = probe_targets(sites)
    assert [t["backend_url"] for t in targets] == [
        "ws://127.0.0.1:4001/socket.io/", "ws://127.0.0.1:5000/", None, "ws://127.0.0.1:7000/"]
    assert targets[0] == {"site": "pool", "url": "ws://127.0.0.1:8080/socket.io/", "host": None, "socketio": True,
                          "echo_text": "wsproxy-probe", "backend_url": "ws://127.0.0.1:4001/socket.io/"}
    # Every target is an item of websocket_probe's `targets`: only keys that option takes.
    from ansible_collections.wsproxy.nginx.plugins.module_utils._wsprobe import TARGET_OPTIONS
    assert all(set(t) <= set(TARGET_OPTIONS) for t in targets)


def test_an_upstream_item_without_address_is_refused():
    with pytest.raises(AnsibleFilterError, match="site pool: every upstream item needs an address"):
        probe_targets([{"name": "pool", "upstream": [{"weight": 2}]}])


@pytest.mark.parametrize("bad", [{"name": "x"}, [{"server_name": ["a"]}], ["x"]])
def test_bad_sites_are_refused_clearly(bad):
    with pytest.raises(AnsibleFilterError, match="probe_targets"):
        probe_targets(bad)
