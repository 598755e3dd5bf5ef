#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and integration), then the fuzzers.
# Usage: scripts/test.sh [--normal | --sanitize | --image] [ctest arguments...]
#   (default)   what CI runs: the normal build in $BUILD_DIR (default build/) and its suite; then
#               the ASan + UBSan build in $SANITIZE_BUILD_DIR (default build-asan/, Clang 14,
#               -DEXPVAR_FUZZ=ON) and the same suite under it; then every libFuzzer harness from
#               that build for $FUZZ_SECONDS each (default 30; 0 skips them); then the container
#               image, built from the Dockerfile with podman and smoke-tested (scripts/image.sh,
#               ~7 min cold; EXPVAR_IMAGE=0 skips it).
#   --image     only the image build and its smoke tests.
#   --normal    only the normal build and its suite (the quick loop while developing).
#   --sanitize  only the sanitized build, its suite and the fuzzers; also EXPVAR_SANITIZE=1.
# The packaging checks are left out of the sanitized suite: they inspect the binary's shared
# libraries, which the sanitizer runtimes change. Each stage prints how long it took.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

# Sanitizer settings for every process the suite starts (the integration tests spawn the daemon,
# which inherits them). Suppressions, each explained, live in tests/sanitizers/. Reports go to
# files under $1 as well: a daemon started by a test may die of a finding without the test
# noticing, so sanitizer_reports fails the run when any report was written.
sanitizer_env() {
  local supp=$ROOT/tests/sanitizers logs=$1
  rm -rf "$logs"
  mkdir -p "$logs"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$logs/asan"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp:log_path=$logs/ubsan"
}

# Prints every report in $1; fails when there is one.
sanitizer_reports() {
  local logs=$1 report found=0
  for report in "$logs"/*; do
    [[ -e $report ]] || continue
    found=1
    echo "=== sanitizer report $report" >&2
    cat "$report" >&2
  done
  return $found
}

# Builds and tests one flavour: run_suite normal|sanitize [ctest arguments...]. Prints how long
# the build and the tests took.
run_suite() {
  local flavour=$1
  shift
  local build ctest_extra=() start
  if [[ $flavour == sanitize ]]; then
    build=$SANITIZE_BUILD
    # Clang at -O0 -g1 builds in well under half the time GCC needs at -O2 -g (the Beast
    # coroutine code dominates; see tests/sanitizers/README.md), and line tables are enough for
    # the reports. The same build holds the fuzz harnesses, so they cost no build of their own.
    CMAKE_EXTRA_ARGS=(-DCMAKE_CXX_COMPILER=clang++-14 -DEXPVAR_SANITIZE=ON -DEXPVAR_FUZZ=ON
      -DEXPVAR_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1")
    ctest_extra=(--label-exclude packaging)
    # A build-asan/ from before the switch to Clang: CMake cannot change compilers in place.
    local cache=$build/CMakeCache.txt
    if [[ -f $cache ]] && ! grep -q '^CMAKE_CXX_COMPILER:.*clang' "$cache"; then
      rm -rf "$cache" "$build/CMakeFiles"
    fi
  else
    build=${BUILD_DIR:-$ROOT/build}
    CMAKE_EXTRA_ARGS=()
  fi
  start=$(date +%s)
  build_project "$build" || return
  echo "$flavour build: $(($(date +%s) - start)) s" >&2
  if [[ $flavour == normal ]]; then
    # The chart is linted with the real helm when the npm registry can provide it (see the
    # script); otherwise tests/packaging falls back to its rendering stand-in.
    "$ROOT/scripts/install-helm.sh" "$build/tools" || echo "helm unavailable: chart checked without helm lint" >&2
  fi
  start=$(date +%s)
  local rc=0
  (
    [[ $flavour == sanitize ]] && sanitizer_env "$build/sanitizer-reports"
    cd "$build"
    ctest --output-on-failure --parallel "$(nproc)" --timeout 300 ${ctest_extra[@]+"${ctest_extra[@]}"} "$@"
  ) || rc=$?
  if [[ $flavour == sanitize ]]; then
    sanitizer_reports "$build/sanitizer-reports" || rc=1
  fi
  echo "$flavour tests: $(($(date +%s) - start)) s" >&2
  return $rc
}

SANITIZE_BUILD=${SANITIZE_BUILD_DIR:-$ROOT/build-asan}

# Each harness for FUZZ_SECONDS, built by the sanitized build; a finding fails the run
# (scripts/fuzz.sh names the input).
run_fuzzers() {
  local seconds=${FUZZ_SECONDS:-30}
  [[ $seconds -eq 0 ]] && return 0
  FUZZ_BUILD_DIR=$SANITIZE_BUILD "$ROOT/scripts/fuzz.sh" "$seconds"
}

# The sanitized suite, then the fuzzers; both always run.
run_sanitized() {
  local rc=0
  run_suite sanitize "$@" || rc=$?
  run_fuzzers || rc=1
  return $rc
}

ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
mode=all
[[ ${EXPVAR_SANITIZE:-0} == 1 ]] && mode=sanitize
case ${1:-} in
  --normal) mode=normal; shift ;;
  --sanitize) mode=sanitize; shift ;;
  --image) mode=image; shift ;;
esac
[[ $mode == normal ]] || ensure_packages "${FUZZ_PACKAGES[@]}"

# The image CI ships: built from the Dockerfile (a Release build inside it) and smoke-tested
# read-only as uid 65532 (--version, check exiting 1 on an unreachable target, run answering
# /healthz).
run_image() {
  [[ ${EXPVAR_IMAGE:-1} == 0 ]] && return 0
  local start
  start=$(date +%s)
  "$ROOT/scripts/image.sh" || return
  echo "image build and smoke tests: $(($(date +%s) - start)) s" >&2
}

# Every selected stage runs even when an earlier one failed, so one CI run reports everything.
rc=0
case $mode in
  normal) run_suite normal "$@" || rc=$? ;;
  sanitize) run_sanitized "$@" || rc=$? ;;
  image) run_image || rc=$? ;;
  all)
    run_suite normal "$@" || rc=$?
    run_sanitized "$@" || rc=1
    run_image || rc=1
    ;;
esac
exit $rc
