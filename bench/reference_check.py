#!/usr/bin/env python3
"""A Python 3 implementation of the go_expvar check logic, the stand-in for the Datadog Agent's
Python check in bench/ (design.md section 3 and README "What is reported").

It is written the way Datadog's check is (stdlib json + re, AgentCheck's naming regexes) and
computes what our check core computes, including the documented improvements (the PauseNs ring
read correctly after more than 256 GCs or a restart, the first match of a series wins, the
overflow past max_returned_metrics is counted, a malformed top-level value is skipped). It is
given the same advantages as our C++ core, so the comparison is about the language and the
libraries, not about the algorithm: regexes are compiled once per config, a literal segment is a
dict lookup instead of a regex test of every key, and there is no AgentCheck submission layer.
The real Agent check does all of that per run, so it is slower than this file.

Subcommands:
  bench  [--root DIR] [--out FILE] [--min-batch S] [--repeats N]
         times json.loads, the check, and the check plus the series, on the documents of
         bench/cases.json, in CPU time (time.process_time_ns), and prints/writes JSON.
  dump   [--defaults-only] [--interval S] CONF.yaml DOC.json...
         prints the series of each run as JSON lines, the format of bench/dump_series.
  verify --dump-series PATH [--root DIR]
         runs fixed document sequences through both and fails when any series differs.
"""

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

import yaml

# --- Datadog's go_expvar constants, in its order ------------------------------------------------

DEFAULT_GAUGE_MEMSTAT_METRICS = ["Alloc", "TotalAlloc", "HeapAlloc", "HeapSys", "HeapIdle",
                                 "HeapInuse", "HeapReleased", "HeapObjects"]
DEFAULT_RATE_MEMSTAT_METRICS = ["Lookups", "Mallocs", "Frees", "PauseTotalNs", "NumGC"]
DEFAULT_MAX_METRICS = 350
DEFAULT_METRIC_NAMESPACE = "go_expvar"
GO_EXPVAR_URL_PATH = "/debug/vars"

GAUGE, RATE, COUNT, COUNTER, MONOTONIC_COUNTER = (
    "gauge", "rate", "count", "counter", "monotonic_counter")
# What the Agent stores for each check type.
REPORT_KIND = {GAUGE: "gauge", RATE: "rate", COUNT: "count", COUNTER: "count",
               MONOTONIC_COUNTER: "count"}
HISTORY_TYPES = (RATE, MONOTONIC_COUNTER)

# --- AgentCheck naming (datadog_checks_base) ----------------------------------------------------

FIRST_CAP_RE = re.compile(br'(.)([A-Z][a-z]+)')
ALL_CAP_RE = re.compile(br'([a-z0-9])([A-Z])')
METRIC_REPLACEMENT = re.compile(br'([^a-zA-Z0-9_.]+)|(^[^a-zA-Z]+)')
DOT_UNDERSCORE_CLEANUP = re.compile(br'_*\._*')
MULTIPLE_UNDERSCORES = re.compile(br'__+')
LEADING_UNDERSCORE = re.compile(br'^_')
TRAILING_UNDERSCORE = re.compile(br'_$')
DOT_UNDERSCORE = re.compile(br'\._')
UNDERSCORE_DOT = re.compile(br'_\.')


def convert_to_underscore_separated(name):
    metric_name = FIRST_CAP_RE.sub(br'\1_\2', name)
    metric_name = ALL_CAP_RE.sub(br'\1_\2', metric_name).lower()
    metric_name = METRIC_REPLACEMENT.sub(br'_', metric_name)
    return DOT_UNDERSCORE_CLEANUP.sub(br'.', metric_name).strip(b'_')


