#include "check/pause_ring.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <numeric>

#include "check/value.h"

namespace expvar::check {

NewPauses PausesSince(const boost::json::array& ring, std::uint64_t num_gc,
                      std::optional<std::uint64_t> previous_num_gc) {
  NewPauses result;
  if (ring.empty()) return result;
  std::uint64_t since = previous_num_gc.value_or(0);
  if (since > num_gc) since = 0;  // restarted: count from its first GC
  std::uint64_t fresh = num_gc - since;
  std::uint64_t kept = std::min<std::uint64_t>(fresh, ring.size());
  result.missed = fresh - kept;
  result.pauses_ns.reserve(kept);
  for (std::uint64_t gc = num_gc - kept + 1; gc <= num_gc; ++gc) {
    auto value = ReportableNumber(ring[(gc - 1) % ring.size()]);
    if (value) result.pauses_ns.push_back(*value);
  }
  return result;
}

PauseAggregates Aggregate(std::vector<double> samples) {
  PauseAggregates out;
  if (samples.empty()) return out;
  std::sort(samples.begin(), samples.end());
  std::size_t n = samples.size();
  out.count = n;
  out.avg = std::accumulate(samples.begin(), samples.end(), 0.0) / static_cast<double>(n);
  out.max = samples.back();
  // The first sample whose 1-based rank r satisfies r > (p*n - 1)/100, i.e. r*100 >= p*n.
  auto rank_index = [n](std::size_t percent) { return (percent * n + 99) / 100 - 1; };
  out.median = samples[rank_index(50)];
  out.p95 = samples[rank_index(95)];
  return out;
}

}  // namespace expvar::check
