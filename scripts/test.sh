#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (unit and integration), then the fuzzers.
# Usage: scripts/test.sh [--sanitize | --all] [ctest arguments...]
#   (default)   the normal build in $BUILD_DIR (default build/) and its suite, then every libFuzzer
#               harness for $FUZZ_SECONDS each (default 30; 0 skips them). This is what CI runs.
#   --sanitize  ASan + UBSan (-DEXPVAR_SANITIZE=ON) in $SANITIZE_BUILD_DIR (default build-asan/);
#               also selected by EXPVAR_SANITIZE=1. The packaging checks are left out there (they
#               inspect the binary's shared libraries, which the sanitizer runtimes change).
#   --all       the normal suite, the sanitized suite and the fuzzers. Not CI's default: the
#               sanitized build alone takes about twice the normal one's ~10 minutes on 2 cores,
#               which does not fit CI's 30 minutes next to the rest (see tests/sanitizers/).
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
    build=${SANITIZE_BUILD_DIR:-$ROOT/build-asan}
    # -O1 -g1: line tables for the reports, a fraction of -O2 -g's compile time and size.
    CMAKE_EXTRA_ARGS=(-DEXPVAR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1")
    ctest_extra=(--label-exclude packaging)
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

# CI: the normal suite, then the sanitized one; fails when either fails (both always run).
run_all_suites() {
  local rc=0
  run_suite normal "$@" || rc=$?
  run_suite sanitize "$@" || rc=$?
  return $rc
}

ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
mode=normal
[[ ${EXPVAR_SANITIZE:-0} == 1 ]] && mode=sanitize
case ${1:-} in
  --sanitize) mode=sanitize; shift ;;
  --all) mode=all; shift ;;
esac
# Each harness for FUZZ_SECONDS; a finding fails the run (scripts/fuzz.sh names the input).
run_fuzzers() {
  local seconds=${FUZZ_SECONDS:-30}
  [[ $seconds -eq 0 ]] && return 0
  "$ROOT/scripts/fuzz.sh" "$seconds"
}

rc=0
case $mode in
  all) run_all_suites "$@" || rc=$? ;;
  *) run_suite "$mode" "$@" || rc=$? ;;
esac
[[ $mode == sanitize ]] || run_fuzzers || rc=1
exit $rc
