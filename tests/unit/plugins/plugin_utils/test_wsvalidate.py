# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_proxy's allowlists: bad values are refused naming the option and the value; for any accepted input
the rendered text parses back to exactly the intended directives (Hypothesis)."""

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _wsrender, _wsvalidate

# What would change nginx's parse, or start a comment, a variable or a new directive.
DANGEROUS = set(";{}\"'$# \t\r\n\\\x00")


def validated(**overrides):
    raw = {"name": "chat"}
    raw.update(overrides)
    result = ArgumentSpecValidator(_wsspec.ARGUMENT_SPEC).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"name": "Chat"}, "name='Chat'"),
        ({"name": "a;b"}, "name='a;b'"),
        ({"name": "-a"}, "name='-a'"),
        ({"name": "a" * 65}, "name='" + "a" * 65),
        ({"server_name": ["example.com;"]}, "server_name='example.com;'"),
        ({"server_name": ["a b"]}, "server_name='a b'"),
        ({"server_name": ["$host"]}, "server_name='$host'"),
        ({"server_name": []}, "server_name=[]"),
        ({"listen": ["80 default_server"]}, "listen='80 default_server'"),
        ({"listen": ["70000"]}, "listen='70000': port out of range"),
        ({"listen": ["80", "80"]}, "duplicate listen address"),
        ({"upstream": ["127.0.0.1:3000; }"]}, "upstream='127.0.0.1:3000; }'"),
        ({"upstream": ["127.0.0.1"]}, "upstream='127.0.0.1'"),
        ({"upstream": ["unix:/run/a b.sock"]}, "upstream='unix:/run/a b.sock'"),
        ({"upstream": ["[::1]:0"]}, "port out of range"),
        ({"locations": [{"path": "/a{"}]}, "locations[0].path='/a{'"),
        ({"locations": [{"path": "ws"}]}, "locations[0].path='ws'"),
        ({"locations": [{"path": "/a#b"}]}, "locations[0].path='/a#b'"),
        ({"locations": [{"path": "/", "proxy_uri": "/x;"}]}, "locations[0].proxy_uri='/x;'"),
        ({"locations": [{"path": "/x", "match": "exact", "proxy_uri": "/"}]}, "an exact location"),
        ({"locations": [{"path": "/ws/", "proxy_uri": "/socket"}]}, "locations[0].proxy_uri='/socket': must end with /"),
        ({"locations": [{"path": "/ws", "proxy_uri": "/"}]}, "locations[0].proxy_uri='/': must end with /"),
        ({"locations": [{"path": "/"}, {"path": "/"}]}, "two locations for the same path"),
        ({"locations": [{"path": "/", "read_timeout": "5x"}]}, "locations[0].read_timeout='5x'"),
        ({"read_timeout": 0}, "read_timeout=0"),
        ({"read_timeout": "300s;"}, "read_timeout='300s;'"),
        ({"connect_timeout": True}, "connect_timeout=True"),
        ({"tls": {"certificate": "/etc/ssl/a b.pem", "certificate_key": "/k"}}, "tls.certificate='/etc/ssl/a b.pem'"),
        ({"tls": {"certificate": "/c", "certificate_key": "/k;"}}, "tls.certificate_key='/k;'"),
        ({"allowed_origins": ["https://a.example.com/"]}, "allowed_origins='https://a.example.com/'"),
        ({"allowed_origins": ["javascript:alert(1)"]}, "allowed_origins='javascript:alert(1)'"),
    ],
)
def test_bad_values_are_refused_naming_option_and_value(overrides, message):
    with pytest.raises(_wsvalidate.InvalidOption) as error:
        _wsvalidate.site(validated(**overrides))
    assert message in str(error.value)


def test_good_values_are_normalized():
    site = _wsvalidate.site(validated(
        name="chat.app-2", server_name=["*.example.com", "example.*", "_"], listen=["8080", "[::1]:8080", "10.0.0.1:80"],
        upstream=["app.internal:3000", "[fd00::1]:80", "unix:/run/app.sock"], read_timeout=90,
        locations=[{"path": "/socket.io/", "socketio": True}, {"path": "/ws/", "proxy_uri": "/", "read_timeout": "2m"}],
    ))
    assert site["var"] == "chat_app_2"
    assert site["locations"][0] == {"path": "/socket.io/", "modifier": "^~", "proxy_uri": None, "read_timeout": "600s",
                                    "send_timeout": "600s", "buffering": False, "socketio": True}
    assert site["locations"][1]["read_timeout"] == "2m" and site["locations"][1]["send_timeout"] == "300s"


_PIECES = st.one_of(
    st.sampled_from(["a", "example.com", "/", "/ws/", "127.0.0.1:3000", "[::1]:80", "unix:/run/x.sock", "80",
                     "https://a.example", "*.example.com", "300s", "5m", "_", "/socket.io/"]),
    st.text(min_size=0, max_size=24),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_PIECES, server_name=st.lists(_PIECES, min_size=1, max_size=3), listen=st.lists(_PIECES, min_size=1, max_size=2),
    upstream=st.lists(_PIECES, min_size=1, max_size=2), path=_PIECES, proxy_uri=st.one_of(st.none(), _PIECES),
    timeout=_PIECES, origins=st.lists(_PIECES, max_size=2), socketio=st.booleans(), tls=st.booleans(), cert=_PIECES,
)
def test_any_accepted_input_parses_back_to_the_intended_directives(
        name, server_name, listen, upstream, path, proxy_uri, timeout, origins, socketio, tls, cert):
    raw = {"name": name, "server_name": server_name, "listen": listen, "upstream": upstream,
           "locations": [{"path": path, "proxy_uri": proxy_uri, "socketio": socketio}], "read_timeout": timeout,
           "allowed_origins": origins}
    if tls:
        raw["tls"] = {"certificate": cert, "certificate_key": cert, "redirect_http": socketio}
    result = ArgumentSpecValidator(_wsspec.ARGUMENT_SPEC).validate(raw)
    if result.error_messages:
        return
    try:
        site = _wsvalidate.site(result.validated_parameters)
    except _wsvalidate.InvalidOption:
        return
    for value in [site["name"]] + site["server_names"] + site["listen"] + site["upstreams"] + site["allowed_origins"]:
        assert not DANGEROUS & set(value)
    for variable in ("connection_upgrade", "wsproxy_connection_upgrade"):
        variables, host = {"upgrade": variable, "keepalive": variable}, {"version": "1.22.1", "ipv6": True}
        text = _wsrender.render_site(site, variables, host)
        _wsrender.prove(text, _wsrender.site_tree(site, variables, host), "site")  # raises RenderError on any mismatch
