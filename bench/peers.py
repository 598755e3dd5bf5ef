#!/usr/bin/env python3
"""Cost per scrape against the peers (bench/peers is the entry point).

For each N:INTERVAL:WINDOW it starts nginx-light on loopback (bench/e2e.py's Nginx: the recorded
document tests/fixtures/goapp_gc300.json in 100 variants that follow the clock, so rates and the
GC pause histogram are computed every scrape) with a stub_status server, and N target URLs
http://127.0.0.1:PORT/t/<i>/debug/vars spread over the ports. Then, one peer at a time, with the
same URLs and the same interval:
- ours: `expvar-collector run --confd DIR --dogstatsd-url udp://127.0.0.1:PORT --listen
  127.0.0.1:PORT --interval S` with the N instances in conf.d/go_expvar.d/*.yaml;
- collectd: `collectd -f -C CONF` with only curl_json (the 13 memstats defaults of each URL,
  gauges and derives) and the network plugin sending to a UDP port;
- python: bench/peers_python_agent.py (requests + the check logic of bench/reference_check.py,
  DogStatsD over UDP).
Every peer's UDP output goes to a socket of this process that counts and discards it. After a
warm-up (every target fetched once, then one more interval), the measured window: the peer's CPU
(utime + stime of /proc/<pid>/stat), nginx's CPU (master + worker), the requests nginx served
(stub_status), VmRSS each second and VmHWM at the end; for ours, GET /metrics with
`Accept-Encoding: gzip` after the window. CPU per scrape = the peer's CPU in the window / the
requests nginx served in it.

Writes JSON (--json-out) and, with --markdown-out, the block between <!-- peers:begin --> and
<!-- peers:end --> of BENCHMARKS.md.
"""

import argparse
import datetime
import gzip
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no bench/__pycache__ from the imports below
sys.path.insert(0, HERE)
import e2e  # noqa: E402  (nginx, the DogStatsD receiver, the collector, /proc readers)

PEERS = ('ours', 'collectd', 'python')
QUICK_RUNS = '100:1:20,500:1:20'
FULL_RUNS = '100:1:60,500:1:60,1000:5:60,4000:10:60,10000:15:60'
MEMSTATS_GAUGES = ['Alloc', 'TotalAlloc', 'HeapAlloc', 'HeapSys', 'HeapIdle', 'HeapInuse',
                   'HeapReleased', 'HeapObjects']
MEMSTATS_RATES = ['Lookups', 'Mallocs', 'Frees', 'PauseTotalNs', 'NumGC']
BEGIN, END = '<!-- peers:begin -->', '<!-- peers:end -->'

log = e2e.log


def status_kb(pid, field):
    with open('/proc/%d/status' % pid, encoding='ascii') as f:
        m = re.search(r'%s:\s+(\d+) kB' % field, f.read())
    return int(m.group(1)) if m else 0


def nginx_pids(nginx):
    out = subprocess.run(['pgrep', '-P', str(nginx.proc.pid)], capture_output=True,
                         text=True).stdout.split()
    return [nginx.proc.pid] + [int(p) for p in out]


def stub_status(port):
    """nginx's (accepted connections, requests), this request included."""
    text = e2e.http_get('http://127.0.0.1:%d/nginx_status' % port, timeout=10)
    fields = text.splitlines()[2].split()
    return int(fields[0]), int(fields[2])


def stub_requests(port):
    return stub_status(port)[1]


def metrics_get(url):
    request = urllib.request.Request(url, headers={'Accept-Encoding': 'gzip'})
    start = time.monotonic()
    with urllib.request.urlopen(request, timeout=120) as response:
        body = response.read()
        encoding = response.headers.get('Content-Encoding', '')
    seconds = time.monotonic() - start
    plain = gzip.decompress(body) if encoding == 'gzip' else body
    return seconds, len(body), len(plain), encoding


# --- the peers ----------------------------------------------------------------------------------

