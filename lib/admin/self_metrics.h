// The collector's own metrics, named by Prometheus conventions, in one registry for /metrics.
// (Each sink exposes its own delivery counters: see sink/registry.h.)
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string_view>

#include "common/exposition.h"

namespace expvar::admin {

enum class ScrapeResult { kOk, kFetchError, kParseError };

// Every series is created up front (labelled ones for each label value), so dashboards and
// alerts see zeros instead of gaps. The accessors return references that stay valid for the
// lifetime of the registry; prometheus-cpp metrics are thread-safe to update.
class SelfMetrics {
 public:
  explicit SelfMetrics(std::string_view version);

  // What /metrics collects; shared so the admin server can hold it as a weak_ptr.
  std::shared_ptr<prometheus::Registry> Registry() const { return registry_; }
  // The registry as a /metrics source.
  std::shared_ptr<const common::ExpositionSource> Exposition() const { return exposition_; }

  prometheus::Gauge& Targets() { return *targets_; }
  prometheus::Counter& Scrapes(ScrapeResult result);
  prometheus::Histogram& ScrapeDuration() { return *scrape_duration_; }  // seconds
  prometheus::Counter& ScrapedBytes() { return *scraped_bytes_; }
  prometheus::Counter& SeriesEmitted() { return *series_emitted_; }
  prometheus::Counter& SeriesDroppedMaxReturned() { return *series_dropped_max_returned_; }
  prometheus::Counter& LateTicks() { return *late_ticks_; }
  // By what wrote the configuration: "confd" (operator files) or "annotation" (pods); any other
  // value counts as "confd".
  prometheus::Counter& ConfigErrors(std::string_view source);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<const common::ExpositionSource> exposition_;
  prometheus::Gauge* targets_;
  prometheus::Counter* scrapes_ok_;
  prometheus::Counter* scrapes_fetch_error_;
  prometheus::Counter* scrapes_parse_error_;
  prometheus::Histogram* scrape_duration_;
  prometheus::Counter* scraped_bytes_;
  prometheus::Counter* series_emitted_;
  prometheus::Counter* series_dropped_max_returned_;
  prometheus::Counter* late_ticks_;
  prometheus::Counter* config_errors_confd_;
  prometheus::Counter* config_errors_annotation_;
};

}  // namespace expvar::admin
