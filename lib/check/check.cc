#include "check/check.h"

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/object.hpp>
#include <map>
#include <stdexcept>

#include "check/document.h"
#include "check/pause_ring.h"
#include "check/series_keys.h"
#include "check/value.h"
#include "common/datadog_naming.h"
#include "http/url.h"

namespace expvar::check {

using common::NormalizeMetricName;

namespace {

// Datadog's DEFAULT_GAUGE_MEMSTAT_METRICS then DEFAULT_RATE_MEMSTAT_METRICS, in its order.
constexpr std::array<const char*, 8> kDefaultGauges = {"Alloc",        "TotalAlloc", "HeapAlloc",
                                                       "HeapSys",      "HeapIdle",   "HeapInuse",
                                                       "HeapReleased", "HeapObjects"};
constexpr std::array<const char*, 5> kDefaultRates = {"Lookups", "Mallocs", "Frees", "PauseTotalNs",
                                                      "NumGC"};
constexpr const char* kGoExpvarPath = "/debug/vars";
constexpr std::size_t kMaxCachedNames = 4096;
// Regex work one run may do (key bytes times program size, see MatchMemo): about 0.1 s at
// RE2's slowest (~2 ns a unit, its NFA), and thousands of times what an ordinary conf spends
// on a 10 KB document (tens of keys, programs of tens of instructions).
constexpr std::uint64_t kRegexWorkPerRun = 50'000'000;

void AppendUnique(std::vector<std::string>& tags, const std::string& tag) {
  for (const auto& existing : tags) {
    if (existing == tag) return;
  }
  tags.push_back(tag);
}

std::vector<std::string> MergeTags(const std::vector<std::string>& first,
                                   const std::vector<std::string>& second) {
  std::vector<std::string> out;
  out.reserve(first.size() + second.size());
  for (const auto& tag : first) AppendUnique(out, tag);
  for (const auto& tag : second) AppendUnique(out, tag);
  return out;
}

// Compiled once per process: every plan's defaults point here.
std::shared_ptr<const CompiledPath> DefaultPath(const std::string& field) {
  static const auto* paths = [] {
    auto* compiled = new std::map<std::string, std::shared_ptr<const CompiledPath>, std::less<>>;
    auto add = [compiled](const char* name) {
      compiled->emplace(name,
                        std::make_shared<const CompiledPath>("memstats/" + std::string(name)));
    };
    for (const char* name : kDefaultGauges) add(name);
    for (const char* name : kDefaultRates) add(name);
    return compiled;
  }();
  return paths->at(field);
}

PlannedMetric DefaultMetric(const std::string& field, MetricType type,
                            const std::shared_ptr<const std::vector<std::string>>& tags) {
  return PlannedMetric{DefaultPath(field), type, std::nullopt, tags, true, nullptr};
}

std::string JoinKeys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i) out.push_back('.');
    out.append(keys[i]);
  }
  return out;
}

// Applies the metric type across runs; returns what Datadog would submit this run.
std::optional<double> ComputeReport(MetricType type, double value, double now,
                                    const State::Previous* previous) {
  switch (type) {
    case MetricType::kGauge:
    case MetricType::kCount:
    case MetricType::kCounter:
      return value;
    case MetricType::kRate: {
      if (!previous || value < previous->value || now <= previous->time) return std::nullopt;
      return (value - previous->value) / (now - previous->time);
    }
    case MetricType::kMonotonicCounter: {
      if (!previous) return std::nullopt;
      return value >= previous->value ? value - previous->value : 0.0;
    }
  }
  return std::nullopt;
}

bool NeedsHistory(MetricType type) {
  return type == MetricType::kRate || type == MetricType::kMonotonicCounter;
}

// Collects readings for one run, enforcing the cap and first-one-wins de-duplication.
class RunCollector {
 public:
  RunCollector(const Plan& plan, State& state, double now, Result& result)
      : plan_(plan), state_(state), now_(now), result_(result) {}

  void Collect(std::size_t index, const boost::json::value& root) {
    const PlannedMetric& metric = plan_.metrics[index];
    bool matched = false;
    metric.path->ForEachMatch(
        root,
        [&](const std::vector<std::string_view>& keys, const boost::json::value& value) {
          matched = true;
          Add(index, keys, value);
        },
        &state_.regex_matches);
    if (!matched && !metric.is_default) {
      result_.notes.push_back("no value matches path \"" + metric.path->Text() + "\"");
    }
  }

