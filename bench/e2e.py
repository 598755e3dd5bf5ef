#!/usr/bin/env python3
"""End-to-end scale and churn benchmark of `expvar-collector run`.

For each target count N it starts, on loopback only:
- nginx (Debian nginx-light, an unprivileged process with a generated config in a temp dir)
  serving recorded expvar documents on P ports, any path, keep-alive on. The document changes
  with the clock like a live Go program's: variant k of tests/fixtures/goapp_gc300.json has
  k * 300 more GCs (and more mallocs, frees, pause time, allocation), so every scrape computes
  rates and a 256-pause histogram, as in check_bench's steady state;
- a DogStatsD receiver (a UDP socket in this process) counting datagrams, lines and bytes;
- the collector with an empty conf.d, whose RSS is the baseline; then N instances are written
  to conf.d and SIGHUP loads them. After a warm-up, the measured window starts: the collector's
  CPU time (utime + stime of /proc/<pid>/stat, per thread too), its RSS, the scrapes it counts
  on /metrics, late ticks and the scrape-duration histogram; /metrics is scraped every 15 s
  throughout, as Prometheus would.
Churn: the files are removed + SIGHUP, then added + SIGHUP and removed + SIGHUP once more; RSS
and the /metrics series count are recorded after each step.

Writes one JSON document with every number; bench/report.py turns it into BENCHMARKS.md.
"""

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CLK_TCK = os.sysconf('SC_CLK_TCK')
PAGE_KB = os.sysconf('SC_PAGE_SIZE') // 1024
METRICS_PERIOD = 15.0  # seconds between /metrics scrapes, as a Prometheus default would
VARIANTS = 100


def log(message):
    print('[e2e %s] %s' % (time.strftime('%H:%M:%S'), message), file=sys.stderr, flush=True)


def free_ports(count):
    """Ports on 127.0.0.1 that were free a moment ago."""
    socks, ports = [], []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(('127.0.0.1', 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def load_avg():
    with open('/proc/loadavg', encoding='ascii') as f:
        return ' '.join(f.read().split()[:3])


# --- the process under test ---------------------------------------------------------------

def proc_cpu_seconds(pid):
    """utime + stime of the whole process, in seconds."""
    with open('/proc/%d/stat' % pid, encoding='ascii') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_cpu_split(pid):
    """(utime, stime) in seconds and the context switches (voluntary + not) of every thread."""
    with open('/proc/%d/stat' % pid, encoding='ascii') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    switches = 0
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/status' % (pid, tid), encoding='ascii') as f:
                switches += sum(int(n) for n in re.findall(r'ctxt_switches:\s+(\d+)', f.read()))
        except OSError:
            pass
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK, switches


def thread_cpu_seconds(pid):
    """{tid: utime + stime} of every thread."""
    out = {}
    for tid in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid), encoding='ascii') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            out[int(tid)] = (int(fields[11]) + int(fields[12])) / CLK_TCK
        except OSError:
            pass
    return out


def rss_kb(pid):
    with open('/proc/%d/status' % pid, encoding='ascii') as f:
        return int(re.search(r'VmRSS:\s+(\d+) kB', f.read()).group(1))


def http_get(url, timeout=60):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode('utf-8', 'replace')


def parse_metrics(text):
    """(self-metric samples {name{labels}: value}, series count of the targets, all samples)."""
    own, target_series, total = {}, 0, 0
    for line in text.splitlines():
        if not line or line[0] == '#':
            continue
        total += 1
        key, _, value = line.rpartition(' ')
        if key.startswith('expvar_collector_'):
            try:
                own[key] = float(value)
            except ValueError:
                pass
        else:
            target_series += 1
    return own, target_series, total


def scrapes_total(own):
    return sum(v for k, v in own.items() if k.startswith('expvar_collector_scrapes_total{'))


def histogram(own, name):
    """[(upper bound, cumulative count)] of a self-metric histogram."""
    buckets = []
    for key, value in own.items():
        m = re.match(re.escape(name) + r'_bucket\{le="([^"]+)"\}$', key)
        if m:
            bound = float('inf') if m.group(1) == '+Inf' else float(m.group(1))
            buckets.append((bound, value))
    return sorted(buckets)


