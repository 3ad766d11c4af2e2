# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_workers' plan on real layouts: line edits in place, insertions, refusals, and the real nginx -t on the
result."""

import pytest

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _workers
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._nginx_config import NginxConfig
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._wsvalidate import InvalidOption
from conftest import nginx

HTTP = "http {\n    default_type text/plain;\n}\n"


def plan_for(tree, **wanted):
    config = NginxConfig.from_dump(tree.conf_path, tree.dump())
    return _workers.plan(config, _workers.validate(wanted))


def applied(tree, plan):
    """The planned main file written by hand (nginx_files' job), proven by the real nginx -t."""
    [item] = plan["files"]
    assert item["path"] == tree.conf_path
    with open(tree.conf_path) as handle:
        original = handle.read()
    with open(tree.conf_path, "w") as handle:
        handle.write(item["content"])
    proc = nginx("-t", "-c", tree.conf_path)
    assert proc.returncode == 0, proc.stderr
    return original, item["content"]


def main_file(layout, text):
    tree = layout("noinclude")
    tree.write("etc/nginx/nginx.conf", text)
    return tree


def test_debian_raises_768_and_inserts_the_limit_after_worker_processes(layout):
    tree = layout("debian")
    plan = plan_for(tree, worker_connections=4096, worker_rlimit_nofile=8192)
    assert plan["before"] == {"worker_connections": 768, "worker_rlimit_nofile": None, "worker_shutdown_timeout": None}
    assert plan["after"] == {"worker_connections": 4096, "worker_rlimit_nofile": 8192, "worker_shutdown_timeout": None}
    assert plan["warnings"] == []
    original, updated = applied(tree, plan)
    assert updated == original.replace("worker_processes auto;\n", "worker_processes auto;\nworker_rlimit_nofile 8192;\n") \
        .replace("\tworker_connections 768;\n", "\tworker_connections 4096;\n")
    assert "\t# multi_accept on;\n" in updated
    assert len(plan["files"][0]["expect_sha256"]) == 64


def test_a_larger_value_is_never_lowered_and_nothing_changes(layout):
    tree = layout("nginxorg")
    plan = plan_for(tree, worker_connections=512)
    assert plan["files"] == [] and plan["after"]["worker_connections"] == 1024


def test_an_empty_events_block_and_a_file_starting_with_a_block(layout):
    tree = layout("nested")
    plan = plan_for(tree, worker_connections=2048, worker_rlimit_nofile=4096, worker_shutdown_timeout="30s")
    original, updated = applied(tree, plan)
    assert updated == "worker_rlimit_nofile 4096;\nworker_shutdown_timeout 30s;\n" + original.replace(
        "events {\n", "events {\n    worker_connections 2048;\n", 1)


def test_tabs_of_the_events_block_are_reused(layout):
    tree = main_file(layout, "events {\n\t# comment\n\tuse epoll;\n}\n" + HTTP)
    original, updated = applied(tree, plan_for(tree, worker_connections=2048))
    assert updated == original.replace("events {\n", "events {\n\tworker_connections 2048;\n")


def test_one_line_events_edited_in_place(layout):
    tree = main_file(layout, "worker_processes 1; # one\nevents { worker_connections \"64\"; } # small\n" + HTTP)
    original, updated = applied(tree, plan_for(tree, worker_connections=1024, worker_rlimit_nofile=2048))
    assert updated == original.replace('"64"', "1024").replace("# one\n", "# one\nworker_rlimit_nofile 2048;\n")


def test_crlf_lines_stay_crlf():
    text = "worker_processes 1;\r\nevents {\r\n}\r\n" + HTTP.replace("\n", "\r\n")
    config = NginxConfig.from_dump("/etc/nginx/nginx.conf", "# configuration file /etc/nginx/nginx.conf:\n%s\n" % text)
    plan = _workers.plan(config, _workers.validate({"worker_connections": 1024, "worker_rlimit_nofile": 2048}))
    updated = plan["files"][0]["content"]
    assert updated.startswith("worker_processes 1;\r\nworker_rlimit_nofile 2048;\r\nevents {\r\n    worker_connections 1024;\r\n}\r\n")


@pytest.mark.parametrize("events", ["events { use epoll; }\n", "events\n{\n}\n"])
def test_events_without_its_own_line_is_refused(layout, events):
    tree = main_file(layout, "worker_processes 1;\n" + events + HTTP)
    with pytest.raises(_workers.PlanError, match="write 'events {' on a line of its own"):
        plan_for(tree, worker_connections=1024)
    assert plan_for(tree, worker_rlimit_nofile=2048)["files"]  # a main-context directive still goes in


def test_a_directive_split_over_lines_is_refused(layout):
    tree = main_file(layout, "events {\n    worker_connections\n        64;\n}\n" + HTTP)
    with pytest.raises(_workers.PlanError, match="cannot edit 'worker_connections' in place"):
        plan_for(tree, worker_connections=1024)


def test_a_directive_in_an_included_file_is_refused_only_when_it_must_change(layout):
    tree = layout("alpine")  # worker_rlimit_nofile 4096 in conf.d/stream.conf
    with pytest.raises(_workers.PlanError, match=r"worker_rlimit_nofile is set in .*/conf.d/stream.conf:2, which is included"):
        plan_for(tree, worker_rlimit_nofile=8192)
    plan = plan_for(tree, worker_rlimit_nofile=2048)
    assert plan["files"] == [] and plan["after"]["worker_rlimit_nofile"] == 4096


def test_events_in_an_included_file_is_refused(layout):
    tree = main_file(layout, "include @ROOT@/etc/nginx/events.conf;\n" + HTTP)
    tree.write("etc/nginx/events.conf", "events {\n}\n")
    with pytest.raises(_workers.PlanError, match="the events block is not in"):
        plan_for(tree, worker_connections=1024)


def test_shutdown_timeout_set_replaced_same_duration_and_removed(layout):
    tree = main_file(layout, "worker_processes 1;\nworker_shutdown_timeout 1800s; # drain\nevents {\n}\n" + HTTP)
    assert plan_for(tree, worker_shutdown_timeout="30m")["files"] == []  # the same duration, left as written
    original, updated = applied(tree, plan_for(tree, worker_shutdown_timeout="10m"))
    assert updated == original.replace("1800s;", "10m;")
    plan = plan_for(tree, worker_shutdown_timeout="")
    assert plan["after"]["worker_shutdown_timeout"] is None
    _original, updated = applied(tree, plan)
    assert updated == original.replace("worker_shutdown_timeout 1800s; # drain\n", "")
    assert plan_for(tree, worker_shutdown_timeout="")["files"] == []


def test_removal_from_a_shared_line_keeps_the_rest(layout):
    tree = main_file(layout, "worker_shutdown_timeout 5s; worker_processes 1; # two\nevents {\n}\n" + HTTP)
    original, updated = applied(tree, plan_for(tree, worker_shutdown_timeout=""))
    assert updated == original.replace("worker_shutdown_timeout 5s; ", "")


def test_a_directive_in_a_comment_is_not_edited(layout):
    tree = main_file(layout, "events {\n    worker_connections 64; # was worker_connections 32;\n}\n" + HTTP)
    original, updated = applied(tree, plan_for(tree, worker_connections=100))
    assert updated == original.replace("connections 64;", "connections 100;")


@pytest.mark.parametrize("option, value, why", [
    ("worker_connections", 0, "expected an integer from 1 to 1048576"),
    ("worker_connections", 1048577, "expected an integer from 1 to 1048576"),
    ("worker_rlimit_nofile", -1, "expected an integer from 1 to 1048576"),
    ("worker_shutdown_timeout", "30 m", "expected an nginx time"),
    ("worker_shutdown_timeout", "30m;", "expected an nginx time"),
    ("worker_shutdown_timeout", "m30", "expected an nginx time"),
    ("worker_shutdown_timeout", "30s1h", "expected an nginx time"),
    ("worker_shutdown_timeout", "0s", "a time of 0 is not allowed"),
    ("worker_shutdown_timeout", "30d", "at most"),
    ("worker_shutdown_timeout", "30s\n", "expected an nginx time"),
])
def test_bad_values_name_the_option_and_the_value(option, value, why):
    with pytest.raises(InvalidOption) as info:
        _workers.validate({option: value})
    assert str(info.value).startswith("%s=%r: " % (option, value)) and why in str(info.value)


def test_nginx_times():
    assert _workers.time_ms("30m") == _workers.time_ms("1800s") == _workers.time_ms("1800") == 1800000
    assert _workers.time_ms("1h30m") == 5400000 and _workers.time_ms("500ms") == 500
    assert _workers.time_ms("1m1h") is None and _workers.time_ms("1h 30m") is None


def test_warnings_about_file_descriptors():
    assert _workers.warnings({"worker_connections": 4096, "worker_rlimit_nofile": 8192}) == []
    [low] = _workers.warnings({"worker_connections": 4096, "worker_rlimit_nofile": 4096})
    assert "less than 2 x worker_connections (4096)" in low and "at least 8192" in low
    [unset] = _workers.warnings({"worker_connections": 1024, "worker_rlimit_nofile": None})
    assert "worker_rlimit_nofile is not set" in unset
    assert _workers.warnings({"worker_connections": 512, "worker_rlimit_nofile": None}) == []
