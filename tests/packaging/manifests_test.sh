#!/usr/bin/env bash
# Validates deploy/*.yaml offline: kubectl builds deploy/kustomization.yaml (`kubectl kustomize`,
# what `kubectl apply -k deploy/` applies) and decodes every object (`kubectl label --local`, no API
# server needed; skipped when kubectl is absent), and manifests_check.py checks kinds, apiVersions
# and what the collector relies on (RBAC verbs, probes, env, security context, annotations, mounts,
# the kustomization listing every manifest, the deploy/examples/ pod JSON for `discover --pods`).
# yamllint (the repository's .yamllint) checks the style.
# Usage: manifests_test.sh DEPLOY_DIR     exit 0 pass, 1 fail, 77 skip (no python3-yaml)
set -euo pipefail
deploy=$(cd "${1:?usage: $0 DEPLOY_DIR}" && pwd -P)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3 with yaml (python3-yaml) not available" >&2; exit 77; }

if command -v kubectl >/dev/null; then
  # KUBECONFIG=/dev/null and --local: kubectl never contacts a server.
  if ! built=$(KUBECONFIG=/dev/null kubectl kustomize "$deploy" 2>&1); then
    echo "FAIL: kubectl kustomize $deploy:" >&2
    echo "$built" >&2
    exit 1
  fi
  if ! out=$(echo "$built" | KUBECONFIG=/dev/null kubectl label --local -f - manifests-test=1 -o name 2>&1); then
    echo "FAIL: kubectl cannot decode $deploy:" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "kubectl kustomize built and kubectl decoded $(echo "$out" | wc -l) objects"
else
  echo "note: kubectl not installed; only the Python checks run" >&2
fi

if command -v yamllint >/dev/null; then
  yamllint -s -c "$here/../../.yamllint" "$deploy" || { echo "FAIL: yamllint $deploy" >&2; exit 1; }
else
  echo "note: yamllint not installed; $deploy not linted" >&2
fi

python3 "$here/manifests_check.py" "$deploy"
