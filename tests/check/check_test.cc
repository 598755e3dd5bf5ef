#include "check/check.h"

#include <gtest/gtest.h>

#include <map>

namespace expvar::check {

using pipeline::MetricType;

namespace {

using V = std::vector<std::string>;

pipeline::Instance BaseInstance() {
  pipeline::Instance instance;
  instance.expvar_url = "http://127.0.0.1:8080";
  instance.tags = {"env:test"};
  return instance;
}

pipeline::MetricSpec Item(std::string path, MetricType type = MetricType::kGauge,
                          std::optional<std::string> alias = std::nullopt, V tags = {}) {
  return pipeline::MetricSpec{std::move(path), type, std::move(alias), std::move(tags)};
}

// A memstats object with the fields the defaults read; every value derived from `base`.
std::string Memstats(int base, int num_gc = 0) {
  return R"("memstats": {"Alloc": )" + std::to_string(base) + R"(, "TotalAlloc": )" +
         std::to_string(base * 10) +
         R"(, "HeapAlloc": 1, "HeapSys": 2, "HeapIdle": 3, "HeapInuse": 4, "HeapReleased": 5,)"
         R"( "HeapObjects": 6, "Lookups": 0, "Mallocs": )" +
         std::to_string(base * 2) + R"(, "Frees": )" + std::to_string(base) +
         R"(, "PauseTotalNs": 100, "NumGC": )" + std::to_string(num_gc) + R"(, "PauseNs": [)" +
         [num_gc] {
           std::string ring;
           for (int i = 0; i < 256; ++i)
             ring += (i ? "," : "") + std::to_string(i < num_gc ? 10 * (i + 1) : 0);
           return ring;
         }() +
         "]}";
}

std::map<std::string, Series> ByName(const std::vector<Series>& series) {
  std::map<std::string, Series> out;
  for (const auto& s : series) out.emplace(s.name, s);
  return out;
}

V Names(const std::vector<Series>& series) {
  V out;
  for (const auto& s : series) out.push_back(s.name);
  return out;
}

TEST(FinalUrl, AppendsDebugVarsOnlyWhenThePathIsEmpty) {
  EXPECT_EQ(FinalUrl("http://127.0.0.1:8080"), "http://127.0.0.1:8080/debug/vars");
  EXPECT_EQ(FinalUrl("http://127.0.0.1:8080/"), "http://127.0.0.1:8080/");
  EXPECT_EQ(FinalUrl("http://127.0.0.1:8080/custom/vars"), "http://127.0.0.1:8080/custom/vars");
  EXPECT_EQ(FinalUrl("http://127.0.0.1:8080?x=1"), "http://127.0.0.1:8080/debug/vars?x=1");
  EXPECT_EQ(FinalUrl("http://[::1]:9"), "http://[::1]:9/debug/vars");
}

TEST(FinalUrl, NeverKeepsCredentials) {
  std::string url = FinalUrl("http://user:s3cret@127.0.0.1:8080/debug/vars");
  EXPECT_EQ(url.find("s3cret"), std::string::npos);
  EXPECT_EQ(url, "http://127.0.0.1:8080/debug/vars");
  EXPECT_THROW(FinalUrl("not a url"), std::invalid_argument);
}

TEST(CheckRun, RegexWorkPastTheRunBudgetIsAWarningAndTheRestComesLater) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("big/(.*){1,500}[0-9]")};
  Plan plan = Compile(instance);
  ASSERT_TRUE(plan.warnings.empty());
  std::string doc = R"({"big": {)";
  for (int i = 0; i < 40; ++i) {
    doc += (i ? "," : "") + ("\"" + std::string(3000, 'k') + std::to_string(i) + "\": 1");
  }
  doc += "}}";
  State state;
  Result first = check::Run(plan, doc, state, 1.0);
  ASSERT_TRUE(first.ok) << first.error;
  ASSERT_FALSE(first.document_errors.empty());
  EXPECT_NE(first.document_errors.back().find("matching budget"), std::string::npos);
  std::size_t custom = first.readings.size() - first.default_readings;
  EXPECT_LT(custom, 40u);
  for (int run = 2; run < 100 && custom < 40; ++run) {
    Result next = check::Run(plan, doc, state, run);
    custom = next.readings.size() - next.default_readings;
  }
  EXPECT_EQ(custom, 40u);  // the memo carries each run's progress to the next
}