def normalize(metric, prefix):
    """AgentCheck.normalize(metric, prefix, fix_case=True). Datadog NFKD-decomposes before
    dropping non-ASCII characters; we (and our C++ core) only drop them. An empty prefix gives
    no prefix (Datadog would start the name with '.')."""
    name = convert_to_underscore_separated(metric.encode('ascii', 'ignore'))
    name = MULTIPLE_UNDERSCORES.sub(b'_', name)
    name = LEADING_UNDERSCORE.sub(b'', name)
    name = TRAILING_UNDERSCORE.sub(b'', name)
    name = DOT_UNDERSCORE.sub(b'.', name)
    name = UNDERSCORE_DOT.sub(b'.', name)
    if prefix:
        name = convert_to_underscore_separated(prefix.encode('ascii', 'ignore')) + b'.' + name
    return name.decode('ascii')


# --- values -------------------------------------------------------------------------------------

def reportable(value):
    """Numbers, booleans and strings float() reads; finite only. None for anything else."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


# --- paths --------------------------------------------------------------------------------------

LITERAL_SEGMENT = re.compile(r'[A-Za-z0-9_]+')


def split_path(path):
    """Splits on '/', except '\\/' which stays in the segment (a regex matching '/')."""
    parts = ['']
    i = 0
    while i < len(path):
        if path[i] == '\\' and i + 1 < len(path) and path[i + 1] == '/':
            parts[-1] += '\\/'
            i += 2
            continue
        if path[i] == '/':
            parts.append('')
        else:
            parts[-1] += path[i]
        i += 1
    return parts


def compile_path(path):
    """[(literal or None, compiled fullmatch or None)] per segment. Raises re.error."""
    segments = []
    for part in split_path(path):
        if LITERAL_SEGMENT.fullmatch(part):
            segments.append((part, None))
        else:
            segments.append((None, re.compile(part).fullmatch))  # anchored at both ends
    return segments


def deep_get(node, segments, depth, keys, out):
    """Datadog's deep_get: every (keys, value) the path reaches, in document order."""
    if depth == len(segments):
        out.append((keys, node))
        return
    literal, match = segments[depth]
    if isinstance(node, dict):
        if literal is not None:
            if literal in node:
                deep_get(node[literal], segments, depth + 1, keys + [literal], out)
            return
        for key, child in node.items():
            if match(key):
                deep_get(child, segments, depth + 1, keys + [key], out)
    elif isinstance(node, list):
        if literal is not None:
            if literal.isdigit() and str(int(literal)) == literal and int(literal) < len(node):
                deep_get(node[int(literal)], segments, depth + 1, keys + [literal], out)
            return
        for index, child in enumerate(node):
            key = str(index)
            if match(key):
                deep_get(child, segments, depth + 1, keys + [key], out)


# --- config -------------------------------------------------------------------------------------

def final_url(expvar_url):
    """/debug/vars is appended when the path is empty; credentials never reach the tag."""
    parts = urlsplit(expvar_url)
    if parts.path and '@' not in parts.netloc and not parts.fragment:
        return expvar_url
    netloc = parts.netloc.rsplit('@', 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path or GO_EXPVAR_URL_PATH, parts.query, ''))


def append_unique(tags, tag):
    if tag not in tags:
        tags.append(tag)
    return tags


def merge_tags(first, second):
    out = []
    for tag in first:
        append_unique(out, tag)
    for tag in second:
        append_unique(out, tag)
    return out


class PlannedMetric:
    __slots__ = ('segments', 'path', 'type', 'alias', 'fixed_name', 'tags', 'is_default')

    def __init__(self, path, metric_type, alias, fixed_name, tags, is_default):
        self.segments = compile_path(path)
        self.path = path
        self.type = metric_type
        self.alias = alias
        self.fixed_name = fixed_name
        self.tags = tags
        self.is_default = is_default


