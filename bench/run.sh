#!/usr/bin/env bash
# Installs what is missing, builds the benchmarks (Release, in build-bench/), and rewrites
# BENCHMARKS.md and bench/results/scale.png with:
# - check core: checks that the Python reference emits the same series as the C++ check core,
#   then runs check_bench and the Python reference on the same documents;
# - end to end, scale and churn: bench/e2e.py runs `expvar-collector run` against nginx-light
#   and a DogStatsD receiver on loopback, for 100, 1,000 and 10,000 targets;
# - discovery latency: bench/discovery_latency runs the daemon in node mode against the in-test
#   Kubernetes API server with 1,000 pods churning.
# Usage: bench/run.sh [--quick]   (--quick: 100 and 1,000 targets only, shorter windows; ~5 min)
# Environment: BENCH_MIN_TIME (seconds per repetition, default 0.2), BENCH_REPETITIONS (default
# 5), BENCH_BUILD_DIR (default build-bench), JOBS (build parallelism, default 2).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

QUICK=0
case "${1:-}" in
  --quick) QUICK=1 ;;
  "") ;;
  *) echo "usage: bench/run.sh [--quick]" >&2; exit 2 ;;
esac

ensure_packages "${BUILD_PACKAGES[@]}" "${BENCH_PACKAGES[@]}"

BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
MIN_TIME=${BENCH_MIN_TIME:-0.2}
REPETITIONS=${BENCH_REPETITIONS:-5}
JOBS=${JOBS:-2}
OUT=$BUILD/bench-results
mkdir -p "$OUT" "$ROOT/bench/results"
COMMANDS=$OUT/commands.txt
: >"$COMMANDS"
START=$SECONDS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# 10,000 targets need 10,000 sockets in the collector and as many in nginx.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)"
if [[ $(ulimit -n) -lt 12000 ]]; then
  echo "bench/run.sh: only $(ulimit -n) open files allowed; 10,000 targets need ~12,000" >&2
fi

# Benchmarks run in their own session, so that an interrupted run.sh stops them and everything
# they started (nginx, the collector) by that one process-group id.
CHILD=0
cleanup() {
  if [[ $CHILD -ne 0 ]]; then kill -TERM -- "-$CHILD" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs a command after recording it (paths relative to the repository) for BENCHMARKS.md.
run() {
  local shown="$*"
  shown=${shown//$ROOT\//}
  shown=${shown//$ROOT/.}
  echo "$shown" >>"$COMMANDS"
  echo "+ $shown" >&2
  "$@"
}
# The same for a long benchmark, run in its own session.
run_session() {
  local shown="$*"
  shown=${shown//$ROOT\//}
  shown=${shown//$ROOT/.}
  echo "$shown" >>"$COMMANDS"
  echo "+ $shown" >&2
  setsid "$@" &
  CHILD=$!
  local rc=0
  wait "$CHILD" || rc=$?
  CHILD=0
  return "$rc"
}

cd "$ROOT"
# The tests are on for the in-test API server the discovery benchmark links.
run cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPVAR_BUILD_TESTS=ON \
  -DEXPVAR_BUILD_BENCH=ON >/dev/null
run nice cmake --build "$BUILD" --parallel "$JOBS" --target check_bench dump_series \
  expvar-collector discovery_latency

# --- check core ---
# The ratio only means something if both sides compute the same thing.
if ! run python3 "$ROOT/bench/reference_check.py" verify \
  --dump-series "$BUILD/bench/dump_series" >"$OUT/verify.json"; then
  cat "$OUT/verify.json" >&2
  echo "bench/run.sh: the Python reference and the C++ core disagree; fix that first" >&2
  exit 1
fi

run "$BUILD/bench/check_bench" --benchmark_min_time="$MIN_TIME" \
  --benchmark_repetitions="$REPETITIONS" --benchmark_display_aggregates_only=true \
  --benchmark_out="$OUT/check_bench.json" --benchmark_out_format=json
run python3 "$ROOT/bench/reference_check.py" bench --min-batch "$MIN_TIME" \
  --repeats "$REPETITIONS" --out "$OUT/python.json" >/dev/null

# --- end to end, scale, churn ---
# N:INTERVAL:WINDOW; 10,000 targets at the design's 15 s, the smaller counts at shorter
# intervals so the window holds many scrapes.
if [[ $QUICK -eq 1 ]]; then
  E2E_RUNS=100:1:30,1000:2:40
  CHURN_SECONDS=30
else
  E2E_RUNS=100:1:60,1000:2:90,10000:15:150
  CHURN_SECONDS=60
fi
run_session python3 "$ROOT/bench/e2e.py" --binary "$BUILD/expvar-collector" --root "$ROOT" \
  --runs "$E2E_RUNS" --ports 40 --profile-at 1000 --profile-seconds 10 --out "$OUT/e2e.json"

# --- discovery latency ---
run_session "$BUILD/bench/discovery_latency" --binary "$BUILD/expvar-collector" --pods 1000 \
  --rate 10 --seconds "$CHURN_SECONDS" --poll-ms 100 --out "$OUT/discovery.json"

# --- peak RSS with ten ~8 MiB documents at once ---
run_session python3 "$ROOT/bench/peak_rss.py" --binary "$BUILD/expvar-collector" \
  --seconds 30 --out "$OUT/peak_rss.md"

python3 "$ROOT/bench/report.py" --root "$ROOT" --cpp "$OUT/check_bench.json" \
  --python "$OUT/python.json" --verify "$OUT/verify.json" --commands "$COMMANDS" \
  --e2e "$OUT/e2e.json" --discovery "$OUT/discovery.json" \
  --chart "$ROOT/bench/results/scale.png" --soak "$BUILD/soak/summary.md" \
  --peak-rss "$OUT/peak_rss.md" \
  --load-before "$LOAD_BEFORE" --load-after "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --seconds "$((SECONDS - START))" --out "$ROOT/BENCHMARKS.md"
