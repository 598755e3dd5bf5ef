#!/usr/bin/env bash
# Builds testdata/goapp (standard library only) into OUTDIR/goapp, offline.
# Idempotent: returns at once when the binary is newer than every source file.
# Usage: scripts/build-goapp.sh OUTDIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../testdata/goapp" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
bin=$out/goapp

if [[ -x $bin && -z $(find "$src" "${BASH_SOURCE[0]}" -newer "$bin" -print -quit) ]]; then
  exit 0
fi
command -v go >/dev/null || { echo "$0: 'go' not found (apt-get install golang-go)" >&2; exit 1; }

# Never touch the network or ~/go: no proxy, no checksum DB, no user go.env,
# caches under OUTDIR. CGO off gives a static binary that also runs in containers.
export GOFLAGS=-mod=mod GOPROXY=off GOSUMDB=off GOENV=off GO111MODULE=on GOTOOLCHAIN=local
export GOCACHE=$out/.gocache GOPATH=$out/.gopath GOMODCACHE=$out/.gopath/pkg/mod CGO_ENABLED=0

tmp=$(mktemp "$out/.goapp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
(cd "$src" && go build -trimpath -o "$tmp" .)
mv -f "$tmp" "$bin" # atomic: a concurrent reader sees the old or the new binary
