#!/usr/bin/env python3
"""Fails when a value in the chart's values.yaml has no effect on any rendering.

A value counts as used when changing it alone changes the output of `helm template` with the
default values or with one of the test value files (some values only matter in one mode, or
once a feature is on). Grepping the templates for `.Values.x` would miss values that are read
but never reach the output, and values read through a parent (`toYaml .Values.resources`).

Usage: values_used.py HELM CHART_DIR VALUES_FILE...
"""
import copy
import json
import re
import subprocess
import sys
import tempfile

import yaml

# Samples for the values whose default is empty, where a generic placeholder would not be valid
# chart input (objects the templates pick apart, or the conf.d format).
SAMPLES = {
    "imagePullSecrets": [{"name": "probe-secret"}],
    "tags": ["probe:1"],
    "confd.instances": [{"expvar_url": "http://probe.default.svc:8080/debug/vars"}],
    "extraArgs": ["--probe"],
    "extraEnv": [{"name": "PROBE", "value": "1"}],
    "tolerations": [{"key": "probe", "operator": "Exists"}],
    "dogstatsd.url": "udp://probe.datadog.svc:8125",
    "image.digest": "sha256:" + "0" * 64,
    "confd.existingConfigMap": "probe-confd",
    "extraVolumes": [{"name": "probe", "emptyDir": {}}],
    "extraVolumeMounts": [{"name": "probe", "mountPath": "/probe"}],
    "serviceMonitor.relabelings": [{"targetLabel": "probe", "replacement": "1"}],
    "serviceMonitor.metricRelabelings": [{"targetLabel": "probe", "replacement": "1"}],
    "podMonitor.relabelings": [{"targetLabel": "probe", "replacement": "1"}],
    "podMonitor.metricRelabelings": [{"targetLabel": "probe", "replacement": "1"}],
    "prometheusRule.runbookUrl": "https://probe.example.com/runbook",
    "networkPolicy.ingressFrom": [{"podSelector": {"matchLabels": {"probe": "1"}}}],
    "networkPolicy.targets": [{"podSelector": {"matchLabels": {"probe": "1"}}}],
    "networkPolicy.apiServerCIDRs": ["10.99.0.1/32"],
    "networkPolicy.apiServerPorts": [8443],
    "networkPolicy.dns": [{"podSelector": {"matchLabels": {"probe": "1"}}}],
    "networkPolicy.extraEgress": [{"ports": [{"port": 9999}]}],
}


def leaves(node, path=()):
    """Yields (path, value) for every scalar, list, and empty map in the values tree."""
    if isinstance(node, dict) and node:
        for key, child in node.items():
            yield from leaves(child, path + (key,))
    else:
        yield path, node


def schema_at(schema, path):
    for key in path:
        schema = schema.get("properties", {}).get(key, {})
    return schema


def mutated(path, value, schema):
    """A different value of the same kind, valid for the schema."""
    dotted = ".".join(path)
    if dotted in SAMPLES:
        return SAMPLES[dotted]
    enum = schema_at(schema, path).get("enum")
    if enum:
        return next(v for v in enum if v != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        duration = re.fullmatch(r"([0-9]+)(ms|s|m|h)", value)
        if duration:  # a Prometheus duration stays one
            return f"{int(duration.group(1)) + 1}{duration.group(2)}"
        return value + "9" if value else "probe-value"
    if isinstance(value, list):
        return value + ["probe"]
    if isinstance(value, dict):
        return {"probe": "x"}
    raise SystemExit(f"values_used.py: no mutation for {dotted}={value!r}")


def lookup(tree, path, fallback):
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return fallback
        tree = tree[key]
    return tree


def with_value(tree, path, value):
    tree = copy.deepcopy(tree)
    node = tree
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return tree


def render(helm, chart, overrides):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(overrides, f)
        f.flush()
        run = subprocess.run([helm, "template", "rel", chart, "--namespace", "monitoring", "-f", f.name],
                             capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr.strip())
    return run.stdout


def main():
    helm, chart, value_files = sys.argv[1], sys.argv[2], sys.argv[3:]
    defaults = yaml.safe_load(open(f"{chart}/values.yaml"))
    schema = json.load(open(f"{chart}/values.schema.json"))
    baselines = [{}] + [yaml.safe_load(open(f)) or {} for f in value_files]
    rendered = [render(helm, chart, b) for b in baselines]

    unused, broken = [], []
    for path, value in leaves(defaults):
        changed = False
        errors = []
        for baseline, out in zip(baselines, rendered):
            # Mutate the value the baseline actually has, or the probe may equal it.
            probe = mutated(path, lookup(baseline, path, value), schema)
            try:
                changed = render(helm, chart, with_value(baseline, path, probe)) != out
            except RuntimeError as e:
                # The chart refuses some combinations on purpose (a `fail`); another baseline
                # may take the value.
                errors.append(f"{'.'.join(path)}={probe!r}: {e}")
                continue
            if changed:
                break
        if not changed and errors:
            broken.extend(errors)
        elif not changed:
            unused.append(".".join(path))
    for line in broken:
        print(f"cannot render with {line}", file=sys.stderr)
    for name in unused:
        print(f"values.yaml: {name} changes no rendering", file=sys.stderr)
    if unused or broken:
        return 1
    print(f"every one of the {sum(1 for _ in leaves(defaults))} values in values.yaml is used")
    return 0


if __name__ == "__main__":
    sys.exit(main())
