# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Controller side, shared by the action plugins: read a host's effective nginx configuration once."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.basic import missing_required_lib
from ansible.plugins.action import ActionBase

from ansible_collections.wsproxy.nginx.plugins.module_utils import _hostfacts
from ansible_collections.wsproxy.nginx.plugins.plugin_utils import _layout, _nginx_config


class HostFailure(Exception):
    """Carries the failed result to return as is."""

    def __init__(self, result):
        super(HostFailure, self).__init__(result.get("msg"))
        self.result = result


def require_crossplane():
    if not _nginx_config.HAS_CROSSPLANE:
        raise HostFailure({"failed": True, "msg": missing_required_lib("crossplane"),
                           "exception": str(_nginx_config.CROSSPLANE_IMPORT_ERROR)})


def read_config(action, task_vars, args):
    """(host facts {version, binary, conf_path}, NginxConfig): one `nginx -V` + `nginx -T` on the host.
    `args` are nginx_info's options (binary, conf_path); the module checks them."""
    require_crossplane()
    host = action._execute_module(module_name="wsproxy.nginx.nginx_info", module_args=args, task_vars=task_vars)
    # Nothing of the read reaches a result but what the actions choose: not the module's arguments (probe_targets
    # may carry request headers), nor, when the module's output could not be parsed, its raw stdout (the dump).
    host.pop("invocation", None)
    if _hostfacts.DUMP_KEY in str(host.get("module_stdout", "")):
        host["module_stdout"] = "(not shown: it holds the configuration nginx -T printed)"
    dump = host.pop(_hostfacts.DUMP_KEY, None)
    dump = _hostfacts.unpack(dump) if dump else dump
    states = host.pop(_hostfacts.STATES_KEY, None) or {}
    if host.get("failed"):
        raise HostFailure(host)
    try:
        config = _nginx_config.NginxConfig.from_dump(host["conf_path"], dump or "")
    except _nginx_config.ConfigError as exc:
        raise HostFailure({"failed": True, "msg": "Cannot read the nginx configuration: %s" % exc})
    config.file_states = states
    return host, config


# What an action that applies files through nginx_files reports of its result.
APPLY_KEYS = ("changed", "files", "checkpoint", "diff", "tested", "reloaded", "rolled_back", "errors", "recovered",
              "rollback", "msg", "failed", "warnings", "draining_workers")

# The result of an action that had nothing to apply (nginx_files was not called).
NOTHING_APPLIED = {"changed": False, "files": [], "checkpoint": None, "tested": False, "reloaded": False,
                   "rolled_back": False, "errors": []}


def take_applied(result, applied):
    """Copy into `result` what nginx_files reported (APPLY_KEYS)."""
    result.update((key, applied[key]) for key in APPLY_KEYS if key in applied)


def apply_files(action, task_vars, files, args, conf_path, managed_marker=None):
    """Run nginx_files on the host with `files` (one transaction) and return its result. `args` are the action's
    validated options: keep, label, reload, reload_timeout, binary, state_dir, lock_timeout."""
    module_args = {
        "files": files,
        "keep": args["keep"],
        "label": args.get("label"),
        "reload": args["reload"],
        "reload_timeout": args["reload_timeout"],
        "binary": args["binary"],
        "conf_path": conf_path,
        "state_dir": args["state_dir"],
        "lock_timeout": args["lock_timeout"],
    }
    if managed_marker is not None:
        module_args["managed_marker"] = managed_marker
    return action._execute_module(module_name="wsproxy.nginx.nginx_files", module_args=module_args, task_vars=task_vars)


class ControllerAction(ActionBase):
    """Base of the collection's action plugins: the work is on the controller, check mode is supported."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def validated(self, argument_spec, result):
        """The task's options checked against `argument_spec`, or None with `result` failed, naming the option."""
        try:
            _validation, args = self.validate_argument_spec(argument_spec=argument_spec)
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=str(exc))
            return None
        return args


class ReadConfigAction(ControllerAction):
    """An action that reads the host's configuration once and reports `analyze(host, config)` (read-only)."""

    def analyze(self, host, config):
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(ReadConfigAction, self).run(tmp, task_vars)
        try:
            host, config = read_config(self, task_vars, self._task.args)
            result.update(host)
            result.update(self.analyze(host, config))
        except HostFailure as failure:
            result.update(failure.result)
            return result
        except _layout.DamagedBlock as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result["changed"] = False
        return result