def histogram_quantile(q, buckets):
    """Prometheus' histogram_quantile: linear inside the bucket; None when empty."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float('inf'):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
        lower_bound, lower_count = bound, count
    return lower_bound


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(q * (len(sorted_values) - 1)))))
    return sorted_values[index]


# --- peers --------------------------------------------------------------------------------

class DogStatsDReceiver:
    """Counts what arrives on a UDP socket, on its own thread."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, 16 << 20)  # SO_RCVBUFFORCE (root)
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.datagrams = self.lines = self.bytes = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.datagrams += 1
                self.lines += data.count(b'\n') + (0 if data.endswith(b'\n') else 1)
                self.bytes += len(data)

    def counts(self):
        with self.lock:
            return {'datagrams': self.datagrams, 'lines': self.lines, 'bytes': self.bytes}

    def kernel_drops(self):
        """Datagrams the kernel dropped on this socket (receive buffer full)."""
        inode = os.fstat(self.sock.fileno()).st_ino
        with open('/proc/net/udp', encoding='ascii') as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[9] == str(inode):
                    return int(fields[12])
        return None

    def close(self):
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()


def make_documents(root, out_dir):
    """Variants 00..99 of goapp_gc300.json: variant k is k * 300 GCs later."""
    with open(os.path.join(root, 'tests/fixtures/goapp_gc300.json'), encoding='utf-8') as f:
        doc = json.load(f)
    base = doc['memstats']
    size = 0
    for k in range(VARIANTS):
        m = dict(base)
        m['NumGC'] = base['NumGC'] + 300 * k
        m['NumForcedGC'] = base['NumForcedGC'] + 300 * k
        m['PauseTotalNs'] = base['PauseTotalNs'] + 45_000 * 300 * k
        m['Mallocs'] = base['Mallocs'] + 2_000 * k
        m['Frees'] = base['Frees'] + 1_900 * k
        m['Lookups'] = base['Lookups'] + 3 * k
        m['TotalAlloc'] = base['TotalAlloc'] + 400_000 * k
        m['LastGC'] = base['LastGC'] + 15_000_000_000 * k
        d = dict(doc)
        d['memstats'] = m
        path = os.path.join(out_dir, 'gc300_%02d.json' % k)
        with open(path, 'w', encoding='utf-8') as f:
            # Go's expvar handler writes one top-level key a line.
            f.write('{\n' + ',\n'.join('%s: %s' % (json.dumps(key), json.dumps(value))
                                       for key, value in d.items()) + '\n}\n')
        size = os.path.getsize(path)
    return size


