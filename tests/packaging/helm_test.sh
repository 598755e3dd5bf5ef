#!/usr/bin/env bash
# Lints and renders helm/expvar-collector in both modes and with every optional object on
# (helm-values/features.yaml), and checks the output (kinds, apiVersions, RBAC verbs, probes,
# security context: manifests_check.py --rendered; then each value's objects and fields), that
# impossible combinations of values stop the rendering with a message naming the value, and that
# the chart's dashboard is the repository's dashboards/expvar-collector.json. Uses `helm lint` and
# `helm template` when helm is on PATH (scripts/install-helm.sh puts it there); otherwise it
# builds tests/packaging/helmrender, a text/template+sprig stand-in for `helm template`, from
# Debian's Go packages, and validates the values files against values.schema.json itself.
# The renderings pass yamllint, and (with helm) every value in values.yaml must change one.
# Usage: helm_test.sh CHART_DIR [WORK_DIR]      exit 0 pass, 1 fail, 77 skip (no renderer)
set -euo pipefail
chart=$(cd "${1:?usage: $0 CHART_DIR [WORK_DIR]}" && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not available" >&2; exit 77; }

app_version=$(sed -nE 's/^appVersion:[[:space:]]*"?([^"]+)"?/\1/p' "$chart/Chart.yaml")
project_version=$(sed -nE 's/^project\(expvar-collector VERSION ([0-9.]+).*/\1/p' "$here/../../CMakeLists.txt")
[[ $app_version == "$project_version" ]] \
  || fail "Chart.yaml appVersion $app_version is not the project version $project_version"

if command -v helm >/dev/null; then
  helm lint --strict "$chart" || fail "helm lint"
  for mode in daemonset deployment features; do
    helm lint --strict "$chart" -f "$here/helm-values/$mode.yaml" || fail "helm lint ($mode)"
  done
  render() { helm template "$@" --namespace monitoring; }
else
  if ! command -v go >/dev/null || [[ ! -d /usr/share/gocode/src/github.com/Masterminds/sprig ]] \
      || [[ ! -d /usr/share/gocode/src/gopkg.in/yaml.v2 ]]; then
    echo "SKIP: neither helm nor go with golang-github-masterminds-sprig-dev and golang-gopkg-yaml.v2-dev is installed" >&2
    exit 77
  fi
  echo "helm is not installed: rendering with helmrender (no helm lint)"
  GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$work/gocache" \
    go build -o "$work/helmrender" "$here/helmrender/main.go" || fail "cannot build helmrender"
  render() {
    local release=$1 dir=$2
    shift 2
    "$work/helmrender" -namespace monitoring "$@" "$release" "$dir"
  }
  # helm validates values against values.schema.json; do the same when jsonschema is there.
  if python3 -c 'import jsonschema' 2>/dev/null; then
    python3 - "$chart" "$here/helm-values" <<'PY' || fail "values do not match values.schema.json"
import copy, glob, json, sys, yaml, jsonschema
chart, extra = sys.argv[1], sys.argv[2]
schema = json.load(open(f"{chart}/values.schema.json"))
jsonschema.Draft7Validator.check_schema(schema)
base = yaml.safe_load(open(f"{chart}/values.yaml"))
def merge(d, s):
    for k, v in s.items():
        d[k] = merge(d[k], v) if isinstance(v, dict) and isinstance(d.get(k), dict) else v
    return d
for f in [None] + sorted(glob.glob(f"{extra}/*.yaml")):
    vals = merge(copy.deepcopy(base), yaml.safe_load(open(f))) if f else base
    jsonschema.validate(vals, schema)
for bad in ({"mode": "statefulset"}, {"logFormat": "xml"}, {"allowAnyHost": "yes"},
            {"confd": {"instances": [{"tags": []}]}}, {"dogstatsd": {"mode": "tcp"}},
            {"dogstatsd": {"useHostIP": True}}, {"noSuchValue": 1}, {"image": {"digest": "latest"}},
            {"commonLabels": {"n": 1}}, {"networkPolicy": {"apiServerCIDRs": ["kubernetes"]}}):
    try:
        jsonschema.validate(merge(copy.deepcopy(base), bad), schema)
    except jsonschema.ValidationError:
        continue
    sys.exit(f"values.schema.json accepts {bad}")
print("values.schema.json: defaults and test values valid, bad values refused")
PY
  else
    echo "note: python3-jsonschema not installed; values.schema.json not checked" >&2
  fi
fi

render rel "$chart" >"$work/default.yaml" 2>"$work/default.notes" || fail "render with default values: $(cat "$work/default.notes")"
python3 "$here/manifests_check.py" --rendered "$work/default.yaml" --mode daemonset \
  --expect-kind DaemonSet --expect-kind ServiceAccount --expect-kind ClusterRole \
  --expect-kind ClusterRoleBinding || fail "default (daemonset) rendering"

render rel "$chart" -f "$here/helm-values/daemonset.yaml" >"$work/daemonset.yaml" 2>"$work/daemonset.notes" \
  || fail "render daemonset: $(cat "$work/daemonset.notes")"
python3 "$here/manifests_check.py" --rendered "$work/daemonset.yaml" --mode daemonset \
  --expect-kind DaemonSet --expect-kind ServiceAccount --expect-kind ClusterRole \
  --expect-kind ClusterRoleBinding --expect-kind Service || fail "daemonset rendering"

render rel "$chart" -f "$here/helm-values/deployment.yaml" >"$work/deployment.yaml" 2>"$work/deployment.notes" \
  || fail "render deployment: $(cat "$work/deployment.notes")"
python3 "$here/manifests_check.py" --rendered "$work/deployment.yaml" --mode deployment \
  --expect-kind Deployment --expect-kind ServiceAccount --expect-kind ConfigMap \
  --expect-kind Service --expect-kind ServiceMonitor || fail "deployment rendering"

render rel "$chart" -f "$here/helm-values/features.yaml" >"$work/features.yaml" 2>"$work/features.notes" \
  || fail "render features: $(cat "$work/features.notes")"
python3 "$here/manifests_check.py" --rendered "$work/features.yaml" --mode daemonset \
  --expect-kind DaemonSet --expect-kind ServiceAccount --expect-kind ClusterRole \
  --expect-kind ClusterRoleBinding --expect-kind PodMonitor --expect-kind PrometheusRule \
  --expect-kind ConfigMap --expect-kind NetworkPolicy --expect-kind PriorityClass \
  || fail "features rendering"

# kubectl decodes every rendered object (offline: --local, KUBECONFIG=/dev/null).
if command -v kubectl >/dev/null; then
  for f in default daemonset deployment features; do
    KUBECONFIG=/dev/null kubectl label --local -f "$work/$f.yaml" helm-test=1 -o name >/dev/null \
      || fail "kubectl cannot decode the $f rendering"
  done
fi

# Specific values reach the output.
grep -q 'priorityClassName: expvar-collector-critical' "$work/daemonset.yaml" || fail "priorityClassName not rendered"
grep -q 'key: dedicated' "$work/daemonset.yaml" || fail "extra toleration not rendered"
grep -q 'replicas: 2' "$work/deployment.yaml" || fail "replicaCount not rendered"
grep -q 'udp://datadog-agent.datadog.svc:8125' "$work/deployment.yaml" || fail "dogstatsd.url not rendered"
if grep -q 'kind: ClusterRole' "$work/deployment.yaml"; then fail "RBAC rendered with discovery off"; fi
# webConfig: the Secret is mounted where --web-config-file points, and everything speaks HTTPS.
python3 - "$work/deployment.yaml" "$work/default.yaml" <<'PY' || fail "webConfig rendering"
import sys, yaml
def pod_spec(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d and d["kind"] in ("Deployment", "DaemonSet")]
    return docs[0]["spec"]["template"]
tls, plain = pod_spec(sys.argv[1]), pod_spec(sys.argv[2])
c = tls["spec"]["containers"][0]
args = c["args"]
web = args[args.index("--web-config-file") + 1]
mount = next(m for m in c["volumeMounts"] if m["name"] == "web-config")
assert web.startswith(mount["mountPath"] + "/"), (web, mount)
vol = next(v for v in tls["spec"]["volumes"] if v["name"] == "web-config")
assert vol["secret"]["secretName"] == "expvar-collector-web", vol
for probe in ("livenessProbe", "readinessProbe"):
    assert c[probe]["httpGet"]["scheme"] == "HTTPS", c[probe]
    assert plain["spec"]["containers"][0][probe]["httpGet"]["scheme"] == "HTTP"
assert tls["metadata"]["annotations"]["prometheus.io/scheme"] == "https"
assert "--web-config-file" not in plain["spec"]["containers"][0]["args"]
sm = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ServiceMonitor"][0]
ep = sm["spec"]["endpoints"][0]
assert ep["scheme"] == "https" and ep["tlsConfig"] == {"insecureSkipVerify": True}, ep
PY
if grep -q -- '--allow-any-host' "$work/default.yaml"; then fail "--allow-any-host is on by default"; fi
# The conf.d ConfigMap holds a go_expvar conf.
python3 - "$work/deployment.yaml" <<'PY' || fail "conf.d ConfigMap"
import sys, yaml
cms = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d["kind"] == "ConfigMap"]
conf = yaml.safe_load(cms[0]["data"]["values.yaml"])
assert conf["instances"][0]["expvar_url"] == "http://my-app.default.svc:8080/debug/vars", conf
assert conf["init_config"] == {"min_collection_interval": 30}, conf
PY
# Each new value reaches its object or field (helm_values_check.py has one function per value).
python3 "$here/helm_values_check.py" "$work" "$here/../.." || fail "values not rendered as documented"

