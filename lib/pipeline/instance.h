// The go_expvar check's configuration model: what one `instances:` entry of a conf.yaml says,
// as config/ reads it, discovery/ resolves it, schedule/ runs it and check/ compiles it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace expvar::pipeline {

// The Datadog go_expvar metric types (`type:` of a metric item).
enum class MetricType { kGauge, kRate, kCount, kCounter, kMonotonicCounter };

namespace detail {

struct MetricTypeEntry {
  MetricType type;
  std::string_view name;
};

// The spellings Datadog's check accepts; matching is exact (case-sensitive), as in the check.
inline constexpr std::array<MetricTypeEntry, 5> kMetricTypes = {{
    {MetricType::kGauge, "gauge"},
    {MetricType::kRate, "rate"},
    {MetricType::kCount, "count"},
    {MetricType::kCounter, "counter"},
    {MetricType::kMonotonicCounter, "monotonic_counter"},
}};

}  // namespace detail

// Parses a `type:` value; nullopt when Datadog's check would not accept it.
inline std::optional<MetricType> ParseMetricType(std::string_view text) {
  for (const auto& entry : detail::kMetricTypes) {
    if (entry.name == text) return entry.type;
  }
  return std::nullopt;
}

inline std::string_view MetricTypeName(MetricType type) {
  for (const auto& entry : detail::kMetricTypes) {
    if (entry.type == type) return entry.name;
  }
  return "unknown";
}

// One entry of `metrics:`.
struct MetricSpec {
  std::string path;  // "memstats/BySize/1/Mallocs", segments split on '/'
  MetricType type = MetricType::kGauge;
  // Verbatim metric name; adds a `path:` tag. `alias: ""` stays engaged but empty: as in
  // Datadog's check, the default name is used and the `path:` tag is still added.
  std::optional<std::string> alias;
  std::vector<std::string> tags;
};

struct TlsOptions {
  bool verify = true;
  std::string ca_cert;      // PEM file; empty = system store
  std::string cert;         // client certificate PEM file
  std::string private_key;  // client key PEM file
};

inline constexpr int kDefaultMaxReturnedMetrics = 350;
inline constexpr std::chrono::milliseconds kDefaultTimeout{10'000};
inline constexpr std::size_t kDefaultMaxBodyBytes = 8 * 1024 * 1024;
inline constexpr const char* kDefaultNamespace = "go_expvar";

// One go_expvar instance, with Datadog's defaults applied.
struct Instance {
  std::string expvar_url;  // as written; see check::FinalUrl for the /debug/vars rule
  std::string metric_namespace = kDefaultNamespace;
  std::vector<MetricSpec> metrics;
  int max_returned_metrics = kDefaultMaxReturnedMetrics;
  std::vector<std::string> tags;  // as written, then `service:<v>` when `service` is set
  std::chrono::milliseconds timeout = kDefaultTimeout;
  std::optional<std::chrono::milliseconds> min_collection_interval;  // unset = daemon default
  std::string username;
  std::string password;
  std::vector<std::pair<std::string, std::string>> headers;
  TlsOptions tls;
  std::size_t max_body_bytes = kDefaultMaxBodyBytes;
};

}  // namespace expvar::pipeline
