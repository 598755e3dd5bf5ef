// Picks the GC pauses that happened since the previous scrape out of Go's PauseNs ring buffer.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <vector>

namespace expvar::check {

struct NewPauses {
  std::vector<double> pauses_ns;  // oldest first
  std::uint64_t missed = 0;       // GCs whose pause was already overwritten in the ring
};

// MemStats.PauseNs[(n+255)%256] holds the pause of GC number n. Given NumGC now and at the
// previous scrape (nullopt at first sight), returns the pauses of the GCs in between. When NumGC
// went down the target restarted, and every GC since its start is new.
NewPauses PausesSince(const boost::json::array& ring, std::uint64_t num_gc,
                      std::optional<std::uint64_t> previous_num_gc);

// Datadog's histogram aggregates over one flush: avg, lower median, max, 95th percentile, count.
struct PauseAggregates {
  double avg = 0;
  double median = 0;
  double max = 0;
  double p95 = 0;
  std::size_t count = 0;
};
PauseAggregates Aggregate(std::vector<double> samples);

}  // namespace expvar::check
