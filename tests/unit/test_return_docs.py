# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RETURN is complete and true. Every module runs through ansible (action plugin and module, as in a playbook)
against a real nginx on loopback, on its success paths and on its failure paths (an invalid option, a failure on
the host); then every top-level key it returned must be documented in its RETURN, every key documented
`returned: always` must be there on every path, success and failure alike, and every key documented
`returned: success` (or "success, and when ...") on every path that succeeded.

One ansible-playbook run for all the modules - a play per module, its paths the tasks in order, each with
ignore_errors; an nginx and a WebSocket backend per module - about 60 module executions in all."""

import ast
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import RunningNginx, free_port
from wsbackend import EchoBackend

MODULES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "plugins", "modules")

# Keys that Ansible puts into every task result, or that AnsibleModule's exit_json/fail_json and warn/deprecate
# add: they are Ansible's, documented by Ansible, never in a module's RETURN. `diff` is not one of them: a module
# that returns it documents it (its shape is the module's). Keys starting with `_ansible_` are Ansible's too.
ANSIBLE_KEYS = frozenset(["action", "changed", "failed", "msg", "invocation", "warnings", "deprecations", "exception",
                          "skipped", "skip_reason"])
# What a module that crashed returns instead of its result: never a documented path.
CRASH_KEYS = frozenset(["module_stdout", "module_stderr", "rc"])


def _documented(path):
    """The module's RETURN, parsed (without importing the module)."""
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "RETURN" for t in node.targets):
            return yaml.safe_load(node.value.value) or {}
    return {}


RETURNS = dict((os.path.basename(path)[:-3], _documented(path))
               for path in sorted(glob.glob(os.path.join(MODULES, "*.py"))) if not path.endswith("__init__.py"))


def _returned(module, when):
    """The keys documented `returned: always`, or `returned: success` (also "success, and when ...")."""
    found = []
    for key, doc in RETURNS[module].items():
        returned = " ".join(str(doc.get("returned", "")).split())
        if returned == when or (when == "success" and returned.startswith("success,")):
            found.append(key)
    return sorted(found)


# --- the paths of each module ------------------------------------------------------------------------------------
# Each path: (label, module options, expect "ok" or "failed", task keywords such as check_mode or diff). A step
# that prepares the next paths is (label, {module: options}, "setup", keywords): not a path of the module.

_HANDED_OUT = set()


def _port():
    """A free port no other path of this run was given: the sites are placed only when the playbook runs."""
    while True:
        port = free_port()
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


BROKEN = "server {\n    listen 127.0.0.1:%d;\n    proxy_pas nowhere;\n}\n"


def _site_file(port, body):
    return RunningNginx.SITE % (port, body)


def _write(label, path, content):
    return ("setup: " + label, {"ansible.builtin.copy": {"dest": path, "content": content}}, "setup", {})


def _setup_broken(host):
    return _write("a file that fails nginx -t", host.tree.path("etc/nginx/conf.d/broken.conf"), BROKEN % _port())


def _nginx_info(host, backend):
    return [
        ("success", host.args(tcp_check=["127.0.0.1:%d" % _port()], stat_paths=[host.conf_path, "/nonexistent"],
                              probe_targets=[{"url": "ws://127.0.0.1:%d/socket" % backend.port, "echo_text": "hi"}]),
         "ok", {}),
        ("invalid option (tcp_timeout)", host.args(tcp_timeout="soon"), "failed", {}),
        ("invalid option (probe_targets[0] has no url)", host.args(probe_targets=[{"echo_text": "hi"}]), "failed", {}),
        _setup_broken(host),
        ("the current configuration fails nginx -t", host.args(), "failed", {}),
    ]


def _websocket_proxy_info(host, backend):
    return [
        ("success", host.args(), "ok", {}),
        ("invalid option (lock_timeout)", host.args(lock_timeout="soon"), "failed", {}),
        _setup_broken(host),
        ("the current configuration fails nginx -t", host.args(), "failed", {}),
    ]


def _nginx_checkpoint_info(host, backend):
    journal = os.path.join(host.state_dir, "journal.json")
    return [
        ("success, no state directory", {"state_dir": host.state_dir}, "ok", {}),
        ("setup: the state directory",
         {"ansible.builtin.file": {"path": host.state_dir, "state": "directory", "mode": "0700"}}, "setup", {}),
        _write("a damaged journal", journal, "{not json"),
        ("success, a damaged journal", {"state_dir": host.state_dir}, "ok", {}),
        ("invalid option (lock_timeout)", {"state_dir": host.state_dir, "lock_timeout": "soon"}, "failed", {}),
    ]


