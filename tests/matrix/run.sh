#!/usr/bin/env bash
# `make matrix`: ansible-test sanity and the unit tests that depend on the core, on an ansible-core other than
# the pinned one of .venv (see README.md in this folder).
#   run.sh CORE host [STEP...]      a venv .tmp/core-CORE on this machine's Python (2.16: Python 3.10-3.12)
#   run.sh CORE debian13 [STEP...]  the same in a container of localhost/wsproxy-debian13 (Python 3.13), for a
#                                   core that needs a newer Python than Debian 12 has (2.20 and later: >= 3.12);
#                                   its venv is baked into localhost/wsproxy-matrix-CORE, rebuilt when
#                                   requirements-CORE.txt changes
# Either pins everything in tests/matrix/requirements-CORE.txt. STEPs: floor (needs vermin in the
# requirements), sanity, unit; default: sanity unit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
core=${1:?usage: run.sh CORE host|debian13 [STEP...]}
where=${2:?usage: run.sh CORE host|debian13 [STEP...]}
shift 2
[ $# -gt 0 ] || set -- sanity unit
steps=("$@")
requirements=$here/requirements-$core.txt
work=$root/.tmp/matrix/$core
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/tests/containers.conf}

log() { printf '[matrix %s] %s\n' "$core" "$*"; }

[ -f "$requirements" ] || { echo "no $requirements" >&2; exit 2; }

# The unit tests on this core: those whose outcome can depend on the core. Left out (UNIT_SKIP), as the same on
# every core: the transaction machinery (checkpoint, apply, restore, kill points, lock contention, a full disk,
# read-only mounts), the WebSocket/Socket.IO probe client and crossplane on large configs: the collection's own
# code, on the managed node or in the parser, through many real nginx runs. Their contact with the core
# (AnsibleModule's argument handling, the action plugins, results, no_log, check mode and diff) is the same
# as in the module tests kept. websocket_proxy_sites shares its action plugin code with websocket_proxy
# (plugin_utils/_siterun.py), so only its module_defaults test runs (UNIT_ALSO). New test files run on
# every core unless listed here.
UNIT_SKIP=(
  tests/unit/plugins/modules/test_transaction.py
  tests/unit/plugins/modules/test_transaction_edges.py
  tests/unit/plugins/modules/test_websocket_probe_socketio.py
  tests/unit/plugins/modules/test_websocket_proxy_sites.py
  tests/unit/plugins/plugin_utils/test_large_config.py
)
UNIT_ALSO=(
  tests/unit/plugins/modules/test_websocket_proxy_sites.py::test_module_defaults_of_the_action_group_reach_every_module
)

unit_args() {
  local path
  while IFS= read -r path; do
    case " ${UNIT_SKIP[*]} " in *" $path "*) ;; *) echo "$path" ;; esac
  done < <(cd "$root" && find tests/unit -name 'test_*.py' | sort)
  printf '%s\n' "${UNIT_ALSO[@]}"
}

# ansible.posix (the json stdout callback the unit tests read) from the pinned `ansible` of .venv, next to the
# collection itself: a core without the `ansible` package finds it there.
posix_collection() {
  local source
  source=$("$root/.venv/bin/python" -c 'import ansible_collections.ansible.posix as p; print(list(p.__path__)[0])')
  rm -rf "$work/collections" && mkdir -p "$work/collections/ansible_collections/ansible"
  rsync -a --exclude __pycache__ "$source/" "$work/collections/ansible_collections/ansible/posix/"
}

# A copy under ansible_collections/wsproxy/nginx, as ansible-test wants it, and a git repository of its own
# (nothing committed: ansible-test lists tracked and untracked files alike) so that it does not take the
# enclosing checkout's git for the collection's.
sanity_copy() {
  local copy=$work/sanity/ansible_collections/wsproxy/nginx
  rm -rf "$work/sanity" && mkdir -p "$copy"
  rsync -a --exclude .git --exclude .venv --exclude .tmp --exclude .ansible "$root/" "$copy/"
  git -C "$copy" init -q
}

