// Golden tests: recorded /debug/vars documents from the real goapp and etcd, run through the
// check with the confs in tests/fixtures/golden/, against expectations written by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>

#include "check/check.h"
#include "common/datadog_naming.h"
#include "config/conf_file.h"

namespace expvar::check {

using common::NormalizeMetricName;

namespace {

const std::string kFixtures = EXPVAR_FIXTURES_DIR;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Plan PlanFor(const std::string& conf_name) {
  config::ConfFile conf = config::LoadConfFile(kFixtures + "/golden/" + conf_name);
  EXPECT_EQ(conf.instances.size(), 1u);
  return Compile(conf.instances.at(0));
}

// "name|type|tag,tag" -> value, in order; compared exactly except for floating point noise.
std::vector<std::pair<std::string, double>> Expected(const std::string& file) {
  std::vector<std::pair<std::string, double>> out;
  std::istringstream lines(ReadFile(kFixtures + "/golden/" + file));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    auto o = boost::json::parse(line).as_object();
    std::string key =
        std::string(o.at("name").as_string()) + "|" + std::string(o.at("type").as_string()) + "|";
    for (const auto& tag : o.at("tags").as_array()) key += std::string(tag.as_string()) + ",";
    out.emplace_back(key, o.at("value").to_number<double>());
  }
  return out;
}

std::vector<std::pair<std::string, double>> Actual(const std::vector<Series>& series) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& s : series) {
    std::string key = s.name + "|" + std::string(ReportKindName(s.kind)) + "|";
    for (const auto& tag : s.tags) key += tag + ",";
    out.emplace_back(key, s.value);
  }
  return out;
}

void ExpectSameSeries(const std::vector<Series>& series, const std::string& expected_file) {
  auto expected = Expected(expected_file);
  auto actual = Actual(series);
  ASSERT_EQ(actual.size(), expected.size()) << expected_file;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(actual[i].first, expected[i].first) << expected_file << " line " << i + 1;
    EXPECT_DOUBLE_EQ(actual[i].second, expected[i].second) << expected[i].first;
  }
}

struct GoldenCase {
  const char* fixture;
  const char* conf;
  const char* expected;
  std::size_t document_errors;
};

class GoldenFirstRun : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenFirstRun, MatchesTheHandWrittenSeries) {
  const GoldenCase& c = GetParam();
  Plan plan = PlanFor(c.conf);
  State state;
  Result result = check::Run(plan, ReadFile(kFixtures + "/" + c.fixture), state, 100.0);
  ASSERT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.document_errors.size(), c.document_errors);
  ExpectSameSeries(DatadogSeries(plan, result), c.expected);
}

INSTANTIATE_TEST_SUITE_P(Recorded, GoldenFirstRun,
                         ::testing::Values(GoldenCase{"goapp_traffic.json", "goapp.conf.yaml",
                                                      "goapp_traffic.expected.jsonl", 0},
                                           GoldenCase{"etcd.json", "etcd.conf.yaml",
                                                      "etcd.expected.jsonl", 0},
                                           GoldenCase{"malformed_one_value.json", "goapp.conf.yaml",
                                                      "malformed_one_value.expected.jsonl", 1},
                                           GoldenCase{"no_memstats.json", "goapp.conf.yaml",
                                                      "no_memstats.expected.jsonl", 0}));

boost::json::object Memstats(const std::string& fixture) {
  return boost::json::parse(ReadFile(kFixtures + "/" + fixture)).at("memstats").as_object();
}

double Field(const boost::json::object& memstats, const char* name) {
  return memstats.at(name).to_number<double>();
}

const Series& Find(const std::vector<Series>& series, const std::string& name) {
  for (const auto& s : series) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no series " + name);
}

