# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""websocket_proxy_info's lint over real WebSocket configurations that public projects ship or document (#14).

Each directory of tests/unit/fixtures/lint_corpus holds one: site.conf (the project's text, with only the edits
needed to pass `nginx -t` offline, listed in PROVENANCE beside it) and expected.yml, the findings judged by hand.
site.conf is included in the http block of a stock nginx.org layout and read back through the real `nginx -T`.
Every error and warning must be exactly the expected ones; info findings (what depends on the application) must be
among those listed."""

import os
import subprocess

import pytest
import yaml

from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _lint
from ansible_collections.wsproxy.nginx.plugins.plugin_utils._nginx_config import NginxConfig

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "lint_corpus")
NAMES = sorted(name for name in os.listdir(CORPUS) if os.path.isdir(os.path.join(CORPUS, name)))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A throwaway self-signed pair for the configurations that serve TLS."""
    directory = tmp_path_factory.mktemp("cert")
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    proc = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=corpus.test",
                           "-days", "1", "-keyout", key, "-out", cert], capture_output=True, check=False)
    if proc.returncode != 0:
        pytest.skip("openssl is not available")
    return cert, key


def read(name, filename):
    with open(os.path.join(CORPUS, name, filename)) as handle:
        return handle.read()


def lint_corpus(layout, certificate, name):
    tree = layout("nginxorg")
    os.remove(tree.path("etc/nginx/conf.d/default.conf"))  # the stock site: not part of the project's config
    text = read(name, "site.conf").replace("@CERT@", certificate[0]).replace("@KEY@", certificate[1])
    site = tree.write("etc/nginx/conf.d/site.conf", text)
    result = _lint.lint(NginxConfig.from_dump(tree.conf_path, tree.dump()), "1.22.1")
    return result, site


def test_the_corpus_is_large_enough_and_documented():
    assert len(NAMES) >= 12
    for name in NAMES:
        provenance = read(name, "PROVENANCE")
        assert "project:" in provenance and ("commit:" in provenance or "url:" in provenance), name
        assert "edits to pass nginx -t offline:" in provenance, name


@pytest.mark.parametrize("name", NAMES)
def test_every_error_and_warning_on_real_configurations_is_right(layout, certificate, name):
    expected = yaml.safe_load(read(name, "expected.yml"))
    result, site = lint_corpus(layout, certificate, name)
    found = [(f["id"], f["severity"], item["path"]) for item in result["locations"] for f in item["findings"]
             if item["file"] == site or item["path"] is None]
    serious = sorted(item for item in found if item[1] != "info")
    assert serious == sorted((e["id"], e["severity"], e["location"]) for e in expected["errors_and_warnings"])
    listed = set((e["id"], e["location"]) for e in expected["info"])
    assert set((finding, path) for finding, severity, path in found if severity == "info") <= listed
    assert result["findings_total"] == len(serious)
