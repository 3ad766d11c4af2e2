# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The edges of a transaction against a real nginx master: another operator's open transaction, paths outside the
configuration directory, symlinked directories, damaged checkpoints and journals, and `changed` on failure.

Each failure leaves the tree byte-identical (wherever the change would have landed), nginx serving the old
configuration, and a message that names the cause.
"""

import json
import os
import shutil
import socket
import threading
import time

from conftest import fingerprint

CHECKPOINT = "wsproxy.nginx.nginx_checkpoint"
APPLY = "wsproxy.nginx.nginx_apply"
FILES = "wsproxy.nginx.nginx_files"
INFO = "wsproxy.nginx.nginx_checkpoint_info"


def ok(result):
    assert result.get("failed") is not True, result
    return result


def journal(server):
    path = os.path.join(server.state_dir, "journal.json")
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def site(server, port, body):
    return server.SITE % (port, body)


# --- 1. another run's open transaction is never taken for a dead one ---------------------------------------

def test_an_open_transaction_of_another_run_is_waited_for_then_named_and_nothing_changes(running_nginx, run_module):
    server = running_nginx
    cid = ok(run_module(CHECKPOINT, server.args()))["checkpoint"]["id"]
    record = journal(server)
    assert record["checkpoint"] == cid and record["lease_until"] > time.time() + 1700  # handed to the run
    mine = server.tree.write("etc/nginx/conf.d/operator-a.conf", "# operator A's template, not applied yet\n")
    before = server.fingerprint()

    started = time.time()
    other = run_module(FILES, server.args(lock_timeout=2, files=[
        {"path": server.tree.path("etc/nginx/conf.d/operator-b.conf"), "content": "# B\n"}]))
    assert other["failed"] is True and time.time() - started >= 2
    assert "Another run's transaction is open on this host: checkpoint %s" % cid in other["msg"]
    assert "nginx_apply checkpoint=%s" % cid in other["msg"] and "lock_timeout=2" in other["msg"]
    assert other["changed"] is False and other["files"] == [] and "recovered" not in other
    assert server.fingerprint() == before  # operator A's file is still there, B wrote nothing
    assert journal(server)["checkpoint"] == cid

    applied = ok(run_module(APPLY, server.args(checkpoint=cid)))  # operator A finishes: its change is applied
    assert applied["reloaded"] is True and os.path.exists(mine)
    assert journal(server) is None
    again = ok(run_module(FILES, server.args(files=[
        {"path": server.tree.path("etc/nginx/conf.d/operator-b.conf"), "content": "# B\n"}])))
    assert again["changed"] is True and os.path.exists(mine)


def test_a_run_waiting_on_an_open_transaction_goes_on_once_it_is_applied(running_nginx, run_module):
    server = running_nginx
    cid = ok(run_module(CHECKPOINT, server.args()))["checkpoint"]["id"]
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "from A"))
    waiting = {}

    def _operator_b():
        waiting["result"] = run_module(FILES, server.args(lock_timeout=60, files=[
            {"path": server.tree.path("etc/nginx/conf.d/b.conf"), "content": "# B\n"}]))

    thread = threading.Thread(target=_operator_b)
    thread.start()
    time.sleep(3)  # B is waiting for A's transaction, without holding the lock
    assert thread.is_alive()
    ok(run_module(APPLY, server.args(checkpoint=cid)))
    thread.join(90)
    result = ok(waiting["result"])
    assert result["changed"] is True and "recovered" not in result
    assert server.wait_for("from A\n")  # A's change survived B's run
    assert os.path.exists(server.tree.path("etc/nginx/conf.d/b.conf"))


def test_a_transaction_past_its_lease_is_recovered_and_its_run_learns_it(running_nginx, run_module):
    server = running_nginx
    before = server.fingerprint()
    cid = ok(run_module(CHECKPOINT, server.args(lease=1)))["checkpoint"]["id"]
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "abandoned"))
    time.sleep(1.5)
    other = ok(run_module(CHECKPOINT, server.args(transaction=False)))
    assert other["recovered"]["checkpoint"] == cid and other["recovered"]["paths"] == [server.site_path]
    assert server.fingerprint() == before
    late = run_module(APPLY, server.args(checkpoint=cid))
    assert late["failed"] is True and late["changed"] is False
    assert "no longer open" in late["msg"] and "restored the checkpoint" in late["msg"]


def test_a_forced_restore_takes_over_an_open_transaction(running_nginx, run_module):
    server = running_nginx
    base = ok(run_module(CHECKPOINT, server.args(transaction=False)))["checkpoint"]["id"]
    before = server.fingerprint()
    ok(run_module(CHECKPOINT, server.args()))
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "half"))
    refused = run_module(CHECKPOINT, server.args(state="restored", id=base, lock_timeout=1))
    assert refused["failed"] is True and "Another run's transaction" in refused["msg"]
    forced = ok(run_module(CHECKPOINT, server.args(state="restored", id=base, force=True)))
    assert forced["changed"] is True and server.fingerprint() == before and journal(server) is None


def test_the_open_transactions_own_restore_needs_no_force(running_nginx, run_module):
    """The README's rescue: restoring the checkpoint of the open transaction ends it."""
    server = running_nginx
    before = server.fingerprint()
    cid = ok(run_module(CHECKPOINT, server.args()))["checkpoint"]["id"]
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "half"))
    restored = ok(run_module(CHECKPOINT, server.args(state="restored", id=cid)))
    assert restored["changed"] is True and server.fingerprint() == before and journal(server) is None