 private:
  void Add(std::size_t index, const std::vector<std::string_view>& keys,
           const boost::json::value& value) {
    const PlannedMetric& metric = plan_.metrics[index];
    auto number = ReportableNumber(value);
    if (!number) {
      result_.notes.push_back("unreportable value at \"" + JoinKeys(keys) + "\" (path \"" +
                              metric.path->Text() + "\")");
      return;
    }
    Reading reading;
    reading.key = metric.literal_key ? metric.literal_key : RegexKey(index, keys);
    const std::uint64_t identity = reading.key->identity;
    if (!state_.seen.insert(identity).second) return;  // the first match of a series wins
    if (static_cast<int>(reported_) >= plan_.max_returned_metrics) {
      ++result_.dropped_by_cap;
      return;
    }
    ++reported_;
    reading.type = metric.type;
    reading.raw = *number;
    reading.is_default = metric.is_default;
    reading.report = Report(metric.type, identity, *number);
    result_.readings.push_back(std::move(reading));
  }

  pipeline::SeriesKeyPtr RegexKey(std::size_t index, const std::vector<std::string_view>& keys) {
    // "<dotted keys>\0<item>": a hit, the steady case, builds this one string and no other.
    std::string memo_key = JoinKeys(keys);
    const std::size_t dotted_size = memo_key.size();
    memo_key.push_back('\0');
    memo_key.append(std::to_string(index));
    auto cached = state_.regex_keys.find(memo_key);
    if (cached != state_.regex_keys.end()) return cached->second;
    // Keys that change every scrape must not grow the cache without bound.
    if (state_.regex_keys.size() >= kMaxCachedNames) state_.regex_keys.clear();
    auto key =
        KeyFor(plan_.metrics[index], memo_key.substr(0, dotted_size), plan_.metric_namespace);
    state_.regex_keys.emplace(std::move(memo_key), key);
    return key;
  }

  std::optional<double> Report(MetricType type, std::uint64_t key, double value) {
    if (!NeedsHistory(type)) return value;
    auto it = state_.last.find(key);
    auto report = ComputeReport(type, value, now_, it == state_.last.end() ? nullptr : &it->second);
    state_.last.insert_or_assign(key, State::Previous{value, now_});
    return report;
  }

  const Plan& plan_;
  State& state_;
  double now_;
  Result& result_;
  std::size_t reported_ = 0;
};

// memstats/NumGC is one of the defaults; the pause ring is read outside the metric items.
const CompiledPath& PauseRingPath() {
  static const CompiledPath path("memstats/PauseNs");
  return path;
}

// Every path a run reads: what its parse has to keep.
std::vector<const CompiledPath*> PathsOf(const Plan& plan) {
  std::vector<const CompiledPath*> paths;
  paths.reserve(plan.metrics.size() + 1);
  for (const auto& metric : plan.metrics) paths.push_back(metric.path.get());
  paths.push_back(&PauseRingPath());
  return paths;
}

void CollectPauses(const boost::json::value& root, State& state, PauseSamples& out) {
  const auto* object = root.if_object();
  const auto* memstats = object ? object->if_contains("memstats") : nullptr;
  const auto* stats = memstats ? memstats->if_object() : nullptr;
  if (!stats) return;
  const auto* num_gc_value = stats->if_contains("NumGC");
  const auto* ring_value = stats->if_contains("PauseNs");
  if (!num_gc_value || !ring_value || !ring_value->is_array()) return;
  auto num_gc = ReportableNumber(*num_gc_value);
  // A count no uint64 can hold (1e20, or 2^64 itself as a JSON uint64 read into a double) is
  // garbage, and converting it would be undefined behaviour.
  if (!num_gc || *num_gc < 0 || *num_gc >= 0x1p64) return;
  auto count = static_cast<std::uint64_t>(*num_gc);
  NewPauses fresh = PausesSince(ring_value->get_array(), count, state.last_num_gc);
  state.last_num_gc = count;
  out.pauses_ns = std::move(fresh.pauses_ns);
  out.missed = fresh.missed;
}

}  // namespace

std::string FinalUrl(std::string_view expvar_url) {
  std::string error;
  auto url = http::ParseUrl(expvar_url, &error);
  if (!url) throw std::invalid_argument("invalid expvar_url: " + error);
  // Python's urlparse treats "http://h:1" as having no path; so do we.
  if (!url->path.empty() && url->userinfo.empty() && url->fragment.empty()) {
    return std::string(expvar_url);
  }
  if (url->path.empty()) url->path = kGoExpvarPath;
  return url->ToString();
}

