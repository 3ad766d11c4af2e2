# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading `nginx -T` output: the split into files and the include globs, checked against a real nginx."""

import pytest

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _nginx_config


def test_split_dump_gives_every_file_byte_for_byte_in_load_order(layout):
    tree = layout("debian")
    files = _nginx_config.split_dump(tree.dump())
    assert [tree.rel(path) for path in files] == [
        "/etc/nginx/nginx.conf",
        "/etc/nginx/mime.types",
        "/etc/nginx/sites-enabled/default",
    ]
    for path, content in files.items():
        with open(path) as handle:
            assert handle.read() == content


def test_split_dump_keeps_a_file_without_final_newline(layout):
    tree = layout("nginxorg")
    tree.write("etc/nginx/conf.d/tail.conf", "server { listen 8089; }")
    files = _nginx_config.split_dump(tree.dump())
    assert files[tree.path("etc/nginx/conf.d/tail.conf")] == "server { listen 8089; }"


def test_empty_dump_is_an_error():
    with pytest.raises(_nginx_config.ConfigError, match="lists no configuration file"):
        _nginx_config.split_dump("nginx: the configuration file /x syntax is ok\n")


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/a.conf", True),
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/sub/a.conf", False),  # `*` never crosses `/`
        ("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/.a.conf", False),  # dot files need an explicit dot
        ("/etc/nginx/sites-*/*", "/etc/nginx/sites-enabled/x", True),
        ("/etc/nginx/conf.d/?.conf", "/etc/nginx/conf.d/ab.conf", False),
        ("/etc/nginx/conf.d/[ab].conf", "/etc/nginx/conf.d/b.conf", True),
    ],
)
def test_glob_matches_like_glob3(pattern, path, expected):
    assert _nginx_config.resolve_include(pattern, [path]) == ([path] if expected else [])


def test_glob_results_are_sorted_and_match_what_nginx_loaded(layout):
    tree = layout("nginxorg")
    for name in ("b.conf", "a.conf", "c.txt"):
        tree.write("etc/nginx/conf.d/" + name, "# %s\n" % name)
    config = _nginx_config.NginxConfig.from_dump(tree.conf_path, tree.dump())
    loaded = [include["files"] for include in config.includes if include["pattern"].endswith("*.conf")][0]
    assert [tree.rel(p) for p in loaded] == ["/etc/nginx/conf.d/a.conf", "/etc/nginx/conf.d/b.conf", "/etc/nginx/conf.d/default.conf"]
    # What nginx itself printed, in its order, is what the walk visited.
    assert list(config.files)[2:5] == loaded


def test_no_temporary_copy_of_the_config_is_left_behind(layout, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    tree = layout("debian")
    _nginx_config.NginxConfig.from_dump(tree.conf_path, tree.dump())
    assert list((tmp_path / "tmp").iterdir()) == []
