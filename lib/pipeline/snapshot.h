// One target's latest scrape, immutable once published: what every sink consumes.
#pragma once

#include <chrono>
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

// One value the check matched in the document this run.
struct Reading {
  std::string name;
  MetricType type;
  double raw = 0;                // as read from the document
  std::optional<double> report;  // what Datadog submits this run; none for a first rate
  std::vector<std::string> tags;
  std::string path;  // dotted actual path, e.g. "memstats.HeapAlloc"
  bool is_default = false;
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
