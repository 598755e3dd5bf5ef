#!/usr/bin/env python3
"""Peak RSS of `expvar-collector run` while ten targets serve an ~8 MiB document each at once.

Serves one large expvar document (the goapp's memstats plus many keys) from a threaded HTTP
server on loopback at ten URLs, runs the daemon on a conf.d with ten instances scraping every
%d s for --seconds, and reads the daemon's peak RSS (VmHWM) and its scrape counters. Runs twice:
with the default --max-bodies-in-flight-bytes and with the budget lifted, so the table shows what
the budget holds back. Writes a Markdown section (--out) for BENCHMARKS.md.
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


def serve(body):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def do_GET(self):
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.handle_error = lambda request, address: None  # refused bodies reset connections
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
        admin = free_port()
        daemon = subprocess.Popen(
            [binary, 'run', '--confd', confd, '--listen', '127.0.0.1:%d' % admin,
             '--dogstatsd-url', 'udp://127.0.0.1:9', '--log-level', 'error'] + extra)
        try:
            time.sleep(seconds)
            with open('/proc/%d/status' % daemon.pid) as f:
                hwm_kib = int(re.search(r'^VmHWM:\s+(\d+) kB', f.read(), re.M).group(1))
            with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % admin, timeout=30) as r:
                metrics = r.read().decode()
        finally:
            daemon.terminate()
            daemon.wait(timeout=10)
    name = 'expvar_collector_scrapes_total'
    return {'peak_rss_mib': hwm_kib / 1024, 'ok': counter(metrics, name, 'ok'),
            'failed': counter(metrics, name, 'fetch_error') + counter(metrics, name, 'parse_error')}


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
    lines = ['%d targets serving a %.1f MiB document each, scraped every %d s for %g s'
             % (TARGETS, len(body) / 1048576, INTERVAL, args.seconds), '',
             '| --max-bodies-in-flight-bytes | peak RSS (VmHWM) | scrapes ok | scrapes failed |',
             '|---|---|---|---|']
    for label, r in rows:
        lines.append('| %s | %.0f MiB | %d | %d |' % (label, r['peak_rss_mib'], r['ok'], r['failed']))
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
