#include "check/pause_ring.h"

#include <gtest/gtest.h>

#include <boost/json/array.hpp>

namespace expvar::check {
namespace {

// A 256-entry ring as Go fills it: GC number g (1-based) stores its pause at (g-1)%256.
// Pause of GC g is 1000+g here, so the expected values can be read off the GC numbers.
boost::json::array RingAfter(std::uint64_t num_gc) {
  boost::json::array ring(256, boost::json::value(0));
  for (std::uint64_t g = 1; g <= num_gc; ++g) ring[(g - 1) % 256] = 1000 + g;
  return ring;
}

std::vector<double> PausesOf(std::uint64_t first_gc, std::uint64_t last_gc) {
  std::vector<double> out;
  for (std::uint64_t g = first_gc; g <= last_gc; ++g) out.push_back(1000.0 + g);
  return out;
}

TEST(PausesSince, FirstSightTakesEveryGcSinceStart) {
  auto fresh = PausesSince(RingAfter(5), 5, std::nullopt);
  EXPECT_EQ(fresh.pauses_ns, PausesOf(1, 5));
  EXPECT_EQ(fresh.missed, 0u);
  EXPECT_TRUE(PausesSince(RingAfter(0), 0, std::nullopt).pauses_ns.empty());
}

TEST(PausesSince, FirstSightAfterWrapTakesTheWholeRingInOrder) {
  auto fresh = PausesSince(RingAfter(300), 300, std::nullopt);
  EXPECT_EQ(fresh.pauses_ns, PausesOf(45, 300));
  EXPECT_EQ(fresh.missed, 44u);
}

TEST(PausesSince, DeltaFromOneTo256) {
  for (std::uint64_t delta : {1u, 2u, 100u, 255u, 256u}) {
    std::uint64_t before = 250, now = before + delta;
    auto fresh = PausesSince(RingAfter(now), now, before);
    EXPECT_EQ(fresh.pauses_ns, PausesOf(before + 1, now)) << delta;
    EXPECT_EQ(fresh.missed, 0u) << delta;
  }
}

TEST(PausesSince, MoreThan256GcsTakesTheRingAndCountsTheOverflow) {
  auto fresh = PausesSince(RingAfter(1000), 1000, 600);
  EXPECT_EQ(fresh.pauses_ns, PausesOf(745, 1000));
  EXPECT_EQ(fresh.missed, 144u);
}

TEST(PausesSince, NoNewGcNothing) {
  EXPECT_TRUE(PausesSince(RingAfter(42), 42, 42).pauses_ns.empty());
}

TEST(PausesSince, RestartTakesOnlyTheNewProcessesGcs) {
  // The old process had done 900 GCs; the new one has done 3, and its ring holds zeros beyond.
  auto fresh = PausesSince(RingAfter(3), 3, 900);
  EXPECT_EQ(fresh.pauses_ns, PausesOf(1, 3));
  EXPECT_EQ(fresh.missed, 0u);
}

TEST(Aggregate, DatadogMedianAnd95thPercentile) {
  // Sorted 1..20: lower median is the 10th value; the 95th is the 19th (19*100 >= 95*20).
  std::vector<double> samples;
  for (int i = 20; i >= 1; --i) samples.push_back(i);
  PauseAggregates agg = Aggregate(samples);
  EXPECT_EQ(agg.count, 20u);
  EXPECT_DOUBLE_EQ(agg.avg, 10.5);
  EXPECT_EQ(agg.median, 10);
  EXPECT_EQ(agg.p95, 19);
  EXPECT_EQ(agg.max, 20);
}

TEST(Aggregate, SmallSamples) {
  PauseAggregates one = Aggregate({7});
  EXPECT_EQ(one.median, 7);
  EXPECT_EQ(one.p95, 7);
  PauseAggregates two = Aggregate({9, 3});
  EXPECT_EQ(two.median, 3);  // lower median
  EXPECT_EQ(two.p95, 9);
  PauseAggregates three = Aggregate({1, 2, 3});
  EXPECT_EQ(three.median, 2);
  EXPECT_EQ(three.p95, 3);
}

}  // namespace
}  // namespace expvar::check