def _nginx_checkpoint(host, backend):
    cid = "{{ taken.checkpoint.id }}"
    return [
        ("present in check mode", host.args(), "ok", {"check_mode": True}),
        ("present", host.args(), "ok", {"register": "taken"}),
        # The transaction `present` opened is the playbook run's (its lease): another run waits, then fails.
        ("absent of the open transaction's checkpoint", host.args(state="absent", id=cid, lock_timeout=1),
         "failed", {}),
        _write("an edit", host.site_path, _site_file(host.port, "edited")),
        ("restored in check mode", host.args(state="restored", id=cid), "ok", {"check_mode": True, "diff": True}),
        ("restored", host.args(state="restored", id=cid), "ok", {"diff": True}),
        ("restored, an unknown checkpoint", host.args(state="restored", id="20000101T000000.000000Z-000000"),
         "failed", {}),
        # A change applied after a second checkpoint, then an edit by hand: restoring the first would lose it.
        ("present, a second checkpoint", host.args(), "ok", {}),
        _write("a change", host.site_path, _site_file(host.port, "changed")),
        ("setup: apply it", {"wsproxy.nginx.nginx_apply": host.args()}, "setup", {}),
        _write("an edit by hand", host.site_path, _site_file(host.port, "by hand")),
        ("restored, refused: edited since the last change", host.args(state="restored", id=cid), "failed", {}),
        ("absent", host.args(state="absent", id=cid), "ok", {}),
        ("invalid option (keep)", host.args(keep=0), "failed", {}),
        _setup_broken(host),
        ("present, the current configuration fails nginx -t", host.args(), "failed", {}),
    ]


def _nginx_files(host, backend):
    extra = host.tree.path("etc/nginx/conf.d/extra.conf")
    new = [{"path": extra, "content": _site_file(_port(), "extra")}]
    return [
        ("a change in check mode", host.args(files=new), "ok", {"check_mode": True, "diff": True}),
        ("a change", host.args(files=new, reload_timeout=5), "ok", {"diff": True}),
        ("nothing to change", host.args(files=new), "ok", {}),
        ("invalid option (files[0].mode)", host.args(files=[dict(new[0], mode="rw")]), "failed", {}),
        ("nginx -t fails: rolled back",
         host.args(files=[{"path": extra, "content": BROKEN % _port()}]), "failed", {}),
        _setup_broken(host),
        ("the current configuration fails nginx -t",
         host.args(files=[{"path": extra, "content": _site_file(_port(), "other")}]), "failed", {}),
    ]


def _nginx_apply(host, backend):
    return [
        ("success in check mode", host.args(), "ok", {"check_mode": True}),
        ("success: tested and reloaded", host.args(reload_timeout=5), "ok", {}),
        ("invalid option (reload_timeout)", host.args(reload_timeout=0), "failed", {}),
        _setup_broken(host),
        ("nginx -t fails", host.args(), "failed", {}),
    ]


def _nginx_workers(host, backend):
    return [
        ("a change in check mode", host.args(worker_connections=256), "ok", {"check_mode": True, "diff": True}),
        ("a change", host.args(worker_connections=128, reload_timeout=5), "ok", {"diff": True}),
        ("nothing to change", host.args(worker_connections=128), "ok", {}),
        ("invalid option (worker_shutdown_timeout)", host.args(worker_shutdown_timeout="soon"), "failed", {}),
        ("invalid option (worker_connections)", host.args(worker_connections="many"), "failed", {}),
        _setup_broken(host),
        ("the current configuration fails nginx -t", host.args(worker_connections=256), "failed", {}),
    ]


def _site(host, backend, port, **extra):
    site = {"name": "chat", "server_name": ["chat.test"], "listen": ["127.0.0.1:%d" % port],
            "upstream": ["127.0.0.1:%d" % backend.port], "locations": [{"path": "/"}]}
    site.update(extra)
    return site


def _websocket_proxy(host, backend):
    port = _port()
    return [
        ("a change in check mode", host.args(**_site(host, backend, port)), "ok", {"check_mode": True, "diff": True}),
        ("a change", host.args(reload_timeout=5, **_site(host, backend, port)), "ok", {"diff": True}),
        ("nothing to change", host.args(**_site(host, backend, port)), "ok", {}),
        ("invalid option (server_name)", host.args(**_site(host, backend, port, server_name=["chat.test;x"])),
         "failed", {}),
        ("invalid option (an unknown one)", host.args(no_such_option=True, **_site(host, backend, port)),
         "failed", {}),
        ("a backend refuses connections (check_backends)",
         host.args(check_backends=True, **_site(host, backend, port, upstream=["127.0.0.1:%d" % _port()])),
         "failed", {}),
        ("the reload fails (a port in use): rolled back",
         host.args(reload_timeout=5, **_site(host, backend, backend.port)), "failed", {}),
        _setup_broken(host),
        ("the current configuration fails nginx -t", host.args(**_site(host, backend, _port())), "failed", {}),
    ]