class Process:
    """A started peer: its pid, its log, stop()."""

    def __init__(self, command, log_path, cwd=None):
        self.command = command
        self.log_path = log_path
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, cwd=cwd,
                                     stderr=open(log_path, 'w'))
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self):
        try:
            with open(self.log_path, encoding='utf-8', errors='replace') as f:
                return f.read()[-1500:]
        except OSError:
            return ''

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_ours(args, workdir, urls, interval, dsd_port):
    collector = e2e.Collector(args.binary, workdir, interval, dsd_port)
    directory = os.path.join(collector.confd, 'go_expvar.d')
    for i in range(0, len(urls), 500):
        lines = ['init_config:', '', 'instances:']
        lines += ['  - expvar_url: %s' % url for url in urls[i:i + 500]]
        with open(os.path.join(directory, 'targets_%05d.yaml' % i), 'w', encoding='ascii') as f:
            f.write('\n'.join(lines) + '\n')
    collector.reload()
    return collector


def start_collectd(args, workdir, urls, interval, dsd_port):
    base = os.path.join(workdir, 'collectd')
    os.makedirs(base)
    conf = [
        'Hostname "bench"', 'FQDNLookup false', 'BaseDir "%s"' % base,
        'PIDFile "%s/collectd.pid"' % base, 'PluginDir "/usr/lib/collectd"',
        'TypesDB "/usr/share/collectd/types.db"', 'Interval %g' % interval, 'Timeout 2',
        'ReadThreads 5', 'WriteThreads 1', 'AutoLoadPlugin false', '',
        'LoadPlugin curl_json', 'LoadPlugin network', '',
        '<Plugin network>', '  Server "127.0.0.1" "%d"' % dsd_port, '</Plugin>', '',
        '<Plugin curl_json>']
    keys = [(k, 'gauge') for k in MEMSTATS_GAUGES] + [(k, 'derive') for k in MEMSTATS_RATES]
    for i, url in enumerate(urls):
        conf.append('  <URL "%s">' % url)
        conf.append('    Instance "t%d"' % i)
        for key, kind in keys:
            conf.append('    <Key "memstats/%s">' % key)
            conf.append('      Type "%s"' % kind)
            conf.append('      Instance "%s"' % key)
            conf.append('    </Key>')
        conf.append('  </URL>')
    conf.append('</Plugin>')
    path = os.path.join(base, 'collectd.conf')
    with open(path, 'w', encoding='ascii') as f:
        f.write('\n'.join(conf) + '\n')
    command = ['collectd', '-f', '-C', path]
    if args.collectd_nofile:  # as a service manager would limit it (LimitNOFILE=)
        command = ['prlimit', '--nofile=%d:%d' % (args.collectd_nofile, args.collectd_nofile),
                   '--'] + command
    return Process(command, os.path.join(base, 'collectd.log'))


def start_python(args, workdir, urls, interval, dsd_port):
    base = os.path.join(workdir, 'python')
    os.makedirs(base)
    path = os.path.join(base, 'urls.txt')
    with open(path, 'w', encoding='ascii') as f:
        f.write('\n'.join(urls) + '\n')
    return Process([sys.executable, os.path.join(HERE, 'peers_python_agent.py'), '--urls', path,
                    '--interval', '%g' % interval, '--dogstatsd', '127.0.0.1:%d' % dsd_port,
                    '--session', args.python_session], os.path.join(base, 'agent.log'))


