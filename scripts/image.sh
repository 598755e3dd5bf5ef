#!/usr/bin/env bash
# Builds the container image from the Dockerfile with Debian's podman (no registry needed: the
# debian:bookworm and debian:bookworm-slim base images are made locally with debootstrap), then
# smoke-tests it read-only, as uid 65532, with no capabilities: ENTRYPOINT [expvar-collector] and
# CMD [run], --version, run --help, check against an unreachable target (exit 1), and run
# answering /healthz. The image is built in podman's default OCI format (the Dockerfile needs no
# Docker-only instruction). Another architecture: PLATFORM=linux/arm64 (needs that platform's base
# images and qemu-user-static; untested here).
# Usage: scripts/image.sh [TAG]        (default expvar-collector:<version from CMakeLists.txt>)
# Env: JOBS (build parallelism, default 2), REBUILD_BASE=1 (remake the base images),
# IMAGE_STATE_DIR (containers.conf and the debootstrap scratch, default build-image/).
# Needs root (rootful podman); installs podman, runc and debootstrap when missing. podman keeps
# the build stage (~0.9 GB) as cache; `CONTAINERS_CONF=build-image/containers.conf podman image
# prune` removes old ones.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

VERSION=$(sed -nE 's/^project\(expvar-collector VERSION ([0-9.]+).*/\1/p' "$ROOT/CMakeLists.txt")
TAG=${1:-expvar-collector:$VERSION}
JOBS=${JOBS:-2}
STATE=${IMAGE_STATE_DIR:-$ROOT/build-image}   # containers.conf and the debootstrap rootfs
start=$SECONDS

ensure_packages podman runc debootstrap ca-certificates

# crun refuses this kernel's hybrid cgroups (runc works); root cannot raise rlimits here, so the
# container ulimits must not exceed the shell's; host networking leaves no bridge/firewall behind.
mkdir -p "$STATE"
nofile=$(ulimit -Hn)
cat >"$STATE/containers.conf" <<CONF
[containers]
netns = "host"
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=32768:32768"]

[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF=$STATE/containers.conf

# Base images: the registry is not reachable, so build them from Debian's mirror.
if [[ ${REBUILD_BASE:-0} == 1 ]] || ! podman image exists debian:bookworm \
    || ! podman image exists debian:bookworm-slim; then
  sources=/etc/apt/sources.list.d/debian.sources
  mirror=$(sed -nE 's/^URIs:[[:space:]]*([^[:space:]]+).*/\1/p' "$sources" | grep -v security | sed -n 1p)
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$STATE/rootfs
  rm -rf "$rootfs"
  echo "debootstrap bookworm from $mirror ..." >&2
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -n 20 "$STATE/debootstrap.log" >&2; exit 1; }
  cp "$sources" "$rootfs/etc/apt/sources.list.d/debian.sources"
  rm -f "$rootfs/etc/apt/sources.list"
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | podman import --change 'CMD ["bash"]' - debian:bookworm >/dev/null
  podman tag debian:bookworm debian:bookworm-slim
  rm -rf "$rootfs"
fi
echo "base images ready after $((SECONDS - start)) s" >&2

revision=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
platform=()
if [[ -n ${PLATFORM:-} ]]; then platform=(--platform "$PLATFORM"); fi
podman build --pull=never ${platform[@]+"${platform[@]}"} --build-arg "JOBS=$JOBS" \
  --build-arg "VERSION=$VERSION" --build-arg "REVISION=$revision" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t "$TAG" -f "$ROOT/Dockerfile" "$ROOT"
echo "image built after $((SECONDS - start)) s" >&2

# Smoke tests, as Kubernetes would run it: read-only root, uid 65532, no capabilities.
prun=(podman run --rm --pull=never --read-only --cap-drop=ALL --security-opt=no-new-privileges)
fail() { echo "FAIL: $*" >&2; exit 1; }

# ENTRYPOINT is the binary and CMD the daemon, so arguments name a subcommand.
config=$(podman image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$TAG")
[[ $config == '["expvar-collector"] ["run"]' ]] || fail "ENTRYPOINT/CMD are $config, want [expvar-collector] [run]"

out=$("${prun[@]}" "$TAG" --version) || fail "--version exited $?"
[[ $out == "expvar-collector $VERSION (revision "* ]] || fail "--version printed '$out'"

# Captured, not piped to grep -q: grep exits at the first match, podman then dies of SIGPIPE on
# the rest of the text, and pipefail failed the check with the flag right there.
help=$("${prun[@]}" "$TAG" run --help) || fail "run --help exited $?"
[[ $help == *--kube-mode* ]] || fail "run --help lacks --kube-mode"

uid=$("${prun[@]}" --entrypoint /usr/bin/id "$TAG" -u) || fail "id -u exited $?"
[[ $uid == 65532 ]] || fail "runs as uid $uid, not 65532"

# check against a port nothing listens on: every instance fails, exit 1, error on stderr.
conf=$(mktemp -d)
trap 'rm -rf "$conf"' EXIT
mkdir "$conf/go_expvar.d"
printf 'init_config:\ninstances:\n  - expvar_url: http://127.0.0.1:1/debug/vars\n    timeout: 2\n' \
  >"$conf/go_expvar.d/app.yaml"
chmod -R a+rX "$conf"
set +e
err=$("${prun[@]}" -v "$conf:/conf:ro" "$TAG" check /conf/go_expvar.d/app.yaml 2>&1 >/dev/null)
rc=$?
set -e
[[ $rc == 1 ]] || fail "check against an unreachable target exited $rc, want 1 ($err)"
[[ $err == *127.0.0.1:1* ]] || fail "check's error does not name the target: $err"

# The daemon starts on a read-only root and answers /healthz (host network, a free port).
port=$(( 20000 + RANDOM % 20000 ))
cid=$("${prun[@]}" -d -v "$conf:/conf:ro" "$TAG" run --confd /conf --listen "127.0.0.1:$port" \
  --kube-mode off --dogstatsd-url udp://127.0.0.1:9)
ok=0
for _ in $(seq 50); do
  if out=$(podman exec "$cid" /bin/bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3; cat <&3" 2>/dev/null) \
      && [[ $out == *" 200 "* ]]; then
    ok=1
    break
  fi
  sleep 0.2
done
logs=$(podman logs "$cid" 2>&1 || true)
podman stop -t 5 "$cid" >/dev/null
[[ $ok == 1 ]] || fail "run did not answer /healthz on a read-only root: $logs"

echo "image $TAG: $(podman image inspect --format '{{.Size}}' "$TAG") bytes; smoke tests passed in $((SECONDS - start)) s total"
