// A target the collector should scrape, as providers describe it to the scheduler.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/instance.h"

namespace expvar::pipeline {

// What a target's series belong to, in terms any sink can use to attribute them (one sink
// derives its entity-id tag from `uid`; an OTLP sink would derive resource attributes). Empty
// for conf.d targets, which belong to no pod.
struct Entity {
  std::string pod_uid;
  std::string pod_name;
  std::string pod_namespace;
  std::string container_name;

  bool operator==(const Entity&) const = default;
};

struct TargetSpec {
  std::string source;  // where it came from: "conf.d/go_expvar.d/app.yaml#0", "pod ns/name/c"
  Instance instance;   // resolved: no template variables left
  Entity entity;
};

// A problem that kept a source from producing targets, shown on /status.
struct SourceError {
  std::string source;
  std::string message;
};

// What wrote the source of a problem, for expvar_collector_config_errors_total{source}: pod
// sources all start with "pod " (see TargetSpec::source); everything else is operator-written
// configuration read from files.
inline std::string_view SourceKindOf(std::string_view source) {
  return source.starts_with("pod ") ? "annotation" : "confd";
}

}  // namespace expvar::pipeline
