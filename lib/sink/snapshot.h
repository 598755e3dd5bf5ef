// One target's latest scrape, immutable once published: what every sink consumes.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "check/check.h"

namespace expvar::sink {

struct ScrapeSnapshot {
  std::string target_id;         // unique among running targets; stable across reloads
  std::string url;               // final URL, no credentials
  std::string metric_namespace;  // as configured ("go_expvar" by default)
  std::chrono::system_clock::time_point time;
  std::vector<check::Reading> readings;  // defaults first; `report` set where Datadog submits
  std::string pause_metric_name;         // <ns>.memstats.pause_ns
  std::vector<std::string> pause_tags;   // instance tags + expvar_url
  std::vector<double> pauses_ns;         // GC pauses since the previous scrape, oldest first
  std::vector<std::string> statsd_tags;  // added to every DogStatsD line (entity id), not labels
};

using SnapshotPtr = std::shared_ptr<const ScrapeSnapshot>;

// A destination for snapshots. Publish is called from worker coroutines and must not block;
// Forget is called when a target is removed, and its series must disappear at once.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Publish(const SnapshotPtr& snapshot) = 0;
  virtual void Forget(const std::string& target_id) = 0;
};

}  // namespace expvar::sink
