# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_checkpoint, nginx_checkpoint_info and nginx_apply against a real nginx master on loopback.

After every failure: the tree is byte-identical (sha256, mode, owner, link target of every path), nginx still
serves the old configuration from the same master, and the existing site still answers.
"""

import fcntl
import json
import os
import shutil
import socket
import subprocess
import threading

import pytest

CHECKPOINT = "wsproxy.nginx.nginx_checkpoint"
APPLY = "wsproxy.nginx.nginx_apply"
INFO = "wsproxy.nginx.nginx_checkpoint_info"


def checkpoint(server, run_module, **extra):
    result = run_module(CHECKPOINT, server.args(**extra))
    assert result.get("failed") is not True, result
    return result["checkpoint"]["id"]


def assert_unharmed(server, before, master):
    assert server.fingerprint() == before
    assert server.master_pid() == master
    assert server.wait_for("old\n")


def test_apply_reloads_and_confirms_then_restore_twice(running_nginx, run_module):
    server = running_nginx
    before = server.fingerprint()
    workers = server.workers()
    cid = checkpoint(server, run_module)
    server.tree.write("etc/nginx/conf.d/site.conf", server.SITE % (server.port, "new"))
    result = run_module(APPLY, server.args(checkpoint=cid))
    assert result.get("failed") is not True, result
    assert (result["changed"], result["tested"], result["reloaded"], result["rolled_back"]) == (True, True, True, False)
    assert result["method"] == "signal"
    assert server.wait_for("new\n")
    assert not server.workers() & workers  # a new worker generation

    restored = run_module(CHECKPOINT, server.args(state="restored", id=cid))
    assert restored.get("failed") is not True, restored
    assert restored["changed"] is True and restored["reloaded"] is True
    assert restored["paths"] == [server.site_path]
    assert server.fingerprint() == before
    assert server.wait_for("old\n")
    again = run_module(CHECKPOINT, server.args(state="restored", id=cid))
    assert again["changed"] is False and again["paths"] == []


def test_checkpoint_template_apply_is_idempotent(running_nginx, run_module):
    server = running_nginx
    cid = checkpoint(server, run_module)
    result = run_module(APPLY, server.args(checkpoint=cid))
    assert (result["changed"], result["tested"], result["reloaded"]) == (False, False, False)
    assert "nothing changed" in result["msg"]
    assert not os.path.exists(os.path.join(server.state_dir, "journal.json"))


def test_syntax_error_is_rolled_back(running_nginx, run_module):
    server = running_nginx
    before, master = server.fingerprint(), server.master_pid()
    cid = checkpoint(server, run_module)
    broken = server.tree.write("etc/nginx/conf.d/broken.conf", "server {\n    listen 127.0.0.1:1;\n    proxy_pas x;\n}\n")
    result = run_module(APPLY, server.args(checkpoint=cid))
    assert result["failed"] is True and result["rolled_back"] is True and result["reloaded"] is False
    assert result["errors"] == [{"file": broken, "line": 3, "message": 'unknown directive "proxy_pas"'}]
    assert "checkpoint %s restored" % cid in result["msg"]
    assert_unharmed(server, before, master)


def test_reload_that_nginx_refuses_is_detected_and_rolled_back(running_nginx, run_module):
    server = running_nginx
    before, master = server.fingerprint(), server.master_pid()
    cid = checkpoint(server, run_module)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        server.tree.write("etc/nginx/conf.d/new.conf", server.SITE % (port, "new"))
        # nginx -t does not bind: it passes, and the reload exits 0 while nginx keeps the old configuration.
        assert subprocess.run(["nginx", "-t", "-q", "-c", server.conf_path], check=False).returncode == 0
        result = run_module(APPLY, server.args(checkpoint=cid, reload_timeout=5))
    assert result["failed"] is True and result["rolled_back"] is True and result["reloaded"] is False
    assert any("Address already in use" in error["message"] for error in result["errors"]), result["errors"]
    assert result["rollback"]["reloaded"] is True, result["rollback"]
    assert_unharmed(server, before, master)


def test_missing_certificate_is_rolled_back(running_nginx, run_module):
    server = running_nginx
    before, master = server.fingerprint(), server.master_pid()
    cid = checkpoint(server, run_module)
    server.tree.write(
        "etc/nginx/conf.d/tls.conf",
        "server {\n    listen 127.0.0.1:%d ssl;\n    ssl_certificate @ROOT@/missing.pem;\n"
        "    ssl_certificate_key @ROOT@/missing.key;\n}\n" % server.port,
    )
    result = run_module(APPLY, server.args(checkpoint=cid))
    assert result["failed"] is True and result["rolled_back"] is True
    assert "missing.pem" in result["errors"][0]["message"]
    assert_unharmed(server, before, master)


@pytest.mark.parametrize("point", ["after-checkpoint", "after-reload"])
def test_killed_transaction_is_recovered_by_the_next_run(running_nginx, run_module, point):
    server = running_nginx
    before = server.fingerprint()
    if point == "after-checkpoint":
        killed = run_module(CHECKPOINT, server.args(), kill_at=point)
        server.tree.write("etc/nginx/conf.d/site.conf", server.SITE % (server.port, "half-done"))
    else:
        cid = checkpoint(server, run_module)
        server.tree.write("etc/nginx/conf.d/site.conf", server.SITE % (server.port, "new"))
        killed = run_module(APPLY, server.args(checkpoint=cid), kill_at=point)
        assert server.wait_for("new\n")  # killed after the reload took, before the commit
    assert killed["failed"] is True
    assert os.path.exists(os.path.join(server.state_dir, "journal.json"))

    result = run_module(CHECKPOINT, server.args())
    assert result.get("failed") is not True, result
    assert result["recovered"]["paths"] == [server.site_path]
    assert result["recovered"]["journal"]["op"] == "change"
    assert server.fingerprint() == before
    assert server.wait_for("old\n")


@pytest.mark.parametrize("point", ["mid-write", "after-rename"])
def test_killed_restore_is_finished_by_the_next_run(running_nginx, run_module, point):
    server = running_nginx
    before = server.fingerprint()
    cid = checkpoint(server, run_module)
    server.tree.write("etc/nginx/conf.d/site.conf", server.SITE % (server.port, "new"))
    server.tree.write("etc/nginx/conf.d/extra.conf", "# added\n")
    os.unlink(server.tree.path("etc/nginx/conf.d/site.conf"))
    server.tree.write("etc/nginx/conf.d/site.conf", server.SITE % (server.port, "new"))
    os.chmod(server.site_path, 0o600)
    assert run_module(APPLY, server.args(checkpoint=cid))["reloaded"] is True

    killed = run_module(CHECKPOINT, server.args(state="restored", id=cid), kill_at=point)
    assert killed["failed"] is True
    leftovers = [name for name in os.listdir(server.tree.path("etc/nginx/conf.d")) if name.startswith(".wsproxy-")]
    assert leftovers == ([] if point == "after-rename" else leftovers) and all(n.endswith(".tmp") for n in leftovers)

    result = run_module(APPLY, server.args(checkpoint="unrelated-run"))
    assert result["failed"] is True, result  # that checkpoint does not exist, but the recovery ran first
    assert result.get("recovered", {}).get("checkpoint") == cid, (result["msg"], result.get("recovered"))
    info = run_module(INFO, {"state_dir": server.state_dir})
    assert info["transaction"] is None
    assert server.fingerprint() == before
    assert server.wait_for("old\n")


def test_a_second_run_waits_for_the_lock_then_fails_clearly(running_nginx, run_module):
    server = running_nginx
    checkpoint(server, run_module, transaction=False)  # creates the state directory
    before_ids = run_module(INFO, {"state_dir": server.state_dir})["checkpoints"]
    with open(os.path.join(server.state_dir, "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = run_module(CHECKPOINT, server.args(lock_timeout=1))
    assert result["failed"] is True
    assert "holds the lock" in result["msg"] and "lock_timeout=1" in result["msg"]
    assert run_module(INFO, {"state_dir": server.state_dir})["checkpoints"] == before_ids


def test_two_runs_at_once_are_serialized(running_nginx, run_module):
    server = running_nginx
    results = []

    def _one():
        results.append(run_module(CHECKPOINT, server.args(transaction=False)))

    threads = [threading.Thread(target=_one) for dummy in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.get("failed") for r in results] == [None, None], results
    assert len({r["checkpoint"]["id"] for r in results}) == 2


def test_operator_edit_after_apply_refuses_restore_unless_forced(running_nginx, run_module):
    server = running_nginx
    before = server.fingerprint()
    cid = checkpoint(server, run_module)
    server.tree.write("etc/nginx/conf.d/site.conf", server.SITE % (server.port, "new"))
    assert run_module(APPLY, server.args(checkpoint=cid))["reloaded"] is True
    edited = server.tree.write("etc/nginx/conf.d/site.conf", server.SITE % (server.port, "operator"))
    after_edit = server.fingerprint()

    refused = run_module(CHECKPOINT, server.args(state="restored", id=cid))
    assert refused["failed"] is True
    assert edited in refused["msg"] and "force=true" in refused["msg"]
    assert server.fingerprint() == after_edit

    forced = run_module(CHECKPOINT, server.args(state="restored", id=cid, force=True))
    assert forced["changed"] is True
    assert server.fingerprint() == before
    assert server.wait_for("old\n")


def test_restore_brings_back_links_modes_and_removes_new_files(running_nginx, run_module):
    server = running_nginx
    tree = server.tree
    os.makedirs(tree.path("etc/nginx/sites-available"))
    os.makedirs(tree.path("etc/nginx/sites-enabled"))
    tree.write("etc/nginx/sites-available/a", "# a\n")
    tree.write("etc/nginx/sites-available/b", "# b\n")
    tree.link("etc/nginx/sites-enabled/app", "../sites-available/a")
    os.chmod(tree.path("etc/nginx/sites-available/a"), 0o640)
    before = server.fingerprint()
    cid = checkpoint(server, run_module, transaction=False)

    os.unlink(tree.path("etc/nginx/sites-enabled/app"))
    tree.link("etc/nginx/sites-enabled/app", "../sites-available/b")
    tree.link("etc/nginx/sites-enabled/new", "../sites-available/b")
    os.chmod(tree.path("etc/nginx/sites-available/a"), 0o666)
    os.chown(tree.path("etc/nginx/sites-available/b"), 65534, 65534)
    os.makedirs(tree.path("etc/nginx/snippets/deep"))
    tree.write("etc/nginx/snippets/deep/x.conf", "# x\n")
    os.unlink(tree.path("etc/nginx/conf.d/site.conf"))

    check = run_module(CHECKPOINT, server.args(state="restored", id=cid), check=True, diff=True)
    assert check["changed"] is True and "(absent)" in check["diff"]["before"]
    result = run_module(CHECKPOINT, server.args(state="restored", id=cid))
    assert result.get("failed") is not True, result
    assert server.fingerprint() == before
    assert server.wait_for("old\n")


def test_full_disk_fails_clearly_and_the_next_run_finishes(running_nginx, run_module, tmp_path):
    server = running_nginx
    etc = server.tree.path("etc")
    saved = str(tmp_path / "saved-etc")
    shutil.copytree(etc, saved, symlinks=True)
    # The configuration filesystem: a small tmpfs holding /etc, with room for a filler outside etc/nginx.
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "tmpfs", etc], check=False).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        shutil.copytree(os.path.join(saved, "nginx"), server.conf_dir, symlinks=True)
        shutil.copystat(os.path.join(saved, "nginx"), server.conf_dir)
        before = server.fingerprint()
        cid = checkpoint(server, run_module)
        server.tree.write("etc/nginx/conf.d/site.conf", "oops;\n")
        with open(os.path.join(etc, "filler.bin"), "wb") as filler:
            try:
                filler.write(b"\0" * (1 << 20))
                filler.flush()
            except OSError:
                pass  # the disk is full now
        # nginx -t fails, and the rollback cannot write on the full disk: a clear failure, no temp file left.
        result = run_module(APPLY, server.args(checkpoint=cid))
        assert result["failed"] is True
        assert "No space left on device" in result["msg"] and cid in result["msg"]
        assert [n for n in os.listdir(server.tree.path("etc/nginx/conf.d")) if n.endswith(".tmp")] == []
        assert server.get() == "old\n"  # nginx never loaded the broken tree

        os.unlink(os.path.join(etc, "filler.bin"))
        recovered = run_module(CHECKPOINT, server.args())
        assert recovered.get("failed") is not True, recovered
        assert recovered["recovered"]["checkpoint"] == cid
        assert server.fingerprint() == before
        assert server.wait_for("old\n")
    finally:
        subprocess.run(["umount", etc], check=True)


def test_read_only_config_directory_fails_clearly_and_changes_nothing(running_nginx, run_module):
    server = running_nginx
    cid = checkpoint(server, run_module)
    server.tree.write("etc/nginx/conf.d/broken.conf", "oops;\n")
    conf_d = server.tree.path("etc/nginx/conf.d")
    if subprocess.run(["mount", "--bind", conf_d, conf_d], check=False).returncode != 0:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", conf_d], check=True)
        frozen = server.fingerprint()
        result = run_module(APPLY, server.args(checkpoint=cid))
        assert result["failed"] is True
        assert "Read-only file system" in result["msg"]
        assert server.fingerprint() == frozen
        assert server.wait_for("old\n")
    finally:
        subprocess.run(["umount", conf_d], check=True)
    assert run_module(CHECKPOINT, server.args())["recovered"]["checkpoint"] == cid
    assert not os.path.exists(os.path.join(conf_d, "broken.conf"))


@pytest.mark.parametrize("planted", ["checkpoints", "state"])
def test_planted_symlink_at_the_checkpoint_path_is_refused(running_nginx, run_module, tmp_path, planted):
    server = running_nginx
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    if planted == "state":
        os.symlink(str(elsewhere), server.state_dir)
    else:
        os.makedirs(server.state_dir, mode=0o700)
        os.symlink(str(elsewhere), os.path.join(server.state_dir, "checkpoints"))
    result = run_module(CHECKPOINT, server.args())
    assert result["failed"] is True
    assert "is a symlink" in result["msg"]
    assert list(elsewhere.iterdir()) == []


def test_state_dir_inside_the_config_is_refused(running_nginx, run_module):
    server = running_nginx
    before = server.fingerprint()
    result = run_module(CHECKPOINT, server.args(state_dir=server.tree.path("etc/nginx/conf.d/state")))
    assert result["failed"] is True
    assert "nginx loads configuration from" in result["msg"]
    assert server.fingerprint() == before


def test_check_mode_takes_no_checkpoint_and_creates_nothing(running_nginx, run_module):
    server = running_nginx
    result = run_module(CHECKPOINT, server.args(), check=True)
    assert result.get("failed") is not True and result["checkpoint"] is None
    assert not os.path.exists(server.state_dir)
    apply = run_module(APPLY, server.args(), check=True)
    assert apply["tested"] is True and apply["reloaded"] is False and apply["changed"] is True


@pytest.mark.parametrize(
    "module, args, message",
    [
        (CHECKPOINT, {"keep": 0}, "keep=0"),
        (CHECKPOINT, {"lease": 0}, "lease=0"),
        (CHECKPOINT, {"label": "run-1\n"}, "label='run-1\\n'"),
        (CHECKPOINT, {"state": "restored", "id": "../etc"}, "id='../etc' is not a checkpoint id"),
        (CHECKPOINT, {"state": "restored", "id": "20200101T000000Z-000000"}, "no such checkpoint"),
        (CHECKPOINT, {"state": "bogus"}, "value of state must be one of"),
        (APPLY, {"reload_timeout": 0}, "reload_timeout=0"),
        (APPLY, {"checkpoint": "nope"}, "id='nope': no such checkpoint"),
    ],
)
def test_bad_input_names_the_option_and_changes_nothing(running_nginx, run_module, module, args, message):
    server = running_nginx
    before = server.fingerprint()
    result = run_module(module, server.args(**args))
    assert result["failed"] is True
    assert message in result["msg"]
    assert server.fingerprint() == before


def test_nginx_not_running_is_said_and_started_only_on_request(running_nginx, run_module):
    server = running_nginx
    server.stop()
    result = run_module(APPLY, server.args())
    assert result.get("failed") is not True, result
    assert (result["tested"], result["reloaded"], result["started"], result["changed"]) == (True, False, False, False)
    assert "not running" in " ".join(result.get("warnings", []))
    result = run_module(APPLY, server.args(start=True))
    assert (result["started"], result["changed"], result["method"]) == (True, True, "binary")
    assert server.wait_for("old\n")


def test_checkpoint_info_lists_newest_first(running_nginx, run_module):
    server = running_nginx
    first = checkpoint(server, run_module, transaction=False)
    second = checkpoint(server, run_module)
    info = run_module(INFO, {"state_dir": server.state_dir})
    assert [c["id"] for c in info["checkpoints"]] == [second, first]
    assert info["checkpoints"][0]["files"] == 2
    assert info["transaction"]["checkpoint"] == second
    assert json.dumps(info).count("old") == 0  # contents are never returned


def test_retention_keeps_the_newest(running_nginx, run_module):
    server = running_nginx
    ids = [checkpoint(server, run_module, transaction=False, keep=2) for dummy in range(3)]
    info = run_module(INFO, {"state_dir": server.state_dir})
    assert [c["id"] for c in info["checkpoints"]] == [ids[2], ids[1]]


def test_an_older_checkpoint_restores_over_later_applied_changes(running_nginx, run_module):
    server = running_nginx
    before = server.fingerprint()
    first = checkpoint(server, run_module)
    server.tree.write("etc/nginx/conf.d/a.conf", "# a\n")
    assert run_module(APPLY, server.args(checkpoint=first))["reloaded"] is True
    second = checkpoint(server, run_module)
    server.tree.write("etc/nginx/conf.d/b.conf", "# b\n")
    assert run_module(APPLY, server.args(checkpoint=second))["reloaded"] is True
    # The collection's own later change is not an operator edit: no force needed.
    result = run_module(CHECKPOINT, server.args(state="restored", id=first))
    assert result.get("failed") is not True, result
    assert server.fingerprint() == before
    # An edit after the last applied change still blocks a restore.
    server.tree.write("etc/nginx/conf.d/c.conf", "# by hand\n")
    refused = run_module(CHECKPOINT, server.args(state="restored", id=second))
    assert refused["failed"] is True and "c.conf" in refused["msg"]
