#!/usr/bin/env bash
# Installs what is missing, builds, starts the bundled Go program and the collector daemon
# against it, and shows ~20 s of live /metrics lines and the DogStatsD lines it sends.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

ensure_packages "${BUILD_PACKAGES[@]}" golang-go curl python3
BUILD=${BUILD_DIR:-$ROOT/build}
build_project "$BUILD" expvar-collector
"$ROOT/scripts/build-goapp.sh" "$BUILD/goapp"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_for_file() {
  for _ in $(seq 100); do [[ -s $1 ]] && return 0; sleep 0.1; done
  echo "$2 did not start" >&2
  exit 1
}

"$BUILD/goapp/goapp" -listen 127.0.0.1:0 -addr-file "$WORK/addr" >"$WORK/goapp.log" 2>&1 &
PIDS+=($!)
wait_for_file "$WORK/addr" goapp
ADDR=$(cat "$WORK/addr")

python3 "$ROOT/scripts/dogstatsd_receiver.py" "$WORK/dsd.port" >"$WORK/dogstatsd.log" &
PIDS+=($!)
wait_for_file "$WORK/dsd.port" "the DogStatsD receiver"
ADMIN_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

mkdir -p "$WORK/conf.d/go_expvar.d"
cat >"$WORK/conf.d/go_expvar.d/goapp.yaml" <<YAML
init_config:
instances:
  - expvar_url: http://$ADDR
    tags: ["env:demo"]
    min_collection_interval: 2
    metrics:
      - path: requests
        type: rate
      - path: load_avg
      - path: http/.*/count
        alias: goapp.http.requests
        type: monotonic_counter
      - path: workers/[0-9]+/done
        type: count
YAML
echo "goapp serves expvars on http://$ADDR/debug/vars; the collector reads:"
sed 's/^/  /' "$WORK/conf.d/go_expvar.d/goapp.yaml"

"$BUILD/expvar-collector" run --confd "$WORK/conf.d" --listen "127.0.0.1:$ADMIN_PORT" \
  --dogstatsd-url "udp://127.0.0.1:$(cat "$WORK/dsd.port")" >"$WORK/collector.log" 2>&1 &
PIDS+=($!)

# Traffic and garbage collections, so counters, rates and GC pauses move.
(while true; do
  for _ in $(seq 20); do curl -fsS "http://$ADDR/work" >/dev/null || true; sleep 0.05; done
  curl -fsS "http://$ADDR/gc?n=2" >/dev/null || true
done) &
PIDS+=($!)

for round in 1 2 3 4; do
  sleep 5
  echo
  echo "=== after $((round * 5)) s: /metrics (http://127.0.0.1:$ADMIN_PORT/metrics, a selection)"
  curl -fsS "http://127.0.0.1:$ADMIN_PORT/metrics" |
    grep -E '^(go_expvar_(requests_total|load_avg|memstats_(heap_alloc_bytes|mallocs_total|num_gc_total|gc_pause_seconds_(count|sum)))|goapp_http_requests|expvar_collector_scrapes_total)' |
    sed -E 's/expvar_url="[^"]*"//; s/,}/}/; s/[{],/{/; s/,,/,/; s/^/  /'
  echo "=== DogStatsD lines received in the last round (type, name, value, tags)"
  tail -n 12 "$WORK/dogstatsd.log" | sed 's/^/  /'
  : >"$WORK/dogstatsd.log"
done

echo
echo "=== /status"
curl -fsS "http://127.0.0.1:$ADMIN_PORT/status" | python3 -m json.tool | sed 's/^/  /'
echo
echo "=== collector log"
sed 's/^/  /' "$WORK/collector.log"
cat <<TEXT

To watch your own Go program: put its go_expvar conf.yaml (the Datadog format) in
DIR/go_expvar.d/ and run
  $BUILD/expvar-collector run --confd DIR --dogstatsd-url udp://<agent>:8125
or try the conf once with
  $BUILD/expvar-collector check DIR/go_expvar.d/your.yaml --runs 2
TEXT
