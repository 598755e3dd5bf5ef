#include "common/exposition.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cmath>
#include <limits>

#include "admin/gzip.h"
#include "support/gunzip.h"

namespace expvar::admin {
namespace {

using common::AppendText;

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Ours(const std::vector<MetricFamily>& families) {
  std::string out;
  AppendText(families, out);
  return out;
}

ClientMetric WithLabels(std::vector<ClientMetric::Label> labels) {
  ClientMetric metric;
  metric.label = std::move(labels);
  return metric;
}

MetricFamily Family(std::string name, MetricType type, std::string help = "") {
  MetricFamily family;
  family.name = std::move(name);
  family.type = type;
  family.help = std::move(help);
  return family;
}

// The output must stay byte for byte what prometheus-cpp writes, so the serializer is the oracle.
TEST(AppendText, WritesWhatTextSerializerWritesForEveryValueShape) {
  MetricFamily gauge = Family("g", MetricType::Gauge, "a gauge");
  for (double value : {0.0, -0.0, 1.0, 3.0, 0.1, 1.0 / 3, 1e20, 1e-7, 123456789.0, 4096.0,
                       9007199254740993.0, -2.5e-300, std::nan(""), kInf, -kInf}) {
    ClientMetric metric = WithLabels({{"v", std::to_string(gauge.metric.size())}});
    metric.gauge.value = value;
    gauge.metric.push_back(metric);
  }
  MetricFamily counter = Family("c_total", MetricType::Counter);  // no HELP line
  ClientMetric plain;
  plain.counter.value = 17;
  counter.metric.push_back(plain);
  ClientMetric escaped = WithLabels({{"a", "back\\slash \"quoted\"\nnewline"}, {"b", ""}});
  escaped.counter.value = 2.5;
  escaped.timestamp_ms = 1700000000123;
  counter.metric.push_back(escaped);
  MetricFamily untyped = Family("u", MetricType::Untyped, "x");
  ClientMetric u;
  u.untyped.value = 42;
  untyped.metric.push_back(u);

  MetricFamily histogram = Family("h_seconds", MetricType::Histogram, "pauses");
  ClientMetric h = WithLabels({{"pod", "p"}});
  h.histogram.sample_count = 5;
  h.histogram.sample_sum = 0.000123456789012345678;
  std::uint64_t cumulative = 0;
  for (double bound : {10e-6, 25e-6, 50e-6, 2.5e-3, 0.1, kInf}) {
    h.histogram.bucket.push_back({++cumulative, bound});
  }
  histogram.metric.push_back(h);
  ClientMetric no_inf;  // without a +Inf bucket, and without labels: the serializer adds one
  no_inf.histogram.sample_count = 3;
  no_inf.histogram.bucket.push_back({1, 0.5});
  histogram.metric.push_back(no_inf);

  MetricFamily summary = Family("s", MetricType::Summary, "a summary");
  ClientMetric s = WithLabels({{"k", "v"}});
  s.summary.sample_count = 9;
  s.summary.sample_sum = 1.5;
  s.summary.quantile = {{0.5, 0.1}, {0.99, 0.75}};
  summary.metric.push_back(s);

  std::vector<MetricFamily> families{gauge, counter, untyped, histogram, summary};
  std::string expected = prometheus::TextSerializer().Serialize(families);
  EXPECT_EQ(Ours(families), expected);
  EXPECT_NE(expected.find("le=\"+Inf\"} 3\n"), std::string::npos);  // the oracle did add it
}

TEST(AppendText, AppendsAfterWhatIsAlreadyThere) {
  std::string out = "kept\n";
  AppendText({Family("e", MetricType::Gauge)}, out);
  EXPECT_EQ(out, "kept\n# TYPE e gauge\n");
}

TEST(AcceptsGzip, FollowsTheCodingsAndTheirWeights) {
  for (const char* yes : {"gzip", "GZIP", "deflate, gzip", "gzip;q=0.5", "br;q=1, gzip ; q=0.001",
                          "*", "identity, *;q=0.1"}) {
    EXPECT_TRUE(AcceptsGzip(yes)) << yes;
  }
  for (const char* no :
       {"", "identity", "deflate, br", "gzip;q=0", "gzip;Q=0.000", "x-gzip", "gzipped", "*;q=0"}) {
    EXPECT_FALSE(AcceptsGzip(no)) << no;
  }
}

TEST(Gzip, RoundTripsAndShrinksRepetitiveText) {
  std::string text;
  for (int i = 0; i < 2000; ++i) {
    text += "go_expvar_memstats_alloc_bytes{pod_name=\"app-" + std::to_string(i) + "\"} 4096\n";
  }
  std::string compressed = Gzip(text);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8b);
  EXPECT_LT(compressed.size(), text.size() / 5);
  EXPECT_EQ(testing::Gunzip(compressed), text);
  EXPECT_EQ(testing::Gunzip(Gzip("")), "");
}

TEST(GzipStream, PiecesMakeOneMemberOfTheirConcatenation) {
  std::string text;
  GzipStream stream;
  for (int i = 0; i < 5000; ++i) {
    std::string piece =
        "series_" + std::to_string(i * 7919 % 10007) + " " + std::to_string(i) + "\n";
    stream.Append(piece);
    stream.Append("");
    text += piece;
  }
  std::string compressed = stream.Finish();
  EXPECT_EQ(testing::Gunzip(compressed), text);
  EXPECT_LT(compressed.size(), text.size() / 2);
}

TEST(ExpositionWriter, EachFamilyNameIsClaimedOnce) {
  common::ExpositionWriter writer;
  EXPECT_TRUE(writer.Claim("a"));
  EXPECT_TRUE(writer.Claim("b"));
  EXPECT_FALSE(writer.Claim("a"));
  writer.text() = "x\n";
  EXPECT_EQ(writer.Size(), 2u);
  EXPECT_EQ(writer.Finish(), "x\n");
}

TEST(ExpositionWriter, DrainsWholeChunksAtCheckpointsAndTheRestAtFinish) {
  std::vector<std::size_t> chunks;
  std::string drained;
  common::ExpositionWriter writer([&](std::string_view chunk) {
    chunks.push_back(chunk.size());
    drained.append(chunk);
  });
  std::string expected;
  std::string line(1000, 'x');
  line.back() = '\n';
  for (int i = 0; i < 600; ++i) {
    writer.text().append(line);
    expected.append(line);
    writer.Checkpoint();
  }
  EXPECT_EQ(writer.Size(), expected.size());
  EXPECT_EQ(writer.Finish(), "");
  EXPECT_EQ(drained, expected);
  ASSERT_EQ(chunks.size(), 3u);  // two full chunks at checkpoints, the rest at Finish
  EXPECT_GE(chunks[0], common::ExpositionWriter::kChunkBytes);
  EXPECT_LT(chunks[0], common::ExpositionWriter::kChunkBytes + line.size());
}

TEST(CollectableSource, WritesTheFamiliesItsWriterLetsItClaim) {
  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::BuildCounter().Name("taken").Help("h").Register(*registry).Add({}).Increment();
  prometheus::BuildCounter().Name("mine").Help("h").Register(*registry).Add({}).Increment(2);
  common::CollectableSource source(registry);
  common::ExpositionWriter writer;
  ASSERT_TRUE(writer.Claim("taken"));
  source.AppendExposition(writer);
  EXPECT_EQ(writer.Finish(), "# HELP mine h\n# TYPE mine counter\nmine 2\n");
}

}  // namespace
}  // namespace expvar::admin