# --- 2. and 3. every path the transaction writes is in its checkpoint, links resolved -----------------------

def test_paths_outside_the_config_directory_are_restored(running_nginx, run_module, tmp_path):
    server = running_nginx
    certs = tmp_path / "ssl"
    certs.mkdir()
    (certs / "site.pem").write_text("old certificate\n")
    outside_before = fingerprint(str(certs))
    before = server.fingerprint()
    result = run_module(FILES, server.args(files=[
        {"path": str(certs / "site.pem"), "content": "new certificate\n"},
        {"path": str(certs / "new" / "chain.pem"), "content": "a new file in a new directory\n"},
        {"path": server.tree.path("etc/nginx/conf.d/broken.conf"), "content": "server {\n    proxy_pas x;\n}\n"},
    ]))
    assert result["failed"] is True and result["rolled_back"] is True
    assert result["changed"] is False  # written, refused by nginx -t, put back: no reload, nothing changed
    assert (certs / "site.pem").read_text() == "old certificate\n"
    assert fingerprint(str(certs)) == outside_before  # the new file and its directory are gone too
    assert server.fingerprint() == before
    assert server.wait_for("old\n")


def test_a_symlinked_directory_is_restored_where_the_link_points(running_nginx, run_module, tmp_path):
    server = running_nginx
    real = tmp_path / "srv-sites"
    real.mkdir()
    (real / "kept.conf").write_text("# kept\n")
    os.symlink(str(real), server.tree.path("etc/nginx/sites-available"))
    server.tree.write("etc/nginx/nginx.conf", open(server.conf_path).read().replace(
        "conf.d/*.conf;", "conf.d/*.conf;\n    include @ROOT@/etc/nginx/sites-available/*.conf;"))
    before, real_before = server.fingerprint(), fingerprint(str(real))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = run_module(FILES, server.args(reload_timeout=5, files=[
            {"path": server.tree.path("etc/nginx/sites-available/new.conf"),
             "content": site(server, taken.getsockname()[1], "new")}]))
    # nginx -t passes, the reload is refused (the port is taken): rolled back, the new file gone from the real dir.
    assert result["failed"] is True and result["rolled_back"] is True, result
    assert not (real / "new.conf").exists()
    assert fingerprint(str(real)) == real_before and server.fingerprint() == before
    assert server.wait_for("old\n")


def test_a_template_written_through_a_file_link_is_rolled_back(running_nginx, run_module, tmp_path):
    server = running_nginx
    real = tmp_path / "app.conf"
    real.write_text(site(server, server.port, "old"))
    os.unlink(server.site_path)
    os.symlink(str(real), server.site_path)
    cid = ok(run_module(CHECKPOINT, server.args()))["checkpoint"]["id"]
    with open(server.site_path, "w") as handle:  # what ansible.builtin.template does through a link
        handle.write("server {\n    proxy_pas x;\n}\n")
    result = run_module(APPLY, server.args(checkpoint=cid))
    assert result["failed"] is True and result["rolled_back"] is True
    assert real.read_text() == site(server, server.port, "old")


# --- 4. and 5. damaged checkpoints and journals are refused, naming the file and the way out -----------------

def _applied_change(server, run_module):
    cid = ok(run_module(CHECKPOINT, server.args()))["checkpoint"]["id"]
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "new"))
    ok(run_module(APPLY, server.args(checkpoint=cid)))
    return cid


def test_a_blob_that_fails_its_sha256_is_never_restored(running_nginx, run_module):
    server = running_nginx
    cid = _applied_change(server, run_module)
    blobs = os.path.join(server.state_dir, "checkpoints", cid, "blobs")
    for name in os.listdir(blobs):
        with open(os.path.join(blobs, name), "wb") as handle:
            handle.write(b"garbage\n")
    before = server.fingerprint()
    result = run_module(CHECKPOINT, server.args(state="restored", id=cid))
    assert result["failed"] is True and result["changed"] is False
    assert "checkpoint %s is damaged" % cid in result["msg"] and "no longer matches its sha256" in result["msg"]
    assert server.fingerprint() == before and server.wait_for("new\n")