def measure_peer(args, peer, nginx, status_port, urls, interval, window):
    count = len(urls)
    workdir = tempfile.mkdtemp(prefix='expvar-peers-%s-' % peer)
    receiver = e2e.DogStatsDReceiver()
    process = None
    result = {'peer': peer}
    try:
        requests0 = stub_requests(status_port)
        started = time.monotonic()
        if peer == 'ours':
            process = start_ours(args, workdir, urls, interval, receiver.port)
        elif peer == 'collectd':
            process = start_collectd(args, workdir, urls, interval, receiver.port)
        else:
            process = start_python(args, workdir, urls, interval, receiver.port)
        pid = process.pid
        # Warm-up: every target fetched once, then one more interval (rates, keep-alive).
        deadline = started + 2 * interval + 90
        first_round = None
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError('%s exited (%s):\n%s' % (peer, process.proc.returncode,
                                                            process.log_tail()))
            if stub_requests(status_port) - requests0 >= count:
                first_round = time.monotonic() - started
                break
            time.sleep(0.5)
        result['first_round_seconds'] = first_round
        if first_round is None:
            result['note'] = 'not every target was fetched within %d s' % (deadline - started)
        time.sleep(max(2.0, interval + 1))
        if process.proc.poll() is not None:
            raise RuntimeError('%s exited (%s):\n%s' % (peer, process.proc.returncode,
                                                        process.log_tail()))

        pids = nginx_pids(nginx)
        cpu0, ngx0, dsd0 = e2e.proc_cpu_seconds(pid), nginx.cpu_seconds(), receiver.counts()
        (acc0, req0), t0 = stub_status(status_port), time.monotonic()
        rss = []
        while time.monotonic() - t0 < window:
            time.sleep(1)
            rss.append(status_kb(pid, 'VmRSS'))
        cpu1, ngx1, dsd1 = e2e.proc_cpu_seconds(pid), nginx.cpu_seconds(), receiver.counts()
        (acc1, req1), t1 = stub_status(status_port), time.monotonic()
        elapsed = t1 - t0
        scrapes = req1 - req0 - 1  # the stub_status request itself
        result.update({
            'elapsed_seconds': elapsed,
            'scrapes': scrapes,
            'connections_accepted': acc1 - acc0 - 1,
            'expected_scrapes': count * elapsed / interval,
            'cpu_seconds': cpu1 - cpu0,
            'cpu_per_scrape_us': 1e6 * (cpu1 - cpu0) / scrapes if scrapes > 0 else None,
            'core_fraction': (cpu1 - cpu0) / elapsed,
            'rss_steady_kb': statistics.median(rss),
            'rss_peak_kb': status_kb(pid, 'VmHWM'),
            'threads': len(os.listdir('/proc/%d/task' % pid)),
            'open_fds': len(os.listdir('/proc/%d/fd' % pid)),
            'nginx_cpu_seconds': ngx1 - ngx0,
            'nginx_cpu_per_request_us': 1e6 * (ngx1 - ngx0) / scrapes if scrapes > 0 else None,
            'nginx_rss_kb': sum(status_kb(p, 'VmRSS') for p in pids),
            'udp_out': {k: dsd1[k] - dsd0[k] for k in dsd1},
            'udp_kernel_drops': receiver.kernel_drops(),
        })
        if peer == 'ours':
            gets = [metrics_get(process.admin + '/metrics') for _ in range(args.metrics_gets)]
            result['metrics_get_ms_median'] = 1e3 * statistics.median(g[0] for g in gets)
            result['metrics_get_ms_max'] = 1e3 * max(g[0] for g in gets)
            result['metrics_bytes_gzip'] = gets[-1][1]
            result['metrics_bytes'] = gets[-1][2]
            result['metrics_encoding'] = gets[-1][3]
        log('N=%d %s: %d scrapes (%.0f expected), %.1f µs CPU/scrape (nginx %.1f), RSS %.1f MB'
            % (count, peer, scrapes, result['expected_scrapes'], result['cpu_per_scrape_us'] or -1,
               result['nginx_cpu_per_request_us'] or -1, result['rss_steady_kb'] / 1024))
    except (RuntimeError, OSError, ValueError) as e:
        result['error'] = str(e)[-1500:]
        log('N=%d %s failed: %s' % (count, peer, str(e)[-500:]))
    finally:
        if process:
            process.stop()
        receiver.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def run_one(args, count, interval, window):
    workdir = tempfile.mkdtemp(prefix='expvar-peers-')
    nginx = None
    run = {'targets': count, 'interval_seconds': interval, 'window_seconds': window,
           'ports': args.ports, 'load_before': e2e.load_avg(), 'peers': {}}
    try:
        ports = e2e.free_ports(args.ports + 1)
        status_port, ports = ports[-1], ports[:-1]
        nginx = e2e.Nginx(args.root, workdir, ports, interval, status_port=status_port)
        run['document_bytes'] = nginx.document_bytes
        urls = ['http://127.0.0.1:%d/t/%d/debug/vars' % (ports[i % len(ports)], i)
                for i in range(count)]
        for peer in args.peers:
            log('N=%d @%gs: %s' % (count, interval, peer))
            run['peers'][peer] = measure_peer(args, peer, nginx, status_port, urls, interval,
                                              window)
        run['load_after'] = e2e.load_avg()
        # The floor: nginx's CPU per request over every peer's window.
        done = [p for p in run['peers'].values() if p.get('scrapes')]
        requests = sum(p['scrapes'] for p in done)
        run['nginx_cpu_per_request_us'] = (
            1e6 * sum(p['nginx_cpu_seconds'] for p in done) / requests if requests else None)
        run['nginx_rss_kb'] = max((p['nginx_rss_kb'] for p in done), default=None)
        return run
    finally:
        if nginx:
            nginx.stop()
        shutil.rmtree(workdir, ignore_errors=True)


