// The registrations of the sinks this build has: one factory per kind.
#include <prometheus/metric_family.h>

#include "sink/dogstatsd.h"
#include "sink/prometheus.h"
#include "sink/registry.h"

namespace expvar::sink {
namespace {

// The DogStatsD sink's delivery counters, read from the sink when /metrics is collected, so
// they are always current and nothing has to copy them over.
class DogStatsDCounters : public prometheus::Collectable {
 public:
  explicit DogStatsDCounters(std::shared_ptr<const DogStatsDSink> sink) : sink_(std::move(sink)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    DogStatsDSink::Stats stats = sink_->stats();
    prometheus::MetricFamily family{"expvar_collector_dogstatsd_datagrams_total",
                                    "DogStatsD datagrams, by result.",
                                    prometheus::MetricType::Counter,
                                    {}};
    family.metric.push_back(Datagrams("sent", stats.datagrams_sent));
    family.metric.push_back(Datagrams("dropped", stats.datagrams_dropped));
    return {std::move(family)};
  }

 private:
  static prometheus::ClientMetric Datagrams(const char* result, std::uint64_t count) {
    prometheus::ClientMetric metric;
    metric.label.push_back({"result", result});
    metric.counter.value = static_cast<double>(count);
    return metric;
  }

  std::shared_ptr<const DogStatsDSink> sink_;
};

DogStatsDAddress DogStatsDAddressFor(const SinkContext& context) {
  std::string error;
  const std::string& url = context.settings.dogstatsd_url;
  auto address = url.empty() ? ResolveDefaultAddress(context.env, context.path_exists, &error)
                             : ParseDogStatsDUrl(url, &error);
  if (!address) throw SinkConfigError("dogstatsd: " + error);
  return *address;
}

BuiltSink MakeDogStatsDSink(const SinkContext& context) {
  std::vector<std::string> tags = GlobalTagsFromEnvironment(context.env);
  tags.insert(tags.end(), context.settings.tags.begin(), context.settings.tags.end());
  auto sink = std::make_shared<DogStatsDSink>(context.executor, DogStatsDAddressFor(context), tags,
                                              context.settings.dogstatsd_flush_interval);
  std::string description = "dogstatsd to " + sink->address().ToString();
  return {sink,
          {std::make_shared<common::CollectableSource>(std::make_shared<DogStatsDCounters>(sink))},
          std::move(description)};
}

BuiltSink MakePrometheusSink(const SinkContext& context) {
  auto sink =
      std::make_shared<PrometheusSink>(TagKeyPatterns(context.settings.prometheus_label_tags));
  return {sink, {sink}, "prometheus on /metrics"};
}

}  // namespace

SinkRegistry BuiltinSinks() {
  SinkRegistry registry;
  registry.Register("dogstatsd", MakeDogStatsDSink);
  registry.Register("prometheus", MakePrometheusSink);
  return registry;
}

}  // namespace expvar::sink
