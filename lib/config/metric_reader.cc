// Metric items and tag lists: a bad item is skipped on its own, as in Datadog's check, so that
// one typo does not cost the instance's other metrics.

#include "config/metric_reader.h"

#include <array>
#include <boost/algorithm/string/trim.hpp>
#include <cstddef>
#include <string_view>
#include <utility>

namespace expvar::config::detail {

using pipeline::MetricSpec;
using pipeline::MetricType;
using pipeline::ParseMetricType;

namespace {

constexpr const char* kExpectedTypes = "gauge, rate, count, counter or monotonic_counter";

constexpr std::array<std::string_view, 4> kMetricKeys = {"path", "type", "alias", "tags"};

// Appends "k:v" (or "k" when v is null) for each entry of a tags map. Entries whose key or value
// is not a scalar are skipped with a warning.
void AppendMapTags(const YAML::Node& map, const std::string& where, Diagnostics& diag,
                   std::vector<std::string>& tags) {
  for (const Entry& entry : ReadMap(map, where, diag)) {
    if (entry.value.IsNull()) {
      tags.push_back(entry.key);
    } else if (entry.value.IsScalar()) {
      tags.push_back(entry.key + ":" + entry.value.Scalar());
    } else {
      diag.Warn(KeyPath(where, entry.key),
                "tag value is " + YamlKindName(entry.value) + ", not a string; tag skipped");
    }
  }
}

}  // namespace

std::optional<std::vector<std::string>> ReadTagList(const YAML::Node& node,
                                                    const std::string& where, Diagnostics& diag) {
  std::vector<std::string> tags;
  if (node.IsMap()) {
    diag.Warn(where, "given as a map; converted to key:value tags (Datadog expects a list)");
    AppendMapTags(node, where, diag, tags);
    return tags;
  }
  if (!node.IsSequence()) return std::nullopt;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string item_where = where + "[" + std::to_string(i) + "]";
    if (item.IsScalar() && !boost::algorithm::trim_copy(item.Scalar()).empty()) {
      tags.push_back(item.Scalar());
    } else if (item.IsScalar() || item.IsNull()) {
      diag.Warn(item_where, "empty tag; skipped");
    } else if (item.IsMap()) {
      diag.Warn(item_where,
                "written as a map (\"- key: value\"); converted to \"key:value\" (write it "
                "without the space after the colon)");
      AppendMapTags(item, item_where, diag, tags);
    } else {
      diag.Warn(item_where, "expected a string, got " + YamlKindName(item) + "; tag skipped");
    }
  }
  return tags;
}

std::optional<MetricSpec> ReadMetric(const YAML::Node& node, const std::string& where,
                                     Diagnostics& diag) {
  if (!node.IsMap()) {
    diag.Warn(where, "expected a map with path, type, alias and tags, got " + YamlKindName(node) +
                         "; item skipped");
    return std::nullopt;
  }
  const Entries entries = ReadMap(node, where, diag);
  WarnUnknownKeys(entries, kMetricKeys, where, diag);
  MetricSpec spec;
  bool usable = true;
  const auto skip = [&](std::string_view key, const std::string& what) {
    diag.Warn(KeyPath(where, key), what + "; item skipped");
    usable = false;
  };

  if (const YAML::Node* path = FindEntry(entries, "path"); path == nullptr) {
    skip("path", "missing");
  } else if (!path->IsScalar()) {
    skip("path", "expected a string, got " + YamlKindName(*path));
  } else if (boost::algorithm::trim_copy(path->Scalar()).empty()) {
    skip("path", "empty");
  } else {
    spec.path = path->Scalar();
  }

  if (const YAML::Node* type = FindEntry(entries, "type")) {
    if (!type->IsScalar()) {
      skip("type", "expected " + std::string(kExpectedTypes) + ", got " + YamlKindName(*type));
    } else if (const std::optional<MetricType> parsed = ParseMetricType(type->Scalar())) {
      spec.type = *parsed;
    } else {
      skip("type", "unsupported metric type " + Quote(type->Scalar()) + " (expected " +
                       kExpectedTypes + ")");
    }
  }

  if (const YAML::Node* alias = FindEntry(entries, "alias")) {
    if (alias->IsScalar()) {
      spec.alias = alias->Scalar();
    } else {
      skip("alias", "expected a string, got " + YamlKindName(*alias));
    }
  }

  if (const YAML::Node* tags = FindEntry(entries, "tags")) {
    const std::string tags_where = KeyPath(where, "tags");
    if (std::optional<std::vector<std::string>> parsed = ReadTagList(*tags, tags_where, diag)) {
      spec.tags = std::move(*parsed);
    } else {
      skip("tags", "expected a list of strings, got " + YamlKindName(*tags));
    }
  }

  if (!usable) return std::nullopt;
  return spec;
}

}  // namespace expvar::config::detail