class Nginx:
    """nginx-light as an unprivileged process (nobody) serving the document variants."""

    def __init__(self, root, workdir, ports, interval, status_port=None):
        self.dir = os.path.join(workdir, 'nginx')
        os.makedirs(os.path.join(self.dir, 'docs'))
        os.makedirs(os.path.join(self.dir, 'tmp'))
        self.document_bytes = make_documents(root, os.path.join(self.dir, 'docs'))
        # The variant follows the clock: the seconds' last two digits for short intervals, the
        # ten-second count's for long ones, so consecutive scrapes see more GCs (the count
        # wraps every 100 steps: then the check sees a restart, as after a real one).
        unit = r'(\d\d)\.\d+$' if interval < 10 else r'(\d\d)\d\.\d+$'
        servers = '\n'.join(
            '  server { listen 127.0.0.1:%d reuseport; location / { try_files /gc300_$variant.json =404; } }'
            % port for port in ports)
        if status_port:  # request counts for bench/peers (stub_status)
            servers += ('\n  server { listen 127.0.0.1:%d; location = /nginx_status { stub_status; } }'
                        % status_port)
        nofile = min(65536, self._open_files_limit())
        conf = f"""
worker_processes 1;
daemon off;
master_process on;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log warn;
worker_rlimit_nofile {nofile};
events {{ worker_connections {nofile - 100}; use epoll; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {self.dir}/tmp/body;
  proxy_temp_path {self.dir}/tmp/proxy;
  fastcgi_temp_path {self.dir}/tmp/fastcgi;
  uwsgi_temp_path {self.dir}/tmp/uwsgi;
  scgi_temp_path {self.dir}/tmp/scgi;
  default_type application/json;
  root {self.dir}/docs;
  keepalive_timeout 600s;
  keepalive_requests 10000000;
  open_file_cache max=200 inactive=60s;
  map $msec $variant {{ "~{unit}" $1; }}
{servers}
}}
"""
        with open(os.path.join(self.dir, 'nginx.conf'), 'w', encoding='ascii') as f:
            f.write(conf)
        nobody = pwd.getpwnam('nobody')
        for base, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                os.chown(os.path.join(base, name), nobody.pw_uid, nobody.pw_gid)
        os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
        os.chmod(workdir, 0o755)
        command = ['nginx', '-p', self.dir, '-c', os.path.join(self.dir, 'nginx.conf'),
                   '-e', os.path.join(self.dir, 'error.log')]
        if os.geteuid() == 0:
            command = ['setpriv', '--reuid=%d' % nobody.pw_uid, '--regid=%d' % nobody.pw_gid,
                       '--clear-groups', '--'] + command
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(self.dir, 'stderr.log'), 'w'))
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                http_get('http://127.0.0.1:%d/x' % ports[-1], timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError('nginx did not start: %s' % self.errors())

    @staticmethod
    def _open_files_limit():
        import resource
        return resource.getrlimit(resource.RLIMIT_NOFILE)[0]

    def errors(self):
        text = ''
        for name in ('stderr.log', 'error.log'):
            try:
                with open(os.path.join(self.dir, name), encoding='utf-8') as f:
                    text += f.read()
            except OSError:
                pass
        return text[-2000:]

    def cpu_seconds(self):
        total = 0.0
        try:
            out = subprocess.run(['pgrep', '-P', str(self.proc.pid)], capture_output=True,
                                 text=True).stdout.split()
            for pid in [self.proc.pid] + [int(p) for p in out]:
                total += proc_cpu_seconds(pid)
        except OSError:
            pass
        return total

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- one run --------------------------------------------------------------------------------

class Collector:
    def __init__(self, binary, workdir, interval, dogstatsd_port, env=None):
        self.confd = os.path.join(workdir, 'conf.d')
        os.makedirs(os.path.join(self.confd, 'go_expvar.d'))
        self.admin_port = free_ports(1)[0]
        self.admin = 'http://127.0.0.1:%d' % self.admin_port
        self.stderr_path = os.path.join(workdir, 'collector.log')
        self.command = [binary, 'run', '--confd', self.confd, '--interval', str(interval),
                        '--listen', '127.0.0.1:%d' % self.admin_port,
                        '--dogstatsd-url', 'udp://127.0.0.1:%d' % dogstatsd_port,
                        '--log-level', 'info', '--kube-mode', 'off']
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL,
                                     stderr=open(self.stderr_path, 'w'),
                                     env=dict(os.environ, **(env or {})))
        self.pid = self.proc.pid
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                http_get(self.admin + '/readyz', timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError('collector did not start:\n' + self.log_tail())

    def log_tail(self):
        with open(self.stderr_path, encoding='utf-8', errors='replace') as f:
            return f.read()[-3000:]

    def write_targets(self, ports, count, per_file=500):
        """count instances over the ports, each with its own path, per_file a file."""
        directory = os.path.join(self.confd, 'go_expvar.d')
        for i in range(0, count, per_file):
            lines = ['init_config:', '', 'instances:']
            for j in range(i, min(count, i + per_file)):
                lines.append('  - expvar_url: http://127.0.0.1:%d/t/%d' % (ports[j % len(ports)], j))
            tmp = os.path.join(directory, '.targets_%05d.tmp' % i)
            with open(tmp, 'w', encoding='ascii') as f:
                f.write('\n'.join(lines) + '\n')
            os.rename(tmp, os.path.join(directory, 'targets_%05d.yaml' % i))

    def remove_targets(self):
        directory = os.path.join(self.confd, 'go_expvar.d')
        for name in os.listdir(directory):
            os.remove(os.path.join(directory, name))

    def reload(self):
        os.kill(self.pid, signal.SIGHUP)

    def metrics(self):
        start = time.monotonic()
        text = http_get(self.admin + '/metrics', timeout=120)
        return text, time.monotonic() - start

    def status(self):
        return json.loads(http_get(self.admin + '/status', timeout=120))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class MetricsPoller:
    """Scrapes /metrics every METRICS_PERIOD seconds (like Prometheus) and keeps the last one."""

    def __init__(self, collector):
        self.collector = collector
        self.renders = []  # (wall seconds, bytes, samples)
        self.last = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                text, seconds = self.collector.metrics()
                _, _, total = parse_metrics(text)
                self.renders.append((seconds, len(text), total))
            except OSError as e:
                log('/metrics failed: %s' % e)
            self.stopping.wait(max(0.0, METRICS_PERIOD - (time.monotonic() - started)))

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=130)


