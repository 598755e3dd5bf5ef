#!/usr/bin/env bash
# Records real /debug/vars documents into tests/fixtures/ (or OUTDIR), byte for byte:
#   goapp_fresh.json    goapp right after start, after one GET /work
#   goapp_traffic.json  after 40 GET + 10 POST /work and /gc?n=3
#   goapp_gc300.json    after /gc?n=300 more: the 256-entry PauseNs ring has wrapped
#   etcd.json           a fresh single-member etcd after 20 puts
# Everything runs on loopback with free ports and temp dirs and is stopped on exit.
# Usage: scripts/record-fixtures.sh [OUTDIR]   (env GOAPP_BUILD_DIR, default build/goapp)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/tests/fixtures}
build=${GOAPP_BUILD_DIR:-$root/build/goapp}
command -v etcd >/dev/null || { echo "$0: 'etcd' not found (apt-get install etcd-server)" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for ((i = 0; i < 50; i++)); do # up to 5 s for a clean exit
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fetch() { curl -fsS --max-time 10 "$@"; }

# A random unprivileged port that nothing listens on (etcd cannot report a port 0 choice).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 10000))
    ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
  done
}

"$root/scripts/build-goapp.sh" "$build"
mkdir -p "$tmp/out"

# --- goapp ---------------------------------------------------------------------
# argv[0] "goapp" and no -addr-file keep build paths out of the recorded "cmdline".
(cd "$tmp" && exec -a goapp "$build/goapp" -listen 127.0.0.1:0 >goapp.out 2>goapp.err) &
pids+=($!)
addr=
for ((i = 0; i < 100; i++)); do
  addr=$(sed -n '1s/^listening on //p' "$tmp/goapp.out")
  [[ -n $addr ]] && break
  sleep 0.1
done
[[ -n $addr ]] || { echo "goapp did not start:" >&2; cat "$tmp/goapp.err" >&2; exit 1; }
goapp=http://$addr

fetch -o /dev/null "$goapp/work"
fetch -o "$tmp/out/goapp_fresh.json" "$goapp/debug/vars"

# curl's URL globbing sends one request per i, over one kept-alive connection.
fetch "$goapp/work?i=[1-40]" >/dev/null
fetch -X POST "$goapp/work?i=[1-10]" >/dev/null
fetch -o /dev/null "$goapp/gc?n=3"
fetch -o "$tmp/out/goapp_traffic.json" "$goapp/debug/vars"

fetch -o /dev/null --max-time 60 "$goapp/gc?n=300"
fetch -o "$tmp/out/goapp_gc300.json" "$goapp/debug/vars"

# --- etcd ----------------------------------------------------------------------
etcd_url=
for attempt in 1 2 3; do # retry in case a chosen port was taken meanwhile
  cport=$(free_port)
  pport=$(free_port)
  [[ $cport != "$pport" ]] || continue
  rm -rf "$tmp/etcd-data"
  (cd "$tmp" && exec -a etcd etcd --name fixture --data-dir etcd-data \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "fixture=http://127.0.0.1:$pport" >etcd.log 2>&1) &
  pid=$!
  pids+=("$pid")
  for ((i = 0; i < 200; i++)); do
    if curl -fsS --max-time 1 "http://127.0.0.1:$cport/health" 2>/dev/null | grep -q '"health":"true"'; then
      etcd_url=http://127.0.0.1:$cport
      break 2
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "etcd attempt $attempt failed:" >&2
  tail -n 5 "$tmp/etcd.log" >&2
  kill -KILL "$pid" 2>/dev/null || true
done
[[ -n $etcd_url ]] || { echo "etcd did not become healthy" >&2; exit 1; }

for i in $(seq 20); do # key and value are base64 in the v3 JSON gateway
  key=$(printf 'fixture/key%02d' "$i" | base64 -w0)
  fetch -o /dev/null -X POST -d "{\"key\":\"$key\",\"value\":\"$(printf 'value %d' "$i" | base64 -w0)\"}" \
    "$etcd_url/v3/kv/put"
done
fetch -o "$tmp/out/etcd.json" "$etcd_url/debug/vars"

# Publish only complete sets.
mkdir -p "$out"
for f in goapp_fresh goapp_traffic goapp_gc300 etcd; do
  jq -e . "$tmp/out/$f.json" >/dev/null || { echo "$f.json is not valid JSON" >&2; exit 1; }
  echo "$f.json: NumGC=$(jq .memstats.NumGC "$tmp/out/$f.json") bytes=$(wc -c <"$tmp/out/$f.json")"
done
mv -f "$tmp"/out/*.json "$out"/
