# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nginx_files' planning on a real filesystem: what it refuses to replace, and what it leaves alone."""

import os

import pytest

from ansible_collections.wsproxy.nginx.plugins.module_utils import _changeset

MARKER = "Managed by wsproxy.nginx"


def test_a_plain_file_where_the_site_link_belongs_is_refused(tmp_path):
    site = tmp_path / "sites-available" / "chat"
    link = tmp_path / "sites-enabled" / "chat"
    link.parent.mkdir()
    link.write_text("server {}\n")
    with pytest.raises(_changeset.Refused, match="is a file where the site's link belongs"):
        _changeset.plan([{"path": str(link), "state": "link", "target": str(site)}], MARKER)


def test_a_foreign_link_is_refused_and_a_right_one_is_left_alone(tmp_path):
    link = tmp_path / "chat"
    os.symlink("/etc/nginx/sites-available/other", str(link))
    with pytest.raises(_changeset.Refused, match="links to /etc/nginx/sites-available/other"):
        _changeset.plan([{"path": str(link), "state": "link", "target": "/etc/nginx/sites-available/chat"}], MARKER)
    assert _changeset.plan([{"path": str(link), "state": "link", "target": "/etc/nginx/sites-available/other"}], MARKER) == []
    with pytest.raises(_changeset.Refused, match="refusing to remove it"):
        _changeset.plan([{"path": str(link), "state": "absent", "target": "/etc/nginx/sites-available/chat"}], MARKER)


