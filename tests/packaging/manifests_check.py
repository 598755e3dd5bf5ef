#!/usr/bin/env python3
"""Offline checks of deploy/*.yaml and deploy/examples/ (and, with --rendered, of `helm template`
output).

Usage: manifests_check.py DEPLOY_DIR
       manifests_check.py --rendered FILE.yaml --mode daemonset|deployment [--expect-kind K ...]
Exit 0 when every check passes, 1 with one line per failure otherwise.
"""
import argparse
import glob
import json
import os
import subprocess
import sys

import yaml

API_VERSIONS = {
    "ServiceAccount": "v1",
    "ConfigMap": "v1",
    "Service": "v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1",
    "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1",
    "RoleBinding": "rbac.authorization.k8s.io/v1",
    "DaemonSet": "apps/v1",
    "Deployment": "apps/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PodMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "PriorityClass": "scheduling.k8s.io/v1",
}
# The only files in deploy/ that are not Kubernetes objects.
NOT_OBJECTS = {"kustomization.yaml"}
ADMIN_PORT = 9145

failures = []


def fail(where, msg):
    failures.append(f"{where}: {msg}")


def load(paths):
    docs = []
    for path in paths:
        with open(path) as f:
            try:
                for doc in yaml.safe_load_all(f):
                    if doc is not None:
                        docs.append((os.path.basename(path), doc))
            except yaml.YAMLError as e:
                fail(path, f"not YAML: {e}")
    return docs


def name_of(src, doc):
    return f"{src} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def check_common(src, doc):
    where = name_of(src, doc)
    kind = doc.get("kind")
    if kind not in API_VERSIONS:
        fail(where, f"unexpected kind {kind!r}")
    elif doc.get("apiVersion") != API_VERSIONS[kind]:
        fail(where, f"apiVersion {doc.get('apiVersion')!r}, want {API_VERSIONS[kind]!r}")
    if not doc.get("metadata", {}).get("name"):
        fail(where, "no metadata.name")


def check_pod_rules(src, doc):
    """RBAC: what the collector requests, nothing more: list/watch on pods (no get: it only LISTs
    and WATCHes), and create/patch on events (its Events about annotation errors), if at all."""
    where = name_of(src, doc)
    rules = doc.get("rules") or []
    if not rules:
        fail(where, "no rules")
    pods = False
    for rule in rules:
        if rule.get("resources") == ["pods"] and rule.get("apiGroups") == [""]:
            pods = True
            if sorted(rule.get("verbs", [])) != ["list", "watch"]:
                fail(where, f"pod verbs {rule.get('verbs')}, want list/watch")
        elif rule.get("resources") == ["events"] and rule.get("apiGroups") == [""]:
            if sorted(rule.get("verbs", [])) != ["create", "patch"]:
                fail(where, f"event verbs {rule.get('verbs')}, want create/patch")
        else:
            fail(where, f"rule beyond pods and events: {rule}")
    if rules and not pods:
        fail(where, "no list/watch rule on pods")


def env_of(container):
    out = {}
    for e in container.get("env") or []:
        ref = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        out[e["name"]] = ref if ref else e.get("value")
    return out


