#!/usr/bin/env python3
"""Peak RSS of `expvar-collector run` while ten targets serve an ~8 MiB document each at once
and a pod annotates 10,000 tags.

Serves one large expvar document (the goapp's memstats plus many keys) from a threaded HTTP
server on loopback at ten URLs, runs the daemon on a conf.d with ten instances scraping every
%d s for --seconds, and reads the daemon's peak RSS (VmHWM) and its scrape counters. The daemon
also runs in node mode against a minimal Kubernetes API (a LIST, then a WATCH that stays open)
whose one pod carries 10,000 annotation tags and scrapes a small document. Runs twice: with the
default --max-bodies-in-flight-bytes and with the budget lifted, so the table shows what the
budget holds back. Writes a Markdown section (--out) for BENCHMARKS.md.
"""
import argparse
import http.server
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

TARGETS = 10
DOC_BYTES = 8 * 1024 * 1024 - 64 * 1024  # just under the default max_body_bytes (8 MiB)
INTERVAL = 5  # seconds; Python serves 10 x 8 MiB slowly, so each scrape gets 4.5 s


def big_document():
    keys, size, i = {}, 0, 0
    while size < DOC_BYTES:
        key, value = 'k%07d' % i, i * 1.5
        keys[key] = value
        size += len(json.dumps({key: value})) + 2 - 2  # '"k": v' plus ', ', minus the braces
        i += 1
    doc = {'memstats': {'Alloc': 1, 'HeapAlloc': 2, 'NumGC': 3, 'PauseNs': [0] * 256},
           'big': keys}
    body = json.dumps(doc).encode()
    assert len(body) < 8 * 1024 * 1024, len(body)  # under the default max_body_bytes
    return body


SMALL_DOCUMENT = json.dumps({'memstats': {'Alloc': 1, 'NumGC': 0}}).encode()
TAG_COUNT = 10000


def tagged_pod(port):
    """A Running pod at 127.0.0.1 whose annotations ask for 10,000 tags on a small document."""
    instance = {'expvar_url': 'http://%%%%host%%%%:%d/small' % port}
    tags = {'t%d' % i: 'v%d' % i for i in range(TAG_COUNT)}
    container = {'name': 'app', 'image': 'example/app:1'}
    return {
        'metadata': {'name': 'tagged', 'namespace': 'bench', 'uid': 'uid-tagged',
                     'resourceVersion': '1', 'annotations': {
                         'ad.datadoghq.com/app.checks':
                             json.dumps({'go_expvar': {'instances': [instance]}}),
                         'ad.datadoghq.com/tags': json.dumps(tags)}},
        'spec': {'nodeName': 'node-a', 'containers': [container]},
        'status': {'phase': 'Running', 'podIP': '127.0.0.1', 'podIPs': [{'ip': '127.0.0.1'}],
                   'conditions': [{'type': 'Ready', 'status': 'True'}],
                   'containerStatuses': [{'name': 'app', 'ready': True, 'restartCount': 0,
                                          'image': 'example/app:1', 'imageID': '',
                                          'state': {'running': {}}}]}}


def serve(body):
    pod_list = None  # set once the port is known

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_GET(self):
            if self.path.startswith('/api/v1/pods'):
                self.kube(pod_list)
                return
            payload = SMALL_DOCUMENT if self.path == '/small' else body
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def kube(self, pods):
            """LIST answers the pod; WATCH sends nothing and stays open, as a quiet node does."""
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            if '&watch=1' in self.path:
                self.send_header('Transfer-Encoding', 'chunked')
                self.end_headers()
                self.wfile.flush()
                time.sleep(3600)
                return
            self.send_header('Content-Length', str(len(pods)))
            self.end_headers()
            self.wfile.write(pods)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True  # the open WATCH must not hold the benchmark at exit
    server.handle_error = lambda request, address: None  # refused bodies reset connections
    pod_list = json.dumps({'kind': 'PodList', 'apiVersion': 'v1',
                           'metadata': {'resourceVersion': '1'},
                           'items': [tagged_pod(server.server_address[1])]}).encode()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def counter(metrics, name, result):
    match = re.search(r'^%s\{result="%s"\} ([0-9.e+]+)$' % (name, result), metrics, re.M)
    return int(float(match.group(1))) if match else 0


def run(binary, port, seconds, extra):
    with tempfile.TemporaryDirectory() as confd:
        os.makedirs(os.path.join(confd, 'go_expvar.d'))
        instances = [{'expvar_url': 'http://127.0.0.1:%d/debug/vars?t=%d' % (port, i),
                      'min_collection_interval': INTERVAL, 'timeout': INTERVAL - 0.5}
                     for i in range(TARGETS)]
        with open(os.path.join(confd, 'go_expvar.d', 'big.yaml'), 'w') as f:
            json.dump({'init_config': {}, 'instances': instances}, f)  # JSON is YAML
        token = os.path.join(confd, 'token')
        with open(token, 'w') as f:
            f.write('bench-token')
        admin = free_port()
        daemon = subprocess.Popen(
            [binary, 'run', '--confd', confd, '--listen', '127.0.0.1:%d' % admin,
             '--kube-mode', 'node', '--node-name', 'node-a',
             '--kube-api', 'http://127.0.0.1:%d' % port, '--kube-token-file', token,
             '--dogstatsd-url', 'udp://127.0.0.1:9', '--log-level', 'error'] + extra)
        try:
            time.sleep(seconds)
            with open('/proc/%d/status' % daemon.pid) as f:
                hwm_kib = int(re.search(r'^VmHWM:\s+(\d+) kB', f.read(), re.M).group(1))
            with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % admin, timeout=30) as r:
                metrics = r.read().decode()
            with urllib.request.urlopen('http://127.0.0.1:%d/status' % admin, timeout=30) as r:
                status = json.loads(r.read())
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
    name = 'expvar_collector_scrapes_total'
    tagged = [t for t in status['targets'] if 'bench/tagged' in t['source']]
    if not tagged:
        raise SystemExit('peak_rss.py: the 10,000-tag pod did not become a target: %s'
                         % json.dumps(status.get('errors')))
    return {'peak_rss_mib': hwm_kib / 1024, 'ok': counter(metrics, name, 'ok'),
            'failed': counter(metrics, name, 'fetch_error') + counter(metrics, name, 'parse_error'),
            'tagged_scrapes': tagged[0]['scrapes']}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--binary', required=True)
    parser.add_argument('--seconds', type=float, default=20)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    body = big_document()
    server = serve(body)
    port = server.server_address[1]
    rows = [('default budget (64 MiB)', run(args.binary, port, args.seconds, [])),
            ('budget lifted (1 GiB)',
             run(args.binary, port, args.seconds, ['--max-bodies-in-flight-bytes', '1073741824']))]
    server.shutdown()
    lines = ['%d targets serving a %.1f MiB document each, scraped every %d s for %g s, beside a '
             'pod annotating %d tags (node mode, clamped to --annotation-max-tags)'
             % (TARGETS, len(body) / 1048576, INTERVAL, args.seconds, TAG_COUNT), '',
             '| --max-bodies-in-flight-bytes | peak RSS (VmHWM) | scrapes ok | scrapes failed '
             '| scrapes of the tagged pod |',
             '|---|---|---|---|---|']
    for label, r in rows:
        lines.append('| %s | %.0f MiB | %d | %d | %d |' % (label, r['peak_rss_mib'], r['ok'],
                                                         r['failed'], r['tagged_scrapes']))
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