# Inside the host venv or the container: the steps themselves. $1 = python of the core's venv.
run_steps() {
  local python=$1 bin pyver pip_version start unit
  bin=$(dirname "$python")
  pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  log "ansible-core $("$python" -c 'from ansible.release import __version__; print(__version__)') on Python $pyver"
  for step in "${steps[@]}"; do
    start=$SECONDS
    case $step in
      floor)
        # The managed-node Python floor (README, Requirements) checked statically, as no interpreter older than
        # 3.9 is to be had here: target code uses nothing newer than Python 3.6, and the module files and the
        # guard that stops them on an older Python (module_utils/_pyversion.py) get that far on Python 2.7.
        (cd "$root" && "$bin/vermin" -q --no-tips --violations -t=3.6- plugins/modules plugins/module_utils &&
          "$bin/vermin" -q --no-tips --violations -t=2.7- -t=3.6- plugins/modules plugins/module_utils/_pyversion.py)
        ;;
      sanity)
        # ansible-test bootstraps pip in its venvs with a script from a host we cannot reach: use ours.
        pip_version=$("$python" -c 'from ansible_test._internal.python_requirements import get_venv_packages; from ansible_test._internal.host_configs import NativePythonConfig as C; print(get_venv_packages(C(version="'"$pyver"'", path="'"$python"'"))["pip"])')
        mkdir -p ~/.ansible/test/cache
        install -m 0644 "$root/tests/sanity/get_pip.py" ~/.ansible/test/cache/"get_pip_${pip_version//./_}.py"
        (cd "$work/sanity/ansible_collections/wsproxy/nginx" &&
          "$bin/ansible-test" sanity --requirements --python "$pyver" --color no)
        ;;
      unit)
        mapfile -t unit < <(unit_args)
        (cd "$root" && PYTHONPATH="$root/.tmp/collections" \
          ANSIBLE_COLLECTIONS_PATH="$root/.tmp/collections:$work/collections" \
          "$python" -m pytest -q -p no:cacheprovider "${unit[@]}")
        ;;
      *) echo "unknown step $step (floor, sanity, unit)" >&2; exit 2 ;;
    esac
    log "$step passed in $((SECONDS - start)) s"
  done
}

host() {
  local venv=$root/.tmp/core-$core
  if [ ! -f "$venv/.installed" ] || [ "$requirements" -nt "$venv/.installed" ]; then
    log "venv $venv"
    rm -rf "$venv"
    # The interpreter itself, not .venv's python3 that make puts first on PATH.
    "$(python3 -c 'import sys; print(getattr(sys, "_base_executable", sys.executable))')" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    touch "$venv/.installed"
  fi
  run_steps "$venv/bin/python"
}

# pip in the container trusts what the host trusts (the host's bundle may hold a proxy's authority).
ca_args=()
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  ca_args=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
           -e PIP_CERT=/etc/ssl/certs/ca-certificates.crt)
fi

# The image: the debian13 platform image plus python3-venv, git, openssl and the pinned venv in /opt/core.
debian13_image() {
  local image=localhost/wsproxy-matrix-$core digest name=wsproxy-matrix-$core-build
  digest=$(sha256sum "$requirements" | cut -c1-16)
  if [ "$(podman image inspect --format '{{index .Labels "org.wsproxy.requirements"}}' "$image" 2>/dev/null)" = "$digest" ]; then
    return
  fi
  log "building $image (apt: python3-venv git openssl; pip: $(basename "$requirements"))"
  podman rm -f "$name" >/dev/null 2>&1 || true
  podman run --name "$name" -v "$requirements:/requirements.txt:ro" "${ca_args[@]}" localhost/wsproxy-debian13 bash -c '
      set -euo pipefail
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv git openssl >/dev/null
      rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
      python3 -m venv /opt/core
      /opt/core/bin/pip install --quiet --disable-pip-version-check -r /requirements.txt'
  podman commit -q --change "LABEL org.wsproxy.requirements=$digest" "$name" "$image" >/dev/null
  podman rm "$name" >/dev/null
}


debian13() {
  debian13_image
  local name=wsproxy-matrix-$core cache=${MATRIX_CACHE:-$HOME/.cache/wsproxy-matrix/$core}
  mkdir -p "$cache"
  podman rm -f "$name" >/dev/null 2>&1 || true
  # The checkout at its own path (the collection symlink under .tmp points there). The venvs ansible-test
  # makes for its sanity tests are kept on the machine, as on the host in ~/.ansible/test, not in the checkout:
  # a fresh clone (CI) finds them. No systemd: just the steps.
  podman run --rm --name "$name" -v "$root:$root" -v "$cache:/root/.ansible/test" "${ca_args[@]}" \
    -e MATRIX_INSIDE=1 "localhost/wsproxy-matrix-$core" \
    bash "$root/tests/matrix/run.sh" "$core" debian13 "${steps[@]}"
}

if [ -n "${MATRIX_INSIDE:-}" ]; then
  run_steps /opt/core/bin/python
  exit 0
fi

mkdir -p "$work"
posix_collection
case " ${steps[*]} " in *" sanity "*) sanity_copy ;; esac
case $where in
  host) host ;;
  debian13) debian13 ;;
  *) echo "unknown place $where (host, debian13)" >&2; exit 2 ;;
esac