# --- the report ---------------------------------------------------------------------------------

def sh(*command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ''


def machine():
    model = ''
    with open('/proc/cpuinfo', encoding='utf-8') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    try:
        import requests
        requests_version = requests.__version__
    except ImportError:
        requests_version = 'n/a'
    return {
        'nproc': sh('nproc'), 'cpu': model, 'kernel': platform.release(),
        'collectd': sh('dpkg-query', '-W', '-f=${Version}', 'collectd-core'),
        'nginx': sh('dpkg-query', '-W', '-f=${Version}', 'nginx-light'),
        'python': platform.python_version(), 'requests': requests_version,
    }


def build_type(binary):
    """The CMake build type beside the binary, else the flags GCC recorded in its debug info."""
    try:
        with open(os.path.join(os.path.dirname(binary), 'CMakeCache.txt'), encoding='utf-8') as f:
            m = re.search(r'^CMAKE_BUILD_TYPE:STRING=(.*)$', f.read(), re.M)
        if m:
            return 'CMake `%s`' % (m.group(1) or 'no build type')
    except OSError:
        pass
    m = re.search(r'GNU C\+\+\S* [^\]\n]*', sh('readelf', '-p', '.debug_str', binary))
    if m:
        flags = [f for f in m.group(0).split() if re.match(r'-(O|g$|DNDEBUG|fsanitize)', f)]
        return 'compiled with `%s`' % ' '.join(flags or m.group(0).split()[:3])
    return 'build type unknown'


def fmt(value, digits=1):
    return 'n/a' if value is None else '%.*f' % (digits, value)


def ratio(a, b):
    return 'n/a' if a is None or not b else '%.2f×' % (a / b)


def find_run(runs, count, interval=None):
    for run in runs:
        if run['targets'] == count and (interval is None or run['interval_seconds'] == interval):
            return run
    return None


def goals(runs):
    rows = []

    def verdict(ok):
        return 'met' if ok else '**not met**'

    def us(run, peer):
        return (run['peers'].get(peer) or {}).get('cpu_per_scrape_us')

    r = find_run(runs, 500, 1)
    if r:
        ours, ngx = us(r, 'ours'), r['nginx_cpu_per_request_us']
        for label, other, limit in (('≤ 2× nginx CPU/request', ngx, 2.0),
                                    ('≤ 1/3 of collectd', us(r, 'collectd'), 1 / 3),
                                    ('≤ 1/10 of Python', us(r, 'python'), 1 / 10)):
            if ours is None or other is None:
                rows.append('| 500 targets @1 s: ours %s | n/a | not measured |' % label)
            else:
                rows.append('| 500 targets @1 s: ours %s | %.1f µs vs %.1f µs = %.2f× | %s |'
                            % (label, ours, other, ours / other, verdict(ours <= limit * other)))
    else:
        rows.append('| 500 targets @1 s: ours ≤ 2× nginx, ≤ 1/3 collectd, ≤ 1/10 Python | — | '
                    'not measured in this run |')
    r = find_run(runs, 4000)
    p = (r or {}).get('peers', {}).get('ours') or {}
    if p.get('rss_peak_kb'):
        rows.append('| 4,000 targets: ours ≤ 60 MB RSS | peak %.1f MB, steady %.1f MB | %s |'
                    % (p['rss_peak_kb'] / 1024, p['rss_steady_kb'] / 1024,
                       verdict(p['rss_peak_kb'] <= 60 * 1024)))
    else:
        rows.append('| 4,000 targets: ours ≤ 60 MB RSS | — | not measured in this run |')
    r = find_run(runs, 10000, 15)
    p = (r or {}).get('peers', {}).get('ours') or {}
    if p.get('core_fraction') is not None:
        rows.append('| 10,000 targets @15 s: ours ≤ 5 %% of one core | %.2f %% | %s |'
                    % (100 * p['core_fraction'], verdict(p['core_fraction'] <= 0.05)))
        rows.append('| 10,000 targets @15 s: ours ≤ 100 MB RSS | peak %.1f MB, steady %.1f MB | %s |'
                    % (p['rss_peak_kb'] / 1024, p['rss_steady_kb'] / 1024,
                       verdict(p['rss_peak_kb'] <= 100 * 1024)))
    else:
        rows.append('| 10,000 targets @15 s: ours ≤ 5 % of one core, ≤ 100 MB RSS | — | '
                    'not measured in this run |')
    for count, limit in ((500, 10.0), (10000, 100.0)):
        r = find_run(runs, count)
        p = (r or {}).get('peers', {}).get('ours') or {}
        if p.get('metrics_get_ms_median') is not None:
            rows.append('| GET /metrics (gzip) ≤ %g ms at %s targets | median %.1f ms (%.0f KB '
                        'gzip, %.0f KB plain) | %s |'
                        % (limit, format(count, ','), p['metrics_get_ms_median'],
                           p['metrics_bytes_gzip'] / 1024, p['metrics_bytes'] / 1024,
                           verdict(p['metrics_get_ms_median'] <= limit)))
        else:
            rows.append('| GET /metrics (gzip) ≤ %g ms at %s targets | — | not measured in this '
                        'run |' % (limit, format(count, ',')))
    return rows


def markdown(data):
    m = data['machine']
    out = []
    w = out.append
    w(BEGIN)
    w('## Against the peers: CPU per scrape (`bench/peers`)')
    w('')
    w('Written by `bench/peers`; do not edit by hand. Run %s on %s, %s CPUs (`nproc`), Linux %s; '
      'load average %s before, %s after.' % (data['date'], m['cpu'], m['nproc'], m['kernel'],
                                             data['runs'][0]['load_before'] if data['runs'] else '?',
                                             data['runs'][-1].get('load_after', '?')
                                             if data['runs'] else '?'))
    w('')
    w('```sh')
    w(data['command'])
    w('```')
    w('')
    w('Every peer scrapes the same N URLs `http://127.0.0.1:PORT/t/<i>/debug/vars` (%d nginx '
      'ports, keep-alive) at the same interval, one peer at a time, against the same nginx-light '
      '%s serving `tests/fixtures/goapp_gc300.json` (%.1f KB) in 100 variants that follow the '
      'clock, so every scrape sees new GCs (rates, a 256-pause histogram). **CPU per scrape** = '
      'the process\'s CPU time (utime + stime from `/proc/<pid>/stat`) over the measured window '
      '÷ the requests nginx counted (`stub_status`) in that window (CPU time comes in 10 ms '
      'ticks, so a short window is coarse). The machine is shared with '
      'other engineers\' builds, so wall-clock numbers are noisy: compare CPU time, not '
      'wall time. **nginx** is the floor: its master + worker CPU per request served, pooled '
      'over all the windows of that target count.'
      % (data['ports'], m['nginx'], (data['runs'][0].get('document_bytes', 0) / 1000)
         if data['runs'] else 0))
    w('')
    w('- **ours**: `expvar-collector run` (`%s`, %s), the N instances in '
      '`conf.d/go_expvar.d/*.yaml`, DogStatsD to a UDP socket that counts and discards; GET '
      '/metrics with `Accept-Encoding: gzip` after the window (median of %d).'
      % (data['binary'], data['build_type'], data['metrics_gets']))
    w('- **collectd** %s: only `curl_json` (one `<URL>` a target, the same 13 memstats keys: 8 '
      '`gauge`, 5 `derive`) and the `network` plugin sending to a discarded UDP port, so it does '
      'output work comparable to our DogStatsD sink (no writer at all would flatter it; csv or '
      'write_log would add disk or log formatting). ReadThreads 5 (the default). It computes no '
      'rates and no pause histogram (a derive is sent raw), so it does less work per scrape than '
      'the others. It holds 3 file descriptors a `<URL>` (the keep-alive socket and the '
      'socketpair of the curl handle\'s internal multi handle), so its open-files limit caps the '
      'targets it can scrape at about limit / 3: ~%s under this run\'s %s (past that the '
      'other URLs fail and it shows as *behind*), ~340 under 1,024 (`bench/peers --runs '
      '1100:5:10 --peers collectd --collectd-nofile 1024`: 680 of 2,200 scrapes).'
      % (m['collectd'], format(round(data['open_files'] / 3, -2), ',.0f'),
         format(data['open_files'], ',')))
    w('- nginx\'s own cost per request depends on the client: bursts (collectd\'s read threads '
      'fire together) let one epoll wake-up serve several requests, evenly spread scrapes (ours, '
      'python) wake it once a request; the column *nginx µs / request in this window* shows it.')
    w('- **python**: `bench/peers_python_agent.py`, CPython %s, requests %s, one `requests.Session` '
      'per target (%s), the check logic of `bench/reference_check.py` (13 defaults, '
      '`TotalAlloc.count`, rates, pause histogram aggregates), DogStatsD lines over UDP; one '
      'thread, targets in order each interval.' % (m['python'], m['requests'],
                                                  data['python_session']))
    w('')
    w('| targets @ interval | peer | scrapes in window (expected) | CPU s | **CPU µs / scrape** '
      '| × nginx | × ours | share of one core | RSS steady MB | RSS peak MB | UDP out '
      'datagrams / KB | nginx µs / request in this window (new connections) '
      '| GET /metrics gzip ms (KB gzip / plain) |')
    w('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|')
    notes = []
    for run in data['runs']:
        label = '%s @ %g s' % (format(run['targets'], ','), run['interval_seconds'])
        ngx = run['nginx_cpu_per_request_us']
        ours = (run['peers'].get('ours') or {}).get('cpu_per_scrape_us')
        total_req = sum(p.get('scrapes', 0) for p in run['peers'].values())
        total_cpu = sum(p.get('nginx_cpu_seconds', 0) for p in run['peers'].values())
        w('| %s | nginx (floor) | %s requests | %.2f | **%s** | 1.00× | %s | | %s | | | | |'
          % (label, format(total_req, ','), total_cpu, fmt(ngx), ratio(ngx, ours),
             fmt((run.get('nginx_rss_kb') or 0) / 1024)))
        for name in PEERS:
            p = run['peers'].get(name)
            if p is None:
                continue
            if 'error' in p or p.get('scrapes') is None:
                w('| %s | %s | failed | | | | | | | | | | |' % (label, name))
                notes.append('%s at %s: %s' % (name, label,
                                                (p.get('error') or '').strip().splitlines()[-1:]))
                continue
            behind = p['scrapes'] < 0.9 * p['expected_scrapes']
            metrics = ''
            if name == 'ours' and p.get('metrics_get_ms_median') is not None:
                metrics = '%.1f (%.0f / %.0f)' % (p['metrics_get_ms_median'],
                                                 p['metrics_bytes_gzip'] / 1024,
                                                 p['metrics_bytes'] / 1024)
            w('| %s | %s | %s (%s)%s | %.2f | **%s** | %s | %s | %.1f %% | %.1f | %.1f | %s / %.0f '
              '| %s (%s) | %s |'
              % (label, name, format(p['scrapes'], ','), format(int(p['expected_scrapes']), ','),
                 ' **behind**' if behind else '', p['cpu_seconds'], fmt(p['cpu_per_scrape_us']),
                 ratio(p['cpu_per_scrape_us'], ngx), ratio(p['cpu_per_scrape_us'], ours),
                 100 * p['core_fraction'], p['rss_steady_kb'] / 1024, p['rss_peak_kb'] / 1024,
                 format(p['udp_out']['datagrams'], ','), p['udp_out']['bytes'] / 1024,
                 fmt(p['nginx_cpu_per_request_us']), format(p.get('connections_accepted', 0), ','),
                 metrics))
            if behind:
                notes.append('%s at %s fell behind its schedule (%d of %d expected scrapes): CPU '
                             'per scrape is still what it spent per request served.'
                             % (name, label, p['scrapes'], p['expected_scrapes']))
            if p.get('note'):
                notes.append('%s at %s: %s' % (name, label, p['note']))
    w('')
    if notes:
        for note in notes:
            w('- %s' % note)
        w('')
    fds = []
    for run in data['runs']:
        counts = ['%s %s' % (name, format(p['open_fds'], ','))
                  for name, p in run['peers'].items() if p.get('open_fds') is not None]
        if counts:
            fds.append('%s targets: %s' % (format(run['targets'], ','), ', '.join(counts)))
    if fds:
        w('Open file descriptors at the end of each window (the limit here was %s): %s.'
          % (format(data['open_files'], ','), '; '.join(fds)))
        w('')
    w('Window: %s s per peer after a warm-up (every target fetched once, then one more interval).'
      % ', '.join(sorted({'%g' % r['window_seconds'] for r in data['runs']})))
    if data.get('collectd_note'):
        w(data['collectd_note'])
    w('')
    w('### The issue\'s goals at this run')
    w('')
    w('| goal | measured | verdict |')
    w('|---|---|---|')
    for row in goals(data['runs']):
        w(row)
    w('')
    w(END)
    return '\n'.join(out)


def write_block(path, block):
    text = ''
    if os.path.exists(path):
        with open(path, encoding='utf-8') as f:
            text = f.read()
    start, end = text.find(BEGIN), text.find(END)
    if start >= 0 and end > start:
        text = text[:start] + block + text[end + len(END):]
    else:
        m = re.search(r'^## Check core', text, re.M)
        if m:
            text = text[:m.start()] + block + '\n\n' + text[m.start():]
        else:
            text = text.rstrip('\n') + '\n\n' + block + '\n'
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--binary', required=True, help='the expvar-collector binary')
    parser.add_argument('--root', default=os.path.dirname(HERE), help='the repository')
    parser.add_argument('--quick', action='store_true', help='runs %s' % QUICK_RUNS)
    parser.add_argument('--runs', help='N:INTERVAL:WINDOW,... (default %s)' % FULL_RUNS)
    parser.add_argument('--peers', default=','.join(PEERS), help='default %(default)s')
    parser.add_argument('--ports', type=int, default=40, help='nginx ports the targets share')
    parser.add_argument('--metrics-gets', type=int, default=7)
    parser.add_argument('--python-session', choices=('per-target', 'shared'),
                        default='per-target')
    parser.add_argument('--collectd-nofile', type=int,
                        help="collectd's open-files limit (default: inherited)")
    parser.add_argument('--json-out', help='write every number here')
    parser.add_argument('--markdown-out', nargs='?', const='BENCHMARKS.md',
                        help='rewrite the peers block of this file (default BENCHMARKS.md)')
    parser.add_argument('--command', help='the command to show in the report')
    parser.add_argument('--build-type', help="the binary's CMake build type (default: read from "
                        'CMakeCache.txt beside it)')
    args = parser.parse_args()
    args.peers = [p for p in args.peers.split(',') if p]
    for p in args.peers:
        if p not in PEERS:
            parser.error('unknown peer %s' % p)
    args.binary = os.path.abspath(args.binary)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    log('open files limit: %d (hard %d)' % (soft, hard))

    specs = args.runs or (QUICK_RUNS if args.quick else FULL_RUNS)
    data = {'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
            'machine': machine(), 'ports': args.ports, 'binary': args.binary,
            'metrics_gets': args.metrics_gets, 'python_session': args.python_session,
            'build_type': args.build_type or build_type(args.binary),
            'command': args.command or ' '.join(sys.argv), 'open_files': soft, 'runs': []}
    for spec in specs.split(','):
        count, interval, window = spec.split(':')
        data['runs'].append(run_one(args, int(count), float(interval), float(window)))
        if args.json_out:
            with open(args.json_out, 'w', encoding='utf-8') as f:
                json.dump(data, f, indent=1)
    block = markdown(data)
    print(block)
    if args.markdown_out:
        path = args.markdown_out
        if not os.path.isabs(path):
            path = os.path.join(args.root, path)
        write_block(path, block)
        log('wrote the peers block of %s' % path)


if __name__ == '__main__':
    main()