def _websocket_proxy_sites(host, backend):
    port = _port()
    target = [{"url": "ws://127.0.0.1:%d/socket" % port, "host": "chat.test", "echo_text": "hi"}]
    return [
        ("a change in check mode", host.args(sites=[_site(host, backend, port)]), "ok",
         {"check_mode": True, "diff": True}),
        ("a change", host.args(sites=[_site(host, backend, port)], reload_timeout=5), "ok", {"diff": True}),
        ("nothing to change, probed", host.args(sites=[_site(host, backend, port)], probe_targets=target), "ok", {}),
        ("invalid option (sites[0].server_name)",
         host.args(sites=[_site(host, backend, port, server_name=["chat.test;x"])]), "failed", {}),
        ("invalid option (worker_connections)", host.args(sites=[], worker_connections="many"), "failed", {}),
        ("a backend refuses connections (check_backends)",
         host.args(check_backends=True, sites=[_site(host, backend, port, upstream=["127.0.0.1:%d" % _port()])]),
         "failed", {}),
        ("the reload fails (a port in use): rolled back",
         host.args(sites=[_site(host, backend, backend.port)], reload_timeout=5), "failed", {}),
        _setup_broken(host),
        ("the current configuration fails nginx -t", host.args(sites=[_site(host, backend, _port())]),
         "failed", {}),
    ]


def _websocket_probe(host, backend):
    good = {"url": "ws://127.0.0.1:%d/socket" % backend.port, "echo_text": "hi"}
    closed = "ws://127.0.0.1:%d/socket" % _port()
    bad = {"url": closed, "backend_url": closed, "timeout": 2}
    return [
        ("a handshake and its echo", good, "ok", {}),
        ("targets", {"targets": [dict(good, site="chat")]}, "ok", {}),
        ("the proxy and the backend are down", bad, "failed", {}),
        ("targets, one fails", {"targets": [good, {"url": closed, "backend_url": closed}], "timeout": 2},
         "failed", {}),
        ("invalid option (url)", {"url": "ftp://127.0.0.1/"}, "failed", {}),
        ("invalid option (url and targets)", {"url": good["url"], "targets": [good]}, "failed", {}),
    ]


PATHS = {
    "nginx_apply": _nginx_apply,
    "nginx_checkpoint": _nginx_checkpoint,
    "nginx_checkpoint_info": _nginx_checkpoint_info,
    "nginx_files": _nginx_files,
    "nginx_info": _nginx_info,
    "nginx_workers": _nginx_workers,
    "websocket_probe": _websocket_probe,
    "websocket_proxy": _websocket_proxy,
    "websocket_proxy_info": _websocket_proxy_info,
    "websocket_proxy_sites": _websocket_proxy_sites,
}


# --- running them --------------------------------------------------------------------------------------------------

def _play(module, paths):
    tasks = []
    for label, args, expect, keywords in paths:
        task = {"name": label, "ignore_errors": True}  # a failed task would drop localhost from the later plays
        task.update(args if expect == "setup" else {"wsproxy.nginx." + module: args})
        task.update(keywords)
        tasks.append(task)
    return {"name": module, "hosts": "localhost", "gather_facts": False, "tasks": tasks}


def _check(module, paths, tasks):
    """{label: result} of the module's paths, or a message naming the path that went another way."""
    results = dict((task["task"]["name"], task["hosts"]["localhost"]) for task in tasks)
    found = {}
    for label, _args, expect, _keywords in paths:
        result = results.get(label)
        if result is None:
            return "%s: path %r did not run" % (module, label)
        if CRASH_KEYS & set(result):
            return "%s: path %r crashed: %s" % (module, label, result)
        failed = bool(result.get("failed"))
        if expect == "setup":
            if failed:
                return "%s: %s failed: %s" % (module, label, result)
            continue
        if failed != (expect == "failed"):
            return "%s: path %r was expected to be %s: %s" % (module, label, expect, result)
        found[label] = result
    return found


def _stop(host):
    """RunningNginx.stop() sends `nginx -s stop`, which parses the configuration first: after a path that left it
    failing nginx -t, nginx would go on running. Then its master is stopped by its pid."""
    pid = host.master_pid()
    host.stop()
    try:
        with open("/proc/%d/cmdline" % pid) as handle:
            ours = host.conf_path in handle.read()
    except (TypeError, IOError):
        return
    if ours:
        os.kill(pid, signal.SIGTERM)
        for dummy in range(50):
            if not os.path.exists("/proc/%d" % pid):
                return
            time.sleep(0.1)


