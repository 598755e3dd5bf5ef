// A target the collector should scrape, as providers describe it, and its identity digest.
#pragma once

#include <string>

#include "config/instance.h"

namespace expvar::schedule {

struct TargetSpec {
  std::string source;  // where it came from: "conf.d/go_expvar.d/app.yaml#0", "pod ns/name/c"
  config::Instance instance;  // resolved: no template variables left
};

// A digest of everything that affects how the instance is scraped and reported. Two specs with
// the same digest are the same target: an edit that changes nothing here restarts nothing.
std::string InstanceDigest(const config::Instance& instance);

}  // namespace expvar::schedule
