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