def _run(workdir, modules):
    """{module: {label: result} or a message}: the paths of `modules` in one ansible-playbook run (a play per
    module, each with an nginx and a WebSocket backend of its own)."""
    hosts, backends, plays, paths = [], [], [], {}
    try:
        for module in modules:  # every nginx and backend listens before the paths take their free ports
            hosts.append(RunningNginx(os.path.join(workdir, module)))
            hosts[-1].start()
            backends.append(EchoBackend())
        for module, host, backend in zip(modules, hosts, backends):
            paths[module] = PATHS[module](host, backend)
            plays.append(_play(module, paths[module]))
        playbook = os.path.join(workdir, "paths.yml")
        with open(playbook, "w") as handle:
            yaml.safe_dump(plays, handle)
        env = dict(os.environ)
        env.pop("WSPROXY_TEST_KILL_AT", None)
        env.update(ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                   ANSIBLE_PYTHON_INTERPRETER="/usr/bin/python3", ANSIBLE_LOCALHOST_WARNING="0",
                   ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook],
                              capture_output=True, text=True, env=env, check=False, cwd=workdir)
    finally:
        for backend in backends:
            backend.stop()
        for host in hosts:
            _stop(host)
    try:
        played = dict((play["play"]["name"], play["tasks"]) for play in json.loads(proc.stdout)["plays"])
    except (ValueError, KeyError):
        played = {}
    found = {}
    for module in modules:
        found[module] = _check(module, paths[module], played[module]) if module in played else \
            "%s: ansible-playbook did not run its play: %s %s" % (module, proc.stdout[-2000:], proc.stderr[-2000:])
    return found


_OUTCOMES = {}


def outcomes(request, module):
    """{label: result} of the module's paths. The first call runs the paths of every module the session's tests
    name, in one ansible-playbook run."""
    if module not in _OUTCOMES:
        # Only this file's tests: other files parametrize a "module" of their own (FQCNs, say).
        wanted = set([module]) | set(item.callspec.params["module"] for item in request.session.items
                                     if item.fspath == request.node.fspath
                                     and "module" in getattr(getattr(item, "callspec", None), "params", {}))
        wanted = sorted(name for name in wanted if name in PATHS and name not in _OUTCOMES)
        _OUTCOMES.update(_run(str(request.getfixturevalue("tmp_path_factory").mktemp("paths")), wanted))
    found = _OUTCOMES[module]
    if isinstance(found, str):
        pytest.fail(found)
    return found


# --- the tests -----------------------------------------------------------------------------------------------------

def test_every_module_has_its_paths(tmp_path):
    """Every module of plugins/modules has paths here, at least one that succeeds and one that fails."""
    assert sorted(PATHS) == sorted(RETURNS)
    host = RunningNginx(tmp_path / "host")  # not started: only its paths are used
    backend = EchoBackend()
    try:
        for module, make in PATHS.items():
            paths = make(host, backend)
            expected = [path[2] for path in paths]
            assert "ok" in expected and "failed" in expected, module
            labels = [path[0] for path in paths]
            assert len(set(labels)) == len(labels), module  # a result is found by its task's name
    finally:
        backend.stop()


@pytest.mark.parametrize("module", sorted(RETURNS))
def test_every_returned_key_is_documented(request, module):
    undocumented = {}
    for label, result in outcomes(request, module).items():
        for key in sorted(set(result) - set(RETURNS[module]) - ANSIBLE_KEYS):
            if not key.startswith("_ansible_"):
                undocumented.setdefault(key, []).append(label)
    assert not undocumented, "%s returns keys its RETURN does not document: %s" % (
        module, "; ".join("%s (%s)" % (key, ", ".join(labels)) for key, labels in sorted(undocumented.items())))


@pytest.mark.parametrize("module,key,when", [(module, key, when) for module in sorted(RETURNS)
                                             for when in ("always", "success") for key in _returned(module, when)])
def test_a_key_documented_always_or_success_is_returned_then(request, module, key, when):
    """`returned: always` - on every path, success and failure alike; `returned: success` - on every success."""
    missing = [label for label, result in outcomes(request, module).items()
               if key not in result and (when == "always" or not result.get("failed"))]
    assert not missing, "%s: %r is documented returned: %s, but is missing on: %s" % (
        module, key, RETURNS[module][key]["returned"], "; ".join(missing))
