// Prometheus sink: keeps each target's latest snapshot and renders metric families at scrape time.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/sink.h"

namespace expvar::sink {

// Upper bounds in seconds of the GC pause histogram (+Inf is implied). Go's stop-the-world
// pauses are typically tens of microseconds to a few milliseconds.
inline constexpr std::array<double, 13> kGcPauseBuckets = {
    10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3};

// Every character outside [a-zA-Z0-9_] becomes '_', and a leading digit gets a '_' in front:
// "myapp.http.GET-count" -> "myapp_http_GET_count". Empty stays empty.
std::string SanitizeMetricName(std::string_view name);

// As SanitizeMetricName; then a name Prometheus reserves ("__*") or promtool only accepts on
// histograms and summaries ("le", "quantile") gets the prefix "exported_", the prefix
// Prometheus itself gives to clashing labels.
std::string SanitizeLabelName(std::string_view name);

// Which tags become labels, by the tag's key (what precedes ':'); empty: all of them.
using TagKeyFilter = std::function<bool(std::string_view key)>;

// Datadog tags as labels: "k:v" -> k="v" (split at the first ':'), a bare tag -> tag="true".
// Label names are sanitised, a tag with an empty name is dropped, and when two tags give the
// same label name the first one wins. Values are made valid UTF-8. Tags whose key `keep` refuses
// are left out, except expvar_url: it tells the targets' series apart.
std::vector<prometheus::ClientMetric::Label> TagsToLabels(const std::vector<std::string>& tags,
                                                          const TagKeyFilter& keep = {});

// A TagKeyFilter from patterns: a key, or a prefix ending in '*' ("kube_*"); "*" keeps all.
TagKeyFilter TagKeyPatterns(std::vector<std::string> patterns);

// The metric name prefix for a go_expvar namespace: "go_expvar" -> "go_expvar",
// "MyApp.v2" -> "my_app_v2"; empty means no prefix.
std::string NamespacePrefix(std::string_view metric_namespace);

class PrometheusSink final : public pipeline::Sink, public prometheus::Collectable {
 public:
  // `label_tags` chooses which tags become labels (cardinality: every label is on every series
  // of the target); empty: all.
  explicit PrometheusSink(TagKeyFilter label_tags = {}) : label_tags_(std::move(label_tags)) {}

  // Keeps the snapshot as the target's current one and adds its GC pauses to the target's
  // cumulative histogram. Cheap: the families are only built when Prometheus scrapes.
  void Publish(const pipeline::SnapshotPtr& snapshot) override;

  // Drops the target: every series of it is gone from the next Collect().
  void Forget(const std::string& target_id) override;

  // Nothing is buffered: every series is rendered from the latest snapshots when Prometheus
  // scrapes.
  void Flush() override {}

  // Builds the families of every current target, sorted by name. A series whose family already
  // has another type, or whose label set is already present, is skipped and counted.
  std::vector<prometheus::MetricFamily> Collect() const override;

  std::size_t TargetCount() const;

  // Series skipped by Collect() because of a type or label-set clash, summed over all calls.
  std::uint64_t Conflicts() const { return conflicts_.load(std::memory_order_relaxed); }

  // Per-bucket (not cumulative) counts; the last slot is the +Inf bucket.
  struct PauseCounts {
    std::array<std::uint64_t, kGcPauseBuckets.size() + 1> buckets{};
    double sum_seconds = 0;
    std::uint64_t count = 0;
  };

 private:
  struct Target {
    pipeline::SnapshotPtr snapshot;
    std::string pause_identity;  // namespace and labels the pause counts were accumulated under
    PauseCounts pauses;
  };

  TagKeyFilter label_tags_;
  mutable std::mutex mutex_;
  std::map<std::string, Target> targets_;  // by target_id; ordered for stable output
  mutable std::atomic<std::uint64_t> conflicts_{0};
};

}  // namespace expvar::sink
