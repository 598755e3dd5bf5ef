#!/usr/bin/env python3
"""The go_expvar check in Python with `requests`, as a long-running agent: the peer bench/peers
compares `expvar-collector run` with.

Every INTERVAL seconds, for each target in order: GET the URL with a requests.Session (one
Session per target by default, kept alive like the Agent's check instance with
persist_connections, or one shared Session), parse the JSON, run the check of
bench/reference_check.py (the 13 memstats defaults, TotalAlloc's monotonic count, the rates and
the GC pause histogram's aggregates, the logic our C++ check core implements), and send the
series as DogStatsD lines (`name:value|g|#tags`, packed into datagrams of at most 1432 bytes)
plus the `go_expvar.can_connect` service check over UDP. A round that takes longer than the
interval starts the next one at once (the scheduler falls behind; bench/peers reports it).

Usage: peers_python_agent.py --urls FILE --interval S --dogstatsd HOST:PORT [--session shared]
"""

import argparse
import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # no bench/__pycache__ from the imports below
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_check  # noqa: E402  (the check logic, shared with the check-core benchmark)
import requests  # noqa: E402

DATAGRAM_LIMIT = 1432
KIND = {'gauge': 'g', 'count': 'c'}


def encode(series):
    lines = []
    for name, kind, value, tags in series:
        text = repr(float(value))
        if text.endswith('.0'):
            text = text[:-2]
        lines.append('%s:%s|%s|#%s' % (name, text, KIND.get(kind, 'g'), ','.join(tags)))
    return lines


def pack(lines):
    datagrams, current = [], ''
    for line in lines:
        if current and len(current) + 1 + len(line) > DATAGRAM_LIMIT:
            datagrams.append(current)
            current = ''
        current = line if not current else current + '\n' + line
    if current:
        datagrams.append(current)
    return datagrams


class Target:
    __slots__ = ('url', 'plan', 'state', 'session', 'sc_tags')

    def __init__(self, url, session):
        self.url = url
        self.plan = reference_check.Plan({'expvar_url': url}, defaults_only=True)
        self.state = reference_check.State()
        self.session = session
        self.sc_tags = ','.join(self.plan.base_tags)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--urls', required=True, help='file with one expvar URL a line')
    parser.add_argument('--interval', type=float, required=True)
    parser.add_argument('--dogstatsd', required=True, help='HOST:PORT (UDP)')
    parser.add_argument('--session', choices=('per-target', 'shared'), default='per-target')
    parser.add_argument('--timeout', type=float, default=5.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    host, _, port = args.dogstatsd.rpartition(':')
    address = (host, int(port))
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with open(args.urls, encoding='ascii') as f:
        urls = [line.strip() for line in f if line.strip()]
    shared = requests.Session() if args.session == 'shared' else None
    targets = [Target(url, shared or requests.Session()) for url in urls]
    timeout = args.timeout

    next_round = time.monotonic()
    while True:
        for target in targets:
            now = time.time()
            try:
                response = target.session.get(target.url, timeout=timeout)
                response.raise_for_status()
                result = reference_check.run(target.plan, response.content, target.state, now)
                lines = encode(reference_check.datadog_series(target.plan, result))
                lines.append('_sc|go_expvar.can_connect|0|#%s' % target.sc_tags)
            except (requests.RequestException, ValueError) as e:
                message = str(e).replace('\n', ' ').replace('|', '/')
                lines = ['_sc|go_expvar.can_connect|2|#%s|m:%s' % (target.sc_tags, message)]
            for datagram in pack(lines):
                try:
                    sock.sendto(datagram.encode('utf-8', 'replace'), address)
                except OSError:
                    pass
        next_round += args.interval
        delay = next_round - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_round = time.monotonic()  # behind: start the next round now


if __name__ == '__main__':
    main()
