# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target-side helpers: reading nginx -V and nginx's messages (real nginx where it can run, the process
boundary mocked only for builds this machine does not have)."""

import pytest

from ansible_collections.wsproxy.nginx.plugins.module_utils import _nginx
from conftest import NGINX, nginx


class FakeModule(object):
    """Stands in for AnsibleModule at the process boundary: run_command answers what a given build prints."""

    def __init__(self, output=None, rc=0):
        self.output = output
        self.rc = rc

    def run_command(self, args):
        if self.output is None:
            proc = nginx(*args[1:])
            return proc.returncode, proc.stdout, proc.stderr
        return self.rc, "", self.output

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs["msg"])


def test_version_info_of_the_real_nginx():
    info = _nginx.version_info(FakeModule(), NGINX)
    assert info["configure_conf_path"] == "/etc/nginx/nginx.conf"
    assert info["version"] == nginx("-v").stderr.split("/")[1].split()[0]


@pytest.mark.parametrize(
    "output, version, conf_path",
    [
        ("nginx version: nginx/1.24.0 (Ubuntu)\nconfigure arguments: --with-cc-opt='-g -O2' --conf-path=/etc/nginx/nginx.conf\n",
         "1.24.0", "/etc/nginx/nginx.conf"),
        ("nginx version: openresty/1.21.4.1\nconfigure arguments: --prefix=/usr/local/openresty/nginx\n",
         "1.21.4.1", "/usr/local/openresty/nginx/conf/nginx.conf"),
        ("nginx version: nginx/1.27.3\nbuilt by gcc 12\nconfigure arguments: --prefix=/opt/ng/ --conf-path=conf/main.conf\n",
         "1.27.3", "/opt/ng/conf/main.conf"),
        ("nginx version: nginx/1.26.1\n", "1.26.1", "/usr/local/nginx/conf/nginx.conf"),
    ],
)
def test_version_info_of_other_builds(output, version, conf_path):
    info = _nginx.version_info(FakeModule(output), "/usr/sbin/nginx")
    assert (info["version"], info["configure_conf_path"]) == (version, conf_path)


def test_version_info_fails_clearly_on_garbage():
    with pytest.raises(AssertionError, match="Could not read the nginx version"):
        _nginx.version_info(FakeModule("segmentation fault", rc=139), "/usr/sbin/nginx")


def test_errors_of_a_real_failed_test(layout):
    tree = layout("noinclude")
    tree.write("etc/nginx/nginx.conf", "events {}\nhttp {\n  server {\n    listen 80\n  }\n}\n")
    proc = nginx("-t", "-c", tree.conf_path)
    assert proc.returncode != 0
    errors = _nginx.errors_of(proc.stderr)
    assert len(errors) == 1
    assert errors[0]["file"] == tree.conf_path and errors[0]["line"] == 5
    assert "unexpected" in errors[0]["message"]
    assert _nginx.describe_errors(errors, proc.stderr) == "%s in %s:5" % (errors[0]["message"], tree.conf_path)


def test_parse_messages_keeps_levels_and_messages_without_location():
    stderr = (
        "nginx: [warn] conflicting server name \"a\" on 0.0.0.0:80, ignored\n"
        "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\n"
        "2026/11/27 03:39:46 [emerg] 29597#29597: unexpected \"}\" in /etc/nginx/sites-enabled/app:12\n"
        "nginx: configuration file /etc/nginx/nginx.conf test failed\n"
    )
    assert _nginx.parse_messages(stderr) == [
        {"level": "warn", "message": 'conflicting server name "a" on 0.0.0.0:80, ignored', "file": None, "line": None},
        {"level": "emerg", "message": "bind() to 0.0.0.0:80 failed (98: Address already in use)", "file": None, "line": None},
        {"level": "emerg", "message": 'unexpected "}"', "file": "/etc/nginx/sites-enabled/app", "line": 12},
    ]
    assert _nginx.errors_of(stderr) == [
        {"file": None, "line": None, "message": "bind() to 0.0.0.0:80 failed (98: Address already in use)"},
        {"file": "/etc/nginx/sites-enabled/app", "line": 12, "message": 'unexpected "}"'},
    ]
    assert _nginx.describe_errors([], "  nginx said something odd\n") == "nginx said something odd"