def wait_for(predicate, timeout, period=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period)
    return predicate()


def settle_rss(pid, seconds):
    """RSS after `seconds` (sampled each 0.5 s; the last sample)."""
    end = time.monotonic() + seconds
    value = rss_kb(pid)
    while time.monotonic() < end:
        time.sleep(0.5)
        value = rss_kb(pid)
    return value


# Self time of a flat perf profile, by what the code does.
PROFILE_CATEGORIES = [
    ('kernel: syscalls, TCP/UDP, scheduling', lambda dso, sym: dso.startswith('[kernel')),
    ('malloc/free', lambda dso, sym: 'libc' in dso and re.search(
        r'malloc|free|_int_|consolidate|unlink_chunk|operator new|tcache', sym)),
    ('JSON parse (Boost.JSON)', lambda dso, sym: 'boost_json' in dso),
    ('check (lib/check)', lambda dso, sym: 'expvar::check::' in sym),
    ('DogStatsD sink', lambda dso, sym: 'DogStatsD' in sym or 'expvar::sink::Encode' in sym),
    ('Prometheus sink and self-metrics', lambda dso, sym: 'Prometheus' in sym or 'prometheus' in dso
     or 'prometheus::' in sym),
    ('Asio/Beast: event loop, timers, strands, HTTP', lambda dso, sym: 'boost::asio' in sym or
     'boost::beast' in sym),
    ('libc: copies, locks, other', lambda dso, sym: 'libc' in dso),
    ('other', lambda dso, sym: True),
]


def profile(pid, seconds, out_path):
    """A flat perf profile of the running collector: self-time percentages by category and the
    top symbols. None when perf is missing or not allowed."""
    data = out_path + '.perf.data'
    try:
        subprocess.run(['perf', 'record', '-F', '499', '-p', str(pid), '-o', data, '--',
                        'sleep', str(seconds)], check=True, capture_output=True, timeout=seconds + 60)
        report = subprocess.run(['perf', 'report', '-i', data, '--no-children', '--sort',
                                 'dso,sym', '-g', 'none', '--stdio'], check=True,
                                capture_output=True, text=True, timeout=300).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        if os.path.exists(data):
            os.remove(data)
    categories = {name: 0.0 for name, _ in PROFILE_CATEGORIES}
    top = []
    for line in report.splitlines():
        m = re.match(r'\s*([\d.]+)%\s+(\S+)\s+\[[.k]\]\s+(.*)$', line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3).strip()
        for name, match in PROFILE_CATEGORIES:
            if match(dso, sym):
                categories[name] += pct
                break
        if len(top) < 12:
            top.append([pct, dso, sym[:110]])
    return {'seconds': seconds, 'categories': categories, 'top': top}


