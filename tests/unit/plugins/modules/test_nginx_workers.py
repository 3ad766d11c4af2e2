# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_workers end to end: a real nginx on loopback, the module run by ansible (action plugin, nginx_info and
nginx_files on the host)."""

import os
import stat

import pytest

from conftest import NGINX, RunningNginx

WORKERS = "wsproxy.nginx.nginx_workers"

# Debian's stock shape: tabs, comments, 768 connections, no worker_rlimit_nofile.
MAIN = """# the operator's header
pid @ROOT@/run/nginx.pid;
error_log @ROOT@/log/error.log;
worker_processes 2;

events {
\tworker_connections 768;
\t# multi_accept on;
}

http {
\taccess_log off; # quiet
\tclient_body_temp_path @ROOT@/tmp/body;
\tproxy_temp_path @ROOT@/tmp/proxy;
\tfastcgi_temp_path @ROOT@/tmp/fastcgi;
\tuwsgi_temp_path @ROOT@/tmp/uwsgi;
\tscgi_temp_path @ROOT@/tmp/scgi;
\tinclude @ROOT@/etc/nginx/conf.d/*.conf;
}
"""


@pytest.fixture
def server(tmp_path):
    host = RunningNginx(tmp_path / "host")
    host.tree.write("etc/nginx/nginx.conf", MAIN)
    host.start()
    yield host
    host.stop()


def read(path):
    with open(path) as handle:
        return handle.read()


def others(server):
    """The fingerprint of everything but nginx.conf."""
    found = server.fingerprint()
    found.pop(server.conf_path)
    found.pop(server.conf_dir)
    return found


def test_raises_the_limits_reloads_and_is_idempotent(server, run_module):
    original, untouched, workers = read(server.conf_path), others(server), server.workers()
    first = run_module(WORKERS, server.args(worker_connections=4096, worker_rlimit_nofile=8192), diff=True)
    assert first.get("failed") is not True, first
    assert (first["changed"], first["tested"], first["reloaded"], first["rolled_back"]) == (True, True, True, False)
    assert first["files"] == [{"path": server.conf_path, "action": "updated"}] and first["checkpoint"]
    assert (first["worker_connections"], first["worker_rlimit_nofile"], first["worker_shutdown_timeout"]) == (4096, 8192, None)
    assert first["errors"] == [] and not first.get("warnings")
    assert read(server.conf_path) == original.replace(
        "worker_processes 2;\n", "worker_processes 2;\nworker_rlimit_nofile 8192;\n").replace(
        "\tworker_connections 768;\n", "\tworker_connections 4096;\n")
    assert others(server) == untouched
    assert "+\tworker_connections 4096;" in "".join(
        "+" + line for line in first["diff"][0]["after"].splitlines(True)) and "768" in first["diff"][0]["before"]
    new_workers = server.workers()
    assert len(new_workers) == 2 and not new_workers & workers  # a new generation: the reload took
    assert server.get() == "old\n"

    fingerprint = server.fingerprint()
    second = run_module(WORKERS, server.args(worker_connections=4096, worker_rlimit_nofile=8192))
    assert (second["changed"], second["checkpoint"], second["reloaded"], second["tested"]) == (False, None, False, False)
    assert second["files"] == [] and second["worker_connections"] == 4096
    assert server.workers() == new_workers and server.fingerprint() == fingerprint

    lower = run_module(WORKERS, server.args(worker_connections=1024, worker_rlimit_nofile=2048))
    assert (lower["changed"], lower["worker_connections"], lower["worker_rlimit_nofile"]) == (False, 4096, 8192)
    assert server.fingerprint() == fingerprint


def test_nothing_to_change_reads_once_and_never_calls_nginx_files(server, run_module):
    before = server.fingerprint()
    result = run_module(WORKERS, server.args(worker_connections=512))
    assert result.get("failed") is not True, result
    assert (result["changed"], result["worker_connections"], result["worker_rlimit_nofile"]) == (False, 768, None)
    assert not os.path.exists(server.state_dir)  # nginx_files (its lock, its checkpoints) never ran
    assert server.fingerprint() == before


def test_check_mode_writes_nothing_and_shows_the_diff(server, run_module):
    before, workers = server.fingerprint(), server.workers()
    result = run_module(WORKERS, server.args(worker_connections=4096), check=True, diff=True)
    assert result["changed"] is True and result["check_mode"] is True and result["reloaded"] is False
    assert result["worker_connections"] == 4096
    assert "worker_connections 768;" in result["diff"][0]["before"]
    assert "worker_connections 4096;" in result["diff"][0]["after"]
    assert any("worker_rlimit_nofile is not set" in w for w in result["warnings"])
    assert server.fingerprint() == before and server.workers() == workers
    assert not os.path.exists(server.state_dir)


@pytest.mark.parametrize("option, value, shown", [
    ("worker_connections", 0, "worker_connections=0: expected an integer from 1 to 1048576"),
    ("worker_rlimit_nofile", 2000000, "worker_rlimit_nofile=2000000: expected an integer from 1 to 1048576"),
    # ansible-core 2.18 and later name the value that is no integer; 2.16 and 2.17 name only its type.
    ("worker_rlimit_nofile", "lots", ("lots", "<class 'str'> cannot be converted to an int")),
    ("worker_shutdown_timeout", "30 minutes", "worker_shutdown_timeout='30 minutes': expected an nginx time"),
    ("worker_shutdown_timeout", "1m;user root", "worker_shutdown_timeout='1m;user root': expected an nginx time"),
])
def test_bad_values_fail_naming_option_and_value_and_change_nothing(server, run_module, option, value, shown):
    before = server.fingerprint()
    result = run_module(WORKERS, server.args(**{option: value}))
    accepted = shown if isinstance(shown, tuple) else (shown,)
    assert result["failed"] is True and option in result["msg"], result["msg"]
    assert any(text in result["msg"] for text in accepted), result["msg"]
    assert server.fingerprint() == before and not os.path.exists(server.state_dir)


def test_a_directive_in_an_included_file_fails_and_changes_nothing(server, run_module):
    server.tree.write("etc/nginx/main.d/limits.conf", "worker_rlimit_nofile 1024;\n")
    text = read(server.conf_path).replace("worker_processes 2;\n", "worker_processes 2;\ninclude @ROOT@/etc/nginx/main.d/*.conf;\n")
    server.tree.write("etc/nginx/nginx.conf", text)
    before, workers = server.fingerprint(), server.workers()
    result = run_module(WORKERS, server.args(worker_connections=4096, worker_rlimit_nofile=8192))
    assert result["failed"] is True
    assert result["msg"].startswith("Nothing was changed: worker_rlimit_nofile is set in %s:1"
                                    % server.tree.path("etc/nginx/main.d/limits.conf"))
    assert server.fingerprint() == before and server.workers() == workers


def test_a_main_file_changed_between_read_and_write_is_refused(server, run_module, tmp_path):
    """The nginx -T of the read is followed by someone else's edit (a wrapper around the real nginx does it), so
    the file nginx_files finds is not the one the plan was computed from."""
    edit = "# edited by someone else meanwhile\n"
    wrapper = tmp_path / "nginx-then-edit"
    wrapper.write_text(
        "#!/bin/sh\n\"%s\" \"$@\"\nrc=$?\n"
        "for arg in \"$@\"; do if [ \"$arg\" = -T ] && [ ! -e \"%s.flag\" ]; then\n"
        "  touch \"%s.flag\"; printf '%s' >> \"%s\"\nfi; done\nexit $rc\n"
        % (NGINX, wrapper, wrapper, edit.replace("\n", "\\n"), server.conf_path))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    original, workers = read(server.conf_path), server.workers()
    result = run_module(WORKERS, server.args(worker_connections=4096, binary=str(wrapper)))
    assert result["failed"] is True and "changed since it was read" in result["msg"], result
    assert (result["checkpoint"], result["reloaded"]) == (None, False)
    assert result["worker_connections"] == 768  # what is still in effect
    assert read(server.conf_path) == original + edit
    assert server.workers() == workers


def test_worker_shutdown_timeout_set_then_removed(server, run_module):
    original = read(server.conf_path)
    workers = server.workers()
    result = run_module(WORKERS, server.args(worker_shutdown_timeout="30m"))
    assert result.get("failed") is not True, result
    assert result["changed"] is True and result["reloaded"] is True and result["worker_shutdown_timeout"] == "30m"
    assert read(server.conf_path) == original.replace(
        "worker_processes 2;\n", "worker_processes 2;\nworker_shutdown_timeout 30m;\n")
    assert not server.workers() & workers
    same = run_module(WORKERS, server.args(worker_shutdown_timeout="1800s"))  # the same duration
    assert same["changed"] is False and same["worker_shutdown_timeout"] == "30m"

    removed = run_module(WORKERS, server.args(worker_shutdown_timeout=""))
    assert removed["changed"] is True and removed["reloaded"] is True and removed["worker_shutdown_timeout"] is None
    assert read(server.conf_path) == original
    again = run_module(WORKERS, server.args(worker_shutdown_timeout=""))
    assert again["changed"] is False


def test_warns_when_the_file_limit_is_below_two_per_connection(server, run_module):
    result = run_module(WORKERS, server.args(worker_connections=2048, worker_rlimit_nofile=2048))
    assert result["changed"] is True
    assert any("worker_rlimit_nofile 2048 is less than 2 x worker_connections (2048)" in w for w in result["warnings"])


def test_a_killed_run_is_recovered_even_when_nothing_else_changes(server, run_module):
    before = server.fingerprint()
    killed = run_module(WORKERS, server.args(worker_connections=4096), kill_at="after-rename")
    assert killed["failed"] is True and "worker_connections 4096;" in read(server.conf_path)
    result = run_module(WORKERS, server.args(worker_connections=512))  # nothing to change, but a journal is open
    assert result.get("failed") is not True, result
    assert result["recovered"]["paths"] == [server.conf_path] and result["changed"] is True
    assert result["worker_connections"] == 768  # read again after the recovery
    assert server.fingerprint() == before

    killed = run_module(WORKERS, server.args(worker_connections=4096), kill_at="after-rename")
    assert killed["failed"] is True
    result = run_module(WORKERS, server.args(worker_connections=2048, worker_rlimit_nofile=4096))
    assert result.get("failed") is not True, result
    assert result["recovered"]["paths"] == [server.conf_path] and result["reloaded"] is True
    assert (result["worker_connections"], result["worker_rlimit_nofile"]) == (2048, 4096)
    assert "worker_connections 2048;" in read(server.conf_path)
