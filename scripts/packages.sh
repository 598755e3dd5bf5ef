# Sourced by the other scripts: installs the Debian packages they need, only when missing.

# Everything the build links against (Debian bookworm; Boost 1.81 explicitly, since the
# unversioned libboost-dev is 1.74).
BUILD_PACKAGES=(g++ cmake ninja-build pkg-config libboost1.81-dev libboost-json1.81-dev
  libboost-program-options1.81-dev libboost-url1.81-dev libyaml-cpp-dev prometheus-cpp-dev
  libspdlog-dev libgtest-dev libssl-dev libbenchmark-dev libre2-dev zlib1g-dev)
# The libFuzzer harnesses (scripts/fuzz.sh): Clang and its sanitizer/libFuzzer runtimes.
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)
# The real peers the integration tests start.
TEST_PACKAGES=(golang-go etcd-server prometheus openssl curl python3 python3-yaml python3-jsonschema
  ca-certificates golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev unzip yamllint apache2-utils)
# What bench/run.sh needs beyond the build: the Python reference, a static HTTP server for the
# targets, the chart, and the profiler used when a number looks wrong.
BENCH_PACKAGES=(python3 python3-yaml nginx-light gnuplot-nox curl linux-perf collectd-core libyajl2
  libcurl3-gnutls python3-requests)

ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may have empty package lists; update only when the install needs it.
  if ! "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"; then
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# Configures $1 with the tests enabled (plus the array CMAKE_EXTRA_ARGS when set, e.g.
# -DEXPVAR_SANITIZE=ON) and builds the given targets (all when none are given).
build_project() {
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$dir" -G Ninja -DEXPVAR_BUILD_TESTS=ON \
    ${CMAKE_EXTRA_ARGS[@]+"${CMAKE_EXTRA_ARGS[@]}"} >/dev/null
  local targets=()
  [[ $# -gt 0 ]] && targets=(--target "$@")
  cmake --build "$dir" --parallel "$(nproc)" "${targets[@]}"
}
