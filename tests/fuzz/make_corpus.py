#!/usr/bin/env python3
"""Writes the seed corpora tests/fuzz/corpus/<harness>/ from tests/fixtures/.

Run it again after the fixtures change; the seeds are committed (keep them under 1 MB in all).
Each file is named after what it holds, so that a seed that reproduces something is easy to find.
"""
import json
import pathlib
import random
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
OUT = ROOT / "tests" / "fuzz" / "corpus"


def write(harness, name, data):
    path = OUT / harness / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def pods():
    for path in sorted((FIXTURES / "pods").glob("*.json")):
        yield path.stem, json.loads(path.read_text())


def check_seeds():
    docs = {p.stem: p.read_bytes() for p in sorted(FIXTURES.glob("*.json"))}
    for name, doc in docs.items():
        write("check_fuzz", name, doc)
    # Two scrapes (the harness splits at NUL): rates, and the GC ring wrapping between them.
    write("check_fuzz", "fresh_then_traffic", docs["goapp_fresh"] + b"\0" + docs["goapp_traffic"])
    write("check_fuzz", "traffic_then_gc300", docs["goapp_traffic"] + b"\0" + docs["goapp_gc300"])
    write("check_fuzz", "gc300_then_fresh_restart",
          docs["goapp_gc300"] + b"\0" + docs["goapp_fresh"])
    write("check_fuzz", "small_edge_values",
          '{"memstats": {"NumGC": 3, "PauseNs": [1, "2", true, null, 1e308], "Alloc": "1_000"},'
          ' "requests": 18446744073709551615, "load_avg": -1e-320, "http": {"/a": {"count": 1}},'
          ' "workers": [{"done": 1}, {"done": "nan"}], "bad": [1,}')


def conf_seeds():
    for path in sorted((FIXTURES / "golden").glob("*.yaml")):
        write("conf_fuzz", path.stem, path.read_bytes())
    write("conf_fuzz", "everything", """\
init_config:
  min_collection_interval: 30
  service: shop
defaults: &defaults
  namespace: MyApp
  max_returned_metrics: 20
  timeout: 2.5
instances:
  - <<: *defaults
    expvar_url: https://user:secret@[::1]:8443/vars?x=1#frag
    username: u
    password: p
    headers: {X-Token: abc}
    tls_verify: false
    tls_ca_cert: /etc/ca.pem
    tags: [env:test, "team:web"]
    metrics:
      - {path: "memstats/BySize/[0-9]+/Mallocs", type: monotonic_counter, alias: size.mallocs}
      - {path: requests, type: rate, tags: [a, b]}
      - {path: "(", type: histogram}
  - expvar_url: http://127.0.0.1:8080
    min_collection_interval: 5
  - not a map
---
instances: []
""")
    write("conf_fuzz", "flow_style", '{"instances": [{"expvar_url": "http://127.0.0.1"}]}\n')


def short_key(key):
    for prefix, short in (("ad.datadoghq.com/", ""), ("service-discovery.datadoghq.com/", "~")):
        if key.startswith(prefix):
            return short + key[len(prefix):]
    return key


def annotation_seeds():
    for name, pod in pods():
        annotations = pod["metadata"].get("annotations", {})
        lines = [f"{short_key(k)}={v}" for k, v in annotations.items() if "\n" not in v]
        write("annotations_fuzz", name, "\n".join(lines) + "\n")
    write("annotations_fuzz", "v2_custom_id_and_tags", "\n".join([
        'app.check.id=web',
        'web.checks={"go_expvar": {"init_config": {}, "instances": [{"expvar_url": '
        '"http://%%host%%:%%port_metrics%%", "tags": ["%%kube_pod_name%%"], "metrics": '
        '[{"path": "requests", "type": "rate"}]}]}, "redis": {"instances": [{}]}}',
        'tags={"team": "shop", "tier": ["a", "b"]}',
        'web.tags={"c": 1}',
        'tolerate-unready=true',
        'worker.check_names=["go_expvar"]',
        'worker.init_configs=[{}]',
        'worker.instances=[[{"expvar_url": "http://%%host_ipv6%%:%%port%%"}, '
        '{"expvar_url": "http://%%host%%:%%env_EXPVAR_PORT%%/x"}]]',
        '~sidecar.check_names=["go_expvar"]',
        '~sidecar.init_configs=[{}]',
        '~sidecar.instances=[{"expvar_url": "http://127.0.0.1:%%port_0%%"}]',
    ]) + "\n")


