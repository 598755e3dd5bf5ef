// One target's latest scrape, immutable once published: what every sink consumes.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/instance.h"
#include "pipeline/target.h"

namespace expvar::pipeline {

// What a reading is submitted as once Datadog's semantics are applied: gauges as gauges, rates
// as per-second gauges, every counting type as a count.
enum class ReportKind { kGauge, kCount, kRate };

inline ReportKind ReportKindOf(MetricType type) {
  switch (type) {
    case MetricType::kGauge:
      return ReportKind::kGauge;
    case MetricType::kRate:
      return ReportKind::kRate;
    default:
      return ReportKind::kCount;
  }
}

inline std::string_view ReportKindName(ReportKind kind) {
  switch (kind) {
    case ReportKind::kGauge:
      return "gauge";
    case ReportKind::kCount:
      return "count";
    case ReportKind::kRate:
      return "rate";
  }
  return "gauge";
}

// What names one series: built once per plan item with a literal path, or once per key a regex
// path matches (then remembered by the target), and shared by every scrape's readings, so that a
// steady scrape copies no names, paths or tags. The characters of name and path live in `text`,
// which many keys may share (every target's memstats defaults point at one copy per namespace).
struct SeriesKey {
  std::string_view name;
  std::string_view path;  // dotted actual path, e.g. "memstats.HeapAlloc"
  std::shared_ptr<const std::vector<std::string>> tags;  // never null; often the plan's own list
  std::uint64_t identity = 0;                            // a hash of name and tags (SeriesIdentity)
  std::shared_ptr<const void> text;                      // owns name's and path's characters
};
using SeriesKeyPtr = std::shared_ptr<const SeriesKey>;

// A 64-bit hash of a series' name and tags in order: what de-duplicates a run's readings and
// keys rate history. A collision within one target's few hundred series is as likely as 1 in
// 10^14.
inline std::uint64_t SeriesIdentity(std::string_view name, const std::vector<std::string>& tags) {
  std::hash<std::string_view> hash;
  std::uint64_t h = hash(name);
  for (const auto& tag : tags) h = (h ^ hash(tag)) * 0x9E3779B97F4A7C15ULL + tags.size();
  return h;
}

// A key that owns its own name and path.
inline SeriesKeyPtr MakeSeriesKey(std::string name,
                                  std::shared_ptr<const std::vector<std::string>> tags,
                                  std::string path) {
  if (!tags) tags = std::make_shared<const std::vector<std::string>>();
  auto text = std::make_shared<const std::array<std::string, 2>>(
      std::array<std::string, 2>{std::move(name), std::move(path)});
  const std::uint64_t identity = SeriesIdentity((*text)[0], *tags);
  return std::make_shared<const SeriesKey>(
      SeriesKey{(*text)[0], (*text)[1], std::move(tags), identity, text});
}

inline SeriesKeyPtr MakeSeriesKey(std::string name, std::vector<std::string> tags,
                                  std::string path) {
  return MakeSeriesKey(std::move(name),
                       std::make_shared<const std::vector<std::string>>(std::move(tags)),
                       std::move(path));
}

// One value the check matched in the document this run.
struct Reading {
  SeriesKeyPtr key;  // never null
  MetricType type;
  double raw = 0;                // as read from the document
  std::optional<double> report;  // what Datadog submits this run; none for a first rate
  bool is_default = false;

  std::string_view name() const { return key->name; }
  const std::vector<std::string>& tags() const { return *key->tags; }
  std::string_view path() const { return key->path; }
};

// How the scrape that made a snapshot went. A failed scrape is published too, with no readings
// and no pauses: sinks then drop the target's value series (a dead process must not look like a
// flat healthy line) and report only its health.
struct ScrapeHealth {
  bool up = true;
  std::string error;            // why the scrape failed; empty when up
  double duration_seconds = 0;  // fetch and check
  std::optional<std::chrono::system_clock::time_point> last_success;  // none: never succeeded
};

struct ScrapeSnapshot {
  std::string target_id;         // unique among running targets; stable across reloads
  std::string url;               // final URL, no credentials
  std::string metric_namespace;  // as configured ("go_expvar" by default)
  std::chrono::system_clock::time_point time;
  std::vector<Reading> readings;         // defaults first; `report` set where Datadog submits
  std::string pause_metric_name;         // <ns>.memstats.pause_ns
  std::vector<std::string> pause_tags;   // instance tags + expvar_url
  std::vector<double> pauses_ns;         // GC pauses since the previous scrape, oldest first
  std::shared_ptr<const Entity> entity;  // what the series belong to; never null
  ScrapeHealth health;
};

using SnapshotPtr = std::shared_ptr<const ScrapeSnapshot>;

}  // namespace expvar::pipeline