class Plan:
    """An instance compiled once per config, like check::Compile."""

    def __init__(self, instance, defaults_only=False):
        self.url = final_url(instance['expvar_url'])
        namespace = instance.get('namespace', DEFAULT_METRIC_NAMESPACE)
        self.namespace = '' if namespace is None else str(namespace)
        self.max_returned_metrics = instance.get('max_returned_metrics', DEFAULT_MAX_METRICS)
        instance_tags = [str(tag) for tag in (instance.get('tags') or [])]
        if instance.get('service'):
            instance_tags.append('service:%s' % instance['service'])
        self.base_tags = merge_tags(instance_tags, ['expvar_url:%s' % self.url])
        self.pause_metric_name = normalize('memstats.PauseNs', self.namespace)
        self.warnings = []
        self.metrics = []
        for field in DEFAULT_GAUGE_MEMSTAT_METRICS:
            self.metrics.append(PlannedMetric('memstats/' + field, GAUGE, None, '',
                                              self.base_tags, True))
        for field in DEFAULT_RATE_MEMSTAT_METRICS:
            self.metrics.append(PlannedMetric('memstats/' + field, RATE, None, '',
                                              self.base_tags, True))
        self.metrics.append(PlannedMetric(
            'memstats/TotalAlloc', MONOTONIC_COUNTER, None,
            normalize('memstats.TotalAlloc', self.namespace) + '.count', self.base_tags, True))
        self.default_count = len(self.metrics)
        if defaults_only:
            return
        for i, item in enumerate(instance.get('metrics') or []):
            path = item.get('path')
            metric_type = item.get('type', GAUGE)
            if not path or metric_type not in REPORT_KIND:
                self.warnings.append('metrics[%d] skipped' % i)
                continue
            alias = item.get('alias')
            item_tags = [str(tag) for tag in (item.get('tags') or [])]
            try:
                self.metrics.append(PlannedMetric(str(path), metric_type,
                                                  None if alias is None else str(alias), '',
                                                  merge_tags(item_tags, self.base_tags), False))
            except re.error as e:
                self.warnings.append('metrics[%d].path: %s; item skipped' % (i, e))


def load_instance(conf_path):
    with open(conf_path, encoding='utf-8') as f:
        conf = yaml.safe_load(f)
    instances = conf.get('instances') or []
    if not instances:
        raise SystemExit('%s: no instance' % conf_path)
    return instances[0]


# --- the document -------------------------------------------------------------------------------

def lenient_parse(text):
    """The top-level object member by member; a member json cannot read is skipped. Returns
    (dict, errors) or raises ValueError when the document as a whole is not an object."""
    n = len(text)
    pos = 0

    def skip_space(p):
        while p < n and text[p] in ' \t\n\r':
            p += 1
        return p

    def string_end(p):
        p += 1
        while p < n and text[p] != '"':
            p += 2 if text[p] == '\\' else 1
        if p >= n:
            raise ValueError('unterminated string')
        return p + 1

    def value_end(p):
        depth, in_string = 0, False
        while p < n:
            c = text[p]
            if in_string:
                if c == '\\':
                    p += 1
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c in '{[':
                depth += 1
            elif c in '}]':
                if depth == 0:
                    break
                depth -= 1
            elif c == ',' and depth == 0:
                break
            p += 1
        if p >= n or depth or in_string:
            raise ValueError('unterminated value')
        return p

    root, errors = {}, []
    pos = skip_space(pos)
    if pos >= n or text[pos] != '{':
        raise ValueError('not an object')
    pos = skip_space(pos + 1)
    if pos < n and text[pos] == '}':
        pos += 1
    else:
        while True:
            pos = skip_space(pos)
            if pos >= n or text[pos] != '"':
                raise ValueError('expected a key')
            end = string_end(pos)
            raw_key = text[pos:end]
            try:
                key = json.loads(raw_key)
            except ValueError:
                key = raw_key[1:-1]
            pos = skip_space(end)
            if pos >= n or text[pos] != ':':
                raise ValueError('expected ":"')
            start = skip_space(pos + 1)
            pos = value_end(start)
            try:
                root[key] = json.loads(text[start:pos])
            except ValueError as e:
                errors.append('value of "%s" skipped: %s' % (key, e))
            pos = skip_space(pos)
            if pos < n and text[pos] == ',':
                pos += 1
                continue
            if pos < n and text[pos] == '}':
                pos += 1
                break
            raise ValueError('expected "," or "}"')
    if skip_space(pos) != n:
        raise ValueError('trailing data')
    return root, errors


def parse_document(text):
    try:
        root = json.loads(text)
        if isinstance(root, dict):
            return root, []
    except ValueError:
        pass
    return lenient_parse(text)


