#!/usr/bin/env bash
# Installs what is missing, builds, starts the bundled Go program and shows what the collector
# reports for it: `check` runs twice, so the second run includes the rates.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

ensure_packages "${BUILD_PACKAGES[@]}" golang-go curl python3
BUILD=${BUILD_DIR:-$ROOT/build}
build_project "$BUILD" -DEXPVAR_BUILD_TESTS=OFF
"$ROOT/scripts/build-goapp.sh" "$BUILD/goapp"

WORK=$(mktemp -d)
GOAPP_PID=
cleanup() {
  [[ -n $GOAPP_PID ]] && kill "$GOAPP_PID" 2>/dev/null && wait "$GOAPP_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BUILD/goapp/goapp" -listen 127.0.0.1:0 -addr-file "$WORK/addr" >"$WORK/goapp.log" 2>&1 &
GOAPP_PID=$!
for _ in $(seq 50); do [[ -s $WORK/addr ]] && break; sleep 0.1; done
[[ -s $WORK/addr ]] || { echo "goapp did not start:" >&2; cat "$WORK/goapp.log" >&2; exit 1; }
ADDR=$(cat "$WORK/addr")
echo "goapp is serving expvars on http://$ADDR/debug/vars"

# Some traffic and garbage collections so the counters move between the two runs.
(sleep 0.5; curl -fsS "http://$ADDR/gc?n=3" >/dev/null
 for _ in $(seq 40); do curl -fsS "http://$ADDR/work" >/dev/null; sleep 0.04; done) &
TRAFFIC_PID=$!

cat >"$WORK/go_expvar.yaml" <<YAML
init_config:
instances:
  - expvar_url: http://$ADDR
    tags: ["env:demo"]
    metrics:
      - path: requests
        type: rate
      - path: load_avg
      - path: queue_depth_str
      - path: http/.*/count
        alias: goapp.http.requests
        type: monotonic_counter
      - path: workers/[0-9]+/done
        type: count
      - path: cache\/hits
YAML
echo "config:"
sed 's/^/  /' "$WORK/go_expvar.yaml"
echo
echo "\$ expvar-collector check go_expvar.yaml --runs 2 --interval 2"
"$BUILD/expvar-collector" check "$WORK/go_expvar.yaml" --runs 2 --interval 2 >"$WORK/series.jsonl"
wait "$TRAFFIC_PID"
python3 "$ROOT/scripts/series_table.py" <"$WORK/series.jsonl"
echo
echo "Point it at your own Go program: put its go_expvar conf.yaml in a file and run"
echo "  $BUILD/expvar-collector check your.yaml --runs 2"
