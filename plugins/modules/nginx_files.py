#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nginx_files
short_description: Write, link and remove nginx configuration files in one checked transaction
version_added: 0.1.0
description:
  - Applies a set of operations on files of the nginx configuration as one transaction - checkpoint, atomic
    writes, C(nginx -t), confirmed reload, and a byte-identical rollback on any failure (see
    M(wsproxy.nginx.nginx_checkpoint) and M(wsproxy.nginx.nginx_apply)).
  - When nothing would change, it takes no checkpoint and does not reload (C(changed=false)).
  - Never replaces what it does not own - a file without O(managed_marker), a plain file or a foreign link where a
    link belongs, or a file that changed since it was read (O(files[].expect_sha256)) is refused, and nothing
    is changed.
  - M(wsproxy.nginx.websocket_proxy) renders its files on the controller and applies them with this module.
author:
  - wsproxy.nginx contributors (@wsproxy)
extends_documentation_fragment:
  - wsproxy.nginx.nginx
  - wsproxy.nginx.transaction
  - wsproxy.nginx.transaction.CHECKPOINTS
  - wsproxy.nginx.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - Every file created, updated, linked or removed; an updated file shows only its changed lines with three
        lines of context, and lines that may hold a credential are masked (see RV(diff)).
options:
  files:
    description: The operations, applied in order.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file or link.
        type: path
        required: true
      state:
        description: V(file) writes O(files[].content), V(link) makes a symlink to O(files[].target), V(absent) removes.
        type: str
        choices: [file, link, absent]
        default: file
      content:
        description: Content of the file (O(files[].state=file)).
        type: str
      target:
        description:
          - Target of the link (O(files[].state=link)); with O(files[].state=absent), a link is only removed when
            it points there.
        type: str
      mode:
        description:
          - Mode of the file, as an octal string. By default a replaced file keeps its mode and a new one gets
            V(0644). A replaced file always keeps its owner and group.
        type: str
      expect_sha256:
        description:
          - The sha256 of the content this change was computed from; the file is refused if it changed since.
            Replaces the O(managed_marker) check for this file (for a block edited inside a file the user owns).
        type: str
  managed_marker:
    description:
      - A text an existing file must contain before it is replaced or removed.
    type: str
  reload:
    description: Reload nginx (confirmed) after a successful test.
    type: bool
    default: true
seealso:
  - module: wsproxy.nginx.websocket_proxy
  - module: wsproxy.nginx.nginx_apply
"""

EXAMPLES = r"""
- name: Add a snippet and enable a site in one transaction
  wsproxy.nginx.nginx_files:
    managed_marker: "managed by ops"
    files:
      - path: /etc/nginx/conf.d/gzip.conf
        content: |
          # managed by ops
          gzip on;
      - path: /etc/nginx/sites-enabled/app
        state: link
        target: /etc/nginx/sites-available/app
"""

RETURN = r"""
files:
  description: What happened to each path that changed.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
    or a current configuration that fails C(nginx -t) (nothing is changed then; see RV(errors))
  type: list
  elements: dict
  sample: [{path: /etc/nginx/conf.d/gzip.conf, action: created}]
  contains:
    path:
      description: The path.
      type: str
    action:
      description: One of C(created), C(updated), C(linked), C(removed).
      type: str
checkpoint:
  description: Id of the checkpoint taken before the change, or null when nothing changed.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
    or a current configuration that fails C(nginx -t) (nothing is changed then; see RV(errors))
  type: str
tested:
  description: Whether C(nginx -t) ran.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
    or a current configuration that fails C(nginx -t) (nothing is changed then; see RV(errors))
  type: bool
reloaded:
  description: Whether nginx was reloaded and the reload confirmed.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
    or a current configuration that fails C(nginx -t) (nothing is changed then; see RV(errors))
  type: bool
rolled_back:
  description: Whether the checkpoint was restored after a failure.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
    or a current configuration that fails C(nginx -t) (nothing is changed then; see RV(errors))
  type: bool
