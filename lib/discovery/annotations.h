// Reads a pod's Datadog Autodiscovery annotations into go_expvar check templates, per container.
#pragma once

#include <boost/json/value.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/pod.h"

namespace expvar::discovery {

inline constexpr std::string_view kAdPrefix = "ad.datadoghq.com/";
inline constexpr std::string_view kLegacyAdPrefix = "service-discovery.datadoghq.com/";
inline constexpr std::string_view kGoExpvarCheck = "go_expvar";

// One go_expvar instance an annotation asks for, before template variables are resolved.
struct CheckTemplate {
  std::string container;           // the pod container it belongs to (spec.containers[].name)
  std::string annotation;          // the annotation key the instance came from
  boost::json::value init_config;  // always an object; {} when the annotation gives none
  boost::json::value instance;     // one instance object, still containing %%vars%%
  std::vector<std::string> tags;   // `k:v` from ad.datadoghq.com/tags, then <container>.tags
};

struct AnnotationError {
  std::string annotation;  // the annotation key at fault
  std::string message;     // names the pod and the key; never quotes the annotation's value
};

struct PodTemplates {
  std::vector<CheckTemplate> templates;  // container order of the spec, then instance order
  std::vector<AnnotationError> errors;
  bool tolerate_unready = false;  // ad.datadoghq.com/tolerate-unready: "true"
};

// Datadog Autodiscovery semantics, per container C of the pod (with ID = the value of
// `ad.datadoghq.com/C.check.id` when set, else C):
// - v2 `ad.datadoghq.com/ID.checks` wins; otherwise v1 `ad.datadoghq.com/ID.check_names`,
//   `.init_configs`, `.instances`, otherwise the same three under the legacy prefix.
// - Only checks named go_expvar are returned (v2: the object key, or its "name" when set);
//   other checks, valid or not, are ignored without an error.
// - A broken annotation drops that container's go_expvar templates from it and records an error;
//   other containers are unaffected. Check annotations naming neither a container name nor a
//   check id of the pod are errors too.
// Pure: no logging, no I/O.
PodTemplates TemplatesFromAnnotations(const pipeline::Pod& pod);

}  // namespace expvar::discovery