# --- the check ----------------------------------------------------------------------------------

class State:
    __slots__ = ('last', 'last_num_gc')

    def __init__(self):
        self.last = {}  # (name, tags) -> (value, time)
        self.last_num_gc = None


class Result:
    __slots__ = ('readings', 'default_readings', 'pauses', 'missed', 'dropped_by_cap', 'notes',
                 'document_errors')


def compute_report(metric_type, value, now, previous):
    if metric_type == RATE:
        if previous is None or value < previous[0] or now <= previous[1]:
            return None
        return (value - previous[0]) / (now - previous[1])
    if previous is None:  # monotonic_counter
        return None
    return value - previous[0] if value >= previous[0] else 0.0


def pauses_since(ring, num_gc, previous_num_gc):
    """MemStats.PauseNs[(n+255)%256] is GC n's pause: the pauses of the GCs since the previous
    run, the whole ring in order when more than 256 happened, only the new process's after a
    restart (NumGC went down)."""
    if not ring:
        return [], 0
    since = previous_num_gc or 0
    if since > num_gc:
        since = 0
    fresh = num_gc - since
    kept = min(fresh, len(ring))
    size = len(ring)
    pauses = []
    for gc in range(num_gc - kept + 1, num_gc + 1):
        value = reportable(ring[(gc - 1) % size])
        if value is not None:
            pauses.append(value)
    return pauses, fresh - kept


def collect_pauses(root, state):
    memstats = root.get('memstats')
    if not isinstance(memstats, dict):
        return [], 0
    num_gc_value = memstats.get('NumGC')
    ring = memstats.get('PauseNs')
    if num_gc_value is None or not isinstance(ring, list):
        return [], 0
    num_gc = reportable(num_gc_value)
    if num_gc is None or num_gc < 0:
        return [], 0
    num_gc = int(num_gc)
    pauses, missed = pauses_since(ring, num_gc, state.last_num_gc)
    state.last_num_gc = num_gc
    return pauses, missed


def run(plan, text, state, now):
    """check::Run: raises ValueError when the document is unusable (state untouched)."""
    root, document_errors = parse_document(text)
    readings = []  # (name, type, raw, report, tags, path, is_default)
    notes = []
    seen = set()
    reported = 0
    dropped = 0
    default_readings = 0
    namespace = plan.namespace
    last = state.last
    for index, metric in enumerate(plan.metrics):
        if index == plan.default_count:
            default_readings = len(readings)
        matches = []
        deep_get(root, metric.segments, 0, [], matches)
        if not matches and not metric.is_default:
            notes.append('no value matches path "%s"' % metric.path)
        for keys, value in matches:
            number = reportable(value)
            actual_path = '.'.join(keys)
            if number is None:
                notes.append('unreportable value at "%s" (path "%s")' % (actual_path, metric.path))
                continue
            if metric.fixed_name:
                name = metric.fixed_name
            else:
                name = metric.alias or normalize(actual_path, namespace)
            tags = metric.tags
            if metric.alias is not None:
                tags = append_unique(list(tags), 'path:' + actual_path)
            identity = (name, tuple(tags))
            if identity in seen:
                continue  # the first match of a series wins
            seen.add(identity)
            if reported >= plan.max_returned_metrics:
                dropped += 1
                continue
            reported += 1
            if metric.type in HISTORY_TYPES:
                report = compute_report(metric.type, number, now, last.get(identity))
                last[identity] = (number, now)
            else:
                report = number
            readings.append((name, metric.type, number, report, tags, actual_path,
                             metric.is_default))
    if len(plan.metrics) == plan.default_count:
        default_readings = len(readings)
    result = Result()
    result.pauses, result.missed = collect_pauses(root, state)
    result.readings = readings
    result.default_readings = default_readings
    result.dropped_by_cap = dropped
    result.notes = notes
    result.document_errors = document_errors
    return result