stale:
  description:
    - True when a file changed between the read its O(files[].expect_sha256) came from and this write (another
      run, an edit); nothing was changed. The collection's action plugins then read the host again and plan anew,
      once.
  returned: when a file changed since it was read
  type: bool
started:
  description: Always false - nginx_files reloads a running nginx and never starts one (M(wsproxy.nginx.nginx_apply)
    with O(wsproxy.nginx.nginx_apply#module:start=true) does).
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
    or a current configuration that fails C(nginx -t) (nothing is changed then; see RV(errors))
  type: bool
method:
  description: How nginx was reloaded (C(systemd), C(signal), C(binary)), or null.
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
    or a current configuration that fails C(nginx -t) (nothing is changed then; see RV(errors))
  type: str
rollback:
  description: What the rollback did (C(checkpoint), C(paths), C(tested), C(reloaded), C(errors)).
  returned: when rolled back
  type: dict
draining_workers:
  description: nginx's old workers still alive after the reload, serving the connections they held.
  returned: when nginx was reloaded
  type: list
  elements: dict
  sample: [{pid: 4242, rss_kb: 5120}]
  contains:
    pid:
      description: Process id.
      type: int
    rss_kb:
      description: Resident memory in KiB.
      type: int
errors:
  description: nginx's own messages about a failure (C(file), C(line), C(message)).
  returned: success, and on any failure but an invalid option (including a O(binary) or O(conf_path) the host lacks)
  type: list
  elements: dict
diff:
  description:
    - In diff mode, one item per path in RV(files), safe to print and to log at any verbosity - it never holds the
      lines of a file that the change does not touch, nor anything that looks like a credential.
    - An updated file - only the changed lines, with three lines of context around each change; C(before) and
      C(after) hold those hunks (apart by a C(...) line), C(before_header) and C(after_header) the path, the action
      and the line ranges shown (C(/etc/nginx/nginx.conf (updated; lines 5-10 of 80))).
    - A created file - its whole content (the collection's own, or the user's own change). A removed file - one line
      saying so, none of its content. A link - its target. A change of mode only - a line saying so.
    - "A line that may hold a credential is shown as its directive name and C(<hidden>) (C(<hidden: old value>) and
      C(<hidden: new value>) where it changed, so a changed secret still shows as a change) - in context, in
      changed lines and in created files alike. That is a line where C(proxy_set_header), C(grpc_set_header),
      C(add_header), C(add_trailer), C(fastcgi_param), C(uwsgi_param), C(scgi_param), C(auth_http_header) or C(set)
      names a header, parameter or variable containing C(auth), C(cookie), C(token), C(secret), C(passw), C(pwd),
      C(key), C(credential), C(session), C(signature), C(jwt), C(csrf) or C(xsrf) (C(Authorization), C(Cookie),
      C(X-Api-Key)...); any argument of C(more_set_headers) or C(more_set_input_headers) does; the directive is
      C(secure_link_secret), C(secure_link_md5) or C(proxy_set_body); or anywhere on the line, comments included,
      an authorization scheme is followed by a value (C(Basic ...), C(Bearer ...), C(Digest ...), C(Negotiate ...),
      C(Token ...)), a C(password), C(passwd), C(pwd), C(secret), C(token), C(key) or C(auth...) name is followed by
      C(=) or C(:), or a URL carries a password (C(://user:pass@))."
    - Paths are shown (C(auth_basic_user_file), C(ssl_certificate_key), C(ssl_password_file)) - a path is not a
      secret. The masking is a heuristic on single lines - a credential split over lines, or in a C(map) entry keyed
      by a cookie value, is not recognized; keep such values in a file the configuration includes, not inline.
  returned: when diff mode is on and something changes
  type: list
  elements: dict
  sample:
    - before_header: /etc/nginx/nginx.conf (updated; lines 5-10 of 80)
      after_header: /etc/nginx/nginx.conf (lines 5-13 of 83)
      before: "    worker_connections 64;\n}\nhttp {\n    server {\n        listen 80;\n        proxy_set_header <hidden>;\n"
      after: "    worker_connections 64;\n}\nhttp {\n    # BEGIN wsproxy.nginx managed block: do not edit\n    include
        /etc/nginx/wsproxy.d/*.conf;\n    # END wsproxy.nginx managed block\n    server {\n        listen 80;\n        proxy_set_header
        <hidden>;\n"
recovered:
  description: Set when the journal of a killed run was found and its checkpoint restored first.
  returned: when an earlier run was recovered
  type: dict
"""

# First import: on a Python older than 3.6 the module stops there with a clear message.
from ansible_collections.wsproxy.nginx.plugins.module_utils import _pyversion  # pylint: disable=unused-import
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.wsproxy.nginx.plugins.module_utils import _changeset, _control, _txn

ARGUMENT_SPEC = dict(
    files=dict(type="list", elements="dict", required=True, options=dict(
        path=dict(type="path", required=True),
        state=dict(type="str", default="file", choices=["file", "link", "absent"]),
        content=dict(type="str"),
        target=dict(type="str"),
        mode=dict(type="str"),
        expect_sha256=dict(type="str"),
    ), required_if=[("state", "file", ["content"]), ("state", "link", ["target"])]),
    managed_marker=dict(type="str"),
    reload=dict(type="bool", default=True),
)


def run(module, host, result, _record):
    """Plan, then (outside check mode) checkpoint, write, test, reload, confirm, commit. `files` and `changed`
    say what was done: nothing is listed before it is written."""
    steps = _changeset.plan(module.params["files"], module.params["managed_marker"])
    if not steps:
        return result
    done = [{"path": item["path"], "action": action} for item, action, _b, _a in steps]
    if module._diff:
        result["diff"] = _changeset.diff(steps)
    if module.check_mode:
        result.update(files=done, changed=True)
        return result
    manifest, _pruned, _open = host.begin(module.params["keep"], label=module.params["label"],
                                          paths=[item["path"] for item in module.params["files"]])
    result["checkpoint"] = manifest["id"]
    try:
        _changeset.apply(steps)
    except (IOError, OSError) as exc:
        report = host.restore(manifest, module.params["reload_timeout"], reload=False)
        host.journal.end()
        result.update(rolled_back=True, rollback=report)
        module.fail_json(msg="Cannot write the change: %s; checkpoint %s restored, nothing changed" % (exc, manifest["id"]),
                         **result)
    result.update(files=done, changed=True)
    host.activate(result, manifest, module.params["reload"], module.params["reload_timeout"], start=False)
    host.commit(manifest)
    return result


def validate(module):
    for item in module.params["files"]:
        if not item["path"].startswith("/"):
            module.fail_json(msg="files[].path=%r: must be an absolute path" % item["path"])
        try:
            int(item["mode"] or "0", 8)
        except ValueError:
            module.fail_json(msg="files[].mode=%r: not an octal mode" % item["mode"])


def main():
    argument_spec = dict(ARGUMENT_SPEC)
    argument_spec.update(_control.NGINX_OPTIONS)
    argument_spec.update(_txn.STATE_OPTIONS)
    argument_spec.update(_txn.CHECKPOINT_OPTIONS)
    # no_log: the module's own syslog/journald entry would carry every file's content (a whole nginx.conf with
    # its credentials); results and diffs are unaffected (the diff masks credentials itself).
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, no_log=True)
    validate(module)
    _txn.check_label(module)
    result = {"changed": False, "files": [], "checkpoint": None, "tested": False, "reloaded": False,
              "started": False, "rolled_back": False, "method": None, "errors": []}
    _txn.run_locked(module, result, lambda host, res, record: run(module, host, res, record))


if __name__ == "__main__":
    main()
