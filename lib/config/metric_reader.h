// Reads the `metrics:` items and `tags:` lists of a conf file's instances into values.
// Private to lib/config: not part of the conf file reader's interface.
#pragma once

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

#include "config/yaml_reader.h"
#include "pipeline/instance.h"

namespace expvar::config::detail {

// Reads `tags:` (of an instance or a metric item). A list is the normal form: scalar items are
// kept as text (numbers and booleans as written); an item written as a map (`- env: prod`, a
// common slip for `- env:prod`) is converted to "env:prod" with a warning; null, empty and list
// items are skipped with a warning. A map (`tags: {env: prod}`) is converted to "k:v" tags with a
// warning. Returns nullopt when the value is a single scalar, which the caller reports.
std::optional<std::vector<std::string>> ReadTagList(const YAML::Node& node,
                                                    const std::string& where, Diagnostics& diag);

// Reads one metric item; nullopt (after a warning) when the item must be skipped, as Datadog's
// check skips it: not a map, no usable path, unsupported type, alias or tags of the wrong type.
std::optional<pipeline::MetricSpec> ReadMetric(const YAML::Node& node, const std::string& where,
                                               Diagnostics& diag);

}  // namespace expvar::config::detail
