#!/usr/bin/env bash
# Installs what is missing, builds the benchmarks (Release, in build-bench/), checks that the
# Python reference emits the same series as the C++ check core, runs check_bench and the Python
# reference on the same documents, and rewrites BENCHMARKS.md with the results.
# Usage: bench/run.sh
# Environment: BENCH_MIN_TIME (seconds per repetition, default 0.2), BENCH_REPETITIONS (default
# 5), BENCH_BUILD_DIR (default build-bench), JOBS (build parallelism, default 2).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

ensure_packages "${BUILD_PACKAGES[@]}" python3 python3-yaml

BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
MIN_TIME=${BENCH_MIN_TIME:-0.2}
REPETITIONS=${BENCH_REPETITIONS:-5}
JOBS=${JOBS:-2}
OUT=$BUILD/bench-results
mkdir -p "$OUT"
COMMANDS=$OUT/commands.txt
: >"$COMMANDS"
START=$SECONDS
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# Runs a command after recording it (paths relative to the repository) for BENCHMARKS.md.
run() {
  local shown="$*"
  shown=${shown//$ROOT\//}
  shown=${shown//$ROOT/.}
  echo "$shown" >>"$COMMANDS"
  echo "+ $shown" >&2
  "$@"
}

cd "$ROOT"
run cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPVAR_BUILD_TESTS=OFF \
  -DEXPVAR_BUILD_BENCH=ON >/dev/null
run cmake --build "$BUILD" --parallel "$JOBS" --target check_bench dump_series

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

python3 "$ROOT/bench/report.py" --root "$ROOT" --cpp "$OUT/check_bench.json" \
  --python "$OUT/python.json" --verify "$OUT/verify.json" --commands "$COMMANDS" \
  --load-before "$LOAD_BEFORE" --load-after "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --seconds "$((SECONDS - START))" --out "$ROOT/BENCHMARKS.md"
