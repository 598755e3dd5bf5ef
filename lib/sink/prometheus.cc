#include "sink/prometheus.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "common/ascii.h"
#include "common/datadog_naming.h"
#include "sink/prometheus_text.h"

namespace expvar::sink {
namespace {

using Label = prometheus::ClientMetric::Label;
using Labels = std::vector<Label>;
using prometheus::MetricType;

constexpr std::string_view kReservedLabelPrefix = "exported_";

bool IsPrometheusNameChar(char c) { return common::IsAsciiAlnum(c) || c == '_'; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// One series before it is placed in its family.
struct SeriesSpec {
  std::string name;
  MetricType type;
  std::string help;
  double value = 0;
};

// How a default memstats field is exposed: Prometheus base units and `_total` on counters.
struct MemstatsField {
  std::string_view field;
  std::string_view suffix;
  MetricType type;
  double divisor;  // raw value / divisor = exposed value
  std::string_view help;
};

constexpr std::array<MemstatsField, 13> kMemstatsFields = {{
    {"Alloc", "alloc_bytes", MetricType::Gauge, 1, "Bytes of allocated heap objects"},
    {"TotalAlloc", "alloc_bytes_total", MetricType::Counter, 1,
     "Cumulative bytes allocated for heap objects"},
    {"HeapAlloc", "heap_alloc_bytes", MetricType::Gauge, 1, "Bytes of allocated heap objects"},
    {"HeapSys", "heap_sys_bytes", MetricType::Gauge, 1,
     "Bytes of heap memory obtained from the OS"},
    {"HeapIdle", "heap_idle_bytes", MetricType::Gauge, 1, "Bytes in idle (unused) heap spans"},
    {"HeapInuse", "heap_inuse_bytes", MetricType::Gauge, 1, "Bytes in in-use heap spans"},
    {"HeapReleased", "heap_released_bytes", MetricType::Gauge, 1,
     "Bytes of physical memory returned to the OS"},
    {"HeapObjects", "heap_objects", MetricType::Gauge, 1, "Number of allocated heap objects"},
    {"Lookups", "lookups_total", MetricType::Counter, 1,
     "Number of pointer lookups performed by the runtime"},
    {"Mallocs", "mallocs_total", MetricType::Counter, 1,
     "Cumulative count of heap objects allocated"},
    {"Frees", "frees_total", MetricType::Counter, 1, "Cumulative count of heap objects freed"},
    {"PauseTotalNs", "gc_pause_seconds_total", MetricType::Counter, 1e9,
     "Cumulative seconds spent in GC stop-the-world pauses"},
    {"NumGC", "num_gc_total", MetricType::Counter, 1, "Number of completed GC cycles"},
}};

constexpr std::string_view kPauseHistogramSuffix = "gc_pause_seconds";
constexpr std::string_view kPauseHistogramHelp =
    "GC stop-the-world pause durations seen in memstats.PauseNs since collection started "
    "(seconds)";

std::string PrefixedName(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "_" + std::string(name);
}

const MemstatsField* FindMemstatsField(std::string_view path) {
  constexpr std::string_view kPrefix = "memstats.";
  if (path.substr(0, kPrefix.size()) != kPrefix) return nullptr;
  path.remove_prefix(kPrefix.size());
  for (const auto& field : kMemstatsFields) {
    if (field.field == path) return &field;
  }
  return nullptr;
}

SeriesSpec DefaultSeries(const std::string& prefix, const MemstatsField& field, double raw) {
  return {PrefixedName(prefix, "memstats_" + std::string(field.suffix)), field.type,
          std::string(field.help) + " (expvar memstats." + std::string(field.field) + ")",
          raw / field.divisor};
}

// Suffixes promtool reserves for counters and histograms; a gauge carrying one is linted.
bool HasReservedSuffix(std::string_view name) {
  return EndsWith(name, "_total") || EndsWith(name, "_count") || EndsWith(name, "_sum") ||
         EndsWith(name, "_bucket");
}

std::optional<SeriesSpec> CustomSeries(const pipeline::Reading& reading) {
  std::string name = SanitizeMetricName(reading.name);
  if (name.empty()) return std::nullopt;
  std::string quoted = "\"" + reading.name + "\"";
  bool cumulative = reading.type == pipeline::MetricType::kRate ||
                    reading.type == pipeline::MetricType::kMonotonicCounter;
  if (cumulative) {
    if (!EndsWith(name, "_total")) name += "_total";
    return SeriesSpec{std::move(name), MetricType::Counter,
                      "expvar value reported to Datadog as " + quoted + " (raw cumulative value)",
                      reading.raw};
  }
  // Keeping the Datadog name matters more than the type word: untyped is not linted for it.
  MetricType type = HasReservedSuffix(name) ? MetricType::Untyped : MetricType::Gauge;
  return SeriesSpec{std::move(name), type, "expvar value reported to Datadog as " + quoted,
                    reading.raw};
}

// The built-in total_alloc.count duplicates memstats_alloc_bytes_total and is not exposed.
std::optional<SeriesSpec> ReadingSeries(const std::string& prefix,
                                        const pipeline::Reading& reading) {
  if (!reading.is_default) return CustomSeries(reading);
  if (reading.type == pipeline::MetricType::kMonotonicCounter) return std::nullopt;
  const MemstatsField* field = FindMemstatsField(reading.path);
  if (!field) return CustomSeries(reading);
  return DefaultSeries(prefix, *field, reading.raw);
}

// Order-independent, so that two series with the same labels in another order collide.
std::size_t LabelSetHash(const Labels& labels) {
  std::hash<std::string> hash;
  std::size_t sum = 0;
  for (const auto& label : labels) sum += hash(label.name) * 31 + hash(label.value);
  return sum;
}

// Label names within one series are unique (TagsToLabels keeps the first), so a size check
// plus one-way inclusion is set equality.
bool SameLabelSet(const Labels& a, const Labels& b) {
  if (a.size() != b.size()) return false;
  return std::all_of(a.begin(), a.end(), [&](const Label& label) {
    return std::find(b.begin(), b.end(), label) != b.end();
  });
}

// Families being assembled for one Collect(), keyed and therefore sorted by name.
class FamilySet {
 public:
  // Adds one series; false when it clashes with the family's type or an existing label set.
  bool Add(SeriesSpec spec, prometheus::ClientMetric metric, std::size_t label_hash) {
    auto [it, inserted] = families_.try_emplace(spec.name);
    Pending& pending = it->second;
    if (inserted) {
      pending.family.name = std::move(spec.name);
      pending.family.help = EscapeHelp(spec.help);
      pending.family.type = spec.type;
    } else if (pending.family.type != spec.type || pending.Contains(metric.label, label_hash)) {
      return false;
    }
    pending.by_label_hash.emplace(label_hash, pending.family.metric.size());
    pending.family.metric.push_back(std::move(metric));
    return true;
  }

  // The families in name order. A family named like a histogram's own series (`<h>_bucket`,
  // `<h>_sum`, `<h>_count`) would be merged into it by parsers, so it is dropped and counted.
  std::vector<prometheus::MetricFamily> Take(std::uint64_t& conflicts) {
    for (const auto& [name, pending] : families_) {
      if (pending.family.type != MetricType::Histogram) continue;
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        auto clash = families_.find(name + std::string(suffix));
        if (clash == families_.end()) continue;
        conflicts += clash->second.family.metric.size();
        families_.erase(clash);
      }
    }
    std::vector<prometheus::MetricFamily> out;
    out.reserve(families_.size());
    for (auto& [name, pending] : families_) out.push_back(std::move(pending.family));
    return out;
  }

 private:
  struct Pending {
    prometheus::MetricFamily family;
    // Series index by label-set hash: finds duplicates without copying every label set.
    std::unordered_multimap<std::size_t, std::size_t> by_label_hash;

    bool Contains(const Labels& labels, std::size_t hash) const {
      auto [first, last] = by_label_hash.equal_range(hash);
      return std::any_of(first, last, [&](const auto& entry) {
        return SameLabelSet(family.metric[entry.second].label, labels);
      });
    }
  };
  std::map<std::string, Pending> families_;
};

prometheus::ClientMetric ValueMetric(MetricType type, double value, Labels labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  switch (type) {
    case MetricType::Counter:
      metric.counter.value = value;
      break;
    case MetricType::Untyped:
      metric.untyped.value = value;
      break;
    default:
      metric.gauge.value = value;
      break;
  }
  return metric;
}

prometheus::ClientMetric HistogramMetric(const PrometheusSink::PauseCounts& counts, Labels labels) {
  prometheus::ClientMetric metric;
  metric.label = std::move(labels);
  metric.histogram.sample_count = counts.count;
  metric.histogram.sample_sum = counts.sum_seconds;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.buckets.size(); ++i) {
    cumulative += counts.buckets[i];
    double bound =
        i < kGcPauseBuckets.size() ? kGcPauseBuckets[i] : std::numeric_limits<double>::infinity();
    metric.histogram.bucket.push_back({cumulative, bound});
  }
  return metric;
}

PrometheusSink::PauseCounts Bucketize(const std::vector<double>& pauses_ns) {
  PrometheusSink::PauseCounts counts;
  for (double ns : pauses_ns) {
    double seconds = ns / 1e9;
    auto slot = std::lower_bound(kGcPauseBuckets.begin(), kGcPauseBuckets.end(), seconds);
    ++counts.buckets[static_cast<std::size_t>(slot - kGcPauseBuckets.begin())];
    counts.sum_seconds += seconds;
    ++counts.count;
  }
  return counts;
}

void Accumulate(PrometheusSink::PauseCounts& total, const PrometheusSink::PauseCounts& delta) {
  for (std::size_t i = 0; i < total.buckets.size(); ++i) total.buckets[i] += delta.buckets[i];
  total.sum_seconds += delta.sum_seconds;
  total.count += delta.count;
}

// A histogram that changes name or labels is a new series, so its counts start over.
std::string PauseIdentity(const pipeline::ScrapeSnapshot& snapshot) {
  std::string identity = snapshot.metric_namespace;
  for (const auto& tag : snapshot.pause_tags) {
    identity.push_back('\0');
    identity.append(tag);
  }
  return identity;
}

// Labels (and their hash) converted once per distinct tag list: a target's readings mostly
// share one.
class LabelCache {
 public:
  explicit LabelCache(const TagKeyFilter& keep) : keep_(keep) {}
  const Labels& For(const std::vector<std::string>& tags) {
    if (!tags_ || *tags_ != tags) {
      tags_ = &tags;
      labels_ = TagsToLabels(tags, keep_);
      hash_ = LabelSetHash(labels_);
    }
    return labels_;
  }
  std::size_t Hash() const { return hash_; }

