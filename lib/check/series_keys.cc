#include "check/series_keys.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "common/datadog_naming.h"

namespace expvar::check {
namespace {

using common::NormalizeMetricName;

std::string SeriesName(const PlannedMetric& metric, const std::string& dotted,
                       const std::string& metric_namespace) {
  if (metric.alias && !metric.alias->empty()) return *metric.alias;
  std::string name = NormalizeMetricName(dotted, metric_namespace);
  // Datadog hard-codes "go_expvar." for this one; we follow the namespace like every default.
  if (metric.is_default && metric.type == MetricType::kMonotonicCounter) name += ".count";
  return name;
}

std::vector<std::string> WithPathTag(const std::vector<std::string>& tags,
                                     const std::string& dotted) {
  std::vector<std::string> out = tags;
  std::string tag = "path:" + dotted;
  if (std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(std::move(tag));
  return out;
}

// The keys a literal path matches at: its segments, which are plain words (see PathSegment).
std::string LiteralDotted(const CompiledPath& path) {
  std::string dotted;
  for (std::size_t i = 0; i < path.Depth(); ++i) {
    if (i) dotted.push_back('.');
    dotted.append(path.Segment(i).text);
  }
  return dotted;
}

// Name and path of each default item, in plan order: the same for every plan of a namespace.
struct DefaultTexts {
  std::vector<std::string> names;
  std::vector<std::string> paths;
};

DefaultTexts BuildDefaultTexts(const Plan& plan) {
  DefaultTexts texts;
  for (std::size_t i = 0; i < plan.default_count; ++i) {
    texts.paths.push_back(LiteralDotted(*plan.metrics[i].path));
    texts.names.push_back(SeriesName(plan.metrics[i], texts.paths.back(), plan.metric_namespace));
  }
  return texts;
}

// One DefaultTexts per namespace in use. Namespaces can come from annotations, so an entry lives
// only while some key uses it, and expired entries are swept as the map grows.
std::shared_ptr<const DefaultTexts> SharedDefaultTexts(const Plan& plan) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const DefaultTexts>, std::less<>> by_namespace;
  static std::size_t sweep_at = 64;
  std::lock_guard lock(mutex);
  auto& slot = by_namespace[plan.metric_namespace];
  if (auto texts = slot.lock()) return texts;
  auto texts = std::make_shared<const DefaultTexts>(BuildDefaultTexts(plan));
  slot = texts;
  if (by_namespace.size() >= sweep_at) {
    std::erase_if(by_namespace, [](const auto& entry) { return entry.second.expired(); });
    sweep_at = std::max<std::size_t>(64, by_namespace.size() * 2);
  }
  return texts;
}

pipeline::SeriesKey DefaultKey(const PlannedMetric& metric, std::size_t index,
                               const std::shared_ptr<const DefaultTexts>& texts) {
  const std::string& name = texts->names[index];
  return pipeline::SeriesKey{name, texts->paths[index], metric.tags,
                             pipeline::SeriesIdentity(name, *metric.tags), texts};
}

}  // namespace

pipeline::SeriesKeyPtr KeyFor(const PlannedMetric& metric, std::string dotted,
                              const std::string& metric_namespace) {
  std::string name = SeriesName(metric, dotted, metric_namespace);
  auto tags =
      metric.alias
          ? std::make_shared<const std::vector<std::string>>(WithPathTag(*metric.tags, dotted))
          : metric.tags;
  return pipeline::MakeSeriesKey(std::move(name), std::move(tags), std::move(dotted));
}

void NameLiteralSeries(Plan& plan) {
  auto defaults = SharedDefaultTexts(plan);
  auto keys = std::make_shared<std::vector<pipeline::SeriesKey>>();
  keys->reserve(plan.metrics.size());  // no reallocation: the items point into it
  std::vector<PlannedMetric*> named;
  for (std::size_t i = 0; i < plan.metrics.size(); ++i) {
    PlannedMetric& metric = plan.metrics[i];
    if (!metric.path->IsLiteral()) continue;
    if (i < plan.default_count && !metric.alias) {
      keys->push_back(DefaultKey(metric, i, defaults));
    } else {
      keys->push_back(*KeyFor(metric, LiteralDotted(*metric.path), plan.metric_namespace));
    }
    named.push_back(&metric);
  }
  for (std::size_t i = 0; i < named.size(); ++i) {
    named[i]->literal_key = pipeline::SeriesKeyPtr(keys, &(*keys)[i]);
  }
}

}  // namespace expvar::check
