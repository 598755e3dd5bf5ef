#include "admin/self_metrics.h"

#include <string>

namespace expvar::admin {
namespace {

// Scrapes of a local /debug/vars take milliseconds; the default timeout is 10 s.
const prometheus::Histogram::BucketBoundaries kScrapeDurationBuckets = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

prometheus::Family<prometheus::Counter>& CounterFamily(prometheus::Registry& registry,
                                                       const std::string& name,
                                                       const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

prometheus::Counter& PlainCounter(prometheus::Registry& registry, const std::string& name,
                                  const std::string& help) {
  return CounterFamily(registry, name, help).Add({});
}

}  // namespace

SelfMetrics::SelfMetrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      exposition_(std::make_shared<common::CollectableSource>(registry_)) {
  auto& registry = *registry_;
  targets_ = &prometheus::BuildGauge()
                  .Name("expvar_collector_targets")
                  .Help("Targets currently scheduled for scraping.")
                  .Register(registry)
                  .Add({});
  auto& scrapes = CounterFamily(registry, "expvar_collector_scrapes_total",
                                "Scrapes of expvar endpoints, by result.");
  scrapes_ok_ = &scrapes.Add({{"result", "ok"}});
  scrapes_fetch_error_ = &scrapes.Add({{"result", "fetch_error"}});
  scrapes_parse_error_ = &scrapes.Add({{"result", "parse_error"}});
  scrape_duration_ = &prometheus::BuildHistogram()
                          .Name("expvar_collector_scrape_duration_seconds")
                          .Help("Time to fetch and parse one expvar document.")
                          .Register(registry)
                          .Add({}, kScrapeDurationBuckets);
  scraped_bytes_ = &PlainCounter(registry, "expvar_collector_scraped_bytes_total",
                                 "Bytes of expvar documents read.");
  series_emitted_ = &PlainCounter(registry, "expvar_collector_series_emitted_total",
                                  "Series produced by the go_expvar check.");
  series_dropped_max_returned_ = &CounterFamily(registry, "expvar_collector_series_dropped_total",
                                                "Series not emitted, by reason.")
                                      .Add({{"reason", "max_returned_metrics"}});
  late_ticks_ = &PlainCounter(registry, "expvar_collector_late_ticks_total",
                              "Scrapes that started later than their scheduled time.");
  auto& config_errors =
      CounterFamily(registry, "expvar_collector_config_errors_total",
                    "Configuration problems (a conf.d file or item, a pod annotation, a template "
                    "variable, a clamp), each counted once when it appears, by what wrote it.");
  config_errors_confd_ = &config_errors.Add({{"source", "confd"}});
  config_errors_annotation_ = &config_errors.Add({{"source", "annotation"}});
  prometheus::BuildGauge()
      .Name("expvar_collector_build_info")
      .Help("Always 1; the version label says which build is running.")
      .Register(registry)
      .Add({{"version", std::string(version)}})
      .Set(1);
}

prometheus::Counter& SelfMetrics::ConfigErrors(std::string_view source) {
  return source == "annotation" ? *config_errors_annotation_ : *config_errors_confd_;
}

prometheus::Counter& SelfMetrics::Scrapes(ScrapeResult result) {
  switch (result) {
    case ScrapeResult::kFetchError:
      return *scrapes_fetch_error_;
    case ScrapeResult::kParseError:
      return *scrapes_parse_error_;
    case ScrapeResult::kOk:
      break;
  }
  return *scrapes_ok_;
}

}  // namespace expvar::admin