TEST(CheckRun, DefaultsComeFirstInDatadogOrderWithInstanceAndUrlTags) {
  Plan plan = Compile(BaseInstance());
  State state;
  Result result = check::Run(plan, "{" + Memstats(100) + "}", state, 1.0);
  ASSERT_TRUE(result.ok) << result.error;
  // First run: gauges only; rates and the monotonic count need a previous value.
  EXPECT_EQ(Names(DatadogSeries(plan, result)),
            (V{"go_expvar.memstats.alloc", "go_expvar.memstats.total_alloc",
               "go_expvar.memstats.heap_alloc", "go_expvar.memstats.heap_sys",
               "go_expvar.memstats.heap_idle", "go_expvar.memstats.heap_inuse",
               "go_expvar.memstats.heap_released", "go_expvar.memstats.heap_objects"}));
  for (const auto& s : DatadogSeries(plan, result)) {
    EXPECT_EQ(s.tags, (V{"env:test", "expvar_url:http://127.0.0.1:8080/debug/vars"}));
    EXPECT_EQ(s.kind, ReportKind::kGauge);
  }
  EXPECT_EQ(result.readings.size(), 14u);  // 13 defaults + total_alloc.count, all read
}

TEST(CheckRun, SecondRunAddsRatesAndTheMonotonicCount) {
  Plan plan = Compile(BaseInstance());
  State state;
  ASSERT_TRUE(check::Run(plan, "{" + Memstats(100) + "}", state, 10.0).ok);
  Result second = check::Run(plan, "{" + Memstats(150) + "}", state, 15.0);
  auto series = ByName(DatadogSeries(plan, second));
  EXPECT_EQ(series.at("go_expvar.memstats.mallocs").kind, ReportKind::kRate);
  EXPECT_DOUBLE_EQ(series.at("go_expvar.memstats.mallocs").value, (300.0 - 200.0) / 5.0);
  EXPECT_DOUBLE_EQ(series.at("go_expvar.memstats.frees").value, 10.0);
  EXPECT_DOUBLE_EQ(series.at("go_expvar.memstats.lookups").value, 0.0);
  EXPECT_EQ(series.at("go_expvar.memstats.total_alloc.count").kind, ReportKind::kCount);
  EXPECT_DOUBLE_EQ(series.at("go_expvar.memstats.total_alloc.count").value, 500.0);
  EXPECT_EQ(series.size(), 14u);
}

TEST(CheckRun, RateIsSkippedAcrossACounterReset) {
  Plan plan = Compile(BaseInstance());
  State state;
  ASSERT_TRUE(check::Run(plan, "{" + Memstats(100) + "}", state, 10.0).ok);
  auto after_reset =
      ByName(DatadogSeries(plan, check::Run(plan, "{" + Memstats(50) + "}", state, 20.0)));
  EXPECT_EQ(after_reset.count("go_expvar.memstats.mallocs"), 0u);
  EXPECT_DOUBLE_EQ(after_reset.at("go_expvar.memstats.total_alloc.count").value, 0.0);
  // The next run measures from the reset value.
  auto next = ByName(DatadogSeries(plan, check::Run(plan, "{" + Memstats(60) + "}", state, 30.0)));
  EXPECT_DOUBLE_EQ(next.at("go_expvar.memstats.mallocs").value, (120.0 - 100.0) / 10.0);
}

TEST(CheckRun, EachTypeAcrossTwoRuns) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("g", MetricType::kGauge), Item("r", MetricType::kRate),
                      Item("c", MetricType::kCount), Item("k", MetricType::kCounter),
                      Item("m", MetricType::kMonotonicCounter)};
  Plan plan = Compile(instance);
  State state;
  auto run = [&](int v, double t) {
    std::string doc = "{\"g\": " + std::to_string(v) + ", \"r\": " + std::to_string(v) +
                      ", \"c\": " + std::to_string(v) + ", \"k\": " + std::to_string(v) +
                      ", \"m\": " + std::to_string(v) + "}";
    return ByName(DatadogSeries(plan, check::Run(plan, doc, state, t)));
  };
  auto first = run(10, 100.0);
  EXPECT_EQ(first.at("go_expvar.g").value, 10);
  EXPECT_EQ(first.at("go_expvar.c").value, 10);
  EXPECT_EQ(first.at("go_expvar.c").kind, ReportKind::kCount);
  EXPECT_EQ(first.at("go_expvar.k").value, 10);
  EXPECT_EQ(first.at("go_expvar.k").kind, ReportKind::kCount);
  EXPECT_EQ(first.count("go_expvar.r"), 0u);
  EXPECT_EQ(first.count("go_expvar.m"), 0u);
  auto second = run(40, 110.0);
  EXPECT_EQ(second.at("go_expvar.g").value, 40);
  EXPECT_DOUBLE_EQ(second.at("go_expvar.r").value, 3.0);
  EXPECT_EQ(second.at("go_expvar.r").kind, ReportKind::kRate);
  EXPECT_EQ(second.at("go_expvar.c").value, 40);
  EXPECT_EQ(second.at("go_expvar.m").value, 30);
  EXPECT_EQ(second.at("go_expvar.m").kind, ReportKind::kCount);
}