def arg_value(args, flag):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def check_collector(where, pod, container, mode):
    """What every collector container must have; mode is node, pod or off."""
    args = [str(a) for a in container.get("args") or []]
    if container.get("command"):
        fail(where, "overrides the image's ENTRYPOINT [expvar-collector]")
    # args replace the image's CMD [run], so they name the subcommand themselves.
    if args[:1] != ["run"]:
        fail(where, f"args do not start with the subcommand run: {args[:3]}")
    if arg_value(args, "--kube-mode") != mode:
        fail(where, f"--kube-mode {arg_value(args, '--kube-mode')!r}, want {mode!r}")
    ports = {p.get("name"): p.get("containerPort") for p in container.get("ports") or []}
    port_name = next((n for n, p in ports.items() if p == ADMIN_PORT), None)
    if port_name not in ("metrics", "admin"):
        fail(where, f"no container port {ADMIN_PORT} named metrics or admin: {ports}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (container.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in (port_name, ADMIN_PORT):
            fail(where, f"{probe} is not GET {path} on port {ADMIN_PORT}: {get}")
    res = container.get("resources") or {}
    for part in ("requests", "limits"):
        for what in ("cpu", "memory"):
            if what not in (res.get(part) or {}):
                fail(where, f"no resources.{part}.{what}")
    sc = container.get("securityContext") or {}
    psc = pod.get("securityContext") or {}
    if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
        fail(where, "runAsNonRoot is not set")
    if sc.get("readOnlyRootFilesystem") is not True:
        fail(where, "readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        fail(where, "allowPrivilegeEscalation is not false")
    if (sc.get("capabilities") or {}).get("drop") != ["ALL"]:
        fail(where, "capabilities.drop is not [ALL]")
    seccomp = (sc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
    if seccomp != "RuntimeDefault":
        fail(where, f"seccompProfile {seccomp!r}, want RuntimeDefault")
    env = env_of(container)
    if mode == "node":
        if env.get("NODE_NAME") != "spec.nodeName":
            fail(where, "NODE_NAME is not from spec.nodeName")
    if mode == "pod":
        for var, field in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"),
                           ("POD_IP", "status.podIP")):
            if env.get(var) != field:
                fail(where, f"{var} is not from {field}")
        info = arg_value(args, "--podinfo-annotations")
        mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts") or []}
        vols = {v["name"]: v for v in pod.get("volumes") or []}
        ok = False
        for vname, mpath in mounts.items():
            for item in (vols.get(vname, {}).get("downwardAPI") or {}).get("items", []):
                if (item.get("fieldRef", {}).get("fieldPath") == "metadata.annotations"
                        and info == f"{mpath.rstrip('/')}/{item['path']}"):
                    ok = True
        if not ok:
            fail(where, f"--podinfo-annotations {info!r} is not a mounted downward-API annotations file")
    if mode in ("node", "pod") and "DD_AGENT_HOST" in env and env["DD_AGENT_HOST"] != "status.hostIP":
        fail(where, "DD_AGENT_HOST is not from status.hostIP")
    check_dogstatsd(where, pod, container, env)
    mounts = {m["mountPath"].rstrip("/"): m["name"] for m in container.get("volumeMounts") or []}
    vols = {v["name"]: v for v in pod.get("volumes") or []}
    for m in container.get("volumeMounts") or []:
        if m["name"] not in vols:
            fail(where, f"volumeMount {m['name']} has no volume")
    confd = arg_value(args, "--confd")
    if confd:
        confd = confd.rstrip("/")
        if confd in mounts:  # the conf.d directory; ConfigMap items put each key under go_expvar.d/
            items = ((vols.get(mounts[confd]) or {}).get("configMap") or {}).get("items")
            if items is not None and not all(i["path"].startswith("go_expvar.d/") for i in items):
                fail(where, "conf.d ConfigMap items are not under go_expvar.d/")
        elif confd + "/go_expvar.d" not in mounts:  # or a ConfigMap whose every key is a check file
            fail(where, f"neither --confd {confd} nor {confd}/go_expvar.d is a mount")
    pcn = pod.get("priorityClassName", "")
    if pcn.startswith("system-"):
        fail(where, f"priorityClassName {pcn}: system-* classes are for kube-system only")


def check_dogstatsd(where, pod, container, env):
    """The DogStatsD address comes from one variable: DD_DOGSTATSD_URL wins over DD_AGENT_HOST, so
    setting both would silently ignore DD_AGENT_HOST. A unix:// URL must be a mounted host path."""
    if "DD_DOGSTATSD_URL" in env and "DD_AGENT_HOST" in env:
        fail(where, "sets both DD_DOGSTATSD_URL and DD_AGENT_HOST (the URL wins)")
    url = env.get("DD_DOGSTATSD_URL") or ""
    if url.startswith("unix://"):
        directory = os.path.dirname(url[len("unix://"):])
        mounts = {m["mountPath"].rstrip("/"): m["name"] for m in container.get("volumeMounts") or []}
        vols = {v["name"]: v for v in pod.get("volumes") or []}
        if directory not in mounts or "hostPath" not in vols.get(mounts[directory], {}):
            fail(where, f"DD_DOGSTATSD_URL {url}: {directory} is not a hostPath mount")


def check_ad_annotations(where, annotations, containers):
    names = {c["name"] for c in containers}
    for key, value in (annotations or {}).items():
        if key.startswith("ad.datadoghq.com/") and key.endswith(".checks"):
            cname = key[len("ad.datadoghq.com/"):-len(".checks")]
            if cname not in names:
                fail(where, f"{key} names no container of the pod ({sorted(names)})")
            try:
                checks = json.loads(value)
            except ValueError as e:
                fail(where, f"{key} is not JSON: {e}")
                continue
            inst = (checks.get("go_expvar") or {}).get("instances") or []
            if not inst or not all("expvar_url" in i for i in inst):
                fail(where, f"{key} has no go_expvar instance with expvar_url")
        elif key == "ad.datadoghq.com/tags":
            try:
                json.loads(value)
            except ValueError as e:
                fail(where, f"{key} is not JSON: {e}")


def collectors(docs):
    """(where, pod spec, container, mode) for every expvar-collector container."""
    for src, doc in docs:
        if doc.get("kind") not in ("DaemonSet", "Deployment"):
            continue
        tmpl = doc["spec"]["template"]
        pod = tmpl["spec"]
        check_ad_annotations(name_of(src, doc), tmpl.get("metadata", {}).get("annotations"),
                             pod.get("containers", []))
        sel = doc["spec"].get("selector", {}).get("matchLabels", {})
        labels = tmpl.get("metadata", {}).get("labels", {})
        if not sel or any(labels.get(k) != v for k, v in sel.items()):
            fail(name_of(src, doc), "selector does not match the pod template labels")
        for c in pod.get("containers", []):
            if "expvar-collector" in str(c.get("image", "")):
                args = [str(a) for a in c.get("args") or []]
                yield name_of(src, doc) + f" container {c['name']}", pod, c, arg_value(args, "--kube-mode")


def check_kustomization(deploy, paths):
    """kustomization.yaml lists every manifest, so `kubectl apply -k deploy/` applies what
    `kubectl apply -f deploy/` does."""
    path = os.path.join(deploy, "kustomization.yaml")
    with open(path) as f:
        k = yaml.safe_load(f) or {}
    if k.get("kind") != "Kustomization":
        fail("kustomization.yaml", f"kind {k.get('kind')!r}, want Kustomization")
    listed = sorted(k.get("resources") or [])
    want = sorted(os.path.basename(p) for p in paths)
    if listed != want:
        fail("kustomization.yaml", f"resources {listed}, want every manifest {want}")


def check_examples(deploy):
    """deploy/examples/*.json: input for `expvar-collector discover --pods`, which reads JSON
    only: a Pod, a List/PodList (items) or an array of pods, as `kubectl get -o json` prints."""
    paths = sorted(glob.glob(os.path.join(deploy, "examples", "*")))
    if not any(p.endswith(".json") for p in paths):
        fail("examples", "no example pod JSON in deploy/examples/")
    for path in paths:
        where = "examples/" + os.path.basename(path)
        if path.endswith(".md"):
            continue
        if not path.endswith(".json"):
            fail(where, "discover --pods reads JSON only")
            continue
        try:
            with open(path) as f:
                doc = json.load(f)
        except ValueError as e:
            fail(where, f"not JSON: {e}")
            continue
        pods = doc if isinstance(doc, list) else doc.get("items", [doc]) if isinstance(doc, dict) else []
        if not pods:
            fail(where, "no pod")
        for pod in pods:
            if not isinstance(pod, dict) or pod.get("kind", "Pod") != "Pod":
                fail(where, f"not a Pod: {str(pod)[:60]}")
                continue
            meta = pod.get("metadata") or {}
            for field in ("name", "namespace", "uid"):
                if not meta.get(field):
                    fail(where, f"pod without metadata.{field}")
            check_ad_annotations(f"{where} pod {meta.get('name')}", meta.get("annotations"),
                                 (pod.get("spec") or {}).get("containers") or [])


def check_deploy_dir(deploy):
    paths = sorted(p for p in glob.glob(os.path.join(deploy, "*.yaml"))
                   if os.path.basename(p) not in NOT_OBJECTS)
    expected_files = ["configmap-confd.yaml", "daemonset.yaml", "example-app.yaml", "rbac.yaml",
                      "sidecar-example.yaml", "priorityclass.yaml", "kustomization.yaml"]
    for f in expected_files:
        if not os.path.exists(os.path.join(deploy, f)):
            fail(deploy, f"missing {f}")
    if os.path.exists(os.path.join(deploy, "kustomization.yaml")):
        check_kustomization(deploy, paths)
    check_examples(deploy)
    docs = load(paths)
    for src, doc in docs:
        check_common(src, doc)
        if doc.get("kind") in ("ClusterRole", "Role"):
            check_pod_rules(src, doc)
    kinds = {(src, doc.get("kind")) for src, doc in docs}
    for want in [("priorityclass.yaml", "PriorityClass"), ("rbac.yaml", "ServiceAccount"), ("rbac.yaml", "ClusterRole"),
                 ("rbac.yaml", "ClusterRoleBinding"), ("daemonset.yaml", "DaemonSet"),
                 ("sidecar-example.yaml", "Deployment"), ("sidecar-example.yaml", "Role"),
                 ("sidecar-example.yaml", "RoleBinding"), ("example-app.yaml", "Deployment"),
                 ("configmap-confd.yaml", "ConfigMap")]:
        if want not in kinds:
            fail(want[0], f"no {want[1]}")
    modes = {}
    for where, pod, c, mode in collectors(docs):
        modes.setdefault(where.split()[0], []).append(mode)
        check_collector(where, pod, c, mode)
    for f, mode in (("daemonset.yaml", "node"), ("sidecar-example.yaml", "pod")):
        if mode not in modes.get(f, []):
            fail(f, f"no collector container with --kube-mode {mode}")
    ds = next((d for s, d in docs if d.get("kind") == "DaemonSet"), None)
    if ds:
        pod = ds["spec"]["template"]["spec"]
        if not any(t.get("operator") == "Exists" and "key" not in t for t in pod.get("tolerations") or []):
            fail("daemonset.yaml", "no toleration of every taint (operator: Exists)")
        ann = ds["spec"]["template"]["metadata"].get("annotations", {})
        if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != str(ADMIN_PORT):
            fail("daemonset.yaml", "no prometheus.io/scrape and prometheus.io/port annotations")
        vols = {v["name"]: v for v in pod.get("volumes") or []}
        if not any((v.get("hostPath") or {}).get("path", "").rstrip("/") == "/var/run/datadog" for v in vols.values()):
            fail("daemonset.yaml", "no hostPath volume for /var/run/datadog")
        pcn = pod.get("priorityClassName")
        if pcn and not any(d.get("kind") == "PriorityClass" and d["metadata"]["name"] == pcn for _, d in docs):
            fail("daemonset.yaml", f"priorityClassName {pcn!r} is not defined in deploy/")
        sa = pod.get("serviceAccountName")
        if ("rbac.yaml", "ServiceAccount") in kinds and not any(
                d.get("kind") == "ServiceAccount" and d["metadata"]["name"] == sa for _, d in docs):
            fail("daemonset.yaml", f"serviceAccountName {sa!r} is not defined in rbac.yaml")
    # The static conf parses as a go_expvar conf.
    for src, doc in docs:
        if doc.get("kind") == "ConfigMap":
            for key, text in (doc.get("data") or {}).items():
                conf = yaml.safe_load(text)
                if not isinstance(conf, dict) or not conf.get("instances"):
                    fail(src, f"ConfigMap key {key} is not a go_expvar conf with instances")
    return docs


def check_rendered(path, mode, expect_kinds):
    docs = load([path])
    if not docs:
        fail(path, "rendered nothing")
    for src, doc in docs:
        check_common(src, doc)
        if doc.get("kind") in ("ClusterRole", "Role"):
            check_pod_rules(src, doc)
    kinds = sorted({d.get("kind") for _, d in docs})
    for k in expect_kinds:
        if k not in kinds:
            fail(path, f"no {k} rendered (got {kinds})")
    workload = {"daemonset": "DaemonSet", "deployment": "Deployment"}[mode]
    other = {"daemonset": "Deployment", "deployment": "DaemonSet"}[mode]
    if other in kinds:
        fail(path, f"mode {mode} rendered a {other}")
    found = list(collectors(docs))
    if len(found) != 1:
        fail(path, f"want one collector container, found {len(found)}")
    for where, pod, c, kube_mode in found:
        want = "node" if mode == "daemonset" else None
        if want and kube_mode != want:
            fail(where, f"--kube-mode {kube_mode!r}, want {want!r}")
        check_collector(where, pod, c, kube_mode)
    return docs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("deploy", nargs="?")
    ap.add_argument("--rendered")
    ap.add_argument("--mode", choices=["daemonset", "deployment"])
    ap.add_argument("--expect-kind", action="append", default=[])
    a = ap.parse_args()
    if a.rendered:
        docs = check_rendered(a.rendered, a.mode, a.expect_kind)
    else:
        docs = check_deploy_dir(a.deploy)
    if failures:
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        return 1
    print(f"PASS: {len(docs)} objects checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
