// Helpers shared by the DogStatsD tests: readings, snapshots and addresses built in one line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pipeline/sink.h"
#include "sink/dogstatsd_address.h"

namespace expvar::sink::testing {

using pipeline::ScrapeSnapshot;

using V = std::vector<std::string>;

inline pipeline::Reading Make(std::string name, pipeline::MetricType type,
                              std::optional<double> report, V tags = {}, bool is_default = false) {
  pipeline::Reading reading;
  reading.key = pipeline::MakeSeriesKey(std::move(name), std::move(tags), "custom");
  reading.type = type;
  reading.raw = report.value_or(0);
  reading.report = report;
  reading.is_default = is_default;
  return reading;
}

inline ScrapeSnapshot Snapshot(std::vector<pipeline::Reading> readings,
                               std::vector<double> pauses = {}) {
  ScrapeSnapshot snapshot;
  snapshot.target_id = "pod/c";
  snapshot.url = "http://10.0.0.1:8080/debug/vars";
  snapshot.metric_namespace = "go_expvar";
  snapshot.readings = std::move(readings);
  snapshot.pause_metric_name = "go_expvar.memstats.pause_ns";
  snapshot.pause_tags = {"expvar_url:http://10.0.0.1:8080/debug/vars"};
  snapshot.pauses_ns = std::move(pauses);
  return snapshot;
}

// Every field, empty ones included.
inline V Split(std::string_view text, char separator) {
  V parts;
  for (std::size_t start = 0;;) {
    std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

inline DogStatsDAddress Udp(std::string host, std::uint16_t port = 8125) {
  DogStatsDAddress address;
  address.kind = DogStatsDAddress::kUdp;
  address.host = std::move(host);
  address.port = port;
  return address;
}

inline DogStatsDAddress Unix(std::string path) {
  DogStatsDAddress address;
  address.kind = DogStatsDAddress::kUnix;
  address.path = std::move(path);
  return address;
}

}  // namespace expvar::sink::testing