TEST(CheckRun, FailedScrapeKeepsStateSoTheNextRateSpansTheGap) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("r", MetricType::kRate)};
  Plan plan = Compile(instance);
  State state;
  ASSERT_TRUE(check::Run(plan, R"({"r": 100})", state, 0.0).ok);
  Result failed = check::Run(plan, "<html>oops</html>", state, 10.0);
  EXPECT_FALSE(failed.ok);
  EXPECT_FALSE(failed.error.empty());
  auto series = ByName(DatadogSeries(plan, check::Run(plan, R"({"r": 300})", state, 20.0)));
  EXPECT_DOUBLE_EQ(series.at("go_expvar.r").value, 10.0);
}

TEST(CheckRun, AliasIsVerbatimWithAPathTagAfterItemInstanceAndUrlTags) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("http/.*/count", MetricType::kGauge, "App.HTTP-count", {"team:web"})};
  Plan plan = Compile(instance);
  State state;
  auto series = DatadogSeries(
      plan, check::Run(plan, R"({"http": {"GET": {"count": 3}, "POST": {"count": 4}}})", state, 1));
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].name, "App.HTTP-count");
  EXPECT_EQ(series[0].tags,
            (V{"team:web", "env:test", "expvar_url:http://127.0.0.1:8080/debug/vars",
               "path:http.GET.count"}));
  EXPECT_EQ(series[1].tags.back(), "path:http.POST.count");
}

TEST(CheckRun, EmptyAliasKeepsTheNormalizedNameButAddsThePathTag) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("HTTPServer", MetricType::kGauge, "")};
  Plan plan = Compile(instance);
  State state;
  auto series = DatadogSeries(plan, check::Run(plan, R"({"HTTPServer": 2})", state, 1));
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series[0].name, "go_expvar.http_server");
  EXPECT_EQ(series[0].tags.back(), "path:HTTPServer");
}

TEST(CheckRun, TagsAreDeduplicatedKeepingTheFirst) {
  pipeline::Instance instance = BaseInstance();
  instance.tags = {"env:test", "b:1", "env:test", "expvar_url:http://127.0.0.1:8080/debug/vars"};
  instance.metrics = {Item("x", MetricType::kGauge, std::nullopt, {"b:1", "a:0"})};
  Plan plan = Compile(instance);
  State state;
  auto series = ByName(DatadogSeries(plan, check::Run(plan, R"({"x": 1})", state, 1)));
  EXPECT_EQ(series.at("go_expvar.x").tags,
            (V{"b:1", "a:0", "env:test", "expvar_url:http://127.0.0.1:8080/debug/vars"}));
}

TEST(CheckRun, AWildcardReMatchingADefaultLeavesTheDefaultInPlace) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("memstats/.*", MetricType::kGauge)};
  Plan plan = Compile(instance);
  State state;
  auto series = DatadogSeries(plan, check::Run(plan, "{" + Memstats(100) + "}", state, 1));
  int alloc_count = 0;
  for (const auto& s : series) alloc_count += s.name == "go_expvar.memstats.alloc";
  EXPECT_EQ(alloc_count, 1);
  EXPECT_EQ(series.front().name, "go_expvar.memstats.alloc");
}

TEST(CheckRun, CoercionSkipsUnreportableValuesWithANote) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item(".*")};
  Plan plan = Compile(instance);
  State state;
  Result result = check::Run(
      plan,
      R"({"n": 1, "s": " 2.5 ", "t": true, "f": false, "o": {}, "a": [1], "z": null, "w": "abc"})",
      state, 1);
  V got;
  for (const auto& s : DatadogSeries(plan, result))
    got.push_back(s.name + "=" + std::to_string(s.value));
  EXPECT_EQ(got, (V{"go_expvar.n=1.000000", "go_expvar.s=2.500000", "go_expvar.t=1.000000",
                    "go_expvar.f=0.000000"}));
  EXPECT_EQ(result.notes.size(), 4u);
}

