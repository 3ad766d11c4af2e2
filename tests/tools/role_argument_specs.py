# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's `websocket_proxy_sites` options, all the way down, from the one description of a site: the
documentation of wsproxy.nginx.websocket_proxy (whose options sanity checks against _wsspec.SITE_OPTIONS).

    python tests/tools/role_argument_specs.py          # rewrite roles/websocket_proxy/meta/argument_specs.yml
    python tests/tools/role_argument_specs.py --check  # exit 1 when it is out of date (a unit test runs this)
"""

import ast
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE = os.path.join(ROOT, "plugins", "modules", "websocket_proxy.py")
SPECS = os.path.join(ROOT, "roles", "websocket_proxy", "meta", "argument_specs.yml")
# Options of websocket_proxy that are not site options (they belong to the run, set by role variables).
RUN_OPTIONS = ("check_backends", "reload", "binary", "conf_path", "state_dir", "lock_timeout", "reload_timeout",
               "keep", "label")
# Keys an argument spec takes (documentation-only keys such as version_added are left out).
SPEC_KEYS = ("description", "type", "elements", "required", "default", "choices", "aliases")
HEADER = "---\n# The options under websocket_proxy_sites are generated from wsproxy.nginx.websocket_proxy's documentation:\n" \
         "# edit that, then run tests/tools/role_argument_specs.py.\n"


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key, as yamllint (ansible-lint) wants them."""

    def increase_indent(self, flow=False, indentless=False):
        return super(_Dumper, self).increase_indent(flow, False)


def module_documentation():
    with open(MODULE) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "DOCUMENTATION":
            return yaml.safe_load(node.value.value)
    raise SystemExit("no DOCUMENTATION in %s" % MODULE)


# O(name), O(name.sub=value), O(name[].sub): a reference to an option of the module itself (no `#`).
_OPTION_REF = re.compile(r"O\(([a-z_][^#)]*)\)")


def _references(text, site_names):
    """The module's O() references as the role's: a site option is under websocket_proxy_sites[], a run option
    stays the module's (antsibull-docs resolves O() from the top of the role's entry point)."""

    def _rewrite(match):
        ref = match.group(1)
        top = re.split(r"[.=\[]", ref, 1)[0]
        if top in site_names:
            return "O(websocket_proxy_sites[].%s)" % ref
        return "O(wsproxy.nginx.websocket_proxy#module:%s)" % ref

    return _OPTION_REF.sub(_rewrite, text)


def _spec(option, site_names):
    spec = dict((key, option[key]) for key in SPEC_KEYS if key in option)
    if "description" in spec:
        description = spec["description"]
        spec["description"] = [_references(line, site_names) for line in description] \
            if isinstance(description, list) else _references(description, site_names)
    if "suboptions" in option:
        spec["options"] = dict((name, _spec(sub, site_names)) for name, sub in option["suboptions"].items())
    return spec


def site_options():
    options = module_documentation()["options"]
    site_names = [name for name in options if name not in RUN_OPTIONS]
    return dict((name, _spec(options[name], site_names)) for name in site_names)


def wanted():
    with open(SPECS) as handle:
        specs = yaml.safe_load(handle)
    specs["argument_specs"]["main"]["options"]["websocket_proxy_sites"]["options"] = site_options()
    return specs


def main(argv):
    specs = wanted()
    if "--check" in argv:
        with open(SPECS) as handle:
            if yaml.safe_load(handle) != specs:
                print("%s is out of date: run %s" % (SPECS, __file__))
                return 1
        return 0
    with open(SPECS, "w") as handle:
        handle.write(HEADER + yaml.dump(specs, Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