def run_one(args, count, interval, duration):
    result = {'targets': count, 'interval_seconds': interval, 'window_seconds': duration,
              'ports': args.ports, 'load_before': load_avg()}
    workdir = tempfile.mkdtemp(prefix='expvar-e2e-')
    nginx = collector = receiver = poller = None
    try:
        ports = free_ports(args.ports)
        nginx = Nginx(args.root, workdir, ports, interval)
        result['document_bytes'] = nginx.document_bytes
        receiver = DogStatsDReceiver()
        collector = Collector(args.binary, workdir, interval, receiver.port)
        pid = collector.pid

        # Baseline: no targets, after the admin server answered both endpoints once.
        collector.metrics()
        collector.status()
        result['rss_baseline_kb'] = settle_rss(pid, 2)

        # Load: N instances, then one interval plus the first-scrape window to reach steady
        # state (every target scraped at least once, keep-alive connections open).
        log('N=%d: loading %d targets (interval %g s)' % (count, count, interval))
        load_start = time.monotonic()
        collector.write_targets(ports, count)
        collector.reload()

        def all_scraped(since=0.0):
            own, _, _ = parse_metrics(collector.metrics()[0])
            return own.get('expvar_collector_targets', 0) == count and \
                scrapes_total(own) - since >= count
        if not wait_for(all_scraped, interval + 30, period=1.0):
            raise RuntimeError('the %d targets were not all scraped:\n%s'
                               % (count, collector.log_tail()))
        result['load_seconds'] = round(time.monotonic() - load_start, 2)
        time.sleep(interval + 1)
        poller = MetricsPoller(collector)
        time.sleep(2)  # the poller's first render is part of the window's steady state

        # The measured window.
        own0, _, _ = parse_metrics(collector.metrics()[0])
        threads0 = thread_cpu_seconds(pid)
        split0 = proc_cpu_split(pid)
        cpu0, nginx0, dsd0, t0 = proc_cpu_seconds(pid), nginx.cpu_seconds(), receiver.counts(), \
            time.monotonic()
        renders0 = len(poller.renders)
        rss_samples = []
        while time.monotonic() - t0 < duration:
            time.sleep(1)
            rss_samples.append(rss_kb(pid))
        cpu1, nginx1, dsd1, t1 = proc_cpu_seconds(pid), nginx.cpu_seconds(), receiver.counts(), \
            time.monotonic()
        threads1 = thread_cpu_seconds(pid)
        split1 = proc_cpu_split(pid)
        own1, series, samples = parse_metrics(collector.metrics()[0])
        elapsed = t1 - t0

        scrapes = scrapes_total(own1) - scrapes_total(own0)
        ok = own1.get('expvar_collector_scrapes_total{result="ok"}', 0) - \
            own0.get('expvar_collector_scrapes_total{result="ok"}', 0)
        cpu = cpu1 - cpu0
        # The admin server's thread renders /metrics and /status; the others scrape.
        per_thread = {tid: threads1.get(tid, 0) - threads0.get(tid, 0) for tid in threads1}
        # It is the first thread the daemon starts (tids grow), so the lowest one after the main.
        admin_tid = min((t for t in threads1 if t != pid), default=None)
        admin_cpu = per_thread.get(admin_tid, 0.0) if admin_tid else 0.0
        result.update({
            'elapsed_seconds': round(elapsed, 2),
            'scrapes': int(scrapes),
            'scrapes_ok': int(ok),
            'scrapes_per_second': scrapes / elapsed,
            'expected_scrapes': count * elapsed / interval,
            'cpu_seconds': cpu,
            'cpu_per_scrape_us': 1e6 * cpu / scrapes if scrapes else None,
            'core_fraction': cpu / elapsed,
            'admin_thread_cpu_seconds': admin_cpu,
            'cpu_per_scrape_without_admin_us':
                1e6 * (cpu - admin_cpu) / scrapes if scrapes else None,
            'thread_cpu_seconds': {str(t): round(v, 2) for t, v in sorted(per_thread.items())},
            'user_seconds': split1[0] - split0[0],
            'system_seconds': split1[1] - split0[1],
            'context_switches_per_scrape': (split1[2] - split0[2]) / scrapes if scrapes else None,
            'nginx_cpu_seconds': nginx1 - nginx0,
            'nginx_cpu_per_request_us': 1e6 * (nginx1 - nginx0) / scrapes if scrapes else None,
            'rss_loaded_kb': rss_samples[-1],
            'rss_peak_kb': max(rss_samples),
            'late_ticks': own1.get('expvar_collector_late_ticks_total', 0),
            'late_ticks_in_window': own1.get('expvar_collector_late_ticks_total', 0) -
                own0.get('expvar_collector_late_ticks_total', 0),
            'series_on_metrics': series,
            'samples_on_metrics': samples,
            'dogstatsd_received': {k: dsd1[k] - dsd0[k] for k in dsd1},
            'dogstatsd_sent_total': own1.get(
                'expvar_collector_dogstatsd_datagrams_total{result="sent"}', 0),
            'dogstatsd_dropped_total': own1.get(
                'expvar_collector_dogstatsd_datagrams_total{result="dropped"}', 0),
            'dogstatsd_kernel_drops': receiver.kernel_drops(),
        })
        result['rss_per_target_kb'] = (result['rss_loaded_kb'] - result['rss_baseline_kb']) / count
        renders = poller.renders[renders0:] or poller.renders
        if renders:
            result['metrics_render_seconds'] = max(r[0] for r in renders)
            result['metrics_render_seconds_median'] = sorted(r[0] for r in renders)[len(renders) // 2]
            result['metrics_bytes'] = renders[-1][1]
        result['metrics_renders_in_window'] = len(poller.renders) - renders0
        # Scrape latency: the self-metrics histogram over the window, and each target's last
        # scrape from /status.
        h0 = dict(histogram(own0, 'expvar_collector_scrape_duration_seconds'))
        h1 = histogram(own1, 'expvar_collector_scrape_duration_seconds')
        window_hist = [(b, c - h0.get(b, 0)) for b, c in h1]
        result['latency_histogram_ms'] = {
            'p50': 1e3 * (histogram_quantile(0.5, window_hist) or 0),
            'p90': 1e3 * (histogram_quantile(0.9, window_hist) or 0),
            'p99': 1e3 * (histogram_quantile(0.99, window_hist) or 0),
            'buckets': [[b if b != float('inf') else 'inf', c] for b, c in window_hist],
        }
        status = collector.status()
        durations = sorted(t['last_duration_seconds'] for t in status['targets'])
        result['latency_status_ms'] = {
            'p50': 1e3 * percentile(durations, 0.5), 'p90': 1e3 * percentile(durations, 0.9),
            'p99': 1e3 * percentile(durations, 0.99), 'max': 1e3 * durations[-1],
            'targets': len(durations)}
        result['health'] = {h: sum(1 for t in status['targets'] if t['health'] == h)
                            for h in ('up', 'down', 'pending')}
        if args.profile_at == count:
            log('N=%d: perf profile for %d s' % (count, args.profile_seconds))
            result['profile'] = profile(pid, args.profile_seconds, args.out)
        poller.stop()
        poller = None

        # Churn: remove everything, add everything back, remove again.
        churn = {}
        peak = max(rss_samples)

        def removed():
            own, series_now, _ = parse_metrics(collector.metrics()[0])
            return own.get('expvar_collector_targets', -1) == 0 and series_now == 0
        for step in ('removed', 'added_again', 'removed_again'):
            step_start = time.monotonic()
            if step.startswith('removed'):
                collector.remove_targets()
                collector.reload()
                gone = wait_for(removed, 30)
                seconds = time.monotonic() - step_start
                rss = settle_rss(pid, 3)
            else:
                before = scrapes_total(parse_metrics(collector.metrics()[0])[0])
                collector.write_targets(ports, count)
                collector.reload()
                gone = wait_for(lambda: all_scraped(before), interval + 30, period=1.0)
                seconds = time.monotonic() - step_start
                rss = settle_rss(pid, 2)
            text = collector.metrics()[0]
            own, series_now, samples_now = parse_metrics(text)
            peak = max(peak, rss)
            churn[step] = {'rss_kb': rss, 'series': series_now, 'samples': samples_now,
                           'targets': own.get('expvar_collector_targets'),
                           'reached': gone, 'seconds': round(seconds, 2)}
            log('N=%d churn %s: RSS %d kB, %d target series' % (count, step, rss, series_now))
        churn['rss_peak_kb'] = peak
        result['churn'] = churn
        result['load_after'] = load_avg()
        log('N=%d: %.1f µs CPU/scrape, %.2f%% of a core, RSS %.1f MB (+%.1f kB/target), late %d'
            % (count, result['cpu_per_scrape_us'] or -1, 100 * result['core_fraction'],
               result['rss_loaded_kb'] / 1024, result['rss_per_target_kb'], result['late_ticks']))
        return result
    finally:
        if poller:
            poller.stop()
        if collector:
            collector.stop()
        if receiver:
            receiver.close()
        if nginx:
            nginx.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--binary', required=True, help='the expvar-collector binary')
    parser.add_argument('--root', required=True, help='the repository')
    parser.add_argument('--runs', required=True,
                        help='N:INTERVAL:WINDOW,... e.g. 100:1:60,1000:2:90,10000:15:150')
    parser.add_argument('--ports', type=int, default=40, help='nginx ports the targets share')
    parser.add_argument('--profile-at', type=int, default=0,
                        help='after the window of this N, record a perf profile')
    parser.add_argument('--profile-seconds', type=int, default=10)
    parser.add_argument('--out', required=True)
    args = parser.parse_args()

    # bench/run.sh stops its children with SIGTERM: clean up (nginx, the collector, temp dirs).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    log('open files limit: %d (hard %d)' % (soft, hard))

    results = []
    for spec in args.runs.split(','):
        count, interval, window = spec.split(':')
        results.append(run_one(args, int(count), float(interval), float(window)))
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump({'runs': results, 'metrics_period_seconds': METRICS_PERIOD}, f, indent=1)
    log('wrote %s' % args.out)


if __name__ == '__main__':
    main()