TEST(CheckRun, CapStopsAtMaxReturnedMetricsAndCountsTheRest) {
  pipeline::Instance instance = BaseInstance();
  instance.max_returned_metrics = 16;  // 14 defaults + 2 custom
  instance.metrics = {Item("v/.*")};
  Plan plan = Compile(instance);
  State state;
  Result result = check::Run(
      plan, "{" + Memstats(1) + R"(, "v": {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}})", state, 1);
  EXPECT_EQ(result.readings.size(), 16u);
  EXPECT_EQ(result.dropped_by_cap, 3u);
  EXPECT_EQ(result.readings.back().name(), "go_expvar.v.b");
}

// A steady scrape names nothing anew: literal items are named by the plan, regex matches once
// per target, and every run's readings point at those keys.
TEST(CheckRun, ReadingsShareTheSeriesKeysOfThePlanAndOfEarlierRuns) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("v/.*"), Item("n")};
  Plan plan = Compile(instance);
  State state;
  const std::string document = "{" + Memstats(1) + R"(, "v": {"a": 1, "b": 2}, "n": 3})";
  Result first = check::Run(plan, document, state, 1);
  Result second = check::Run(plan, document, state, 2);
  ASSERT_EQ(first.readings.size(), 17u);  // 14 defaults, v.a, v.b, n
  ASSERT_EQ(second.readings.size(), first.readings.size());
  for (std::size_t i = 0; i < first.readings.size(); ++i) {
    EXPECT_EQ(first.readings[i].key.get(), second.readings[i].key.get()) << i;
  }
  EXPECT_EQ(first.readings[0].key.get(), plan.metrics[0].literal_key.get());
  EXPECT_EQ(first.readings.back().key.get(), plan.metrics.back().literal_key.get());
  EXPECT_EQ(first.readings.back().path(), "n");
  EXPECT_EQ(first.readings[14].path(), "v.a");
  EXPECT_EQ(plan.metrics[plan.default_count].literal_key, nullptr);  // v/.* is a regex
  // The defaults share one tag list with the plan, however many of them there are.
  EXPECT_EQ(first.readings[0].key->tags.get(), first.readings[1].key->tags.get());
}

// Ten thousand targets of one namespace hold one copy of the defaults' names and paths.
TEST(CheckRun, PlansOfOneNamespaceShareTheDefaultsNames) {
  pipeline::Instance a = BaseInstance();
  pipeline::Instance b = BaseInstance();
  b.expvar_url = "http://10.0.0.2:8080/debug/vars";
  pipeline::Instance other = BaseInstance();
  other.metric_namespace = "other";
  Plan plan_a = Compile(a);
  Plan plan_b = Compile(b);
  Plan plan_other = Compile(other);
  ASSERT_EQ(plan_a.default_count, 14u);
  for (std::size_t i = 0; i < plan_a.default_count; ++i) {
    const auto& key_a = *plan_a.metrics[i].literal_key;
    const auto& key_b = *plan_b.metrics[i].literal_key;
    EXPECT_EQ(key_a.name.data(), key_b.name.data()) << i;
    EXPECT_EQ(key_a.path.data(), key_b.path.data()) << i;
    EXPECT_NE(key_a.identity, key_b.identity) << i;  // the expvar_url tags differ
    EXPECT_NE(plan_other.metrics[i].literal_key->name.data(), key_a.name.data()) << i;
  }
  EXPECT_EQ(plan_a.metrics[13].literal_key->name, "go_expvar.memstats.total_alloc.count");
  EXPECT_EQ(plan_other.metrics[0].literal_key->name, "other.memstats.alloc");
  EXPECT_EQ(plan_a.metrics[13].literal_key->path, "memstats.TotalAlloc");
}

TEST(CheckRun, PauseHistogramFollowsTheDefaults) {
  Plan plan = Compile(BaseInstance());
  State state;
  Result result = check::Run(plan, "{" + Memstats(1, 4) + R"(, "x": 1})", state, 1);
  auto series = DatadogSeries(plan, result);
  V names = Names(series);
  ASSERT_EQ(names.size(), 8u + 5u);
  EXPECT_EQ(V(names.begin() + 8, names.end()),
            (V{"go_expvar.memstats.pause_ns.avg", "go_expvar.memstats.pause_ns.median",
               "go_expvar.memstats.pause_ns.max", "go_expvar.memstats.pause_ns.95percentile",
               "go_expvar.memstats.pause_ns.count"}));
  // Pauses 10, 20, 30, 40.
  EXPECT_DOUBLE_EQ(series[8].value, 25);
  EXPECT_DOUBLE_EQ(series[9].value, 20);
  EXPECT_DOUBLE_EQ(series[10].value, 40);
  EXPECT_DOUBLE_EQ(series[11].value, 40);
  EXPECT_DOUBLE_EQ(series[12].value, 4);
  EXPECT_EQ(series[12].kind, ReportKind::kCount);
  // No GC since: no histogram.
  Result again = check::Run(plan, "{" + Memstats(1, 4) + "}", state, 2);
  EXPECT_TRUE(again.pauses.pauses_ns.empty());
}