def aggregate(samples):
    """Datadog's histogram aggregates: avg, lower median, max, 95th percentile, count."""
    samples = sorted(samples)
    n = len(samples)
    return (sum(samples) / n, samples[(50 * n + 99) // 100 - 1], samples[-1],
            samples[(95 * n + 99) // 100 - 1], n)


def datadog_series(plan, result):
    """check::DatadogSeries: [(name, kind, value, tags)]."""
    series = []
    readings = result.readings
    for name, metric_type, _, report, tags, _, _ in readings[:result.default_readings]:
        if report is not None:
            series.append((name, REPORT_KIND[metric_type], report, tags))
    if result.pauses:
        avg, median, maximum, p95, count = aggregate(result.pauses)
        base = plan.pause_metric_name
        tags = plan.base_tags
        series.append((base + '.avg', 'gauge', avg, tags))
        series.append((base + '.median', 'gauge', median, tags))
        series.append((base + '.max', 'gauge', maximum, tags))
        series.append((base + '.95percentile', 'gauge', p95, tags))
        series.append((base + '.count', 'count', float(count), tags))
    for name, metric_type, _, report, tags, _, _ in readings[result.default_readings:]:
        if report is not None:
            series.append((name, REPORT_KIND[metric_type], report, tags))
    return series


# --- dump / verify ------------------------------------------------------------------------------

def dump_lines(conf_path, documents, defaults_only=False, interval=15.0):
    plan = Plan(load_instance(conf_path), defaults_only)
    state = State()
    lines = []
    for run_number, path in enumerate(documents, start=1):
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        result = run(plan, text, state, interval * (run_number - 1))
        for name, kind, value, tags in datadog_series(plan, result):
            lines.append({'name': name, 'type': kind, 'value': value, 'tags': list(tags),
                          'run': run_number})
    return lines


# Sequences that exercise rates, monotonic counts, the >256-GC ring, a restart, the tolerant
# parser and a missing memstats, over every fixture bench/ uses.
VERIFY_SEQUENCES = [
    ('bench/goapp.bench.yaml', False,
     ['goapp_fresh', 'goapp_traffic', 'goapp_gc300', 'goapp_fresh', 'goapp_gc300']),
    ('bench/goapp.bench.yaml', True,
     ['goapp_fresh', 'goapp_traffic', 'goapp_gc300', 'goapp_fresh', 'goapp_gc300']),
    ('tests/fixtures/golden/goapp.conf.yaml', False,
     ['goapp_traffic', 'malformed_one_value', 'no_memstats', 'goapp_gc300']),
    ('tests/fixtures/golden/etcd.conf.yaml', False, ['etcd', 'etcd']),
    ('tests/fixtures/golden/etcd.conf.yaml', True, ['etcd']),
]


def same_value(a, b):
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def verify(dump_series, root):
    total = 0
    failures = []
    for conf, defaults_only, names in VERIFY_SEQUENCES:
        conf_path = os.path.join(root, conf)
        docs = [os.path.join(root, 'tests/fixtures', name + '.json') for name in names]
        label = '%s%s: %s' % (conf, ' (defaults only)' if defaults_only else '',
                              ' -> '.join(names))
        command = [dump_series] + (['--defaults-only'] if defaults_only else []) + \
            [conf_path] + docs
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        ours = [json.loads(line) for line in output.splitlines() if line.strip()]
        theirs = dump_lines(conf_path, docs, defaults_only)
        total += len(ours)
        if len(ours) != len(theirs):
            failures.append('%s: C++ emitted %d series, Python %d' % (label, len(ours),
                                                                      len(theirs)))
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if (a['name'], a['type'], a['tags'], a['run']) != \
                    (b['name'], b['type'], b['tags'], b['run']) or \
                    not same_value(a['value'], b['value']):
                failures.append('%s: line %d differs:\n  C++:    %s\n  Python: %s'
                                % (label, i + 1, json.dumps(a), json.dumps(b)))
                break
    summary = {'sequences': len(VERIFY_SEQUENCES), 'series_compared': total,
               'identical': not failures, 'failures': failures}
    print(json.dumps(summary, indent=2))
    return 0 if not failures else 1


# --- bench --------------------------------------------------------------------------------------

def measure(fn, min_batch_seconds, repeats):
    """CPU microseconds per call: calibrate a batch to min_batch_seconds, then `repeats` batches.
    Returns (median, min, per-batch list, calls per batch)."""
    calls = 1
    while True:
        start = time.process_time_ns()
        for _ in range(calls):
            fn()
        elapsed = time.process_time_ns() - start
        if elapsed >= min_batch_seconds * 1e9 / 4:
            break
        calls *= 4
    calls = max(1, int(calls * min_batch_seconds * 1e9 / max(elapsed, 1)))
    batches = []
    for _ in range(repeats):
        start = time.process_time_ns()
        for _ in range(calls):
            fn()
        batches.append((time.process_time_ns() - start) / 1e3 / calls)
    return statistics.median(batches), min(batches), batches, calls


def bench(root, min_batch_seconds, repeats):
    with open(os.path.join(root, 'bench/cases.json'), encoding='utf-8') as f:
        cases = json.load(f)
    interval = float(cases['interval_seconds'])
    results = []
    parse = []
    for doc in cases['documents']:
        with open(os.path.join(root, doc['file']), encoding='utf-8') as f:
            text = f.read()
        median, fastest, batches, calls = measure(lambda: json.loads(text), min_batch_seconds,
                                                  repeats)
        parse.append({'document': doc['name'], 'json_loads_us': median, 'min_us': fastest,
                      'batches_us': batches, 'calls_per_batch': calls})
        instance = load_instance(os.path.join(root, doc['conf']))
        for conf in cases['confs']:
            plan = Plan(instance, defaults_only=(conf == 'defaults'))
            entry = {'document': doc['name'], 'conf': conf}
            for with_series in (False, True):
                state = State()
                clock = [0.0]
                run(plan, text, state, clock[0])  # warm-up: fills the rate state

                def one_run(plan=plan, state=state, clock=clock, with_series=with_series):
                    state.last_num_gc = doc['previous_num_gc']
                    clock[0] += interval
                    result = run(plan, text, state, clock[0])
                    if with_series:
                        return datadog_series(plan, result)
                    return result

                median, fastest, batches, calls = measure(one_run, min_batch_seconds, repeats)
                key = 'check_series' if with_series else 'check'
                entry[key + '_us'] = median
                entry[key + '_min_us'] = fastest
                entry[key + '_batches_us'] = batches
                entry[key + '_calls_per_batch'] = calls
            entry['series'] = len(one_run())
            results.append(entry)
    return {'python': platform.python_version(), 'implementation': platform.python_implementation(),
            'clock': 'time.process_time_ns (CPU time of the process)',
            'min_batch_seconds': min_batch_seconds, 'repeats': repeats,
            'json_loads': parse, 'results': results}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    default_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sub = parser.add_subparsers(dest='command', required=True)
    p_bench = sub.add_parser('bench')
    p_bench.add_argument('--root', default=default_root)
    p_bench.add_argument('--out')
    p_bench.add_argument('--min-batch', type=float, default=0.2)
    p_bench.add_argument('--repeats', type=int, default=5)
    p_dump = sub.add_parser('dump')
    p_dump.add_argument('--defaults-only', action='store_true')
    p_dump.add_argument('--interval', type=float, default=15.0)
    p_dump.add_argument('conf')
    p_dump.add_argument('documents', nargs='+')
    p_verify = sub.add_parser('verify')
    p_verify.add_argument('--dump-series', required=True)
    p_verify.add_argument('--root', default=default_root)
    args = parser.parse_args()

    if args.command == 'bench':
        report = bench(args.root, args.min_batch, args.repeats)
        text = json.dumps(report, indent=2)
        if args.out:
            with open(args.out, 'w', encoding='utf-8') as f:
                f.write(text + '\n')
        print(text)
        return 0
    if args.command == 'dump':
        for line in dump_lines(args.conf, args.documents, args.defaults_only, args.interval):
            print(json.dumps(line))
        return 0
    return verify(args.dump_series, args.root)


if __name__ == '__main__':
    sys.exit(main())
