// The Prometheus series a snapshot has: names, types, help and values derived from Datadog's
// readings, the GC pause histogram's counts, the target's health series, and tags as labels.
#pragma once

#include <prometheus/client_metric.h>
#include <prometheus/metric_type.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/snapshot.h"

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

// A target's GC pauses so far. Per-bucket (not cumulative) counts; the last slot is +Inf.
struct PauseCounts {
  std::array<std::uint64_t, kGcPauseBuckets.size() + 1> buckets{};
  double sum_seconds = 0;
  std::uint64_t count = 0;
};

PauseCounts Bucketize(const std::vector<double>& pauses_ns);
void Accumulate(PauseCounts& total, const PauseCounts& delta);

// What the pause counts are accumulated under: a histogram that changes name or labels is a
// new series, so its counts start over.
std::string PauseIdentity(const pipeline::ScrapeSnapshot& snapshot);

// One series before it is placed in its family. A histogram's value is unused: its counts are
// the target's PauseCounts.
struct SeriesSpec {
  std::string_view name;  // into static text, a per-thread cache or the SeriesList
  prometheus::MetricType type;
  std::string_view help;  // as written, unescaped
  double value = 0;
  const std::vector<std::string>* tags = nullptr;  // into the snapshot
};

// A snapshot's series, and the names and help of its custom series they point into. Valid
// while the snapshot lives, on the thread that made it.
class SeriesList {
 public:
  std::vector<SeriesSpec> specs;
  std::string_view Keep(std::string text);

 private:
  std::vector<std::unique_ptr<std::string>> owned_;  // stable addresses for the views
};

// The series of `snapshot` in the order they join their families: the readings Prometheus
// shows, then the pause histogram (shown once the target is known to expose memstats, and
// while it is up), then the health series every target has.
SeriesList SnapshotSeries(const pipeline::ScrapeSnapshot& snapshot, const PauseCounts& pauses);

}  // namespace expvar::sink
