#include "config/instance.h"

#include <array>

namespace expvar::config {
namespace {

struct TypeEntry {
  MetricType type;
  std::string_view name;
};

// The spellings Datadog's check accepts; matching is exact (case-sensitive), as in the check.
constexpr std::array<TypeEntry, 5> kTypes = {{
    {MetricType::kGauge, "gauge"},
    {MetricType::kRate, "rate"},
    {MetricType::kCount, "count"},
    {MetricType::kCounter, "counter"},
    {MetricType::kMonotonicCounter, "monotonic_counter"},
}};

}  // namespace

std::optional<MetricType> ParseMetricType(std::string_view text) {
  for (const TypeEntry& entry : kTypes) {
    if (entry.name == text) return entry.type;
  }
  return std::nullopt;
}

std::string_view MetricTypeName(MetricType type) {
  for (const TypeEntry& entry : kTypes) {
    if (entry.type == type) return entry.name;
  }
  return "unknown";
}

}  // namespace expvar::config
