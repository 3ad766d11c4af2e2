# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_proxy's allowlists: bad values are refused naming the option and the value; for any accepted input
the rendered text parses back to exactly the intended directives (Hypothesis)."""

import re

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _siterun, _wsplan, _wsrender, _wsvalidate

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
        ({"upstream": ["127.0.0.1:3000; }"]}, "upstream[0]='127.0.0.1:3000; }'"),
        ({"upstream": ["127.0.0.1"]}, "upstream[0]='127.0.0.1'"),
        ({"upstream": ["unix:/run/a b.sock"]}, "upstream[0]='unix:/run/a b.sock'"),
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


def _tls_with(**extra):
    return dict({"certificate": "/etc/ssl/c.pem", "certificate_key": "/etc/ssl/k.pem"}, **extra)


# (the option as the message names it, a value it takes, the module arguments for a value)
_EVERY_CHECKED_STRING = [
    ("name", "chat", lambda v: {"name": v}),
    ("server_name", "chat.example.com", lambda v: {"server_name": [v]}),
    ("listen", "8080", lambda v: {"listen": [v]}),
    ("tls.listen", "127.0.0.1:8443", lambda v: {"tls": _tls_with(listen=[v])}),
    ("upstream[0]", "127.0.0.1:3000", lambda v: {"upstream": [v]}),
    ("upstream[0]", "unix:/run/app.sock", lambda v: {"upstream": [v]}),
    ("upstream[0].address", "[::1]:3000", lambda v: {"upstream": [{"address": v}]}),
    ("upstream[0].weight", "30", lambda v: {"upstream": [{"address": "127.0.0.1:3000", "weight": v}]}),
    ("upstream[0].fail_timeout", "30s", lambda v: {"upstream": [{"address": "127.0.0.1:3000", "fail_timeout": v}]}),
    ("locations[0].path", "/ws/", lambda v: {"locations": [{"path": v}]}),
    ("locations[0].proxy_uri", "/socket/", lambda v: {"locations": [{"path": "/ws/", "proxy_uri": v}]}),
    ("locations[0].probe_path", "/ws/echo", lambda v: {"locations": [{"path": "/ws/", "probe_path": v}]}),
    ("locations[0].read_timeout", "90s", lambda v: {"locations": [{"path": "/ws/", "read_timeout": v}]}),
    ("probe_path", "/ws/echo", lambda v: {"probe_path": v}),
    ("read_timeout", "300s", lambda v: {"read_timeout": v}),
    ("send_timeout", "5m", lambda v: {"send_timeout": v}),
    ("connect_timeout", "10", lambda v: {"connect_timeout": v}),
    ("tls.certificate", "/etc/ssl/c.pem", lambda v: {"tls": _tls_with(certificate=v)}),
    ("tls.certificate_key", "/etc/ssl/k.pem", lambda v: {"tls": _tls_with(certificate_key=v)}),
    ("tls.acme_challenge_root", "/var/www/acme", lambda v: {"tls": _tls_with(acme_challenge_root=v)}),
    ("acme_challenge_root", "/var/www/acme", lambda v: {"acme_challenge_root": v}),
    ("allowed_origins", "https://chat.example.com", lambda v: {"allowed_origins": [v]}),
    ("allowed_origins", "http://localhost:8080", lambda v: {"allowed_origins": [v]}),
    ("balance_key", "$remote_addr", lambda v: {"balance": "hash", "balance_key": v}),
    ("access_log.path", "/var/log/nginx/chat.log", lambda v: {"access_log": v}),
    ("access_log.format", "combined", lambda v: {"access_log": {"path": "/var/log/nginx/chat.log", "format": v}}),
    ("error_log.level", "warn", lambda v: {"error_log": {"path": "/var/log/nginx/chat.err", "level": v}}),
]


@pytest.mark.parametrize("where", ["trailing", "leading", "embedded"])
@pytest.mark.parametrize("option, good, overrides", _EVERY_CHECKED_STRING,
                         ids=["%s=%s" % (case[0], case[1]) for case in _EVERY_CHECKED_STRING])
def test_a_newline_anywhere_is_refused_naming_the_option_and_the_value(option, good, overrides, where):
    _wsvalidate.site(validated(**overrides(good)))  # the value itself is taken
    middle = len(good) // 2  # every value has two characters or more: an embedded newline is neither first nor last
    bad = {"trailing": good + "\n", "leading": "\n" + good, "embedded": good[:middle] + "\n" + good[middle:]}[where]
    with pytest.raises(_wsvalidate.InvalidOption) as error:
        _wsvalidate.site(validated(**overrides(bad)))
    assert str(error.value).startswith("%s=%r: " % (option, bad)), str(error.value)


@pytest.mark.parametrize("entry, shown", [
    ({"client_max_body_size": "50m\n"}, "argument '50m\\n' is not allowed"),
    ({"add_header": ["X-A\n", "1"]}, "argument 'X-A\\n' is not allowed"),
    ({"gzip\n": "on"}, "'gzip\\n' is not an nginx directive name"),
])
def test_a_newline_in_a_directive_is_refused_naming_the_item(entry, shown):
    for overrides, option in (({"directives": [entry]}, "directives[0]"),
                              ({"locations": [{"path": "/", "directives": [entry]}]}, "locations[0].directives[0]")):
        with pytest.raises(_wsvalidate.InvalidOption) as error:
            _wsvalidate.site(validated(**overrides))
        assert str(error.value).startswith("%s=%r: " % (option, entry)) and shown in str(error.value), str(error.value)


def test_every_anchored_allowlist_ends_at_the_end_of_the_string():
    # `$` matches before a final newline; a new allowlist written with it would let "value\n" through.
    anchored = [value for value in vars(_wsvalidate).values()
                if hasattr(value, "pattern") and value.pattern.startswith("^")]
    assert len(anchored) >= 12
    for regex in anchored:
        assert regex.pattern.endswith("\\Z"), regex.pattern


@pytest.mark.parametrize("value", ["ws", "/a b", "/a;b", "/a{", "/#x", ""])
def test_top_level_probe_path_is_checked_like_a_locations_one(value):
    with pytest.raises(_wsvalidate.InvalidOption) as error:
        _wsvalidate.site(validated(probe_path=value))
    assert str(error.value).startswith("probe_path=%r: expected a URI path" % value)
    with pytest.raises(_wsvalidate.InvalidOption) as error:
        _wsvalidate.site(validated(locations=[{"path": "/", "probe_path": value}]))
    assert str(error.value).startswith("locations[0].probe_path=%r: expected a URI path" % value)
    assert _wsvalidate.site(validated(probe_path="/socket.io/"))["name"] == "chat"


def test_good_values_are_normalized():
    site = _wsvalidate.site(validated(
        name="chat.app-2", server_name=["*.example.com", "example.*", "_"], listen=["8080", "[::1]:8080", "10.0.0.1:80"],
        upstream=["app.internal:3000", "[fd00::1]:80", "unix:/run/app.sock"], read_timeout=90, balance="ip_hash",
        locations=[{"path": "/socket.io/", "socketio": True}, {"path": "/ws/", "proxy_uri": "/", "read_timeout": "2m"}],
    ))
    assert site["var"] == "chat_dapp_h2"
    assert site["locations"][0] == {"path": "/socket.io/", "modifier": "^~", "proxy_uri": None, "read_timeout": "600s",
                                    "send_timeout": "600s", "buffering": False, "socketio": True, "directives": []}
    assert site["locations"][1]["read_timeout"] == "2m" and site["locations"][1]["send_timeout"] == "300s"


@pytest.mark.parametrize("state", ["present", "absent"])
@pytest.mark.parametrize("name", [_wsplan.MAP_NAME, _wsplan.MAP_NAME + ".conf"])
def test_a_site_cannot_take_the_name_of_the_collections_map_file(name, state):
    # present would write the site over the map; absent would delete the map in the plan that rewrites it.
    with pytest.raises(_siterun.SiteError) as error:
        _siterun.validate_sites([{"name": name, "state": state}], "present")
    assert error.value.detail == "name=%r: reserved: the collection's WebSocket map file has this name" % name
    assert _siterun.validate_sites([{"name": name + "s", "state": state}], "present")[0]["name"] == name + "s"


def _undo_variable(var):
    """The site name back from its variable part: it exists for every name, so no two names share a variable."""
    escapes = {"_": "_", "h": "-", "d": "."}
    name, chars = [], iter(var)
    for char in chars:
        name.append(escapes[next(chars)] if char == "_" else char)
    return "".join(name)


# Names over the characters that used to collide (a-b, a.b and a_b all gave a_b), and any name the allowlist takes.
_CONFUSABLE_NAMES = st.from_regex(r"[ab][ab._-]{0,7}", fullmatch=True)
_SITE_NAMES = st.one_of(_CONFUSABLE_NAMES, st.from_regex(_wsvalidate.NAME_RE, fullmatch=True))


@settings(max_examples=300, deadline=None)
@given(names=st.lists(_SITE_NAMES, min_size=2, max_size=8, unique=True))
def test_distinct_site_names_give_distinct_nginx_variables(names):
    base = validated()
    variables = []
    for name in names:
        var = _wsvalidate.site(dict(base, name=name))["var"]
        assert re.match(r"^[a-z0-9_]+\Z", var), var  # an nginx variable name
        assert _undo_variable(var) == name
        variables.append(var)
    assert len(set(variables)) == len(names), dict(zip(names, variables))


def test_names_that_differ_only_in_dots_dashes_and_underscores_keep_their_own_variable():
    variables = [_wsvalidate.site(validated(name=name))["var"] for name in ("a-b", "a.b", "a_b", "a__b", "a_hb", "ab")]
    assert variables == ["a_hb", "a_db", "a__b", "a____b", "a__hb", "ab"]


# Values built from the allowlists, each spoiled now and then: a newline or a character that changes nginx's parse,
# put anywhere in it. Every combination is otherwise one websocket_proxy takes (proxy_uri ends like its path, sticky
# balancing for Socket.IO on several backends, no duplicate listen), so an input is refused exactly when a value was
# spoiled, and the refusal names that option and value.
_SPOILERS = ["\n", ";", " ", "{", "}", "#", "'", '"', "\\", "\x00", "\t", "\r"]
_SPOIL_ONE_IN = 16
_PORT = st.integers(1, 65535).map(str)
_HOST = st.from_regex(_wsvalidate._HOSTNAME, fullmatch=True)
_IPV4 = st.ip_addresses(v=4).map(str)
_IPV6 = st.ip_addresses(v=6).map(lambda address: "[%s]" % address)
_SEGMENT = st.from_regex(r"[A-Za-z0-9._~!*()@:+,=%-]{1,12}", fullmatch=True)
_VALID = {
    "name": st.from_regex(_wsvalidate.NAME_RE, fullmatch=True).filter(lambda name: not _wsplan.reserved_site_name(name)),
    "server_name": st.one_of(st.just("_"), _HOST, _HOST.map("*.{}".format), _HOST.map("{}.*".format)),
    "listen": st.one_of(_PORT, st.tuples(st.one_of(_IPV4, _IPV6, st.just("*")), _PORT).map(":".join)),
    "upstream": st.one_of(st.tuples(st.one_of(_IPV4, _IPV6, _HOST), _PORT).map(":".join),
                          st.from_regex(r"unix:/[A-Za-z0-9._/-]{1,30}", fullmatch=True)),
    "uri": st.lists(_SEGMENT, min_size=1, max_size=3).map(lambda parts: "/" + "/".join(parts)),
    "path": st.from_regex(_wsvalidate.URI_PATH_RE, fullmatch=True),
    "timeout": st.one_of(st.integers(1, 9999999), st.tuples(st.integers(1, 9999999), st.sampled_from(["ms", "s", "m", "h"]))
                         .map(lambda pair: "%d%s" % pair)),
    "origin": st.tuples(st.sampled_from(["http", "https"]), _HOST, st.one_of(st.just(""), _PORT.map(":{}".format)))
                .map(lambda parts: "%s://%s%s" % parts),
    "file": st.from_regex(_wsvalidate.FILE_PATH_RE, fullmatch=True),
}


@st.composite
def _maybe_spoiled(draw, kind):
    """(value, spoiled): a valid value of `kind`, or one in _SPOIL_ONE_IN with a spoiler put somewhere in it."""
    value = draw(_VALID[kind])
    # Not an integer compared with its minimum: Hypothesis draws simple (minimal) choices often, which must be valid.
    if not draw(st.sampled_from([False] * (_SPOIL_ONE_IN - 1) + [True])):
        return value, False
    text = str(value)
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.sampled_from(_SPOILERS)) + text[at:], True


@st.composite
def _site_input(draw):
    """(raw module arguments, {option: [spoiled values]})."""
    spoiled = {}

    def take(kind, option, finish=lambda value: value):
        value, bad = draw(_maybe_spoiled(kind))
        value = finish(value)
        if bad:
            spoiled.setdefault(option, []).append(value)
        return value

    raw = {"name": take("name", "name"),
           "server_name": [take("server_name", "server_name") for _index in range(draw(st.integers(1, 3)))],
           "read_timeout": take("timeout", "read_timeout")}
    if draw(st.booleans()):
        raw["listen"] = [take("listen", "listen") for _index in range(draw(st.integers(1, 2)))]
        if len(set(raw["listen"])) != len(raw["listen"]):
            raw["listen"] = raw["listen"][:1]  # a duplicate listen is refused on its own
    raw["upstream"] = []
    for index in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            raw["upstream"].append(take("upstream", "upstream[%d]" % index))
        else:
            raw["upstream"].append({"address": take("upstream", "upstream[%d].address" % index),
                                    "weight": draw(st.one_of(st.none(), st.integers(1, 1000))),
                                    "max_fails": draw(st.one_of(st.none(), st.integers(0, 1000)))})
    path = take("path", "locations[0].path")
    location = {"path": path, "socketio": draw(st.booleans())}
    if draw(st.integers(1, 4)) == 1:
        # proxy_uri ends with / exactly when the path does (checked against the path as drawn, spoiled or not).
        location["proxy_uri"] = take("uri", "locations[0].proxy_uri", lambda uri: uri + "/" if path.endswith("/") else uri)
    location["match"] = draw(st.sampled_from(["prefix", "priority"] + ([] if "proxy_uri" in location else ["exact"])))
    if draw(st.integers(1, 4)) == 1:
        location["read_timeout"] = take("timeout", "locations[0].read_timeout")
    if draw(st.integers(1, 4)) == 1:
        location["probe_path"] = take("uri", "locations[0].probe_path")
    raw["locations"] = [location]
    if draw(st.integers(1, 4)) == 1:
        raw["probe_path"] = take("uri", "probe_path")
    sticky = location["socketio"] and len(raw["upstream"]) > 1
    raw["balance"] = draw(st.sampled_from(["ip_hash", "hash"] if sticky else ["round_robin", "least_conn", "ip_hash", "hash"]))
    if draw(st.booleans()):
        raw["keepalive"] = draw(st.integers(1, 1024))
    raw["allowed_origins"] = [take("origin", "allowed_origins") for _index in range(draw(st.integers(0, 2)))]
    if draw(st.booleans()):
        raw["tls"] = {"certificate": take("file", "tls.certificate"), "certificate_key": take("file", "tls.certificate_key"),
                      "redirect_http": draw(st.booleans()), "http2": draw(st.booleans()),
                      "hsts": draw(st.one_of(st.none(), st.integers(0, 315360000)))}
        if draw(st.booleans()):
            raw["tls"]["listen"] = [take("listen", "tls.listen")]
    return raw, spoiled


def test_inputs_from_the_allowlists_render_and_parse_back_and_spoiled_ones_are_refused_naming_them():
    seen = {"accepted": 0, "refused": 0}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(case=_site_input(), variable=st.sampled_from(["connection_upgrade", "wsproxy_connection_upgrade"]),
           host=st.sampled_from([{"version": "1.22.1", "ipv6": True}, {"version": "1.26.0", "ipv6": False}]))
    def check(case, variable, host):
        raw, spoiled = case
        result = ArgumentSpecValidator(_wsspec.ARGUMENT_SPEC).validate(raw)
        assert not result.error_messages, result.error_messages
        try:
            site = _wsvalidate.site(result.validated_parameters)
        except _wsvalidate.InvalidOption as exc:
            seen["refused"] += 1
            assert any(str(exc).startswith("%s=%r: " % (option, value))
                       for option, values in spoiled.items() for value in values), (str(exc), spoiled)
            return
        assert not spoiled, spoiled
        seen["accepted"] += 1
        addresses = [server["address"] for server in site["upstreams"]]
        for value in [site["name"]] + site["server_names"] + (site["listen"] or []) + addresses + site["allowed_origins"]:
            assert not DANGEROUS & set(value)
        # One render per input (each compiles the template): the map variable and the host are drawn too.
        variables = {"upgrade": variable, "keepalive": "wsproxy_connection_keepalive"}
        text = _wsrender.render_site(site, variables, host)
        _wsrender.prove(text, _wsrender.site_tree(site, variables, host), "site")  # RenderError on any mismatch

    check()
    total = seen["accepted"] + seen["refused"]
    assert total >= 300, seen
    # Most inputs reach the render and its proof; enough are refused that the refusal check above runs.
    assert seen["accepted"] >= 0.5 * total and seen["refused"] >= 0.1 * total, seen


# Production sites (issue 12): upstream balancing and server parameters, keepalive, TLS extras, ACME, logs and the
# `directives` escape hatch.
SOCKETIO = [{"path": "/socket.io/", "socketio": True}]
TLS = {"certificate": "/etc/ssl/c.pem", "certificate_key": "/etc/ssl/k.pem"}


@pytest.mark.parametrize(
    "overrides, message",
    [
        # Socket.IO on several backends needs stickiness, named on balance (or on a per-request balance_key).
        ({"upstream": ["10.0.0.1:80", "10.0.0.2:80"], "locations": SOCKETIO},
         "balance='round_robin': a Socket.IO location (/socket.io/) on 2 backends needs sticky sessions"),
        ({"upstream": ["10.0.0.1:80", "10.0.0.2:80"], "locations": SOCKETIO, "balance": "least_conn"},
         "balance='least_conn': a Socket.IO location (/socket.io/) on 2 backends needs sticky sessions (browsers poll "
         "before they upgrade, and every request of a session must reach the same backend): set balance: ip_hash or "
         "balance: hash"),
        ({"upstream": ["10.0.0.1:80", "10.0.0.2:80"], "locations": SOCKETIO, "balance": "hash",
          "balance_key": "$request_uri"}, "balance_key='$request_uri': changes between the requests of one Socket.IO"),
        ({"upstream": ["10.0.0.1:80", "10.0.0.2:80"], "locations": SOCKETIO, "balance": "hash",
          "balance_key": "$arg_sid"}, "balance_key='$arg_sid'"),
        # balance_key: only hash takes one, from the variable allowlist, with a variable in it.
        ({"balance": "ip_hash", "balance_key": "$remote_addr"}, "balance_key='$remote_addr': only balance=hash"),
        ({"balance": "hash", "balance_key": "$remote_addr consistent"}, "balance_key='$remote_addr consistent'"),
        ({"balance": "hash", "balance_key": "$remote_addr;"}, "balance_key='$remote_addr;'"),
        ({"balance": "hash", "balance_key": "${remote_addr}"}, "balance_key='${remote_addr}'"),
        ({"balance": "hash", "balance_key": "$document_root"}, "balance_key='$document_root'"),
        ({"balance": "hash", "balance_key": "$remote_address"}, "balance_key='$remote_address'"),
        ({"balance": "hash", "balance_key": "\"$remote_addr\""}, "balance_key='\"$remote_addr\"'"),
        ({"balance": "hash", "balance_key": "static"}, "balance_key='static': a key without a variable"),
        # upstream items: address, weight, max_fails, fail_timeout, backup.
        ({"upstream": [{"address": "10.0.0.1:80", "weight": 0}]}, "upstream[0].weight=0: expected an integer from 1"),
        ({"upstream": ["10.0.0.2:80", {"address": "10.0.0.1:80", "weight": "2;"}]}, "upstream[1].weight='2;'"),
        ({"upstream": [{"address": "10.0.0.1:80", "weight": True}]}, "upstream[0].weight=True"),
        ({"upstream": [{"address": "10.0.0.1:80", "weight": 1001}]}, "upstream[0].weight=1001"),
        ({"upstream": [{"address": "10.0.0.1:80", "max_fails": -1}]}, "upstream[0].max_fails=-1"),
        ({"upstream": [{"address": "10.0.0.1:80", "fail_timeout": "10 s"}]}, "upstream[0].fail_timeout='10 s'"),
        ({"upstream": [{"address": "10.0.0.1:80", "down": True}]}, "upstream[0].down=True: unknown key"),
        ({"upstream": [{"weight": 2}]}, "upstream[0].address=None"),
        ({"upstream": [{"address": "10.0.0.1:80 backup"}]}, "upstream[0].address='10.0.0.1:80 backup'"),
        ({"upstream": [{"address": "10.0.0.1:80", "backup": "yes"}]}, "upstream[0].backup='yes'"),
        ({"upstream": [42]}, "upstream[0]=42"),
        ({"upstream": [{"address": "10.0.0.1:80", "backup": True}]}, "at least one backend must not be a backup"),
        ({"upstream": ["10.0.0.1:80", {"address": "10.0.0.2:80", "backup": True}], "balance": "ip_hash"},
         "upstream[1].backup=True: nginx refuses backup servers with balance=ip_hash"),
        ({"upstream": ["10.0.0.1:80", {"address": "10.0.0.2:80", "backup": True}], "balance": "hash"},
         "upstream[1].backup=True: nginx refuses backup servers with balance=hash"),
        ({"keepalive": 0}, "keepalive=0: expected an integer from 1 to 1024"),
        ({"keepalive": 1025}, "keepalive=1025"),
        # TLS extras and ACME.
        ({"tls": dict(TLS, hsts=-1)}, "tls.hsts=-1"),
        ({"tls": dict(TLS, listen=["443 ssl"])}, "tls.listen='443 ssl'"),
        ({"acme_challenge_root": "/var/www/a b"}, "acme_challenge_root='/var/www/a b'"),
        ({"tls": dict(TLS, acme_challenge_root="relative/dir")}, "tls.acme_challenge_root='relative/dir'"),
        ({"acme_challenge_root": "/var/www/a", "tls": dict(TLS, acme_challenge_root="/var/www/b")},
         "tls.acme_challenge_root='/var/www/b': differs from acme_challenge_root='/var/www/a'"),
        ({"acme_challenge_root": "/var/www/a", "locations": [{"path": "/.well-known/acme-challenge/"}]},
         "locations[0].path='/.well-known/acme-challenge/': the ACME challenge location"),
        # Logs.
        ({"access_log": "var/log/a.log"}, "access_log.path='var/log/a.log'"),
        ({"access_log": {"path": "/var/log/a.log", "format": "main;"}}, "access_log.format='main;'"),
        ({"access_log": {"path": "/var/log/a.log", "format": "a b"}}, "access_log.format='a b'"),
        ({"access_log": {"path": "off", "format": "main"}}, "access_log.format='main': access_log off takes no format"),
        ({"access_log": {"file": "/var/log/a.log"}}, "access_log={'file': '/var/log/a.log'}"),
        ({"access_log": 5}, "access_log=5"),
        ({"error_log": "off"}, "error_log.path='off'"),
        ({"error_log": {"path": "/var/log/e.log", "level": "verbose"}}, "error_log.level='verbose'"),
        # directives: unknown, wrong context, block, owned, include, embedded code, bad arguments, arity.
        ({"directives": [{"client_max_body_size": "1m"}, {"gzip": "on"}, {"no_such_directive": "1"}]},
         "directives[2]={'no_such_directive': '1'}: no_such_directive: not an nginx directive"),
        ({"directives": [{"Client_Max_Body_Size": "1m"}]}, "'Client_Max_Body_Size' is not an nginx directive name"),
        ({"directives": [{"a": 1, "b": 2}]}, "directives[0]={'a': 1, 'b': 2}: expected one {name: arguments}"),
        ({"directives": [{"keepalive": "16"}]}, "directives[0]={'keepalive': '16'}: keepalive: not allowed in a server block"),
        ({"directives": [{"worker_connections": "1024"}]}, "worker_connections: not allowed in a server block"),
        ({"locations": [{"path": "/", "directives": [{"proxy_buffering": "off"}, {"listen": "8080"}]}]},
         "locations[0].directives[1]={'listen': '8080'}: listen: the collection sets listen"),
        ({"directives": [{"location": "/x"}]}, "directives[0]={'location': '/x'}: location: a block directive"),
        ({"locations": [{"path": "/", "directives": [{"if": "$x"}]}]}, "locations[0].directives[0]={'if': '$x'}: if: a block"),
        ({"locations": [{"path": "/", "directives": [{"limit_except": "GET"}]}]}, "limit_except: a block directive"),
        ({"directives": [{"server_name": "evil.example"}]}, "server_name: the collection sets server_name"),
        ({"locations": [{"path": "/", "directives": [{"proxy_pass": "http://evil"}]}]}, "proxy_pass: the collection sets"),
        ({"locations": [{"path": "/", "directives": [{"proxy_http_version": "1.0"}]}]}, "proxy_http_version: the collection"),
        ({"locations": [{"path": "/", "directives": [{"proxy_set_header": ["Upgrade", "x"]}]}]},
         "proxy_set_header Upgrade: the collection sets the WebSocket headers"),
        ({"locations": [{"path": "/", "directives": [{"proxy_set_header": ["connection", "close"]}]}]},
         "proxy_set_header connection: the collection sets the WebSocket headers"),
        ({"locations": [{"path": "/", "directives": [{"proxy_set_header": ["Host", "example.com"]}]}]},
         "proxy_set_header Host: already sent (forwarded_headers)"),
        ({"directives": [{"proxy_set_header": ["X-Tenant", "a"]}]}, "proxy_set_header: every location sets its own"),
        ({"directives": [{"ssl_certificate": "/etc/ssl/other.pem"}]}, "ssl_certificate: the collection sets"),
        ({"directives": [{"ssl_protocols": "TLSv1"}]}, "ssl_protocols: the collection sets"),
        ({"directives": [{"http2": "on"}]}, "http2: the collection sets http2"),
        ({"tls": dict(TLS, redirect_http=True), "directives": [{"return": "404"}]},
         "directives[0]={'return': '404'}: return: the plain HTTP server already redirects"),
        ({"tls": dict(TLS, hsts=60), "directives": [{"add_header": ["Strict-Transport-Security", "max-age=1"]}]},
         "add_header Strict-Transport-Security: the collection sets it (tls.hsts)"),
        ({"directives": [{"include": "/etc/nginx/snippets/x.conf"}]}, "directives[0]={'include': '/etc/nginx/snippets/x.conf'}: include: refused"),
        ({"locations": [{"path": "/", "directives": [{"content_by_lua_block": "x"}]}]}, "content_by_lua_block: embedded code"),
        ({"locations": [{"path": "/", "directives": [{"access_by_lua_file": "/x.lua"}]}]}, "access_by_lua_file: embedded code"),
        ({"locations": [{"path": "/", "directives": [{"perl": "Mod::handler"}]}]}, "perl: embedded code"),
        ({"directives": [{"perl_set": ["$x", "sub"]}]}, "perl_set: embedded code"),
        ({"directives": [{"client_max_body_size": "50m;"}]}, "client_max_body_size: argument '50m;' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "a b"]}]}, "add_header: argument 'a b' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "\"x\""]}]}, "add_header: argument '\"x\"' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "'x'"]}]}, "argument \"'x'\" is not allowed"),
        ({"directives": [{"add_header": ["X-A", "a{b"]}]}, "argument 'a{b' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "a}"]}]}, "argument 'a}' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "#x"]}]}, "argument '#x' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "a\nb"]}]}, "argument 'a\\nb' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "a\x00"]}]}, "argument 'a\\x00' is not allowed"),
        ({"directives": [{"add_header": ["X-A", ""]}]}, "argument '' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "   "]}]}, "argument '   ' is not allowed"),
        ({"directives": [{"add_header": ["X-A", "a\\b"]}]}, "is not allowed"),
        ({"directives": [{"add_header": ["X-A", 1.5]}]}, "argument 1.5 is not allowed"),
        ({"directives": [{"client_max_body_size": ["1m", "2m"]}]}, "client_max_body_size: nginx does not take 2 arguments"),
        ({"directives": [{"client_max_body_size": None}]}, "client_max_body_size: nginx does not take 0 arguments"),
        ({"directives": [{"gzip": "maybe"}]}, "gzip: nginx does not take 1 argument maybe"),
    ],
)
def test_production_options_are_refused_naming_option_and_value(overrides, message):
    with pytest.raises(_wsvalidate.InvalidOption) as error:
        _wsvalidate.site(validated(**overrides))
    assert message in str(error.value)


def test_production_options_are_normalized():
    site = _wsvalidate.site(validated(
        upstream=["10.0.0.1:80", {"address": "10.0.0.2:80", "weight": "3", "max_fails": 0, "fail_timeout": 30},
                  {"address": "unix:/run/spare.sock", "backup": None}],
        balance="hash", balance_key="$cookie_session:$http_x_tenant", keepalive=32,
        locations=SOCKETIO + [{"path": "/api/", "directives": [
            {"proxy_set_header": ["X-Tenant", "$http_x_tenant"]}, {"proxy_buffering": False}, {"internal": None}]}],
        tls=dict(TLS, http2=True, hsts=31536000, acme_challenge_root="/var/www/acme/"),
        acme_challenge_root="/var/www/acme/", access_log={"path": "/var/log/nginx/chat.log", "format": "combined"},
        error_log="/var/log/nginx/chat.err",
        directives=[{"client_max_body_size": "50m"}, {"gzip": True}, {"add_header": ["X-Id", "$request_id", "always"]}],
    ))
    assert site["upstreams"] == [
        {"address": "10.0.0.1:80", "weight": None, "max_fails": None, "fail_timeout": None, "backup": False},
        {"address": "10.0.0.2:80", "weight": 3, "max_fails": 0, "fail_timeout": "30s", "backup": False},
        {"address": "unix:/run/spare.sock", "weight": None, "max_fails": None, "fail_timeout": None, "backup": False},
    ]
    assert (site["balance"], site["balance_key"], site["keepalive"]) == ("hash", "$cookie_session:$http_x_tenant", 32)
    assert site["listen"] is None and site["tls"]["listen"] is None
    assert site["tls"]["http2"] is True and site["tls"]["hsts"] == 31536000
    assert (site["acme_challenge_root"], site["acme_option"]) == ("/var/www/acme", "tls.acme_challenge_root")
    assert site["access_log"] == {"path": "/var/log/nginx/chat.log", "format": "combined"}
    assert site["error_log"] == {"path": "/var/log/nginx/chat.err", "level": None}
    assert site["directives"] == [{"name": "client_max_body_size", "args": ["50m"]}, {"name": "gzip", "args": ["on"]},
                                  {"name": "add_header", "args": ["X-Id", "$request_id", "always"]}]
    assert site["locations"][1]["directives"] == [
        {"name": "proxy_set_header", "args": ["X-Tenant", "$http_x_tenant"]},
        {"name": "proxy_buffering", "args": ["off"]}, {"name": "internal", "args": []}]
    assert _wsvalidate.host_paths(site) == [
        ("tls.certificate", "/etc/ssl/c.pem", "file"), ("tls.certificate_key", "/etc/ssl/k.pem", "file"),
        ("tls.acme_challenge_root", "/var/www/acme", "dir"), ("access_log", "/var/log/nginx", "dir"),
        ("error_log", "/var/log/nginx", "dir")]


def test_balance_defaults_and_socketio_stickiness():
    two = ["10.0.0.1:80", "10.0.0.2:80"]
    assert _wsvalidate.site(validated(balance="hash", upstream=two, locations=SOCKETIO))["balance_key"] == "$remote_addr"
    assert _wsvalidate.site(validated(balance="ip_hash", upstream=two, locations=SOCKETIO))["balance"] == "ip_hash"
    # One primary and a backup is one backend at a time: no stickiness needed.
    one = ["10.0.0.1:80", {"address": "10.0.0.2:80", "backup": True}]
    site = _wsvalidate.site(validated(upstream=one, locations=SOCKETIO, balance="least_conn"))
    assert site["balance"] == "least_conn" and [server["backup"] for server in site["upstreams"]] == [False, True]
    # Without Socket.IO, plain WebSockets stay on their connection: any balance.
    assert _wsvalidate.site(validated(upstream=two, balance="least_conn"))["balance"] == "least_conn"
    # The site-level ACME root alone (first run, before a certificate exists), and with TLS the same one twice.
    site = _wsvalidate.site(validated(acme_challenge_root="/var/www/acme"))
    assert (site["acme_challenge_root"], site["acme_option"], site["tls"]) == ("/var/www/acme", "acme_challenge_root", None)
    assert _wsvalidate.host_paths(site) == [("acme_challenge_root", "/var/www/acme", "dir")]
    assert _wsvalidate.host_paths(_wsvalidate.site(validated(access_log="off"))) == []


# A share of real directives in both contexts, with arguments nginx takes, next to names and arguments that must be
# refused; every accepted entry must render and parse back to exactly the intended directives.
_GOOD_SERVER = [("client_max_body_size", ["50m"]), ("gzip", ["on"]), ("server_tokens", ["off"]),
                ("add_header", ["X-Frame-Options", "DENY"]), ("add_header", ["X-Id", "$request_id", "always"]),
                ("keepalive_timeout", ["65"]), ("error_page", ["502", "503", "/50x.html"]), ("charset", ["utf-8"])]
_GOOD_LOCATION = _GOOD_SERVER + [("proxy_set_header", ["X-Tenant", "$http_x_tenant"]), ("internal", []),
                                 ("proxy_buffer_size", ["16k"]), ("proxy_buffers", ["8", "16k"]), ("expires", ["1h"])]
_ARG_TEXT = st.one_of(
    st.sampled_from(["on", "off", "1m", "$request_id", "X-A", "/x", "a=b", "(x)", "[y]", "a|b", "!~^", "*", "%41"]),
    st.text(min_size=0, max_size=8),
)
_NAMES = st.one_of(
    st.sampled_from(["include", "listen", "proxy_pass", "location", "if", "content_by_lua", "perl", "keepalive",
                     "worker_connections", "set", "return", "root", "proxy_set_header", "access_log", "nosuch"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
)


def _entry(good):
    """{name: args} from a real (name, args) pair, possibly with a mangled argument, or a random name."""
    real = st.sampled_from(good).flatmap(lambda pair: st.one_of(
        st.just({pair[0]: list(pair[1])}),
        st.just({pair[0]: pair[1][0] if len(pair[1]) == 1 else list(pair[1])}),
        st.lists(_ARG_TEXT, min_size=max(1, len(pair[1])), max_size=max(1, len(pair[1]))).map(
            lambda args: {pair[0]: args}),
    ))
    other = st.builds(lambda name, args: {name: args}, _NAMES, st.lists(_ARG_TEXT, max_size=3))
    return st.one_of(real, real, other)


def test_any_accepted_directives_render_and_parse_back_and_enough_are_accepted():
    seen = {"accepted": 0, "total": 0}

    @settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(server=st.lists(_entry(_GOOD_SERVER), max_size=3), location=st.lists(_entry(_GOOD_LOCATION), max_size=3),
           tls=st.booleans(), redirect=st.booleans(), acme=st.booleans(), hsts=st.booleans())
    def check(server, location, tls, redirect, acme, hsts):
        raw = {"name": "chat", "directives": server, "locations": [{"path": "/", "directives": location}]}
        if tls:
            raw["tls"] = dict(TLS, redirect_http=redirect, hsts=60 if hsts else None)
        if acme:
            raw["acme_challenge_root"] = "/var/www/acme"
        seen["total"] += 1
        try:
            site = _wsvalidate.site(validated(**raw))
        except _wsvalidate.InvalidOption as exc:
            assert str(exc).startswith(("directives[", "locations[0].directives[")), str(exc)
            return
        seen["accepted"] += 1
        for item in site["directives"] + site["locations"][0]["directives"]:
            for arg in item["args"]:
                assert arg and not (set(";{}\"'# \t\r\n\\\x00") & set(arg))
        for version, ipv6 in (("1.22.1", True), ("1.26.0", False)):
            variables, host = {"upgrade": "connection_upgrade", "keepalive": "wsproxy_keepalive"}, {"version": version, "ipv6": ipv6}
            text = _wsrender.render_site(site, variables, host)
            _wsrender.prove(text, _wsrender.site_tree(site, variables, host), "site")
            parsed = _wsrender.parse_text(text)
            plain = [node for node in parsed if node["directive"] == "server"][0]
            names = [node["directive"] for node in plain["block"]]
            for item in site["directives"]:
                assert item["name"] in names

    check()
    assert seen["total"] >= 400
    assert seen["accepted"] >= 0.2 * seen["total"], seen
