#!/usr/bin/env bash
# Checks the Prometheus alerts: deploy/prometheus/rules.yaml passes `promtool check rules`, its unit
# tests (rules_test.yaml, one per alert: fires when it should, not when it should not) pass
# `promtool test rules`, every alert has a summary and a runbook_url whose anchor is a subsection of
# "Runbook" in the chart's README, and the chart's PrometheusRule (prometheusRule.enabled) renders
# the same rule groups (its prometheus/rules.yaml is a copy; the job and runbook values rewrite them).
# Usage: rules_test.sh RULES_DIR CHART_DIR [WORK_DIR]   exit 0 pass, 1 fail, 77 skip (no promtool)
set -euo pipefail
rules_dir=$(cd "${1:?usage: $0 RULES_DIR CHART_DIR [WORK_DIR]}" && pwd)
chart=$(cd "${2:?usage: $0 RULES_DIR CHART_DIR [WORK_DIR]}" && pwd)
work=${3:-$(mktemp -d)}
mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v promtool >/dev/null || { echo "SKIP: promtool (Debian package prometheus) not installed" >&2; exit 77; }
python3 -c 'import yaml' 2>/dev/null || { echo "SKIP: python3-yaml not available" >&2; exit 77; }

promtool check rules "$rules_dir/rules.yaml" || fail "promtool check rules"
# promtool resolves rule_files relative to the test file.
promtool test rules "$rules_dir/rules_test.yaml" || fail "promtool test rules"

cmp "$chart/prometheus/rules.yaml" "$rules_dir/rules.yaml" \
  || fail "$chart/prometheus/rules.yaml differs from $rules_dir/rules.yaml: copy it"

# Every alert: summary, runbook_url to a README subsection, and a unit test.
python3 - "$rules_dir/rules.yaml" "$rules_dir/rules_test.yaml" "$chart/README.md" <<'PY' || fail "alert annotations"
import re, sys, yaml
rules, tests, readme = sys.argv[1:]
groups = yaml.safe_load(open(rules))["groups"]
alerts = [r for g in groups for r in g["rules"] if "alert" in r]
text = open(readme).read()
runbook = text.split("\n## Runbook\n", 1)
if len(runbook) != 2:
    sys.exit(f"{readme} has no '## Runbook' section")
anchors = {h.strip().lower() for h in re.findall(r"^### (.+)$", runbook[1].split("\n## ", 1)[0], re.M)}
tested = {t["alertname"] for case in yaml.safe_load(open(tests))["tests"] for t in case.get("alert_rule_test", [])}
for a in alerts:
    name, ann = a["alert"], a.get("annotations", {})
    if not ann.get("summary"):
        sys.exit(f"{name}: no summary annotation")
    url = ann.get("runbook_url", "")
    if not url.endswith("README.md#" + name.lower()):
        sys.exit(f"{name}: runbook_url {url!r} does not point at README.md#{name.lower()}")
    if name.lower() not in anchors:
        sys.exit(f"{name}: no '### {name}' under '## Runbook' in {readme}")
    if name not in tested:
        sys.exit(f"{name}: no unit test in {tests}")
print(f"{len(alerts)} alerts: each has a summary, a runbook subsection and a unit test")
PY

# The chart renders the same groups (needs helm: scripts/install-helm.sh).
if command -v helm >/dev/null; then
  helm template rel "$chart" --namespace monitoring --set podMonitor.enabled=true \
    --set prometheusRule.enabled=true --show-only templates/prometheusrule.yaml >"$work/rule.yaml" \
    || fail "cannot render the chart's PrometheusRule"
  helm template rel "$chart" --namespace monitoring --set podMonitor.enabled=true \
    --set prometheusRule.enabled=true --set prometheusRule.job=kubernetes-pods \
    --set prometheusRule.runbookUrl=https://wiki.example.com/expvar \
    --show-only templates/prometheusrule.yaml >"$work/rule-custom.yaml" \
    || fail "cannot render the chart's PrometheusRule with prometheusRule.job"
  python3 - "$rules_dir/rules.yaml" "$work/rule.yaml" "$work/rule-custom.yaml" <<'PY' || fail "chart PrometheusRule"
import sys, yaml
want = yaml.safe_load(open(sys.argv[1]))["groups"]
rendered = yaml.safe_load(open(sys.argv[2]))
assert rendered["kind"] == "PrometheusRule", rendered["kind"]
if rendered["spec"]["groups"] != want:
    sys.exit("the chart's PrometheusRule groups differ from deploy/prometheus/rules.yaml")
custom = yaml.safe_load(open(sys.argv[3]))["spec"]["groups"]
exprs = [r["expr"] for g in custom for r in g["rules"]]
urls = [r["annotations"]["runbook_url"] for g in custom for r in g["rules"]]
assert any('up{job="kubernetes-pods"}' in e for e in exprs), exprs
assert not any('job="expvar-collector"' in e for e in exprs), exprs
assert all(u.startswith("https://wiki.example.com/expvar#") for u in urls), urls
print("the chart's PrometheusRule renders deploy/prometheus/rules.yaml; prometheusRule.job/runbookUrl apply")
PY
else
  echo "note: helm not installed; the chart's PrometheusRule rendering not compared" >&2
fi
echo "PASS: rules check, unit tests pass, the chart renders the same rules"