// traffic (NumGC 3) then gc300 (NumGC 303) 15 s later: rates from the two documents, and the
// pause histogram over the whole ring because 300 GCs overflowed its 256 entries.
TEST(GoldenSecondRun, RatesAndAWrappedPauseRing) {
  Plan plan = PlanFor("goapp.conf.yaml");
  State state;
  ASSERT_TRUE(check::Run(plan, ReadFile(kFixtures + "/goapp_traffic.json"), state, 100.0).ok);
  Result result = check::Run(plan, ReadFile(kFixtures + "/goapp_gc300.json"), state, 115.0);
  ASSERT_TRUE(result.ok);
  auto series = DatadogSeries(plan, result);
  auto before = Memstats("goapp_traffic.json");
  auto after = Memstats("goapp_gc300.json");

  for (const char* field : {"Mallocs", "Frees", "Lookups", "PauseTotalNs", "NumGC"}) {
    std::string name = NormalizeMetricName(std::string("memstats.") + field, "go_expvar");
    const Series& rate = Find(series, name);
    EXPECT_EQ(rate.kind, ReportKind::kRate) << name;
    EXPECT_DOUBLE_EQ(rate.value, (Field(after, field) - Field(before, field)) / 15.0) << name;
  }
  EXPECT_DOUBLE_EQ(Find(series, "go_expvar.memstats.num_gc").value, 20.0);  // 300 GCs / 15 s
  const Series& total_alloc = Find(series, "go_expvar.memstats.total_alloc.count");
  EXPECT_EQ(total_alloc.kind, ReportKind::kCount);
  EXPECT_DOUBLE_EQ(total_alloc.value, Field(after, "TotalAlloc") - Field(before, "TotalAlloc"));

  EXPECT_EQ(result.pauses.missed, 300u - 256u);
  std::vector<double> ring;
  for (const auto& v : after.at("PauseNs").as_array()) ring.push_back(v.to_number<double>());
  ASSERT_EQ(ring.size(), 256u);
  EXPECT_DOUBLE_EQ(Find(series, "go_expvar.memstats.pause_ns.count").value, 256);
  EXPECT_DOUBLE_EQ(Find(series, "go_expvar.memstats.pause_ns.max").value,
                   *std::max_element(ring.begin(), ring.end()));
  EXPECT_DOUBLE_EQ(Find(series, "go_expvar.memstats.pause_ns.avg").value,
                   std::accumulate(ring.begin(), ring.end(), 0.0) / 256);
  std::sort(ring.begin(), ring.end());
  EXPECT_DOUBLE_EQ(Find(series, "go_expvar.memstats.pause_ns.median").value, ring[127]);
  EXPECT_DOUBLE_EQ(Find(series, "go_expvar.memstats.pause_ns.95percentile").value, ring[243]);
}

// gc300 then fresh: the target restarted (NumGC 303 -> 0); no stale pauses, no negative rates.
TEST(GoldenSecondRun, RestartedTargetReportsNoStaleData) {
  Plan plan = PlanFor("goapp.conf.yaml");
  State state;
  ASSERT_TRUE(check::Run(plan, ReadFile(kFixtures + "/goapp_gc300.json"), state, 100.0).ok);
  Result result = check::Run(plan, ReadFile(kFixtures + "/goapp_fresh.json"), state, 115.0);
  ASSERT_TRUE(result.ok);
  EXPECT_TRUE(result.pauses.pauses_ns.empty());
  auto series = DatadogSeries(plan, result);
  for (const auto& s : series) EXPECT_GE(s.value, 0) << s.name;
  // Counters that went down are resets: no rate at all rather than a negative one.
  for (const char* name : {"go_expvar.memstats.mallocs", "go_expvar.memstats.num_gc",
                           "go_expvar.memstats.pause_total_ns"}) {
    EXPECT_THROW(Find(series, name), std::runtime_error) << name;
  }
  EXPECT_DOUBLE_EQ(Find(series, "go_expvar.memstats.total_alloc.count").value, 0);
}

}  // namespace
}  // namespace expvar::check
