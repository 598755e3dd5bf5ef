#include "sink/prometheus_series.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <utility>

#include "common/ascii.h"
#include "common/datadog_naming.h"
#include "sink/prometheus_text.h"

namespace expvar::sink {
namespace {

using Label = prometheus::ClientMetric::Label;
using prometheus::MetricType;

constexpr std::string_view kReservedLabelPrefix = "exported_";

bool IsPrometheusNameChar(char c) { return common::IsAsciiAlnum(c) || c == '_'; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// How a default memstats field is exposed: Prometheus base units and `_total` on counters.
struct MemstatsField {
  std::string_view field;
  std::string_view suffix;
  MetricType type;
  double divisor;         // raw value / divisor = exposed value
  std::string_view help;  // ends with the expvar field it comes from
};

constexpr std::array<MemstatsField, 13> kMemstatsFields = {{
    {"Alloc", "alloc_bytes", MetricType::Gauge, 1,
     "Bytes of allocated heap objects (expvar memstats.Alloc)"},
    {"TotalAlloc", "alloc_bytes_total", MetricType::Counter, 1,
     "Cumulative bytes allocated for heap objects (expvar memstats.TotalAlloc)"},
    {"HeapAlloc", "heap_alloc_bytes", MetricType::Gauge, 1,
     "Bytes of allocated heap objects (expvar memstats.HeapAlloc)"},
    {"HeapSys", "heap_sys_bytes", MetricType::Gauge, 1,
     "Bytes of heap memory obtained from the OS (expvar memstats.HeapSys)"},
    {"HeapIdle", "heap_idle_bytes", MetricType::Gauge, 1,
     "Bytes in idle (unused) heap spans (expvar memstats.HeapIdle)"},
    {"HeapInuse", "heap_inuse_bytes", MetricType::Gauge, 1,
     "Bytes in in-use heap spans (expvar memstats.HeapInuse)"},
    {"HeapReleased", "heap_released_bytes", MetricType::Gauge, 1,
     "Bytes of physical memory returned to the OS (expvar memstats.HeapReleased)"},
    {"HeapObjects", "heap_objects", MetricType::Gauge, 1,
     "Number of allocated heap objects (expvar memstats.HeapObjects)"},
    {"Lookups", "lookups_total", MetricType::Counter, 1,
     "Number of pointer lookups performed by the runtime (expvar memstats.Lookups)"},
    {"Mallocs", "mallocs_total", MetricType::Counter, 1,
     "Cumulative count of heap objects allocated (expvar memstats.Mallocs)"},
    {"Frees", "frees_total", MetricType::Counter, 1,
     "Cumulative count of heap objects freed (expvar memstats.Frees)"},
    {"PauseTotalNs", "gc_pause_seconds_total", MetricType::Counter, 1e9,
     "Cumulative seconds spent in GC stop-the-world pauses (expvar memstats.PauseTotalNs)"},
    {"NumGC", "num_gc_total", MetricType::Counter, 1,
     "Number of completed GC cycles (expvar memstats.NumGC)"},
}};

constexpr std::string_view kPauseHistogramSuffix = "gc_pause_seconds";
constexpr std::string_view kPauseHistogramHelp =
    "GC stop-the-world pause durations seen in memstats.PauseNs since collection started "
    "(seconds)";

std::string PrefixedName(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "_" + std::string(name);
}

// The default families' names under one prefix, built once per thread and prefix instead of
// once per series and scrape: most targets share the "go_expvar" prefix.
class DefaultNames {
 public:
  // Valid until the next call on this thread with another prefix.
  static const DefaultNames& For(const std::string& prefix) {
    thread_local DefaultNames names;
    if (!names.built_ || names.prefix_ != prefix) names.Build(prefix);
    return names;
  }
  std::string_view Memstats(std::size_t field) const { return memstats_[field]; }
  std::string_view PauseHistogram() const { return pause_histogram_; }

 private:
  void Build(const std::string& prefix);

  bool built_ = false;
  std::string prefix_;
  std::array<std::string, 13> memstats_;
  std::string pause_histogram_;
};

const MemstatsField* FindMemstatsField(std::string_view path) {
  constexpr std::string_view kPrefix = "memstats.";
  if (path.substr(0, kPrefix.size()) != kPrefix) return nullptr;
  path.remove_prefix(kPrefix.size());
  for (const auto& field : kMemstatsFields) {
    if (field.field == path) return &field;
  }
  return nullptr;
}

void DefaultNames::Build(const std::string& prefix) {
  built_ = true;
  prefix_ = prefix;
  for (std::size_t i = 0; i < kMemstatsFields.size(); ++i) {
    memstats_[i] = PrefixedName(prefix, "memstats_" + std::string(kMemstatsFields[i].suffix));
  }
  pause_histogram_ = PrefixedName(prefix, "memstats_" + std::string(kPauseHistogramSuffix));
}

SeriesSpec DefaultSeries(const DefaultNames& names, const MemstatsField& field,
                         const pipeline::Reading& reading) {
  auto index = static_cast<std::size_t>(&field - kMemstatsFields.data());
  return {names.Memstats(index), field.type, field.help, reading.raw / field.divisor,
          &reading.tags()};
}

// Suffixes promtool reserves for counters and histograms; a gauge carrying one is linted.
bool HasReservedSuffix(std::string_view name) {
  return EndsWith(name, "_total") || EndsWith(name, "_count") || EndsWith(name, "_sum") ||
         EndsWith(name, "_bucket");
}

std::optional<SeriesSpec> CustomSeries(const pipeline::Reading& reading, SeriesList& list) {
  std::string name = SanitizeMetricName(reading.name());
  if (name.empty()) return std::nullopt;
  std::string quoted = "\"" + std::string(reading.name()) + "\"";
  bool cumulative = reading.type == pipeline::MetricType::kRate ||
                    reading.type == pipeline::MetricType::kMonotonicCounter;
  if (cumulative) {
    if (!EndsWith(name, "_total")) name += "_total";
    return SeriesSpec{
        list.Keep(std::move(name)), MetricType::Counter,
        list.Keep("expvar value reported to Datadog as " + quoted + " (raw cumulative value)"),
        reading.raw, &reading.tags()};
  }
  // Keeping the Datadog name matters more than the type word: untyped is not linted for it.
  MetricType type = HasReservedSuffix(name) ? MetricType::Untyped : MetricType::Gauge;
  return SeriesSpec{list.Keep(std::move(name)), type,
                    list.Keep("expvar value reported to Datadog as " + quoted), reading.raw,
                    &reading.tags()};
}

// The built-in total_alloc.count duplicates memstats_alloc_bytes_total and is not exposed.
std::optional<SeriesSpec> ReadingSeries(const DefaultNames& names, const pipeline::Reading& reading,
                                        SeriesList& list) {
  if (!reading.is_default) return CustomSeries(reading, list);
  if (reading.type == pipeline::MetricType::kMonotonicCounter) return std::nullopt;
  const MemstatsField* field = FindMemstatsField(reading.path());
  if (!field) return CustomSeries(reading, list);
  return DefaultSeries(names, *field, reading);
}

bool ShowsPauseHistogram(const pipeline::ScrapeSnapshot& snapshot, const PauseCounts& pauses) {
  if (!snapshot.health.up) return false;
  if (pauses.count > 0) return true;
  return std::any_of(snapshot.readings.begin(), snapshot.readings.end(),
                     [](const pipeline::Reading& r) { return r.is_default; });
}

// Health series of every target, up or down, under the target's own labels (those of its pause
// histogram: the instance's tags and expvar_url).
constexpr std::string_view kTargetUpName = "expvar_collector_target_up";
constexpr std::string_view kTargetDurationName = "expvar_collector_target_scrape_duration_seconds";
constexpr std::string_view kTargetLastSuccessName =
    "expvar_collector_target_last_success_timestamp_seconds";

void AddHealthSeries(const pipeline::ScrapeSnapshot& snapshot, std::vector<SeriesSpec>& out) {
  const pipeline::ScrapeHealth& health = snapshot.health;
  const auto* tags = &snapshot.pause_tags;
  out.push_back({kTargetUpName, MetricType::Gauge,
                 "1 when the target's last scrape succeeded, 0 when it failed (its value series "
                 "are then left out)",
                 health.up ? 1.0 : 0.0, tags});
  out.push_back({kTargetDurationName, MetricType::Gauge,
                 "Seconds the target's last scrape took, fetch and check", health.duration_seconds,
                 tags});
  if (health.last_success) {
    out.push_back({kTargetLastSuccessName, MetricType::Gauge,
                   "Unix time of the target's last successful scrape",
                   std::chrono::duration<double>(health.last_success->time_since_epoch()).count(),
                   tags});
  }
}

}  // namespace

std::string SanitizeMetricName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (!name.empty() && common::IsAsciiDigit(name.front())) out.push_back('_');
  for (char c : name) out.push_back(IsPrometheusNameChar(c) ? c : '_');
  return out;
}

std::string SanitizeLabelName(std::string_view name) {
  std::string out = SanitizeMetricName(name);
  if (out.starts_with("__") || out == "le" || out == "quantile") {
    out.insert(0, kReservedLabelPrefix);
  }
  return out;
}

std::vector<Label> TagsToLabels(const std::vector<std::string>& tags, const TagKeyFilter& keep) {
  std::vector<Label> labels;
  labels.reserve(tags.size());
  for (const auto& tag : tags) {
    auto colon = tag.find(':');
    std::string_view key = std::string_view(tag).substr(0, colon);
    if (keep && key != "expvar_url" && !keep(key)) continue;
    std::string name = SanitizeLabelName(std::string_view(tag).substr(0, colon));
    if (name.empty()) continue;
    bool seen = std::any_of(labels.begin(), labels.end(),
                            [&](const Label& label) { return label.name == name; });
    if (seen) continue;
    std::string value = colon == std::string::npos ? "true" : ValidUtf8(tag.substr(colon + 1));
    labels.push_back({std::move(name), std::move(value)});
  }
  return labels;
}

TagKeyFilter TagKeyPatterns(std::vector<std::string> patterns) {
  if (std::find(patterns.begin(), patterns.end(), "*") != patterns.end()) return {};
  return [patterns = std::move(patterns)](std::string_view key) {
    return std::any_of(patterns.begin(), patterns.end(), [key](const std::string& pattern) {
      if (!pattern.ends_with('*')) return key == pattern;
      return key.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1));
    });
  };
}

