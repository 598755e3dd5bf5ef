#!/usr/bin/env python3
"""Checks that the chart's values reach the objects and fields they document, on the renderings
helm_test.sh wrote: default.yaml (no values), daemonset.yaml, deployment.yaml and features.yaml
(tests/packaging/helm-values/). One function per value or group of values.

Usage: helm_values_check.py WORK_DIR REPO_ROOT       exit 0 pass, 1 with one line per failure
"""
import json
import sys

import yaml

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def objects(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def one(docs, kind):
    found = [d for d in docs if d["kind"] == kind]
    return found[0] if len(found) == 1 else None


def workload(docs):
    return next(d for d in docs if d["kind"] in ("DaemonSet", "Deployment"))


def container(docs):
    return workload(docs)["spec"]["template"]["spec"]["containers"][0]


def env(docs):
    out = {}
    for e in container(docs).get("env") or []:
        ref = e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        out[e["name"]] = ref or e.get("value")
    return out


def volumes(docs):
    return {v["name"]: v for v in workload(docs)["spec"]["template"]["spec"].get("volumes") or []}


def mounts(docs):
    return {m["name"]: m for m in container(docs).get("volumeMounts") or []}


def check_dogstatsd(default, deployment, features):
    # socket (default): the Datadog chart's socket, and never DD_AGENT_HOST.
    e = env(default)
    check(e.get("DD_DOGSTATSD_URL") == "unix:///var/run/datadog/dsd.socket", f"socket mode env: {e}")
    check("DD_AGENT_HOST" not in e and "DD_DOGSTATSD_PORT" not in e, f"socket mode sets DD_AGENT_HOST: {e}")
    check(volumes(default).get("dsdsocket", {}).get("hostPath", {}).get("path") == "/var/run/datadog",
          "socket mode: no hostPath /var/run/datadog")
    check(mounts(default).get("dsdsocket", {}).get("mountPath") == "/var/run/datadog",
          "socket mode: /var/run/datadog not mounted")
    # hostip
    e = env(features)
    check(e.get("DD_AGENT_HOST") == "status.hostIP" and e.get("DD_DOGSTATSD_PORT") == "18125",
          f"hostip mode env: {e}")
    check("DD_DOGSTATSD_URL" not in e, "hostip mode sets DD_DOGSTATSD_URL")
    check("dsdsocket" not in volumes(features), "hostip mode mounts the socket")
    # url
    e = env(deployment)
    check(e.get("DD_DOGSTATSD_URL") == "udp://datadog-agent.datadog.svc:8125", f"url mode env: {e}")
    check("DD_AGENT_HOST" not in e, "url mode sets DD_AGENT_HOST")
    check("--dogstatsd-url" not in container(deployment)["args"], "url mode passes --dogstatsd-url too")


def check_common_labels(features):
    want = {"example.com/team": "observability", "example.com/cost-center": "42"}
    for d in features:
        labels = d["metadata"].get("labels") or {}
        check(all(labels.get(k) == v for k, v in want.items()),
              f"{d['kind']}/{d['metadata']['name']} lacks commonLabels: {labels}")
        check(labels.get("app.kubernetes.io/name") == "expvar-collector",
              f"{d['kind']} lost the chart's labels")
    pod_labels = workload(features)["spec"]["template"]["metadata"]["labels"]
    check(all(pod_labels.get(k) == v for k, v in want.items()), f"pods lack commonLabels: {pod_labels}")
    selector = workload(features)["spec"]["selector"]["matchLabels"]
    check(not set(want) & set(selector), "commonLabels in the (immutable) selector")


def check_image(default, features):
    check(container(default)["image"] == "expvar-collector:0.1.0", f"default image {container(default)['image']}")
    check(container(features)["image"] == "registry.example.com/expvar-collector@sha256:"
          "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
          f"image.digest: {container(features)['image']}")


def check_workload_fields(default, deployment, features):
    check(workload(default)["spec"]["revisionHistoryLimit"] == 10, "default revisionHistoryLimit")
    check(workload(features)["spec"]["revisionHistoryLimit"] == 3, "revisionHistoryLimit not rendered")
    check(workload(deployment)["spec"].get("strategy") == {"type": "RollingUpdate"},
          "updateStrategy is not the Deployment's strategy")
    pod = workload(default)["spec"]["template"]["spec"]
    check(pod.get("nodeSelector") == {"kubernetes.io/os": "linux"}, f"default nodeSelector {pod.get('nodeSelector')}")
    check("priorityClassName" not in pod, "a priorityClassName by default")


def check_args(default, features):
    for docs in (default, features):
        check(container(docs)["args"][0] == "run", "args do not start with run")
    args = container(features)["args"]
    check(args.count("--log-level") == 1 and args[args.index("--log-level") + 1] == "debug",
          f"extraArgs --log-level does not replace the chart's: {args}")
    check("--listen" not in args and args.count("--listen=0.0.0.0:9145") == 1,
          f"extraArgs --listen=... does not replace the chart's --listen: {args}")
    check(args.count("--tag") == 2 and "cluster:test" in args and "extra:1" in args,
          f"--tag from tags and extraArgs do not add up: {args}")
    check("--kube-mode" in args and "--interval" in args, "the chart's other flags are gone")
    d = container(default)["args"]
    check(d.count("--log-level") == 1 and d.count("--listen") == 1, f"default flags: {d}")


def check_confd(deployment, features):
    args = container(features)["args"]
    check(args[args.index("--confd") + 1] == "/etc/expvar-collector/conf.d", "existingConfigMap: --confd")
    check(volumes(features).get("confd", {}).get("configMap") == {"name": "my-expvar-confd"},
          f"existingConfigMap volume: {volumes(features).get('confd')}")
    check(mounts(features).get("confd", {}).get("mountPath") == "/etc/expvar-collector/conf.d/go_expvar.d",
          "existingConfigMap mount")
    check(one(features, "ConfigMap") is None or "values.yaml" not in one(features, "ConfigMap")["data"],
          "existingConfigMap still renders the chart's conf.d ConfigMap")
    check(mounts(deployment)["confd"]["mountPath"] == "/etc/expvar-collector/conf.d", "instances mount")


def check_extra_volumes(features):
    check(volumes(features).get("client-tls", {}).get("secret") == {"secretName": "expvar-client-tls"},
          "extraVolumes not rendered")
    check(mounts(features).get("client-tls", {}).get("mountPath") == "/etc/expvar-collector/client-tls",
          "extraVolumeMounts not rendered")


def check_rbac(default, features):
    rules = one(default, "ClusterRole")["rules"]
    check(rules[0] == {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
          f"pods rule: {rules[0]}")
    check(any(r["resources"] == ["events"] and r["verbs"] == ["create", "patch"] for r in rules),
          "events.enabled (default) does not grant create/patch on events")
    rules = one(features, "ClusterRole")["rules"]
    check(not any("events" in r["resources"] for r in rules), "events.enabled=false still grants events")


def check_monitors(default, deployment, features):
    for kind in ("PodMonitor", "PrometheusRule", "NetworkPolicy", "PriorityClass"):
        check(one(default, kind) is None, f"{kind} rendered by default")
    check(not any(d["kind"] == "ConfigMap" for d in default), "a ConfigMap rendered by default")
    sm = one(deployment, "ServiceMonitor")
    ep = sm["spec"]["endpoints"][0]
    check(sm["spec"].get("jobLabel") == "app.kubernetes.io/name", "ServiceMonitor jobLabel")
    check(ep.get("scrapeTimeout") == "20s" and ep.get("honorLabels") is True, f"ServiceMonitor endpoint: {ep}")
    check(ep.get("relabelings") == [{"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node"}],
          f"ServiceMonitor relabelings: {ep.get('relabelings')}")
    check((ep.get("metricRelabelings") or [{}])[0].get("action") == "drop", "ServiceMonitor metricRelabelings")
    pm = one(features, "PodMonitor")
    check(pm is not None, "podMonitor.enabled renders no PodMonitor")
    if pm:
        ep = pm["spec"]["podMetricsEndpoints"][0]
        check(pm["metadata"]["labels"].get("release") == "prometheus", "podMonitor.labels")
        check(pm["spec"]["selector"]["matchLabels"] == workload(features)["spec"]["selector"]["matchLabels"],
              "PodMonitor selects other pods than the DaemonSet's")
        check(pm["spec"].get("jobLabel") == "app.kubernetes.io/name", "PodMonitor jobLabel")
        check(ep.get("port") == "metrics" and ep.get("interval") == "15s" and ep.get("scrapeTimeout") == "5s",
              f"PodMonitor endpoint: {ep}")
        check(ep.get("honorLabels") is True and ep.get("followRedirects") is False, f"PodMonitor endpoint: {ep}")
        check(ep.get("relabelings") and ep.get("metricRelabelings"), "PodMonitor relabelings")


def check_rule(features):
    pr = one(features, "PrometheusRule")
    check(pr is not None and pr["metadata"]["labels"].get("release") == "prometheus",
          "prometheusRule.enabled/labels")
    if pr:
        alerts = [r["alert"] for g in pr["spec"]["groups"] for r in g["rules"]]
        check(len(alerts) >= 6 and "ExpvarTargetDown" in alerts, f"PrometheusRule alerts: {alerts}")


def check_dashboard(features, root):
    cms = [d for d in features if d["kind"] == "ConfigMap"]
    cm = next((d for d in cms if "expvar-collector.json" in (d.get("data") or {})), None)
    check(cm is not None, "dashboards.enabled renders no dashboard ConfigMap")
    if cm:
        check(cm["metadata"]["labels"].get("grafana_dashboard") == "1", "dashboard ConfigMap label")
        check((cm["metadata"].get("annotations") or {}).get("grafana_folder") == "Go", "dashboards.annotations")
        with open(f"{root}/dashboards/expvar-collector.json") as f:
            want = json.load(f)
        check(json.loads(cm["data"]["expvar-collector.json"]) == want,
              "the ConfigMap's dashboard is not dashboards/expvar-collector.json")


def check_network_policy(features):
    np = one(features, "NetworkPolicy")
    check(np is not None, "networkPolicy.enabled renders no NetworkPolicy")
    if not np:
        return
    spec = np["spec"]
    check(spec["podSelector"]["matchLabels"] == workload(features)["spec"]["selector"]["matchLabels"],
          "NetworkPolicy selects other pods")
    check(sorted(spec["policyTypes"]) == ["Egress", "Ingress"], "policyTypes")
    ing = spec["ingress"]
    check(len(ing) == 1 and ing[0]["ports"] == [{"port": "metrics", "protocol": "TCP"}], f"ingress: {ing}")
    check(ing[0].get("from", [{}])[0].get("namespaceSelector", {}).get("matchLabels")
          == {"kubernetes.io/metadata.name": "monitoring"}, "networkPolicy.ingressFrom")
    egress = spec["egress"]
    check(egress[0] == {"to": [{"namespaceSelector": {}}]}, f"egress to pods: {egress[0]}")
    api = egress[1]
    check(api["ports"] == [{"port": 443, "protocol": "TCP"}]
          and [t["ipBlock"]["cidr"] for t in api["to"]] == ["10.96.0.1/32", "192.168.10.5/32"],
          f"egress to the API server: {api}")
    dns = egress[2]
    check(sorted(p["protocol"] for p in dns["ports"]) == ["TCP", "UDP"] and all(p["port"] == 53 for p in dns["ports"]),
          f"egress to DNS: {dns}")
    check({"ports": [{"port": 18125, "protocol": "UDP"}]} in egress, "egress to DogStatsD (hostip)")
    check(any(r.get("ports") == [{"port": 8443, "protocol": "TCP"}] for r in egress), "networkPolicy.extraEgress")


def check_priority_class(features):
    pc = one(features, "PriorityClass")
    check(pc is not None and pc["value"] == 500000 and pc.get("globalDefault") is False,
          f"priorityClass.create: {pc}")
    pod = workload(features)["spec"]["template"]["spec"]
    check(pc is not None and pod.get("priorityClassName") == pc["metadata"]["name"],
          "the pods do not use the created PriorityClass")


def main():
    work, root = sys.argv[1], sys.argv[2]
    default = objects(f"{work}/default.yaml")
    deployment = objects(f"{work}/deployment.yaml")
    features = objects(f"{work}/features.yaml")
    check_dogstatsd(default, deployment, features)
    check_common_labels(features)
    check_image(default, features)
    check_workload_fields(default, deployment, features)
    check_args(default, features)
    check_confd(deployment, features)
    check_extra_volumes(features)
    check_rbac(default, features)
    check_monitors(default, deployment, features)
    check_rule(features)
    check_dashboard(features, root)
    check_network_policy(features)
    check_priority_class(features)
    for f in failures:
        print("FAIL:", f, file=sys.stderr)
    if failures:
        return 1
    print("PASS: every value reaches its object")
    return 0


if __name__ == "__main__":
    sys.exit(main())