# The chart's dashboard and rules are copies of the repository's (helm reads only files inside
# the chart directory).
cmp "$chart/dashboards/expvar-collector.json" "$here/../../dashboards/expvar-collector.json" \
  || fail "$chart/dashboards/expvar-collector.json differs from dashboards/expvar-collector.json: copy it"
cmp "$chart/prometheus/rules.yaml" "$here/../../deploy/prometheus/rules.yaml" \
  || fail "$chart/prometheus/rules.yaml differs from deploy/prometheus/rules.yaml: copy it"

# Impossible combinations stop the rendering, and the message names the value at fault.
check_refused() {
  local message=$1 values=$2 out
  printf '%s\n' "$values" >"$work/refused.yaml"
  if out=$(render rel "$chart" -f "$work/refused.yaml" 2>&1 >/dev/null); then
    fail "rendered although impossible: $values"
  fi
  [[ $out == *"$message"* ]] || fail "refusing {$values}: the error does not name '$message': $out"
}
check_refused "webConfig.secretName" 'webConfig: {tls: true}'
check_refused "dogstatsd.url" 'dogstatsd: {mode: url}'
check_refused "dogstatsd.mode" 'dogstatsd: {url: "udp://agent:8125"}'
check_refused "DD_AGENT_HOST" 'extraEnv: [{name: DD_AGENT_HOST, value: 10.0.0.1}]'
check_refused "confd.existingConfigMap" \
  'confd: {existingConfigMap: mine, instances: [{expvar_url: "http://a.default.svc:8080/debug/vars"}]}'
