# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A config with thousands of server blocks (benchmarks/largeconf.py), dumped by the real nginx: the controller
reads it right, and in time that grows linearly with the number of server blocks."""

import importlib.util
import os
import time

import crossplane
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _lint, _nginx_config, _wsplan, _wsvalidate
from conftest import nginx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
_spec = importlib.util.spec_from_file_location("largeconf", os.path.join(REPO, "benchmarks", "largeconf.py"))
largeconf = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(largeconf)


def dump_of(root, server_blocks, per_file):
    conf_path = largeconf.write_tree(str(root), server_blocks, per_file)
    proc = nginx("-T", "-c", conf_path)
    assert proc.returncode == 0, proc.stderr
    return conf_path, proc.stdout


def controller(conf_path, dump):
    """Everything the controller does with one host's dump, per stage: {stage: CPU seconds}, and the results.
    CPU time, not wall time: other processes on a busy machine do not count."""
    times = {}
    start = time.process_time()
    config = _nginx_config.NginxConfig.from_dump(conf_path, dump)
    times["parse"] = time.process_time() - start
    start = time.process_time()
    info = _layout.describe(config)
    times["describe"] = time.process_time() - start
    start = time.process_time()
    lint = _lint.lint(config, "1.22.1")
    times["lint"] = time.process_time() - start
    start = time.process_time()
    info["conf_path"] = conf_path
    args = ArgumentSpecValidator(_wsspec.ARGUMENT_SPEC).validate(
        {"name": "added", "server_name": ["added.example.test"], "listen": ["127.0.0.1:8099"]}).validated_parameters
    plan = _wsplan.plan(_wsvalidate.site(args), args["name"], "present", config, info)
    times["plan"] = time.process_time() - start
    return times, config, info, lint, plan


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    conf_path, dump = dump_of(tmp_path_factory.mktemp("large"), 2000, 1)
    return conf_path, dump, controller(conf_path, dump)


def test_every_server_map_and_include_is_found(large):
    conf_path, _dump, (_times, config, info, _lint_result, _plan) = large
    conf_dir = os.path.dirname(conf_path)
    names = [server["server_name"][0] for server in info["servers"]]
    assert len(info["servers"]) == 2000
    assert names == ["site-%05d.example.test" % number for number in range(2000)]
    assert info["layout"] == "conf.d"
    assert info["placement"]["site_dir"] == os.path.join(conf_dir, "conf.d")
    assert len(info["upgrade_maps"]) == 1
    winner = info["connection_upgrade"]
    assert winner["file"] == os.path.join(conf_dir, largeconf.MAP_FILE)
    assert winner["standard"] and winner["shadowed"] == []
    # Every 10th server includes the security snippets by glob, every 6th (from 3) proxy-params by name.
    security = [item for item in info["includes"] if item["pattern"].endswith("/security/*.conf")]
    assert len(security) == 200
    assert all([os.path.basename(path) for path in item["files"]] == ["frame-options.conf", "nosniff.conf"] for item in security)
    params_includes = [item for item in info["includes"] if item["pattern"].endswith(largeconf.PROXY_PARAMS)]
    assert len(params_includes) == len([n for n in range(2000) if n % 3 == 1 and n % 6 != 1])
    assert all(item["context"] == "location" and len(item["files"]) == 1 for item in params_includes)
    # The brute-force match of every glob against every file agrees with the indexed one.
    for item in info["includes"][:3] + security[:3]:
        assert _nginx_config.resolve_include(item["pattern"], list(config.files)) == item["files"]


def test_the_lint_sees_every_proxying_location(large):
    _conf_path, _dump, (_times, _config, _info, lint, _plan) = large
    websocket = [item for item in lint["locations"] if item["websocket"]]
    assert len(websocket) == len([n for n in range(2000) if n % 7 == 0])
    assert len(lint["locations"]) == 2000 + len(websocket)  # one /api/ per server
    found = {}
    for item in lint["locations"]:
        for finding in item["findings"]:
            found[finding["id"]] = found.get(finding["id"], 0) + 1
    kinds = [(n // 7) % 4 for n in range(2000) if n % 7 == 0]
    assert found["hardcoded_connection_upgrade"] == kinds.count(1)
    assert found["socketio_buffering"] == kinds.count(2)
    assert found["missing_connection_header"] == kinds.count(3)
    assert found["missing_http_version"] == kinds.count(3)
    # The WebSocket locations of the servers that set headers (every 21st) set their own and drop those.
    assert found["dropped_inherited_headers"] == len([n for n in range(2000) if n % 21 == 0])
    # The asset regex (every 4th server) never sees the URIs a WebSocket location receives (#14): no shadowing.
    assert "regex_shadows_prefix" not in found


def test_included_directives_belong_to_the_including_block(large):
    _conf_path, _dump, (_times, config, _info, _lint_result, _plan) = large
    server = [d for d, _path, _stack in config.find("server", context="http")][4]
    assert [d["args"] for d in config.children_named(server, "server_name")] == [["site-00004.example.test", "www.site-00004.example.test"]]
    api = [d for d in config.children_named(server, "location") if d["args"] == ["/api/"]][0]
    headers = [d["args"][0] for d in config.children_named(api, "proxy_set_header")]
    assert headers == ["Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto"]
    assert [d["directive"] for d in config.children(api)] == ["proxy_pass", "include"] + ["proxy_set_header"] * 4


def test_the_new_site_goes_next_to_the_others_and_reuses_the_map(large):
    conf_path, _dump, (_times, _config, _info, _lint_result, plan) = large
    conf_dir = os.path.dirname(conf_path)
    assert [(item["path"], item["state"]) for item in plan["files"]] == [(os.path.join(conf_dir, "conf.d", "added.conf"), "file")]
    assert plan["map"]["reused"] is True and plan["map"]["variable"] == "$connection_upgrade"


def test_crossplane_reads_the_texts_from_memory_token_for_token(large, tmp_path):
    """The lexer is fed runs of characters: the tokens and their lines are exactly crossplane's own."""
    _conf_path, dump, _results = large
    files = _nginx_config.split_dump(dump)
    tricky = {
        "quotes": "return 200 \"a 'b' \\\"c\\\" {d};\n  e\";\nadd_header X '#no comment' ;\n",
        "escapes": "rewrite ^/a\\ b(.*)$ /c\\;d$1 break;\nset $x a\\\nb;\n",
        "comments": "# top\nlisten 80; # trailing { } ;\n#last without newline",
        "expansion": "set $a ${b}c;\nset $d \"${e} f\";\nlocation ~ ^/x{2,3}$ { return 204; }\n",
        "blanks": "\tlisten\t 80 ;\r\n\r\n  server_name  a\tb ;\n\n",
        "lua": "content_by_lua_block {\n  ngx.say(\"{ hi }\")\n}\nlisten 80;\n",
        "unbalanced": "server {\n listen 80;\n",
    }
    samples = dict(list(files.items())[:50])
    samples.update(tricky)
    for name, text in samples.items():
        path = tmp_path / "sample.conf"
        path.write_text(text)
        expected, expected_error = _tokens(crossplane.lex, str(path))
        got, got_error = _tokens(lambda _name, text=text: _nginx_config.lex_text(text, str(path)), str(path))
        assert got == expected and got_error == expected_error, name
    assert _nginx_config.parse_files({"/t/q.conf": tricky["quotes"]})["/t/q.conf"][0]["args"][1] == "a 'b' \"c\" {d};\n  e"
    with pytest.raises(_nginx_config.ConfigError, match=r"cannot parse /t/u.conf:2: unexpected end of file"):
        _nginx_config.parse_files({"/t/u.conf": tricky["unbalanced"]})


def _tokens(lex, name):
    tokens = []
    try:
        for token in lex(name):
            tokens.append(token)
    except crossplane.errors.NgxParserBaseException as exc:
        return tokens, (type(exc), str(exc))
    return tokens, None


def _best_times(root, server_blocks, runs=3):
    """{stage: the fastest of `runs` runs} for a generated config (the fastest is the least disturbed by load)."""
    conf_path, dump = dump_of(root, server_blocks, 1)
    best = {}
    for _run in range(runs):
        times = controller(conf_path, dump)[0]
        for stage, seconds in times.items():
            best[stage] = min(best.get(stage, seconds), seconds)
    return best


def test_time_grows_linearly_with_the_server_blocks(tmp_path):
    """4 times the server blocks may take about 4 times as long, stage by stage (6 times, for caches and a busy
    machine): a step that compares every server block, file or location with every other one takes 16 times
    as long and fails this (the lint did, before the directives were indexed by name)."""
    small = _best_times(tmp_path / "small", 1000)
    big = _best_times(tmp_path / "big", 4000)
    for stage in ("parse", "describe", "lint", "plan"):
        assert big[stage] <= 6 * small[stage] + 0.05, (stage, small, big)