Plan Compile(const pipeline::Instance& instance) {
  Plan plan;
  plan.url = FinalUrl(instance.expvar_url);
  plan.metric_namespace = instance.metric_namespace;
  plan.max_returned_metrics = instance.max_returned_metrics;
  plan.base_tags = MergeTags(instance.tags, {"expvar_url:" + plan.url});
  plan.pause_metric_name = NormalizeMetricName("memstats.PauseNs", plan.metric_namespace);

  plan.metrics.reserve(kDefaultGauges.size() + kDefaultRates.size() + 1 + instance.metrics.size());
  auto base_tags = std::make_shared<const std::vector<std::string>>(plan.base_tags);
  for (const char* field : kDefaultGauges) {
    plan.metrics.push_back(DefaultMetric(field, MetricType::kGauge, base_tags));
  }
  for (const char* field : kDefaultRates) {
    plan.metrics.push_back(DefaultMetric(field, MetricType::kRate, base_tags));
  }
  // Named <ns>.memstats.total_alloc.count (see series_keys).
  plan.metrics.push_back(DefaultMetric("TotalAlloc", MetricType::kMonotonicCounter, base_tags));
  plan.default_count = plan.metrics.size();

  for (std::size_t i = 0; i < instance.metrics.size(); ++i) {
    const auto& spec = instance.metrics[i];
    try {
      auto path = std::make_shared<const CompiledPath>(spec.path);
      auto tags =
          std::make_shared<const std::vector<std::string>>(MergeTags(spec.tags, plan.base_tags));
      plan.metrics.push_back(
          PlannedMetric{std::move(path), spec.type, spec.alias, std::move(tags), false, nullptr});
    } catch (const std::invalid_argument& e) {
      plan.warnings.push_back("metrics[" + std::to_string(i) + "].path: " + e.what() +
                              "; item skipped");
    }
  }
  NameLiteralSeries(plan);
  return plan;
}

Result Run(const Plan& plan, std::string_view document, State& state, double now) {
  Result result;
  // Every scrape's JSON lives in one arena that is released in one step. Only what the plan's
  // paths reach is kept, which for the defaults fits on the stack.
  unsigned char first_block[8192];
  boost::json::monotonic_resource arena(first_block, sizeof first_block);
  state.regex_matches.StartRun(kRegexWorkPerRun);
  Reach reach(PathsOf(plan), &state.regex_matches);
  ParsedDocument parsed = ParseDocument(document, &arena, &reach);
  result.document_errors = std::move(parsed.errors);
  if (!parsed.ok) {
    result.error =
        result.document_errors.empty() ? "invalid document" : result.document_errors.front();
    return result;
  }
  // From here on nothing fails, so the state can be updated in place.
  RunCollector collector(plan, state, now, result);
  state.seen.clear();
  result.readings.reserve(plan.metrics.size());
  for (std::size_t i = 0; i < plan.metrics.size(); ++i) {
    if (i == plan.default_count) result.default_readings = result.readings.size();
    collector.Collect(i, parsed.root);
  }
  if (plan.metrics.size() == plan.default_count) result.default_readings = result.readings.size();
  CollectPauses(parsed.root, state, result.pauses);
  if (state.regex_matches.Exhausted()) {
    result.document_errors.push_back(
        "regex paths stopped at this scrape's matching budget; the keys not yet matched are "
        "tried again at the next scrape (patterns that compile large, against long keys)");
  }
  result.ok = true;
  return result;
}

std::vector<Series> DatadogSeries(const Plan& plan, const Result& result) {
  std::vector<Series> series;
  series.reserve(result.readings.size() + 5);
  auto add_reading = [&](const Reading& reading) {
    if (reading.report) {
      series.push_back({std::string(reading.name()), ReportKindOf(reading.type), *reading.report,
                        reading.tags()});
    }
  };
  for (std::size_t i = 0; i < result.default_readings; ++i) add_reading(result.readings[i]);
  if (!result.pauses.pauses_ns.empty()) {
    PauseAggregates agg = Aggregate(result.pauses.pauses_ns);
    const std::string& base = plan.pause_metric_name;
    series.push_back({base + ".avg", ReportKind::kGauge, agg.avg, plan.base_tags});
    series.push_back({base + ".median", ReportKind::kGauge, agg.median, plan.base_tags});
    series.push_back({base + ".max", ReportKind::kGauge, agg.max, plan.base_tags});
    series.push_back({base + ".95percentile", ReportKind::kGauge, agg.p95, plan.base_tags});
    series.push_back(
        {base + ".count", ReportKind::kCount, static_cast<double>(agg.count), plan.base_tags});
  }
  for (std::size_t i = result.default_readings; i < result.readings.size(); ++i) {
    add_reading(result.readings[i]);
  }
  return series;
}

}  // namespace expvar::check
