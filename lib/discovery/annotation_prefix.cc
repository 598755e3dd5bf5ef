#include "discovery/annotation_prefix.h"

#include <utility>

#include "discovery/annotations.h"

namespace expvar::discovery {

bool IsDatadogPrefix(std::string_view prefix) { return prefix.empty() || prefix == kAdPrefix; }

pipeline::Pod WithAnnotationPrefix(const pipeline::Pod& pod, std::string_view prefix) {
  if (IsDatadogPrefix(prefix)) return pod;
  pipeline::Pod renamed = pod;
  renamed.annotations.clear();
  for (const auto& [key, value] : pod.annotations) {
    std::string_view name = key;
    if (name.starts_with(prefix)) {
      renamed.annotations[std::string(kAdPrefix) + std::string(name.substr(prefix.size()))] = value;
    } else if (!name.starts_with(kAdPrefix) && !name.starts_with(kLegacyAdPrefix)) {
      renamed.annotations.emplace(key, value);
    }
  }
  return renamed;
}

std::string InAnnotationPrefix(std::string text, std::string_view prefix) {
  if (IsDatadogPrefix(prefix)) return text;
  for (auto at = text.find(kAdPrefix); at != std::string::npos;
       at = text.find(kAdPrefix, at + prefix.size())) {
    text.replace(at, kAdPrefix.size(), prefix);
  }
  return text;
}

}  // namespace expvar::discovery
