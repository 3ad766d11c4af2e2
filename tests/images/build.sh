#!/usr/bin/env bash
# Build the local platform images used by Molecule and `make demo` (see PLATFORMS.md):
#   localhost/wsproxy-debian12  Debian 12 (bookworm) from debootstrap, stock Debian nginx layout
#   localhost/wsproxy-debian13  Debian 13 (trixie) from debootstrap, stock Debian nginx layout
#   localhost/wsproxy-rocky9    RHEL-family *layout* image: Debian 12 userland with Rocky Linux 9's
#                               nginx layout, nginx.service, os-release and redhat-release (no RPM
#                               repository is reachable here, so no real Rocky userland)
# Every image boots systemd as PID 1 and runs nginx plus the test backend on 127.0.0.1:3000.
# Idempotent: an image that already exists is skipped. Usage: build.sh [NAME...]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mirror=${WSPROXY_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/../containers.conf}
packages=systemd,systemd-sysv,dbus,python3,nginx,python3-aiohttp,python3-socketio,python3-engineio,iproute2,procps,curl,ca-certificates
workdir=$(mktemp -d /var/tmp/wsproxy-images.XXXXXX)
trap 'rm -rf "$workdir"' EXIT

log() { printf '[images] %s\n' "$*"; }

have_image() { podman image exists "localhost/wsproxy-$1"; }

# Common to every image: the backend, its unit, and a quiet systemd inside a container.
install_backend() {
  local root=$1
  install -d "$root/opt/wsproxy-backend"
  install -m 0644 "$here/backend/wsproxy_backend.py" "$root/opt/wsproxy-backend/"
  install -m 0644 "$here/backend/wsproxy-backend.service" "$root/etc/systemd/system/"
  ln -sf /etc/systemd/system/wsproxy-backend.service \
    "$root/etc/systemd/system/multi-user.target.wants/wsproxy-backend.service"
  # Units that only make sense on real hardware or would wait for a console.
  for unit in getty.target console-getty.service systemd-remount-fs.service \
              systemd-udevd.service systemd-udev-trigger.service systemd-logind.service; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
  done
  echo "wsproxy-test" > "$root/etc/hostname"
}

import_root() {
  local root=$1 name=$2
  log "importing localhost/wsproxy-$name"
  tar -C "$root" -c . | podman import \
    --change 'CMD ["/lib/systemd/systemd"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change "LABEL org.wsproxy.platform=$name" \
    - "localhost/wsproxy-$name" >/dev/null
}

bootstrap() {
  local suite=$1 root=$2
  log "debootstrap $suite (a minute or two)"
  debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$workdir/debootstrap-$suite.log" 2>&1 || {
    tail -n 30 "$workdir/debootstrap-$suite.log" >&2
    return 1
  }
  # Leave no downloaded packages or lists in the image.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
}

build_debian() {
  local name=$1 suite=$2 root="$workdir/$1"
  bootstrap "$suite" "$root"
  install_backend "$root"
  import_root "$root" "$name"
}

# Rocky Linux 9 layout on the debian12 userland (see the header).
build_rocky9() {
  local root="$workdir/rocky9"
  mkdir -p "$root"
  local cid
  cid=$(podman create localhost/wsproxy-debian12)
  podman export "$cid" | tar -C "$root" -x
  podman rm "$cid" >/dev/null
  rm -rf "$root/etc/nginx/sites-available" "$root/etc/nginx/sites-enabled" "$root/etc/debian_version" \
    "$root/usr/share/nginx/modules"
  install -d "$root/etc/nginx/conf.d" "$root/etc/nginx/default.d" "$root/usr/share/nginx/modules"
  # Rocky loads dynamic modules from /usr/share/nginx/modules; keep Debian's module list there.
  for conf in "$root"/etc/nginx/modules-enabled/*.conf; do
    if [ -e "$conf" ]; then
      sed 's|modules/|/usr/lib/nginx/modules/|' "$conf" >"$root/usr/share/nginx/modules/$(basename "$conf")"
    fi
  done
  rm -rf "$root/etc/nginx/modules-enabled" "$root/etc/nginx/modules-available"
  install -m 0644 "$here/rocky9/nginx.conf" "$root/etc/nginx/nginx.conf"
  install -m 0644 "$here/rocky9/nginx.service" "$root/etc/systemd/system/nginx.service"
  install -m 0644 "$here/rocky9/os-release" "$root/usr/lib/os-release"
  ln -sf ../usr/lib/os-release "$root/etc/os-release"
  install -m 0644 "$here/rocky9/redhat-release" "$root/etc/redhat-release"
  ln -sf redhat-release "$root/etc/rocky-release"
  ln -sf redhat-release "$root/etc/system-release"
  printf '<h1>404 Not Found</h1>\n' > "$root/usr/share/nginx/html/404.html"
  printf '<h1>50x Server Error</h1>\n' > "$root/usr/share/nginx/html/50x.html"
  chroot "$root" /usr/sbin/useradd --system --no-create-home --home-dir /var/lib/nginx \
    --shell /usr/sbin/nologin nginx
  chroot "$root" /usr/sbin/nginx -t -q
  import_root "$root" rocky9
}

main() {
  local names=("$@")
  [ ${#names[@]} -gt 0 ] || names=(debian12 debian13 rocky9)
  for name in "${names[@]}"; do
    if have_image "$name"; then
      log "localhost/wsproxy-$name exists, skipped"
      continue
    fi
    case $name in
      debian12) build_debian debian12 bookworm ;;
      debian13) build_debian debian13 trixie ;;
      rocky9)
        have_image debian12 || build_debian debian12 bookworm
        build_rocky9 ;;
      *) echo "unknown image '$name' (known: debian12 debian13 rocky9)" >&2; exit 2 ;;
    esac
  done
}

main "$@"
