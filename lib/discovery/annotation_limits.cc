#include "discovery/annotation_limits.h"

#include <algorithm>
#include <array>
#include <functional>

#include "common/text.h"

namespace expvar::discovery {
namespace {

using pipeline::Instance;
using std::chrono::milliseconds;

// Lowers `value` to `ceiling` (or raises it to a floor, with std::greater), with a warning.
template <typename T, typename Describe, typename Compare = std::less<T>>
void Clamp(T& value, T bound, std::string_view key, const char* flag, Describe describe,
           std::vector<std::string>& warnings, Compare within = Compare()) {
  if (within(bound, value)) {
    warnings.push_back(std::string(key) + ": " + describe(value) + " is beyond the limit " +
                       describe(bound) + " (" + flag + "); " + describe(bound) + " used");
    value = bound;
  }
}

std::string Count(std::size_t n) { return std::to_string(n); }

void ClampTags(std::vector<std::string>& tags, const AnnotationLimits& limits,
               const std::string& where, std::vector<std::string>& warnings) {
  if (tags.size() > limits.max_tags) {
    warnings.push_back(where + ": " + Count(tags.size()) + " tags, more than " +
                       Count(limits.max_tags) + " (--annotation-max-tags); the first " +
                       Count(limits.max_tags) + " kept");
    tags.resize(limits.max_tags);
  }
  auto too_long = [&](const std::string& tag) { return tag.size() > limits.max_tag_length; };
  if (auto n = std::count_if(tags.begin(), tags.end(), too_long); n > 0) {
    warnings.push_back(where + ": " + Count(n) + " tag(s) longer than " +
                       Count(limits.max_tag_length) +
                       " bytes (--annotation-max-tag-length) dropped");
    std::erase_if(tags, too_long);
  }
}

}  // namespace

std::optional<std::string> RefusedAnnotationKey(const Instance& instance) {
  const std::array<std::pair<const char*, const std::string*>, 3> paths = {{
      {"tls_ca_cert", &instance.tls.ca_cert},
      {"tls_cert", &instance.tls.cert},
      {"tls_private_key", &instance.tls.private_key},
  }};
  for (const auto& [key, path] : paths) {
    if (!path->empty()) {
      return std::string(key) +
             ": file paths are not accepted from pod annotations (put the instance in conf.d); "
             "instance skipped";
    }
  }
  return std::nullopt;
}

std::vector<std::string> ClampToLimits(Instance& instance, const AnnotationLimits& limits) {
  std::vector<std::string> warnings;
  auto bytes = [](std::size_t n) { return Count(n) + " bytes"; };
  auto number = [](int n) { return std::to_string(n); };
  Clamp(instance.max_body_bytes, limits.max_body_bytes, "max_body_bytes",
        "--annotation-max-body-bytes", bytes, warnings);
  Clamp(instance.timeout, limits.max_timeout, "timeout", "--annotation-max-timeout",
        common::FormatSeconds, warnings);
  Clamp(instance.max_returned_metrics, limits.max_returned_metrics, "max_returned_metrics",
        "--annotation-max-returned-metrics", number, warnings);
  if (instance.min_collection_interval) {
    Clamp(*instance.min_collection_interval, limits.min_interval, "min_collection_interval",
          "--annotation-min-interval", common::FormatSeconds, warnings,
          std::greater<milliseconds>());
  }
  if (instance.metrics.size() > limits.max_metric_items) {
    warnings.push_back("metrics: " + Count(instance.metrics.size()) + " items, more than " +
                       Count(limits.max_metric_items) +
                       " (--annotation-max-metric-items); the first " +
                       Count(limits.max_metric_items) + " kept");
    instance.metrics.resize(limits.max_metric_items);
  }
  ClampTags(instance.tags, limits, "tags", warnings);
  for (std::size_t i = 0; i < instance.metrics.size(); ++i) {
    ClampTags(instance.metrics[i].tags, limits, common::Indexed("metrics", i) + ".tags", warnings);
  }
  return warnings;
}

bool IsReservedTag(std::string_view tag) {
  const std::string_view key = tag.substr(0, tag.find(':'));
  static constexpr std::array<std::string_view, 5> kExact = {"pod_name", "pod_phase", "image_name",
                                                             "image_tag", "short_image"};
  static constexpr std::array<std::string_view, 3> kPrefixes = {"kube_", "container_", "dd."};
  return std::ranges::find(kExact, key) != kExact.end() ||
         std::ranges::any_of(kPrefixes, [&](std::string_view p) { return key.starts_with(p); });
}

std::vector<std::string> WithoutReservedTags(const std::vector<std::string>& tags,
                                             const std::string& where,
                                             std::vector<std::string>& warnings) {
  std::vector<std::string> kept;
  for (const std::string& tag : tags) {
    if (!IsReservedTag(tag)) {
      kept.push_back(tag);
      continue;
    }
    const std::string key = tag.substr(0, tag.find(':'));
    warnings.push_back(where + ": tag " + common::Quoted(key) +
                       " is set by the collector from the pod; the annotation's value dropped");
  }
  return kept;
}

}  // namespace expvar::discovery