 private:
  const TagKeyFilter& keep_;
  const std::vector<std::string>* tags_ = nullptr;
  Labels labels_;
  std::size_t hash_ = 0;
};

struct TargetView {
  pipeline::SnapshotPtr snapshot;
  PrometheusSink::PauseCounts pauses;
};

// The histogram is shown once the target is known to expose memstats, even before a GC, and
// hidden (its counts kept) while the target is down.
bool ShowsPauseHistogram(const TargetView& target) {
  if (!target.snapshot->health.up) return false;
  if (target.pauses.count > 0) return true;
  const auto& readings = target.snapshot->readings;
  return std::any_of(readings.begin(), readings.end(),
                     [](const pipeline::Reading& r) { return r.is_default; });
}

// Health series of every target, up or down, under the target's own labels (those of its pause
// histogram: the instance's tags and expvar_url).
constexpr std::string_view kTargetUpName = "expvar_collector_target_up";
constexpr std::string_view kTargetDurationName = "expvar_collector_target_scrape_duration_seconds";
constexpr std::string_view kTargetLastSuccessName =
    "expvar_collector_target_last_success_timestamp_seconds";

std::uint64_t AddHealth(const pipeline::ScrapeSnapshot& snapshot, const TagKeyFilter& keep,
                        FamilySet& families) {
  const pipeline::ScrapeHealth& health = snapshot.health;
  std::vector<SeriesSpec> specs = {
      {std::string(kTargetUpName), MetricType::Gauge,
       "1 when the target's last scrape succeeded, 0 when it failed (its value series are then "
       "left out)",
       health.up ? 1.0 : 0.0},
      {std::string(kTargetDurationName), MetricType::Gauge,
       "Seconds the target's last scrape took, fetch and check", health.duration_seconds}};
  if (health.last_success) {
    specs.push_back(
        {std::string(kTargetLastSuccessName), MetricType::Gauge,
         "Unix time of the target's last successful scrape",
         std::chrono::duration<double>(health.last_success->time_since_epoch()).count()});
  }
  Labels labels = TagsToLabels(snapshot.pause_tags, keep);
  std::size_t hash = LabelSetHash(labels);
  std::uint64_t conflicts = 0;
  for (auto& spec : specs) {
    auto metric = ValueMetric(spec.type, spec.value, labels);
    if (!families.Add(std::move(spec), std::move(metric), hash)) ++conflicts;
  }
  return conflicts;
}

std::uint64_t AddTarget(const TargetView& target, const TagKeyFilter& keep, FamilySet& families) {
  const pipeline::ScrapeSnapshot& snapshot = *target.snapshot;
  std::string prefix = NamespacePrefix(snapshot.metric_namespace);
  std::uint64_t conflicts = 0;
  LabelCache labels(keep);
  for (const auto& reading : snapshot.readings) {
    auto spec = ReadingSeries(prefix, reading);
    if (!spec) continue;
    auto metric = ValueMetric(spec->type, spec->value, labels.For(reading.tags));
    if (!families.Add(std::move(*spec), std::move(metric), labels.Hash())) ++conflicts;
  }
  if (ShowsPauseHistogram(target)) {
    SeriesSpec spec{PrefixedName(prefix, "memstats_" + std::string(kPauseHistogramSuffix)),
                    MetricType::Histogram, std::string(kPauseHistogramHelp), 0};
    Labels pause_labels = TagsToLabels(snapshot.pause_tags, keep);
    std::size_t hash = LabelSetHash(pause_labels);
    auto metric = HistogramMetric(target.pauses, std::move(pause_labels));
    if (!families.Add(std::move(spec), std::move(metric), hash)) ++conflicts;
  }
  return conflicts + AddHealth(snapshot, keep, families);
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
  Labels labels;
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

void PrometheusSink::Publish(const pipeline::SnapshotPtr& snapshot) {
  if (!snapshot) return;
  PauseCounts delta = Bucketize(snapshot->pauses_ns);
  std::string identity = PauseIdentity(*snapshot);
  std::lock_guard lock(mutex_);
  Target& target = targets_[snapshot->target_id];
  target.snapshot = snapshot;
  if (target.pause_identity != identity) {
    target.pause_identity = std::move(identity);
    target.pauses = PauseCounts{};
  }
  Accumulate(target.pauses, delta);
}

void PrometheusSink::Forget(const std::string& target_id) {
  std::lock_guard lock(mutex_);
  targets_.erase(target_id);
}

std::vector<prometheus::MetricFamily> PrometheusSink::Collect() const {
  // Snapshots are immutable, so the lock is held only to copy pointers and counts; building
  // the families never delays a worker's Publish().
  std::vector<TargetView> view;
  {
    std::lock_guard lock(mutex_);
    view.reserve(targets_.size());
    for (const auto& [id, target] : targets_) view.push_back({target.snapshot, target.pauses});
  }
  FamilySet families;
  std::uint64_t conflicts = 0;
  for (const auto& target : view) conflicts += AddTarget(target, label_tags_, families);
  auto out = families.Take(conflicts);
  conflicts_.fetch_add(conflicts, std::memory_order_relaxed);
  return out;
}

std::size_t PrometheusSink::TargetCount() const {
  std::lock_guard lock(mutex_);
  return targets_.size();
}

}  // namespace expvar::sink