def test_a_file_changed_since_it_was_read_is_refused(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text("events {}\n")
    item = {"path": str(conf), "state": "file", "content": "new\n", "expect_sha256": "0" * 64}
    with pytest.raises(_changeset.Refused, match="changed since it was read"):
        _changeset.plan([item], MARKER)


def test_only_managed_files_are_replaced_or_removed(tmp_path):
    ours = tmp_path / "ours.conf"
    ours.write_text("# %s\nold\n" % MARKER)
    theirs = tmp_path / "theirs.conf"
    theirs.write_text("# hand-made\n")
    steps = _changeset.plan([{"path": str(ours), "state": "file", "content": "# %s\nnew\n" % MARKER}], MARKER)
    assert [(action, before, after) for _item, action, before, after in steps] == [
        ("updated", "# %s\nold\n" % MARKER, "# %s\nnew\n" % MARKER)]
    with pytest.raises(_changeset.Refused, match="was not written by wsproxy.nginx"):
        _changeset.plan([{"path": str(theirs), "state": "absent"}], MARKER)
    assert _changeset.plan([{"path": str(tmp_path / "missing.conf"), "state": "absent"}], MARKER) == []


def test_a_directory_is_removed_only_once_emptied_by_the_same_change(tmp_path):
    directory = tmp_path / "wsproxy.d"
    directory.mkdir()
    site = directory / "chat.conf"
    site.write_text("# %s\n" % MARKER)
    steps = _changeset.plan([{"path": str(site), "state": "absent"}, {"path": str(directory), "state": "absent"}], MARKER)
    assert [action for _i, action, _b, _a in steps] == ["removed", "removed"]
    (directory / "other.conf").write_text("# %s\n" % MARKER)
    with pytest.raises(_changeset.Refused, match="is a dir"):
        _changeset.plan([{"path": str(site), "state": "absent"}, {"path": str(directory), "state": "absent"}], MARKER)
    _changeset.apply(_changeset.plan([{"path": str(site), "state": "absent"}], MARKER))
    assert os.listdir(str(directory)) == ["other.conf"]


SECRET = 'proxy_set_header Authorization "Basic c2VjcmV0OnBhc3N3b3Jk";'


def _main_file(lines_between=20):
    return ("worker_processes 1;\nevents {\n    worker_connections 64;\n}\nhttp {\n    server {\n        %s\n"
            "        listen 80;\n%s        location / {\n            return 200;\n        }\n    }\n}\n"
            % (SECRET, "".join("        # filler %d\n" % i for i in range(lines_between))))


def test_diff_of_an_update_holds_only_the_hunks_with_their_context_masked(tmp_path):
    before = _main_file()
    after = before.replace("http {\n", "http {\n    include wsproxy.d/*.conf;\n").replace("return 200;", "return 204;")
    [shown] = _changeset.diff([({"path": "/etc/nginx/nginx.conf", "state": "file"}, "updated", before, after)])
    assert shown["before"] == (
        "    worker_connections 64;\n}\nhttp {\n    server {\n        proxy_set_header <hidden>;\n        listen 80;\n"
        "...\n        # filler 18\n        # filler 19\n        location / {\n            return 200;\n        }\n    }\n}\n")
    assert shown["after"] == (
        "    worker_connections 64;\n}\nhttp {\n    include wsproxy.d/*.conf;\n    server {\n"
        "        proxy_set_header <hidden>;\n        listen 80;\n"
        "...\n        # filler 18\n        # filler 19\n        location / {\n            return 204;\n        }\n    }\n}\n")
    assert shown["before_header"] == "/etc/nginx/nginx.conf (updated; lines 3-8, 27-33 of 33)"
    assert shown["after_header"] == "/etc/nginx/nginx.conf (lines 3-9, 28-34 of 34)"
    assert "worker_processes" not in shown["before"] + shown["after"]  # beyond the context: not shown
    assert "# filler 10" not in shown["before"] + shown["after"]


def test_a_changed_secret_still_shows_as_a_change_but_never_its_value():
    before = "server {\n    %s\n}\n" % SECRET
    after = before.replace("c2VjcmV0OnBhc3N3b3Jk", "bmV3OnNlY3JldA==")
    [shown] = _changeset.diff([({"path": "/etc/nginx/conf.d/a.conf", "state": "file"}, "updated", before, after)])
    assert shown["before"] == "server {\n    proxy_set_header <hidden: old value>;\n}\n"
    assert shown["after"] == "server {\n    proxy_set_header <hidden: new value>;\n}\n"


def test_a_created_file_shows_its_content_a_removed_one_only_a_line(tmp_path):
    created = "# %s\nserver {\n    listen 80;\n    location / {\n        %s\n    }\n}\n" % (MARKER, SECRET)
    link = tmp_path / "link"
    os.symlink("/etc/nginx/sites-available/chat", str(link))
    steps = [({"path": "/etc/nginx/conf.d/new.conf", "state": "file"}, "created", "", created),
             ({"path": "/etc/nginx/conf.d/old.conf", "state": "absent"}, "removed", "# %s\n%s\n" % (MARKER, SECRET), ""),
             ({"path": str(link), "state": "absent"}, "removed", "-> /etc/nginx/sites-available/chat\n", "")]
    new, old, gone_link = _changeset.diff(steps)
    assert new == {"before": "", "after": created.replace(SECRET, "proxy_set_header <hidden>;"),
                   "before_header": "/etc/nginx/conf.d/new.conf (created)", "after_header": "/etc/nginx/conf.d/new.conf"}
    assert old["before"] == "(removed; its 2 lines not shown)\n" and old["after"] == ""
    assert old["before_header"] == "/etc/nginx/conf.d/old.conf (removed)"
    assert gone_link["before"] == "-> /etc/nginx/sites-available/chat\n"


@pytest.mark.parametrize("line", [
    SECRET,
    'proxy_set_header X-Api-Key 0123456789;',
    'proxy_set_header Cookie "session=abc";',
    'grpc_set_header authorization $token_from_somewhere;',
    'add_header Set-Cookie "sid=abc; HttpOnly";',
    'more_set_headers "X-Auth-Token: abc";',
    'fastcgi_param DB_PASSWORD hunter2;',
    'set $upstream_token abc;',
    'secure_link_secret s3cr3t;',
    'secure_link_md5 "$secure_link_expires$uri s3cr3t";',
    'if ($http_authorization != "Bearer abc") {',
    'return 200 "token=abc";',
    'proxy_pass http://user:hunter2@127.0.0.1:8080;',
    'env API_KEY=abc;',
    '# the password: hunter2',
    '"Basic dXNlcjpwYXNz" 1;',
    'location /a { proxy_set_header Authorization x; }',
])
def test_lines_that_may_hold_a_credential_are_hidden(line):
    assert _changeset.secret_line(line)
    masked = _changeset._mask("    %s\n" % line)
    assert masked.startswith("    ") and masked.endswith("\n")
    # The directive name (or # for a comment) and <hidden>, nothing else of the line.
    assert masked.strip().rstrip(";{ ") in ("%s <hidden>" % line.split()[0], "<hidden>")


@pytest.mark.parametrize("line", [
    "proxy_set_header Host $host;",
    "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    "proxy_set_header Upgrade $http_upgrade;",
    "add_header Strict-Transport-Security \"max-age=31536000\" always;",
    "auth_basic \"Restricted\";",
    "auth_basic_user_file /etc/nginx/htpasswd;",
    "ssl_certificate_key /etc/ssl/private/chat.key;",
    "ssl_session_cache shared:SSL:10m;",
    "proxy_cache_path /var/cache/nginx keys_zone=one:10m;",
    "hash $arg_token consistent;",
    "# %s (websocket_proxy chat); local changes are overwritten." % MARKER,
    "listen [::]:443 ssl;",
])
def test_the_collections_own_lines_and_paths_are_shown(line):
    assert not _changeset.secret_line(line)
    assert _changeset._mask(line + "\n") == line + "\n"


def test_ansible_renders_the_hunks_as_a_unified_diff():
    from ansible.plugins.callback import CallbackBase
    before = _main_file()
    after = before.replace("http {\n", "http {\n    include wsproxy.d/*.conf;\n").replace("return 200;", "return 204;")
    steps = [({"path": "/etc/nginx/nginx.conf", "state": "file"}, "updated", before, after)]
    shown = CallbackBase()._get_diff(_changeset.diff(steps))
    lines = shown.splitlines()
    assert lines[:2] == ["--- before: /etc/nginx/nginx.conf (updated; lines 3-8, 27-33 of 33)",
                         "+++ after: /etc/nginx/nginx.conf (lines 3-9, 28-34 of 34)"]
    assert [line for line in lines if line.startswith(("+", "-")) and line[:3] not in ("---", "+++")] == [
        "+    include wsproxy.d/*.conf;", "-            return 200;", "+            return 204;"]
    assert "         proxy_set_header <hidden>;" in lines and not any("c2VjcmV0" in line for line in lines)


def test_a_change_of_mode_only_says_so():
    item = {"path": "/etc/nginx/conf.d/a.conf", "state": "file", "content": "x;\n", "mode": "0600"}
    [shown] = _changeset.diff([(item, "updated", "x;\n", "x;\n")])
    assert (shown["before"], shown["after"]) == ("(content unchanged)\n", "(content unchanged; mode 0600)\n")
