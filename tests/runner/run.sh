#!/usr/bin/env bash
# make runner: the rollout playbook (wsproxy.nginx.websocket_proxy) through ansible-runner, the engine of AWX /
# Automation Controller, from a private_data_dir laid out the way AWX writes one for a job template (project/,
# inventory/hosts, env/extravars, env/envvars, env/settings), against two local containers: a first run that changes
# both hosts, canary first, then a second run that changes nothing. check_artifacts.py reads what AWX would show.
#   run.sh RUNNER_VENV DEV_VENV     (every step is bounded in time; the containers go away at the end)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
runner_venv=$1
dev_venv=$2
work=$root/.tmp/runner
private=$work/private
image=${WSPROXY_RUNNER_IMAGE:-localhost/wsproxy-debian12}
hosts=(wsproxy-runner-1 wsproxy-runner-2)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$root/tests/containers.conf}
started=$SECONDS

log() { printf '[runner] %s\n' "$*"; }
cleanup() { timeout 60 podman rm -f -t 5 "${hosts[@]}" > /dev/null 2>&1 || true; }
trap cleanup EXIT

rm -rf "$work" && mkdir -p "$private"/{project,inventory,env} "$work/harness/ansible_collections/containers"
# The connection plugin of this harness (containers.podman) on a path of its own, next to the collection.
podman_collections=("$dev_venv"/lib/python3*/site-packages/ansible_collections/containers/podman)
[[ -d ${podman_collections[0]} ]] || { log "no containers.podman in $dev_venv"; exit 1; }
ln -s "${podman_collections[0]}" "$work/harness/ansible_collections/containers/podman"

# The project: a playbook of the project that imports the collection's rollout playbook by its FQCN.
cat > "$private/project/websocket_proxy.yml" <<'YAML'
---
- name: Roll out WebSocket proxying with the collection's playbook (canary first)
  ansible.builtin.import_playbook: wsproxy.nginx.websocket_proxy
YAML
# The inventory AWX writes for the job (its hosts and their variables: here, how to reach a container).
cat > "$private/inventory/hosts" <<EOF2
[wsproxy]
${hosts[0]}
${hosts[1]}

[wsproxy:vars]
ansible_connection=containers.podman.podman
ansible_python_interpreter=/usr/bin/python3
EOF2
# The job template's extra vars.
cat > "$private/env/extravars" <<'YAML'
---
websocket_proxy_sites:
  - name: runner
    server_name: [runner.local]
    upstream: [127.0.0.1:3000]
    locations:
      - path: /
        probe_path: /socket
YAML
# The environment AWX gives the job: the collections of the project (or of the execution environment).
cat > "$private/env/envvars" <<YAML
---
ANSIBLE_COLLECTIONS_PATH: "$root/.tmp/collections:$work/harness"
CONTAINERS_CONF: "$CONTAINERS_CONF"
ANSIBLE_FORCE_COLOR: "0"
YAML
# The job template's timeout.
cat > "$private/env/settings" <<'YAML'
---
job_timeout: 300
idle_timeout: 180
YAML

log "two hosts from $image: ${hosts[*]}"
cleanup
for host in "${hosts[@]}"; do
  timeout 60 podman run -d --name "$host" --systemd always "$image" > /dev/null
done
for host in "${hosts[@]}"; do
  # No module waits for the end of boot (see molecule/resources/prepare.yml); then the backend's health check.
  state=$(timeout 90 podman exec "$host" systemctl is-system-running --wait || true)
  [[ $state == running || $state == degraded ]] || { log "$host did not boot: $state"; exit 1; }
  timeout 60 bash -c "until podman exec $host curl -fsS -o /dev/null http://127.0.0.1:3000/health 2>/dev/null; do sleep 1; done"
done
log "hosts up after $((SECONDS - started))s"

run() {  # ident: one job, as AWX runs it (ansible-runner's own environment: only env/envvars names the collections)
  local ident=$1 t0=$SECONDS
  env -u ANSIBLE_COLLECTIONS_PATH PATH="$runner_venv/bin:$PATH" \
    timeout 360 "$runner_venv/bin/ansible-runner" run "$private" -p websocket_proxy.yml --ident "$ident" \
    > "$work/$ident.log" 2>&1 || { tail -n 40 "$work/$ident.log"; log "ansible-runner run --ident $ident failed"; return 1; }
  log "ansible-runner run --ident $ident: $((SECONDS - t0))s"
}

run first
timeout 60 "$runner_venv/bin/python" "$here/check_artifacts.py" "$private/artifacts/first" --first "${hosts[@]}"
run again
timeout 60 "$runner_venv/bin/python" "$here/check_artifacts.py" "$private/artifacts/again" --again "${hosts[@]}"
log "wall time $((SECONDS - started))s (artifacts: $private/artifacts)"
