// Datadog's metric naming rules: CamelCase paths become snake_case names under a namespace.
#pragma once

#include <string>
#include <string_view>

namespace expvar::common {

// AgentCheck.convert_to_underscore_separated: "memstats.BySize" -> "memstats.by_size".
std::string ToUnderscoreSeparated(std::string_view name);

// AgentCheck.normalize(path, namespace, fix_case=True): the name go_expvar reports for a
// dotted path. An empty namespace yields the bare name (Datadog would emit a leading '.').
std::string NormalizeMetricName(std::string_view dotted_path, std::string_view metric_namespace);

}  // namespace expvar::common
