// What a pod's annotations may ask of the collector: the operator's ceilings and floors for
// instances read from annotations (untrusted), the keys they may not use, the tags they may not
// set.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/instance.h"

namespace expvar::discovery {

// Trusted: set by flags (--annotation-*). conf.d instances are never limited by these.
struct AnnotationLimits {
  std::size_t max_body_bytes = pipeline::kDefaultMaxBodyBytes;
  std::chrono::milliseconds max_timeout = pipeline::kDefaultTimeout;
  int max_returned_metrics = 1000;
  std::chrono::milliseconds min_interval{1'000};
  std::size_t max_metric_items = 100;
  std::size_t max_tags = 100;  // per instance, and per metric item
  std::size_t max_tag_length = 200;
};

// Why the instance cannot be taken from an annotation at all, or nullopt. Annotations may not
// name files: a path could be a FIFO that blocks the thread opening it, /proc/self/fd/N, or the
// collector's own keys, and its error would tell which files exist. The reason names the key.
std::optional<std::string> RefusedAnnotationKey(const pipeline::Instance& instance);

// Brings every limit of `instance` within `limits`, and says what was changed, one warning each
// (shown on /status: a clamp is never silent).
std::vector<std::string> ClampToLimits(pipeline::Instance& instance,
                                       const AnnotationLimits& limits);

// Tags the collector derives from the pod (kube_*, pod_name, pod_phase, image_*, short_image,
// container_*, dd.*): an annotation cannot set them, or a pod could publish its series as another
// pod's. Compares the key (what precedes the first ':').
bool IsReservedTag(std::string_view tag);

// `tags` without the reserved ones; each one dropped adds a warning naming `where`.
std::vector<std::string> WithoutReservedTags(const std::vector<std::string>& tags,
                                             const std::string& where,
                                             std::vector<std::string>& warnings);

}  // namespace expvar::discovery
