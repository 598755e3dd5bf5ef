#!/usr/bin/env bash
# Builds the libFuzzer harnesses in tests/fuzz/ (clang-14, ASan + UBSan) and runs each of them.
# Usage: scripts/fuzz.sh [SECONDS] [HARNESS...]
#   SECONDS  how long each harness runs (default 30)
#   HARNESS  only these (e.g. check_fuzz); default: every tests/fuzz/*_fuzz.cc
# Builds in $FUZZ_BUILD_DIR (default build-fuzz/, optimized, harnesses only). A build dir that is
# already configured is reused as it is: scripts/test.sh points this at its sanitized build
# (-DEXPVAR_FUZZ=ON), which already holds the harnesses. Each harness starts from a writable copy of
# its seed corpus (tests/fuzz/corpus/<harness>/) in the build dir, so the repository is never
# modified; what it learns stays in $FUZZ_BUILD_DIR/corpus/<harness>/ for the next run. The
# libFuzzer log goes to $FUZZ_BUILD_DIR/logs/<harness>.log. Exits 1 when any harness found a
# crash, leak or timeout, naming the harness and the input that reproduces it:
#   $FUZZ_BUILD_DIR/tests/fuzz/<harness> <artifact>
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

SECONDS_EACH=${1:-30}
shift || true
[[ $SECONDS_EACH =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS] [HARNESS...]" >&2; exit 2; }
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}

ensure_packages "${BUILD_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"

harnesses=("$@")
if [[ ${#harnesses[@]} -eq 0 ]]; then
  for source in "$ROOT"/tests/fuzz/*_fuzz.cc; do
    harnesses+=("$(basename "$source" .cc)")
  done
fi

start=$(date +%s)
if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  CC=clang-14 CXX=clang++-14 cmake -S "$ROOT" -B "$BUILD" -G Ninja -DEXPVAR_FUZZ=ON \
    -DEXPVAR_BUILD_TESTS=OFF -DEXPVAR_BUILD_BENCH=OFF >/dev/null
elif ! grep -q '^EXPVAR_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  echo "$BUILD was configured without -DEXPVAR_FUZZ=ON; point FUZZ_BUILD_DIR elsewhere" >&2
  exit 2
fi
nice cmake --build "$BUILD" --parallel "$(( $(nproc) < 2 ? $(nproc) : 2 ))" \
  --target "${harnesses[@]}" | grep -Ev '^\[[0-9]+/[0-9]+\] ' || true
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "fuzz build failed" >&2; exit 1; }
echo "fuzz build: $(($(date +%s) - start)) s" >&2

# Leaks are findings; a report must abort so that libFuzzer saves the input.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

mkdir -p "$BUILD/logs" "$BUILD/artifacts"
failed=0
for harness in "${harnesses[@]}"; do
  corpus=$BUILD/corpus/$harness
  artifacts=$BUILD/artifacts/$harness/
  log=$BUILD/logs/$harness.log
  mkdir -p "$corpus" "$artifacts"
  seeds=$ROOT/tests/fuzz/corpus/$harness
  [[ -d $seeds ]] && cp -rn "$seeds/." "$corpus/"
  dict=()
  [[ -f $ROOT/tests/fuzz/$harness.dict ]] && dict=("-dict=$ROOT/tests/fuzz/$harness.dict")
  if nice "$BUILD/tests/fuzz/$harness" "$corpus" "${dict[@]}" -max_total_time="$SECONDS_EACH" \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts" >"$log" 2>&1; then
    stats=$(grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec' "$log" |
      awk '{printf "%s ", $2}')
    read -r execs per_sec <<<"$stats"
    echo "$harness: ok, ${execs:-?} execs (${per_sec:-?}/s), corpus $(ls "$corpus" | wc -l) inputs"
  else
    failed=1
    artifact=$(grep -Eo "Test unit written to [^ ]+" "$log" | tail -1 | cut -d' ' -f5- || true)
    echo "$harness: FAILED; input: ${artifact:-none saved}; log: $log" >&2
    tail -n 40 "$log" >&2
  fi
done
exit $failed