def resolver_seeds():
    templates = [
        "http://%%host%%:%%port_metrics%%",
        "http://%%host%%:%%port%%/debug/vars",
        "https://%%host_ipv6%%:%%port_1%%/x?y=%%kube_namespace%%",
        "http://127.0.0.1:%%env_PORT%%%%env_PATH_%%",
        "http://%%env_AT%%:80/",
        "%%port_http%%",
        "%%%%host%%%%",
        "http://[%%host%%]:%%port_0%%",
        "http://u:%%env_EVIL%%@%%host%%:9000",
        "http://%%extra_cluster%%.%%kube_pod_uid%%",
        "http://0x7f.1:80/",
        "http://[::ffff:10.1.2.3]:80/",
        "http://evil\\@10.1.2.3/",
    ]
    for i, text in enumerate(templates):
        write("resolver_fuzz", f"template_{i:02d}", text)
    write("resolver_fuzz", "instance_json", json.dumps({
        "expvar_url": "http://%%host%%:%%port_metrics%%",
        "namespace": "%%kube_namespace%%",
        "max_returned_metrics": "%%port%%",
        "headers": {"Authorization": "Bearer %%env_TOKEN%%"},
        "metrics": [{"path": "requests", "tags": ["pod:%%kube_pod_name%%"]}],
    }))


def watch_seeds():
    events = []
    for name, pod in pods():
        events.append({"type": "ADDED", "object": pod})
    events.append({"type": "MODIFIED", "object": events[0]["object"]})
    events.append({"type": "BOOKMARK", "object": {"kind": "Pod", "metadata": {
        "resourceVersion": "12345"}}})
    events.append({"type": "ERROR", "object": {"kind": "Status", "code": 410,
                                               "reason": "Expired"}})
    events.append({"type": "DELETED", "object": events[1]["object"]})
    stream = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()
    # Header: line-limit selector, cut count, then the cut positions (fractions of 256).
    write("watch_decoder_fuzz", "pods_whole", bytes([0, 0]) + stream)
    write("watch_decoder_fuzz", "pods_cut_5", bytes([0, 5, 13, 64, 128, 129, 250]) + stream)
    small = b'{"type":"ADDED","object":{}}\n\n{"type":"DELETED","object":{"a":1}}\r\n{"type":"X"'
    write("watch_decoder_fuzz", "small_limit_64", bytes([2, 3, 10, 100, 200]) + small)
    write("watch_decoder_fuzz", "bad_line", bytes([0, 2, 30, 31]) +
          b'{"type":"ADDED","object":{}}\nnot json\n{"type":"ADDED","object":{}}\n')


def dogstatsd_seeds():
    rng = random.Random(1234)
    for i in range(8):
        write("dogstatsd_fuzz", f"random_{i}", bytes(rng.randrange(256) for _ in range(600)))
    # Printable bytes, so that names and tags look like names and tags.
    alphabet = b"abcdefghijklmnopqrstuvwxyz._:|,#@ \n\t0123456789"
    for i in range(4):
        write("dogstatsd_fuzz", f"printable_{i}", bytes(rng.choice(alphabet) for _ in range(800)))
    write("dogstatsd_fuzz", "doubles", b"\x00\x01" + b"".join(
        struct.pack("<d", v) for v in (0.0, -0.0, 1e308, 5e-324, 1.5, -2.25, 123456789.0)) * 4)


def main():
    if OUT.exists():
        shutil.rmtree(OUT)
    check_seeds()
    conf_seeds()
    annotation_seeds()
    resolver_seeds()
    watch_seeds()
    dogstatsd_seeds()
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT}: {sum(1 for p in OUT.rglob('*') if p.is_file())} files, {total} bytes")
    assert total < 1_000_000, "keep the committed corpus under 1 MB"


if __name__ == "__main__":
    main()