std::string NamespacePrefix(std::string_view metric_namespace) {
  return SanitizeMetricName(common::ToUnderscoreSeparated(metric_namespace));
}

PauseCounts Bucketize(const std::vector<double>& pauses_ns) {
  PauseCounts counts;
  for (double ns : pauses_ns) {
    double seconds = ns / 1e9;
    auto slot = std::lower_bound(kGcPauseBuckets.begin(), kGcPauseBuckets.end(), seconds);
    ++counts.buckets[static_cast<std::size_t>(slot - kGcPauseBuckets.begin())];
    counts.sum_seconds += seconds;
    ++counts.count;
  }
  return counts;
}

void Accumulate(PauseCounts& total, const PauseCounts& delta) {
  for (std::size_t i = 0; i < total.buckets.size(); ++i) total.buckets[i] += delta.buckets[i];
  total.sum_seconds += delta.sum_seconds;
  total.count += delta.count;
}

std::string PauseIdentity(const pipeline::ScrapeSnapshot& snapshot) {
  std::string identity = snapshot.metric_namespace;
  for (const auto& tag : snapshot.pause_tags) {
    identity.push_back('\0');
    identity.append(tag);
  }
  return identity;
}

std::string_view SeriesList::Keep(std::string text) {
  owned_.push_back(std::make_unique<std::string>(std::move(text)));
  return *owned_.back();
}

SeriesList SnapshotSeries(const pipeline::ScrapeSnapshot& snapshot, const PauseCounts& pauses) {
  SeriesList list;
  auto& out = list.specs;
  out.reserve(snapshot.readings.size() + 4);
  const DefaultNames& names = DefaultNames::For(NamespacePrefix(snapshot.metric_namespace));
  for (const auto& reading : snapshot.readings) {
    if (auto spec = ReadingSeries(names, reading, list)) out.push_back(*spec);
  }
  if (ShowsPauseHistogram(snapshot, pauses)) {
    out.push_back({names.PauseHistogram(), MetricType::Histogram, kPauseHistogramHelp, 0,
                   &snapshot.pause_tags});
  }
  AddHealthSeries(snapshot, out);
  return list;
}

}  // namespace expvar::sink