def test_a_recovery_from_a_damaged_checkpoint_fails_and_keeps_the_journal(running_nginx, run_module):
    server = running_nginx
    killed = run_module(CHECKPOINT, server.args(), kill_at="after-checkpoint")
    assert killed["failed"] is True
    cid = journal(server)["checkpoint"]
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "half"))
    blobs = os.path.join(server.state_dir, "checkpoints", cid, "blobs")
    for name in os.listdir(blobs):
        os.unlink(os.path.join(blobs, name))
    before = server.fingerprint()
    result = run_module(CHECKPOINT, server.args(transaction=False))
    assert result["failed"] is True and result.get("changed") is not True
    assert "checkpoint %s is damaged" % cid in result["msg"] and "cannot be read" in result["msg"]
    assert server.fingerprint() == before and journal(server)["checkpoint"] == cid


def test_a_recovery_that_nginx_refuses_is_a_failed_task(running_nginx, run_module, tmp_path):
    server = running_nginx
    logs = tmp_path / "site-logs"
    logs.mkdir()
    # nginx -t opens access logs: the checkpoint's configuration depends on a directory outside it.
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "old").replace(
        "    location /", "    access_log %s/access.log;\n    location /" % logs))
    ok(run_module(APPLY, server.args()))
    killed = run_module(CHECKPOINT, server.args(), kill_at="after-checkpoint")
    assert killed["failed"] is True
    cid = journal(server)["checkpoint"]
    server.tree.write("etc/nginx/conf.d/site.conf", site(server, server.port, "half"))
    shutil.rmtree(str(logs))
    result = run_module(FILES, server.args(files=[]))
    assert result["failed"] is True, result
    assert result["recovered"]["checkpoint"] == cid and result["recovered"]["paths"] == [server.site_path]
    assert result["changed"] is True  # the tree was put back: that is a change, and it is reported
    assert "recovered: its checkpoint is restored, but nginx reports" in result["msg"] and "access.log" in result["msg"]


def test_a_damaged_journal_is_refused_until_a_checkpoint_is_restored_by_id(running_nginx, run_module):
    server = running_nginx
    before = server.fingerprint()
    cid = ok(run_module(CHECKPOINT, server.args()))["checkpoint"]["id"]
    half = server.tree.write("etc/nginx/conf.d/half.conf", "# half-applied\n")
    path = os.path.join(server.state_dir, "journal.json")
    with open(path) as handle:
        text = handle.read()
    with open(path, "w") as handle:
        handle.write(text[: len(text) // 2])
    refused = run_module(FILES, server.args(files=[
        {"path": server.tree.path("etc/nginx/conf.d/b.conf"), "content": "# B\n"}]))
    assert refused["failed"] is True and refused["changed"] is False
    assert "%s is damaged" % path in refused["msg"] and "nginx_checkpoint state=restored id=ID" in refused["msg"]
    assert os.path.exists(half) and not os.path.exists(server.tree.path("etc/nginx/conf.d/b.conf"))
    info = ok(run_module(INFO, {"state_dir": server.state_dir}))
    assert "damaged" in info["transaction"]
    unnamed = run_module(CHECKPOINT, server.args(state="restored"))
    assert unnamed["failed"] is True and "is damaged" in unnamed["msg"]
    restored = ok(run_module(CHECKPOINT, server.args(state="restored", id=cid)))
    assert restored["changed"] is True and server.fingerprint() == before and journal(server) is None


def test_a_damaged_manifest_is_named_and_can_be_deleted(running_nginx, run_module):
    server = running_nginx
    cid = _applied_change(server, run_module)
    manifest = os.path.join(server.state_dir, "checkpoints", cid, "manifest.json")
    with open(manifest, "w") as handle:
        handle.write('{"id": "')
    before = server.fingerprint()
    result = run_module(CHECKPOINT, server.args(state="restored", id=cid))
    assert result["failed"] is True and result["changed"] is False
    assert "%s is damaged" % manifest in result["msg"] and "state=absent id=%s" % cid in result["msg"]
    assert server.fingerprint() == before
    listed = ok(run_module(INFO, {"state_dir": server.state_dir}))["checkpoints"]
    assert listed[0]["id"] == cid and "damaged" in listed[0]
    deleted = ok(run_module(CHECKPOINT, server.args(state="absent", id=cid)))
    assert deleted["changed"] is True and cid not in server.checkpoints()


# --- 10. `changed` tells the truth on failure ----------------------------------------------------------------

def test_a_run_that_fails_before_writing_reports_no_change(running_nginx, run_module):
    server = running_nginx
    server.tree.write("etc/nginx/conf.d/site.conf", "oops;\n")  # the current configuration already fails
    before = server.fingerprint()
    result = run_module(FILES, server.args(files=[
        {"path": server.tree.path("etc/nginx/conf.d/new.conf"), "content": "# new\n"}]))
    assert result["failed"] is True and "nothing was changed" in result["msg"]
    assert result.get("changed") is not True and not result.get("files")
    assert server.fingerprint() == before
