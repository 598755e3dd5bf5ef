#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "pipeline/instance.h"
#include "pipeline/pod.h"
#include "pipeline/snapshot.h"

namespace expvar::pipeline {
namespace {

TEST(MetricTypeTest, ParsesEveryDatadogTypeAndRoundTrips) {
  const std::vector<std::pair<std::string, MetricType>> cases = {
      {"gauge", MetricType::kGauge},
      {"rate", MetricType::kRate},
      {"count", MetricType::kCount},
      {"counter", MetricType::kCounter},
      {"monotonic_counter", MetricType::kMonotonicCounter},
  };
  for (const auto& [text, type] : cases) {
    EXPECT_EQ(ParseMetricType(text), type) << text;
    EXPECT_EQ(MetricTypeName(type), text);
  }
}

TEST(MetricTypeTest, RejectsWhatDatadogRejects) {
  for (const char* text : {"histogram", "Gauge", " gauge", "", "monotonic_count", "distribution"}) {
    EXPECT_EQ(ParseMetricType(text), std::nullopt) << '"' << text << '"';
  }
}

TEST(ReportKindTest, RatesStayRatesAndEveryCountingTypeIsACount) {
  EXPECT_EQ(ReportKindOf(MetricType::kGauge), ReportKind::kGauge);
  EXPECT_EQ(ReportKindOf(MetricType::kRate), ReportKind::kRate);
  for (MetricType type :
       {MetricType::kCount, MetricType::kCounter, MetricType::kMonotonicCounter}) {
    EXPECT_EQ(ReportKindOf(type), ReportKind::kCount) << MetricTypeName(type);
  }
  EXPECT_EQ(ReportKindName(ReportKind::kGauge), "gauge");
  EXPECT_EQ(ReportKindName(ReportKind::kCount), "count");
  EXPECT_EQ(ReportKindName(ReportKind::kRate), "rate");
}

TEST(PodTest, FindContainerByName) {
  Pod pod;
  pod.containers.resize(2);
  pod.containers[0].name = "app";
  pod.containers[0].ports = {{"metrics", 9000, "TCP"}};
  pod.containers[1].name = "sidecar";
  ASSERT_NE(pod.FindContainer("sidecar"), nullptr);
  EXPECT_FALSE(pod.FindContainer("sidecar")->running);
  EXPECT_EQ(pod.FindContainer("app")->ports[0].port, 9000);
  EXPECT_EQ(pod.FindContainer("missing"), nullptr);
}

}  // namespace
}  // namespace expvar::pipeline
