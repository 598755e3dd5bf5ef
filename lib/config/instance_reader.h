// Reads one `instances:` entry of a conf file into a pipeline::Instance, or skips it with warnings.
// Private to lib/config: not part of the conf file reader's interface.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <optional>
#include <string>

#include "config/yaml_reader.h"
#include "pipeline/instance.h"

namespace expvar::config::detail {

// Defaults that `init_config` gives every instance.
struct InitDefaults {
  std::optional<std::chrono::milliseconds> min_collection_interval;
  std::optional<std::string> service;
};

// Reads the instance at `where` (e.g. "instances[2]"). Every problem is warned about before
// deciding, so that one pass over the warnings shows all that is wrong with an instance. nullopt
// when the instance cannot be used: not a map, no usable expvar_url, or a connection setting
// (username, password, headers, tls_*, ssl_*) of the wrong type. A bad metric item only costs
// that item.
std::optional<pipeline::Instance> ReadInstance(const YAML::Node& node, std::string where,
                                               const InitDefaults& defaults, Diagnostics& diag);

}  // namespace expvar::config::detail