check_refused "podMonitor.enabled" 'serviceMonitor: {enabled: true}
podMonitor: {enabled: true}'
check_refused "priorityClassName" 'priorityClassName: system-node-critical'
check_refused "priorityClass.create" 'priorityClassName: mine
priorityClass: {create: true}'
check_refused "commonLabels" 'commonLabels: {app.kubernetes.io/name: other}'
check_refused "prometheusRule.job" 'prometheusRule: {enabled: true}'
# ... and system-* is fine in kube-system.
printf 'priorityClassName: system-node-critical\n' >"$work/kube-system.yaml"
if command -v helm >/dev/null; then
  helm template rel "$chart" --namespace kube-system -f "$work/kube-system.yaml" >/dev/null \
    || fail "system-node-critical refused in kube-system"
else
  "$work/helmrender" -namespace kube-system -f "$work/kube-system.yaml" rel "$chart" >/dev/null 2>&1 \
    || fail "system-node-critical refused in kube-system"
fi

# yamllint (settings in the repository's .yamllint) on every rendering and on the chart's own YAML.
if command -v yamllint >/dev/null; then
  yamllint -s -c "$here/../../.yamllint" "$work/default.yaml" "$work/daemonset.yaml" "$work/deployment.yaml" \
    "$work/features.yaml" "$chart/values.yaml" "$chart/Chart.yaml" "$chart/prometheus/rules.yaml" || fail "yamllint"
else
  echo "note: yamllint not installed; renderings not linted" >&2
fi
# Every value in values.yaml changes some rendering (needs the real helm: it re-renders per value).
if command -v helm >/dev/null; then
  python3 "$here/values_used.py" helm "$chart" "$here"/helm-values/*.yaml || fail "unused values in values.yaml"
fi
# NOTES.txt states the collector's DogStatsD resolution order (lib/sink/dogstatsd_address.cc).
# `helm template` does not print NOTES, so render it as an ordinary template of a copy of the chart.
if command -v helm >/dev/null; then
  rm -rf "$work/notes-chart"
  cp -r "$chart" "$work/notes-chart"
  cp "$chart/templates/NOTES.txt" "$work/notes-chart/templates/notes-as-text.yaml"
  # --debug prints the rendering before failing on text that is not YAML.
  helm template rel "$work/notes-chart" --namespace monitoring --debug \
    --show-only templates/notes-as-text.yaml >"$work/default.notes" 2>&1 || true
fi
order='--dogstatsd-url (extraArgs), DD_DOGSTATSD_URL, DD_AGENT_HOST
(+ DD_DOGSTATSD_PORT, default 8125), unix:///var/run/datadog/dsd.socket if it exists,
udp://127.0.0.1:8125'
[[ $(cat "$work/default.notes") == *"$order"* ]] || [[ ! -s $work/default.notes ]] \
  || fail "NOTES.txt lacks the DogStatsD resolution order"
grep -q 'DD_DOGSTATSD_URL=unix:///var/run/datadog/dsd.socket' "$work/default.notes" || [[ ! -s $work/default.notes ]] \
  || fail "NOTES.txt does not say the default socket mode"
grep -q 'port-forward' "$work/default.notes" || [[ ! -s $work/default.notes ]] || fail "NOTES.txt lacks port-forward"
echo "PASS: chart renders in both modes and with every optional object"
