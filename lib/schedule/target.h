// A target the collector should scrape, as providers describe it, and its identity digest.
#pragma once

#include <string>
#include <vector>

#include "config/instance.h"

namespace expvar::schedule {

struct TargetSpec {
  std::string source;  // where it came from: "conf.d/go_expvar.d/app.yaml#0", "pod ns/name/c"
  config::Instance instance;  // resolved: no template variables left
  // Tags for DogStatsD only, e.g. dd.internal.entity_id:<pod uid> so the Agent attributes the
  // series to the pod rather than to the collector; not Prometheus labels.
  std::vector<std::string> statsd_tags;
};

// A digest of everything that affects how the instance is scraped and reported. Two specs with
// the same digest are the same target: an edit that changes nothing here restarts nothing.
std::string InstanceDigest(const config::Instance& instance);

}  // namespace expvar::schedule