// Found by tests/fuzz/check_fuzz: a NumGC beyond uint64 was converted to uint64 (undefined
// behaviour, caught by UBSan). Such a count means nothing: no histogram, the rest is reported.
TEST(CheckRun, NumGcBeyondUint64GivesNoHistogram) {
  Plan plan = Compile(BaseInstance());
  for (const char* num_gc : {"1e20", "18446744073709551615", "1.8446744073709552e19"}) {
    State state;
    Result result = check::Run(plan,
                               std::string(R"({"memstats": {"Alloc": 7, "NumGC": )") + num_gc +
                                   R"(, "PauseNs": [1, 2, 3]}})",
                               state, 1);
    ASSERT_TRUE(result.ok) << num_gc;
    EXPECT_TRUE(result.pauses.pauses_ns.empty()) << num_gc;
    EXPECT_FALSE(state.last_num_gc.has_value()) << num_gc;
    EXPECT_EQ(ByName(DatadogSeries(plan, result)).at("go_expvar.memstats.alloc").value, 7);
  }
}

TEST(CheckRun, NamespaceAppliesToDefaultsHistogramAndTotalAllocCount) {
  pipeline::Instance instance = BaseInstance();
  instance.metric_namespace = "MyApp";
  Plan plan = Compile(instance);
  State state;
  check::Run(plan, "{" + Memstats(1, 1) + "}", state, 1);
  auto series = ByName(DatadogSeries(plan, check::Run(plan, "{" + Memstats(2, 2) + "}", state, 2)));
  EXPECT_EQ(series.count("my_app.memstats.alloc"), 1u);
  EXPECT_EQ(series.count("my_app.memstats.total_alloc.count"), 1u);
  EXPECT_EQ(series.count("my_app.memstats.pause_ns.max"), 1u);
}

TEST(CheckRun, OneMalformedTopLevelValueKeepsTheRest) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("good"), Item("bad"), Item("after")};
  Plan plan = Compile(instance);
  State state;
  Result result =
      check::Run(plan, R"({"good": 1, "bad": "\x41", "after": {"n": [1,2]}, "z": 3})", state, 1);
  ASSERT_TRUE(result.ok) << result.error;
  ASSERT_EQ(result.document_errors.size(), 1u);
  EXPECT_NE(result.document_errors[0].find("\"bad\""), std::string::npos);
  auto series = ByName(DatadogSeries(plan, result));
  EXPECT_EQ(series.at("go_expvar.good").value, 1);
  EXPECT_EQ(series.count("go_expvar.bad"), 0u);
}

TEST(CheckRun, WhollyInvalidOrTruncatedDocumentsFail) {
  Plan plan = Compile(BaseInstance());
  for (const char* doc :
       {"", "not json", "[1, 2]", R"({"a": 1, "b": )", R"({"a": 1} trailing)", R"({"a": 1)"}) {
    State state;
    Result result = check::Run(plan, doc, state, 1);
    EXPECT_FALSE(result.ok) << doc;
    EXPECT_FALSE(result.error.empty()) << doc;
  }
}

TEST(CheckRun, DocumentWithoutMemstatsStillReportsUserItems) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("requests")};
  Plan plan = Compile(instance);
  State state;
  Result result = check::Run(plan, R"({"requests": 12})", state, 1);
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(Names(DatadogSeries(plan, result)), V{"go_expvar.requests"});
}

TEST(Compile, BadRegexSkipsTheItemWithAWarning) {
  pipeline::Instance instance = BaseInstance();
  instance.metrics = {Item("a/(b"), Item("c")};
  Plan plan = Compile(instance);
  ASSERT_EQ(plan.warnings.size(), 1u);
  EXPECT_NE(plan.warnings[0].find("metrics[0]"), std::string::npos);
  EXPECT_EQ(plan.metrics.size(), plan.default_count + 1);
}

TEST(CheckRun, DeeplyNestedDocumentFailsCleanly) {
  Plan plan = Compile(BaseInstance());
  std::string deep = "{\"x\": " + std::string(10000, '[') + std::string(10000, ']') + "}";
  State state;
  Result result = check::Run(plan, deep, state, 1);
  // The one bad value is dropped, the (empty) rest is still a document.
  EXPECT_TRUE(result.ok);
  EXPECT_EQ(result.document_errors.size(), 1u);
}

}  // namespace
}  // namespace expvar::check
