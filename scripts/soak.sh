#!/usr/bin/env bash
# Soak: the daemon in node mode with 1,000 annotated pods churning (pods created and deleted at a
# steady rate through the in-test Kubernetes API server, bench/discovery_latency), for MINUTES
# (default 60). Samples the collector's RSS and open file descriptors every 30 s and fails when
# either kept growing: the median of the last tenth of the run against the median of the second
# tenth (the first tenth is the warm-up, while the first 1,000 targets start).
# Not part of CI (an hour); the result goes into BENCHMARKS.md by hand.
# Usage: scripts/soak.sh [MINUTES]    Environment: SOAK_RATE (pod events/s, default 2),
#        SOAK_SAMPLE_SECONDS (default 30),
#        BENCH_BUILD_DIR (default build-bench, shared with bench/run.sh)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/packages.sh"

MINUTES=${1:-60}
RATE=${SOAK_RATE:-2}
SAMPLE_SECONDS=${SOAK_SAMPLE_SECONDS:-30}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
OUT=$BUILD/soak
mkdir -p "$OUT"
ensure_packages "${BUILD_PACKAGES[@]}"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEXPVAR_BUILD_TESTS=ON \
  -DEXPVAR_BUILD_BENCH=ON >/dev/null
cmake --build "$BUILD" --parallel "$(nproc)" --target expvar-collector discovery_latency

ulimit -n "$(ulimit -Hn)"
setsid "$BUILD/bench/discovery_latency" --binary "$BUILD/expvar-collector" --pods 1000 \
  --rate "$RATE" --seconds $((MINUTES * 60)) --poll-ms 1000 --out "$OUT/latency.json" \
  2>"$OUT/driver.log" &
DRIVER=$!
trap 'kill -TERM -- "-$DRIVER" 2>/dev/null || true' EXIT

# The collector is the driver's child running in node mode.
collector=""
for _ in $(seq 1 300); do
  collector=$(pgrep -P "$DRIVER" -f "expvar-collector run --kube-mode node" || true)
  [[ -n $collector ]] && break
  sleep 0.1
done
[[ -n $collector ]] || { echo "soak: the collector did not start" >&2; cat "$OUT/driver.log" >&2; exit 1; }

echo "seconds,rss_kb,fds,threads" >"$OUT/samples.csv"
start=$SECONDS
while kill -0 "$collector" 2>/dev/null; do
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$collector/status" 2>/dev/null || true)
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$collector/status" 2>/dev/null || true)
  fds=$(ls "/proc/$collector/fd" 2>/dev/null | wc -l)
  [[ -n $rss ]] && echo "$((SECONDS - start)),$rss,$fds,$threads" >>"$OUT/samples.csv"
  sleep "$SAMPLE_SECONDS"
done
wait "$DRIVER" || { echo "soak: the driver failed" >&2; tail -20 "$OUT/driver.log" >&2; exit 1; }
trap - EXIT

COMMIT=$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null || echo unknown)
python3 - "$OUT/samples.csv" "$OUT/latency.json" "$MINUTES" "$RATE" "$COMMIT" <<'PY' | tee "$OUT/summary.md"
import csv, json, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
latency = json.load(open(sys.argv[2]))
n = len(rows)
if n < 20:
    sys.exit(f"soak: only {n} samples; run for longer")
def median(part, key):
    return statistics.median(int(r[key]) for r in part)
early, late = rows[n // 10: n // 5], rows[-(n // 10):]
rss_early, rss_late = median(early, "rss_kb"), median(late, "rss_kb")
fd_early, fd_late = median(early, "fds"), median(late, "fds")
growth = (rss_late - rss_early) / rss_early
print(f"| soak ({sys.argv[3]} min, 1,000 pods, {sys.argv[4]} pod events/s) | early | late | change |")
print("|---|---|---|---|")
print(f"| RSS (MiB, median) | {rss_early / 1024:.1f} | {rss_late / 1024:.1f} | {growth:+.1%} |")
print(f"| open fds (median) | {fd_early:.0f} | {fd_late:.0f} | {fd_late - fd_early:+.0f} |")
print(f"| RSS max over the run (MiB) | | {max(int(r['rss_kb']) for r in rows) / 1024:.1f} | |")
print(f"| pod event -> first scrape p99 (ms) | | {latency['first_scrape']['p99_ms']} | |")
ok = growth <= 0.10 and fd_late - fd_early <= 20
print(f"\nverdict: {'flat' if ok else 'GROWING'} (RSS within +10 %, fds within +20); "
      f"built from {sys.argv[5]}")
sys.exit(0 if ok else 1)
PY
