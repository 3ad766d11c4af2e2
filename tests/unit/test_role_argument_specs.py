# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's site options are websocket_proxy's, all the way down: a typo in a site dict fails before any host."""

import os
import sys

import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))
import role_argument_specs  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.wsproxy.nginx.plugins.module_utils import _wsspec  # noqa: E402


def _names(spec):
    return dict((name, _names(option.get("options", {}))) for name, option in spec.items())


def test_the_role_spec_is_generated_from_the_module_documentation():
    assert role_argument_specs.main(["--check"]) == 0


def test_the_role_site_options_are_the_module_site_options_all_the_way_down():
    with open(role_argument_specs.SPECS) as handle:
        specs = yaml.safe_load(handle)
    sites = specs["argument_specs"]["main"]["options"]["websocket_proxy_sites"]["options"]
    assert _names(sites) == _names(_wsspec.SITE_OPTIONS)


def test_an_unknown_key_in_a_site_or_a_location_fails_naming_it():
    with open(role_argument_specs.SPECS) as handle:
        options = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    validator = ArgumentSpecValidator(options)
    good = validator.validate({"websocket_proxy_sites": [{"name": "chat", "upstream": ["127.0.0.1:3000"]}]})
    assert not good.error_messages
    typo = validator.validate({"websocket_proxy_sites": [{"name": "chat", "upstreams": ["127.0.0.1:3000"]}]})
    assert any("upstreams" in message for message in typo.error_messages), typo.error_messages
    nested = validator.validate({"websocket_proxy_sites": [{"name": "chat", "locations": [{"path": "/", "socket_io": True}]}]})
    assert any("socket_io" in message for message in nested.error_messages), nested.error_messages
