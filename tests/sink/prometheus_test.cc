#include "sink/prometheus.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "check/check.h"

namespace expvar::sink {

using pipeline::MetricType;
using pipeline::ScrapeSnapshot;
using pipeline::SnapshotPtr;

namespace {

using pipeline::Reading;
using Lines = std::vector<std::string>;

constexpr const char* kUrlA = "http://10.0.0.1:8080/debug/vars";
constexpr const char* kUrlB = "http://10.0.0.2:8080/debug/vars";

std::vector<std::string> BaseTags(const std::string& url) {
  return {"env:test", "expvar_url:" + url};
}

Reading Custom(std::string name, MetricType type, double raw, std::vector<std::string> tags,
               std::optional<double> report = std::nullopt) {
  Reading reading;
  reading.key = pipeline::MakeSeriesKey(std::move(name), std::move(tags), "custom");
  reading.type = type;
  reading.raw = raw;
  reading.report = report;
  return reading;
}

Reading Default(const std::string& field, const std::string& snake, MetricType type, double raw,
                const std::string& url) {
  Reading reading = Custom("go_expvar.memstats." + snake, type, raw, BaseTags(url), raw);
  reading.key =
      pipeline::MakeSeriesKey(std::string(reading.name()), BaseTags(url), "memstats." + field);
  reading.is_default = true;
  return reading;
}

// The 13 defaults plus total_alloc.count, as check::Run produces them on a first scrape.
std::vector<Reading> Defaults(const std::string& url) {
  std::vector<Reading> r = {
      Default("Alloc", "alloc", MetricType::kGauge, 1000, url),
      Default("TotalAlloc", "total_alloc", MetricType::kGauge, 5000, url),
      Default("HeapAlloc", "heap_alloc", MetricType::kGauge, 1001, url),
      Default("HeapSys", "heap_sys", MetricType::kGauge, 4096, url),
      Default("HeapIdle", "heap_idle", MetricType::kGauge, 2048, url),
      Default("HeapInuse", "heap_inuse", MetricType::kGauge, 1024, url),
      Default("HeapReleased", "heap_released", MetricType::kGauge, 512, url),
      Default("HeapObjects", "heap_objects", MetricType::kGauge, 12, url),
      Default("Lookups", "lookups", MetricType::kRate, 3, url),
      Default("Mallocs", "mallocs", MetricType::kRate, 200, url),
      Default("Frees", "frees", MetricType::kRate, 150, url),
      Default("PauseTotalNs", "pause_total_ns", MetricType::kRate, 1500000, url),
      Default("NumGC", "num_gc", MetricType::kRate, 7, url),
      Default("TotalAlloc", "total_alloc.count", MetricType::kMonotonicCounter, 5000, url),
  };
  for (auto& reading : r) {
    if (reading.type != MetricType::kGauge) reading.report.reset();  // first scrape
  }
  r.back().key = pipeline::MakeSeriesKey("go_expvar.memstats.total_alloc.count", BaseTags(url),
                                         "memstats.TotalAlloc");
  return r;
}

SnapshotPtr Snapshot(std::string id, const std::string& url, std::vector<Reading> readings,
                     std::vector<double> pauses_ns = {}, std::vector<std::string> pause_tags = {}) {
  auto snapshot = std::make_shared<ScrapeSnapshot>();
  snapshot->target_id = std::move(id);
  snapshot->url = url;
  snapshot->metric_namespace = "go_expvar";
  snapshot->readings = std::move(readings);
  snapshot->pause_metric_name = "go_expvar.memstats.pause_ns";
  snapshot->pause_tags = pause_tags.empty() ? BaseTags(url) : std::move(pause_tags);
  snapshot->pauses_ns = std::move(pauses_ns);
  return snapshot;
}

std::string SerializeAll(const PrometheusSink& sink) {
  common::ExpositionWriter writer;
  sink.AppendExposition(writer);
  return writer.Finish();
}

// The value series only: every target also has health series, tested on their own below.
std::string Serialize(const PrometheusSink& sink) {
  std::istringstream in(SerializeAll(sink));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    std::string_view name = line;
    if (name.starts_with("# HELP ") || name.starts_with("# TYPE ")) name.remove_prefix(7);
    if (!name.starts_with("expvar_collector_target_")) out.append(line).push_back('\n');
  }
  return out;
}

Lines SplitLines(const std::string& text) {
  Lines lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The HELP line, TYPE line and samples of one family, exactly as serialized.
Lines Family(const std::string& text, const std::string& name) {
  Lines all = SplitLines(text);
  Lines out;
  bool inside = false;
  for (const auto& line : all) {
    if (line.starts_with("# HELP ")) inside = line.starts_with("# HELP " + name + " ");
    if (inside) out.push_back(line);
  }
  return out;
}

Lines FamilyNames(const std::string& text) {
  Lines names;
  for (const auto& line : SplitLines(text)) {
    if (!line.starts_with("# TYPE ")) continue;
    names.push_back(line.substr(7, line.find(' ', 7) - 7));
  }
  return names;
}

const std::string kLabelsA = R"({env="test",expvar_url="http://10.0.0.1:8080/debug/vars"})";
const std::string kLabelsB = R"({env="test",expvar_url="http://10.0.0.2:8080/debug/vars"})";

TEST(PrometheusSinkTest, DefaultMemstatsNamesTypesAndUnits) {
  PrometheusSink sink;
  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA)));
  std::string text = Serialize(sink);

  EXPECT_EQ(FamilyNames(text), (Lines{
                                   "go_expvar_memstats_alloc_bytes",
                                   "go_expvar_memstats_alloc_bytes_total",
                                   "go_expvar_memstats_frees_total",
                                   "go_expvar_memstats_gc_pause_seconds",
                                   "go_expvar_memstats_gc_pause_seconds_total",
                                   "go_expvar_memstats_heap_alloc_bytes",
                                   "go_expvar_memstats_heap_idle_bytes",
                                   "go_expvar_memstats_heap_inuse_bytes",
                                   "go_expvar_memstats_heap_objects",
                                   "go_expvar_memstats_heap_released_bytes",
                                   "go_expvar_memstats_heap_sys_bytes",
                                   "go_expvar_memstats_lookups_total",
                                   "go_expvar_memstats_mallocs_total",
                                   "go_expvar_memstats_num_gc_total",
                               }));
  EXPECT_EQ(Family(text, "go_expvar_memstats_alloc_bytes"),
            (Lines{"# HELP go_expvar_memstats_alloc_bytes Bytes of allocated heap objects "
                   "(expvar memstats.Alloc)",
                   "# TYPE go_expvar_memstats_alloc_bytes gauge",
                   "go_expvar_memstats_alloc_bytes" + kLabelsA + " 1000"}));
  EXPECT_EQ(Family(text, "go_expvar_memstats_alloc_bytes_total"),
            (Lines{"# HELP go_expvar_memstats_alloc_bytes_total Cumulative bytes allocated for "
                   "heap objects (expvar memstats.TotalAlloc)",
                   "# TYPE go_expvar_memstats_alloc_bytes_total counter",
                   "go_expvar_memstats_alloc_bytes_total" + kLabelsA + " 5000"}));
  EXPECT_EQ(Family(text, "go_expvar_memstats_gc_pause_seconds_total"),
            (Lines{"# HELP go_expvar_memstats_gc_pause_seconds_total Cumulative seconds spent in "
                   "GC stop-the-world pauses (expvar memstats.PauseTotalNs)",
                   "# TYPE go_expvar_memstats_gc_pause_seconds_total counter",
                   "go_expvar_memstats_gc_pause_seconds_total" + kLabelsA + " 0.0015"}));
  EXPECT_EQ(Family(text, "go_expvar_memstats_heap_objects")[2],
            "go_expvar_memstats_heap_objects" + kLabelsA + " 12");
  EXPECT_EQ(Family(text, "go_expvar_memstats_heap_released_bytes")[2],
            "go_expvar_memstats_heap_released_bytes" + kLabelsA + " 512");
  EXPECT_EQ(Family(text, "go_expvar_memstats_num_gc_total")[1],
            "# TYPE go_expvar_memstats_num_gc_total counter");
  // Rates are exposed as their raw cumulative value from the first scrape on.
  EXPECT_EQ(Family(text, "go_expvar_memstats_mallocs_total")[2],
            "go_expvar_memstats_mallocs_total" + kLabelsA + " 200");
  EXPECT_EQ(text.find("total_alloc"), std::string::npos);
}

TEST(PrometheusSinkTest, NamespaceReplacesGoExpvar) {
  PrometheusSink sink;
  auto snapshot = std::const_pointer_cast<ScrapeSnapshot>(Snapshot("a", kUrlA, Defaults(kUrlA)));
  snapshot->metric_namespace = "MyApp.v2";
  sink.Publish(snapshot);
  std::string text = Serialize(sink);
  EXPECT_EQ(Family(text, "my_app_v2_memstats_heap_sys_bytes").size(), 3u);
  EXPECT_EQ(Family(text, "my_app_v2_memstats_gc_pause_seconds").size(), 18u);
  EXPECT_EQ(text.find("go_expvar_"), std::string::npos);
}

TEST(PrometheusSinkTest, CustomGaugeCountAndCounterAreGauges) {
  PrometheusSink sink;
  sink.Publish(
      Snapshot("a", kUrlA,
               {Custom("go_expvar.queue.depth", MetricType::kGauge, 7, BaseTags(kUrlA)),
                Custom("go_expvar.workers.0.done", MetricType::kCount, 61, BaseTags(kUrlA)),
                Custom("app.jobs", MetricType::kCounter, 3.5, BaseTags(kUrlA))}));
  std::string text = Serialize(sink);
  EXPECT_EQ(
      Family(text, "go_expvar_queue_depth"),
      (Lines{"# HELP go_expvar_queue_depth expvar value reported to Datadog as "
             "\"go_expvar.queue.depth\"",
             "# TYPE go_expvar_queue_depth gauge", "go_expvar_queue_depth" + kLabelsA + " 7"}));
  EXPECT_EQ(Family(text, "go_expvar_workers_0_done"),
            (Lines{"# HELP go_expvar_workers_0_done expvar value reported to Datadog as "
                   "\"go_expvar.workers.0.done\"",
                   "# TYPE go_expvar_workers_0_done gauge",
                   "go_expvar_workers_0_done" + kLabelsA + " 61"}));
  EXPECT_EQ(Family(text, "app_jobs"),
            (Lines{"# HELP app_jobs expvar value reported to Datadog as \"app.jobs\"",
                   "# TYPE app_jobs gauge", "app_jobs" + kLabelsA + " 3.5"}));
  // No memstats defaults: no GC histogram for this target.
  EXPECT_EQ(text.find("gc_pause"), std::string::npos);
}

TEST(PrometheusSinkTest, CustomRateIsTotalCounterWithRawValueOnFirstScrape) {
  PrometheusSink sink;
  sink.Publish(Snapshot(
      "a", kUrlA,
      {Custom("go_expvar.http.requests", MetricType::kRate, 41, BaseTags(kUrlA), std::nullopt),
       Custom("app.bytes.out", MetricType::kMonotonicCounter, 900, BaseTags(kUrlA))}));
  std::string text = Serialize(sink);
  EXPECT_EQ(Family(text, "go_expvar_http_requests_total"),
            (Lines{"# HELP go_expvar_http_requests_total expvar value reported to Datadog as "
                   "\"go_expvar.http.requests\" (raw cumulative value)",
                   "# TYPE go_expvar_http_requests_total counter",
                   "go_expvar_http_requests_total" + kLabelsA + " 41"}));
  EXPECT_EQ(Family(text, "app_bytes_out_total")[2], "app_bytes_out_total" + kLabelsA + " 900");
}

TEST(PrometheusSinkTest, TotalSuffixIsNotDoubled) {
  PrometheusSink sink;
  sink.Publish(
      Snapshot("a", kUrlA,
               {Custom("app.requests_total", MetricType::kRate, 5, BaseTags(kUrlA)),
                Custom("app.errors.total", MetricType::kMonotonicCounter, 2, BaseTags(kUrlA))}));
  std::string text = Serialize(sink);
  EXPECT_EQ(FamilyNames(text), (Lines{"app_errors_total", "app_requests_total"}));
  EXPECT_EQ(Family(text, "app_requests_total")[2], "app_requests_total" + kLabelsA + " 5");
}

TEST(PrometheusSinkTest, GaugeWithCounterOrHistogramSuffixIsUntyped) {
  PrometheusSink sink;
  sink.Publish(Snapshot("a", kUrlA,
                        {Custom("app.http.count", MetricType::kGauge, 41, BaseTags(kUrlA)),
                         Custom("app.sessions_total", MetricType::kCount, 9, BaseTags(kUrlA)),
                         Custom("app.latency_sum", MetricType::kCounter, 1, BaseTags(kUrlA))}));
  std::string text = Serialize(sink);
  EXPECT_EQ(Family(text, "app_http_count"),
            (Lines{"# HELP app_http_count expvar value reported to Datadog as \"app.http.count\"",
                   "# TYPE app_http_count untyped", "app_http_count" + kLabelsA + " 41"}));
  EXPECT_EQ(Family(text, "app_sessions_total")[1], "# TYPE app_sessions_total untyped");
  EXPECT_EQ(Family(text, "app_latency_sum")[1], "# TYPE app_latency_sum untyped");
}

TEST(PrometheusSinkTest, MetricNamesAreSanitised) {
  EXPECT_EQ(SanitizeMetricName("myapp.http.GET-count"), "myapp_http_GET_count");
  EXPECT_EQ(SanitizeMetricName("9lives"), "_9lives");
  EXPECT_EQ(SanitizeMetricName("caf\xC3\xA9"), "caf__");
  EXPECT_EQ(SanitizeMetricName(""), "");
  EXPECT_EQ(NamespacePrefix("go_expvar"), "go_expvar");
  EXPECT_EQ(NamespacePrefix("MyApp.v2"), "my_app_v2");
  EXPECT_EQ(NamespacePrefix(""), "");
}

TEST(PrometheusSinkTest, TagsBecomeLabels) {
  std::vector<std::string> tags = {"env:prod",    "canary",        "url:http://h:1/x?a=b",
                                   "0shard:7",    "team-name:web", "__name__:evil",
                                   "env:staging", ":no_name",      "bad:\xFF\xC3",
                                   "empty:"};
  PrometheusSink sink;
  sink.Publish(Snapshot("a", kUrlA, {Custom("app.up", MetricType::kGauge, 1, tags)}));
  EXPECT_EQ(Family(Serialize(sink), "app_up")[2],
            R"(app_up{env="prod",canary="true",url="http://h:1/x?a=b",_0shard="7",)"
            R"(team_name="web",exported___name__="evil",bad=")"
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            R"(",empty=""} 1)");
}

TEST(PrometheusSinkTest, LabelNamesAreSanitised) {
  EXPECT_EQ(SanitizeLabelName("kube_namespace"), "kube_namespace");
  EXPECT_EQ(SanitizeLabelName("team.name"), "team_name");
  EXPECT_EQ(SanitizeLabelName("1a"), "_1a");
  EXPECT_EQ(SanitizeLabelName("__x"), "exported___x");
  EXPECT_EQ(SanitizeLabelName("-_x"), "exported___x");
  EXPECT_EQ(SanitizeLabelName("_x"), "_x");
  EXPECT_EQ(SanitizeLabelName("le"), "exported_le");
  EXPECT_EQ(SanitizeLabelName("quantile"), "exported_quantile");
  EXPECT_EQ(SanitizeLabelName("les"), "les");
}

TEST(PrometheusSinkTest, HistogramAccumulatesAcrossPublishes) {
  PrometheusSink sink;
  // 5µs, 20µs, 2ms; then 30µs and 1s (past the last bound).
  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA), {5000, 20000, 2e6}));
  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA), {30000, 1e9}));
  const std::string h = "go_expvar_memstats_gc_pause_seconds";
  const std::string la = R"({env="test",expvar_url="http://10.0.0.1:8080/debug/vars",le=")";
  EXPECT_EQ(Family(Serialize(sink), h),
            (Lines{"# HELP " + h +
                       " GC stop-the-world pause durations seen in memstats.PauseNs since "
                       "collection started (seconds)",
                   "# TYPE " + h + " histogram", h + "_count" + kLabelsA + " 5",
                   h + "_sum" + kLabelsA + " 1.002055", h + "_bucket" + la + "1e-05\"} 1",
                   h + "_bucket" + la + "2.5e-05\"} 2", h + "_bucket" + la + "5e-05\"} 3",
                   h + "_bucket" + la + "0.0001\"} 3", h + "_bucket" + la + "0.00025\"} 3",
                   h + "_bucket" + la + "0.0005\"} 3", h + "_bucket" + la + "0.001\"} 3",
                   h + "_bucket" + la + "0.0025\"} 4", h + "_bucket" + la + "0.005\"} 4",
                   h + "_bucket" + la + "0.01\"} 4", h + "_bucket" + la + "0.025\"} 4",
                   h + "_bucket" + la + "0.05\"} 4", h + "_bucket" + la + "0.1\"} 4",
                   h + "_bucket" + la + "+Inf\"} 5"}));
}

TEST(PrometheusSinkTest, HistogramIsZeroBeforeTheFirstGcAndRestartsWhenLabelsChange) {
  PrometheusSink sink;
  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA), {1e6}));
  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA), {}, {"env:other", "expvar_url:x"}));
  Lines lines = Family(Serialize(sink), "go_expvar_memstats_gc_pause_seconds");
  ASSERT_EQ(lines.size(), 18u);
  EXPECT_EQ(lines[2], R"(go_expvar_memstats_gc_pause_seconds_count{env="other",expvar_url="x"} 0)");
  EXPECT_EQ(
      lines[17],
      R"(go_expvar_memstats_gc_pause_seconds_bucket{env="other",expvar_url="x",le="+Inf"} 0)");
}

TEST(PrometheusSinkTest, LeAndQuantileTagsAreRenamed) {
  PrometheusSink sink;
  auto readings = Defaults(kUrlA);
  readings.push_back(Custom("app.up", MetricType::kGauge, 1, {"quantile:0.5", "env:test"}));
  sink.Publish(Snapshot("a", kUrlA, readings, {}, {"le:x", "exported_le:y", "env:test"}));
  std::string text = Serialize(sink);
  Lines lines = Family(text, "go_expvar_memstats_gc_pause_seconds");
  ASSERT_EQ(lines.size(), 18u);
  EXPECT_EQ(lines[2], R"(go_expvar_memstats_gc_pause_seconds_count{exported_le="x",env="test"} 0)");
  EXPECT_EQ(lines[17], R"(go_expvar_memstats_gc_pause_seconds_bucket{exported_le="x",env="test",)"
                       R"(le="+Inf"} 0)");
  EXPECT_EQ(Family(text, "app_up")[2], R"(app_up{exported_quantile="0.5",env="test"} 1)");
}

TEST(PrometheusSinkTest, TwoTargetsShareOneFamily) {
  PrometheusSink sink;
  sink.Publish(Snapshot("b", kUrlB, {Custom("app.queue", MetricType::kGauge, 2, BaseTags(kUrlB))}));
  sink.Publish(Snapshot("a", kUrlA, {Custom("app.queue", MetricType::kGauge, 1, BaseTags(kUrlA))}));
  EXPECT_EQ(Serialize(sink),
            "# HELP app_queue expvar value reported to Datadog as \"app.queue\"\n"
            "# TYPE app_queue gauge\n"
            "app_queue" +
                kLabelsA +
                " 1\n"
                "app_queue" +
                kLabelsB + " 2\n");
}

TEST(PrometheusSinkTest, ForgetRemovesEverySeriesOfTheTarget) {
  PrometheusSink sink;
  auto readings_a = Defaults(kUrlA);
  readings_a.push_back(Custom("app.only_a", MetricType::kGauge, 1, BaseTags(kUrlA)));
  readings_a.push_back(Custom("app.queue", MetricType::kGauge, 1, BaseTags(kUrlA)));
  sink.Publish(Snapshot("a", kUrlA, readings_a, {1e5}));
  sink.Publish(Snapshot("b", kUrlB, {Custom("app.queue", MetricType::kGauge, 2, BaseTags(kUrlB))}));
  ASSERT_NE(Serialize(sink).find(kUrlA), std::string::npos);

  sink.Forget("a");
  sink.Forget("unknown");  // harmless
  std::string text = Serialize(sink);
  EXPECT_EQ(sink.TargetCount(), 1u);
  EXPECT_EQ(text.find(kUrlA), std::string::npos);
  EXPECT_EQ(FamilyNames(text), (Lines{"app_queue"}));  // no empty families left behind
  EXPECT_EQ(Family(text, "app_queue")[2], "app_queue" + kLabelsB + " 2");

  // A target that comes back starts a fresh histogram.
  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA)));
  EXPECT_EQ(Family(Serialize(sink), "go_expvar_memstats_gc_pause_seconds")[2],
            "go_expvar_memstats_gc_pause_seconds_count" + kLabelsA + " 0");
}

pipeline::SnapshotPtr Failed(const std::string& id, const std::string& url,
                             const std::string& error) {
  auto snapshot = std::make_shared<pipeline::ScrapeSnapshot>(*Snapshot(id, url, {}));
  snapshot->health = {false, error, 0.25, std::nullopt};
  return snapshot;
}

TEST(PrometheusSinkTest, EveryTargetHasHealthSeriesUnderItsOwnLabels) {
  PrometheusSink sink;
  auto good = std::make_shared<pipeline::ScrapeSnapshot>(*Snapshot("a", kUrlA, Defaults(kUrlA)));
  good->health = {true, "", 0.0125,
                  std::chrono::system_clock::time_point(std::chrono::seconds(1700000000))};
  sink.Publish(good);
  sink.Publish(Failed("b", kUrlB, "fetch failed: connection refused"));
  std::string text = SerializeAll(sink);
  EXPECT_EQ(Family(text, "expvar_collector_target_up"),
            (Lines{"# HELP expvar_collector_target_up 1 when the target's last scrape succeeded, 0 "
                   "when it failed (its value series are then left out)",
                   "# TYPE expvar_collector_target_up gauge",
                   "expvar_collector_target_up" + kLabelsA + " 1",
                   "expvar_collector_target_up" + kLabelsB + " 0"}));
  Lines duration = Family(text, "expvar_collector_target_scrape_duration_seconds");
  ASSERT_EQ(duration.size(), 4u);
  EXPECT_EQ(duration[2], "expvar_collector_target_scrape_duration_seconds" + kLabelsA + " 0.0125");
  EXPECT_EQ(duration[3], "expvar_collector_target_scrape_duration_seconds" + kLabelsB + " 0.25");
  // Only a target that has succeeded has a last success.
  EXPECT_EQ(
      Family(text, "expvar_collector_target_last_success_timestamp_seconds"),
      (Lines{"# HELP expvar_collector_target_last_success_timestamp_seconds Unix time of the "
             "target's last successful scrape",
             "# TYPE expvar_collector_target_last_success_timestamp_seconds gauge",
             "expvar_collector_target_last_success_timestamp_seconds" + kLabelsA + " 1700000000"}));
}

// A dead process must not look like a flat healthy line: its values leave /metrics until it
// answers again, and its pause histogram then carries on from its counts.
TEST(PrometheusSinkTest, AFailedScrapeLeavesOnlyTheHealthSeriesUntilTheNextGoodOne) {
  PrometheusSink sink;
  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA), {1e5}));
  ASSERT_FALSE(Family(Serialize(sink), "go_expvar_memstats_heap_alloc_bytes").empty());
  sink.Publish(Failed("a", kUrlA, "invalid document: not JSON"));
  std::string down = SerializeAll(sink);
  EXPECT_EQ(FamilyNames(down), (Lines{"expvar_collector_target_scrape_duration_seconds",
                                      "expvar_collector_target_up"}));
  EXPECT_EQ(Family(down, "expvar_collector_target_up")[2],
            "expvar_collector_target_up" + kLabelsA + " 0");

  sink.Publish(Snapshot("a", kUrlA, Defaults(kUrlA), {2e5}));
  std::string up = Serialize(sink);
  EXPECT_FALSE(Family(up, "go_expvar_memstats_heap_alloc_bytes").empty());
  EXPECT_EQ(Family(up, "go_expvar_memstats_gc_pause_seconds")[2],
            "go_expvar_memstats_gc_pause_seconds_count" + kLabelsA + " 2");
}

// Every label is on every series of a target: an operator keeps only the tags that tell series
// apart. expvar_url always stays; the health series follow the same choice.
TEST(PrometheusSinkTest, LabelTagsChooseWhichTagsBecomeLabels) {
  EXPECT_FALSE(TagKeyPatterns({"*"}));  // all
  PrometheusSink sink(TagKeyPatterns({"kube_*", "pod_name"}));
  std::vector<std::string> tags = {"kube_namespace:shop", "pod_name:web-0", "image_tag:1.2",
                                   "team:x", std::string("expvar_url:") + kUrlA};
  sink.Publish(Snapshot("a", kUrlA, {Custom("app.queue", MetricType::kGauge, 1, tags)}));
  const std::string labels =
      R"({kube_namespace="shop",pod_name="web-0",expvar_url="http://10.0.0.1:8080/debug/vars"})";
  std::string text = SerializeAll(sink);
  EXPECT_EQ(Family(text, "app_queue")[2], "app_queue" + labels + " 1") << text;
  EXPECT_EQ(text.find("image_tag"), std::string::npos) << text;
  EXPECT_EQ(text.find("team="), std::string::npos) << text;
}

TEST(PrometheusSinkTest, LatestSnapshotReplacesThePreviousOne) {
  PrometheusSink sink;
  sink.Publish(Snapshot("a", kUrlA, {Custom("app.old", MetricType::kGauge, 1, BaseTags(kUrlA))}));
  sink.Publish(Snapshot("a", kUrlA, {Custom("app.new", MetricType::kGauge, 2, BaseTags(kUrlA))}));
  EXPECT_EQ(FamilyNames(Serialize(sink)), (Lines{"app_new"}));
}

TEST(PrometheusSinkTest, TypeConflictKeepsTheFirstTypeAndCounts) {
  PrometheusSink sink;
  // "a" sorts first, so its untyped app_jobs_total wins over b's counter.
  sink.Publish(
      Snapshot("a", kUrlA, {Custom("app.jobs_total", MetricType::kGauge, 1, BaseTags(kUrlA))}));
  sink.Publish(Snapshot("b", kUrlB, {Custom("app.jobs", MetricType::kRate, 2, BaseTags(kUrlB))}));
  std::string text = Serialize(sink);
  EXPECT_EQ(Family(text, "app_jobs_total"),
            (Lines{"# HELP app_jobs_total expvar value reported to Datadog as \"app.jobs_total\"",
                   "# TYPE app_jobs_total untyped", "app_jobs_total" + kLabelsA + " 1"}));
  EXPECT_EQ(sink.Conflicts(), 1u);
}

TEST(PrometheusSinkTest, DuplicateLabelSetKeepsTheFirstSeries) {
  PrometheusSink sink;
  // Two Datadog names that sanitise to the same Prometheus name, same tags.
  sink.Publish(Snapshot("a", kUrlA,
                        {Custom("app.x", MetricType::kGauge, 1, BaseTags(kUrlA)),
                         Custom("app_x", MetricType::kGauge, 2, BaseTags(kUrlA))}));
  EXPECT_EQ(Family(Serialize(sink), "app_x"),
            (Lines{"# HELP app_x expvar value reported to Datadog as \"app.x\"",
                   "# TYPE app_x gauge", "app_x" + kLabelsA + " 1"}));
  EXPECT_EQ(sink.Conflicts(), 1u);
}

TEST(PrometheusSinkTest, ATargetRepeatingAnotherTargetsLabelSetIsSkippedAndCounted) {
  PrometheusSink sink;
  // Two instances of the same URL and tags: their series cannot be told apart.
  sink.Publish(Snapshot("a", kUrlA, {Custom("app.q", MetricType::kGauge, 1, BaseTags(kUrlA))}));
  sink.Publish(Snapshot("b", kUrlA,
                        {Custom("app.q", MetricType::kGauge, 2, BaseTags(kUrlA)),
                         Custom("app.q", MetricType::kGauge, 3, {"env:other", "expvar_url:x"})}));
  EXPECT_EQ(
      Family(Serialize(sink), "app_q"),
      (Lines{"# HELP app_q expvar value reported to Datadog as \"app.q\"", "# TYPE app_q gauge",
             "app_q" + kLabelsA + " 1", R"(app_q{env="other",expvar_url="x"} 3)"}));
  // app_q, and b's two health series (up, duration) under a's labels.
  EXPECT_EQ(sink.Conflicts(), 3u);
  Serialize(sink);  // counted again at every exposition, as the clash is still there
  EXPECT_EQ(sink.Conflicts(), 6u);
}

TEST(PrometheusSinkTest, OnlyTheSeriesOfAnotherTypeAreSkippedNotTheTargetsOthers) {
  PrometheusSink sink;
  sink.Publish(
      Snapshot("a", kUrlA, {Custom("app.jobs_total", MetricType::kGauge, 1, BaseTags(kUrlA))}));
  // b's first app_jobs_total is a counter, its second (other tags) untyped like a's.
  sink.Publish(Snapshot("b", kUrlB,
                        {Custom("app.jobs", MetricType::kRate, 2, BaseTags(kUrlB)),
                         Custom("app.jobs_total", MetricType::kGauge, 3, {"expvar_url:y"})}));
  EXPECT_EQ(Family(Serialize(sink), "app_jobs_total"),
            (Lines{"# HELP app_jobs_total expvar value reported to Datadog as \"app.jobs_total\"",
                   "# TYPE app_jobs_total untyped", "app_jobs_total" + kLabelsA + " 1",
                   R"(app_jobs_total{expvar_url="y"} 3)"}));
  EXPECT_EQ(sink.Conflicts(), 1u);
}

TEST(PrometheusSinkTest, LabelsInAnotherOrderAreTheSameSetAndSwappedValuesAreNot) {
  PrometheusSink sink;
  sink.Publish(Snapshot("a", kUrlA,
                        {Custom("app.x", MetricType::kGauge, 1, {"k1:v1", "k2:v2"}),
                         Custom("app.x", MetricType::kGauge, 2, {"k2:v2", "k1:v1"}),
                         Custom("app.x", MetricType::kGauge, 3, {"k1:v2", "k2:v1"})}));
  EXPECT_EQ(
      Family(Serialize(sink), "app_x"),
      (Lines{"# HELP app_x expvar value reported to Datadog as \"app.x\"", "# TYPE app_x gauge",
             R"(app_x{k1="v1",k2="v2"} 1)", R"(app_x{k1="v2",k2="v1"} 3)"}));
  EXPECT_EQ(sink.Conflicts(), 1u);
}

TEST(PrometheusSinkTest, FamilyNamedLikeHistogramSeriesIsDropped) {
  PrometheusSink sink;
  auto readings = Defaults(kUrlA);
  readings.push_back(
      Custom("go_expvar.memstats.gc_pause_seconds_count", MetricType::kGauge, 1, BaseTags(kUrlA)));
  sink.Publish(Snapshot("a", kUrlA, readings));
  std::string text = Serialize(sink);
  EXPECT_EQ(Family(text, "go_expvar_memstats_gc_pause_seconds_count"), Lines{});
  EXPECT_EQ(sink.Conflicts(), 1u);
}

TEST(PrometheusSinkTest, HelpIsEscapedAndValidUtf8) {
  PrometheusSink sink;
  sink.Publish(
      Snapshot("a", kUrlA, {Custom("a\\b\n\xFF", MetricType::kGauge, 1, BaseTags(kUrlA))}));
  EXPECT_EQ(Family(Serialize(sink), "a_b__")[0],
            "# HELP a_b__ expvar value reported to Datadog as \"a\\\\b\\n\xEF\xBF\xBD\"");
}

TEST(PrometheusSinkTest, NullSnapshotIsIgnored) {
  PrometheusSink sink;
  sink.Publish(nullptr);
  EXPECT_EQ(sink.TargetCount(), 0u);
  EXPECT_EQ(SerializeAll(sink), "");
}

// --- promtool lint of a realistic exposition -------------------------------------------------

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

pipeline::MetricSpec Item(std::string path, MetricType type = MetricType::kGauge,
                          std::optional<std::string> alias = std::nullopt,
                          std::vector<std::string> tags = {}) {
  return pipeline::MetricSpec{std::move(path), type, std::move(alias), std::move(tags)};
}

// Runs the real check over recorded documents, so the sink sees readings as workers make them.
SnapshotPtr CheckSnapshot(const std::string& id, const pipeline::Instance& instance,
                          const std::vector<std::string>& fixtures) {
  check::Plan plan = check::Compile(instance);
  check::State state;
  check::Result result;
  double now = 100;
  std::vector<double> pauses;
  for (const auto& fixture : fixtures) {
    result = check::Run(plan, ReadFile(std::string(EXPVAR_FIXTURES_DIR) + "/" + fixture), state,
                        now += 15);
    EXPECT_TRUE(result.ok) << fixture << ": " << result.error;
  }
  auto snapshot = std::make_shared<ScrapeSnapshot>();
  snapshot->target_id = id;
  snapshot->url = plan.url;
  snapshot->metric_namespace = plan.metric_namespace;
  snapshot->readings = result.readings;
  snapshot->pause_metric_name = plan.pause_metric_name;
  snapshot->pause_tags = plan.base_tags;
  snapshot->pauses_ns = result.pauses.pauses_ns;
  return snapshot;
}

pipeline::Instance GoappInstance(const std::string& url) {
  pipeline::Instance instance;
  instance.expvar_url = url;
  instance.tags = {
      "env:test",      "canary",   "kube_namespace:default",        "pod_name:goapp-7d9f",
      "team.name:web", "le:weird", "note:caf\xC3\xA9 \"q\" \\ \xFF"};
  instance.metrics = {Item("requests", MetricType::kRate),
                      Item("load_avg"),
                      Item("queue_depth_str"),
                      Item("http/.*/count", MetricType::kGauge, "app.http.count", {"team:web"}),
                      Item("workers/[0-9]+/done", MetricType::kCount),
                      Item("memstats/BySize/1/Mallocs", MetricType::kMonotonicCounter),
                      Item("ready")};
  return instance;
}

std::string Promtool(const std::string& path, int* exit_code) {
  std::string command = "promtool check metrics < '" + path + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "popen failed";
  std::string output;
  std::array<char, 4096> chunk;
  while (std::size_t n = fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

TEST(PrometheusSinkTest, PromtoolAcceptsRealisticExposition) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed";
  }
  PrometheusSink sink;
  sink.Publish(CheckSnapshot("goapp-1", GoappInstance("http://10.0.0.1:8080"),
                             {"goapp_fresh.json", "goapp_traffic.json"}));
  sink.Publish(CheckSnapshot("goapp-2", GoappInstance("http://[fd00::2]:8080"),
                             {"goapp_traffic.json", "goapp_gc300.json"}));
  pipeline::Instance etcd;
  etcd.expvar_url = "http://10.0.0.3:2379";
  etcd.metric_namespace = "etcd";
  etcd.metrics = {Item("memstats/GCCPUFraction"), Item("file_descriptor_limit"),
                  Item("raft.status/(term|commit|applied)", MetricType::kCount),
                  Item("raft.status/progress/[0-9a-f]+/match", MetricType::kMonotonicCounter,
                       "etcd.raft.progress.match", {"role:leader"})};
  sink.Publish(CheckSnapshot("etcd", etcd, {"etcd.json"}));
  std::string text = Serialize(sink);
  ASSERT_NE(text.find("go_expvar_memstats_gc_pause_seconds_bucket"), std::string::npos);
  ASSERT_NE(text.find("etcd_memstats_heap_alloc_bytes"), std::string::npos);
  ASSERT_NE(text.find("go_expvar_requests_total"), std::string::npos);

  auto path = std::filesystem::temp_directory_path() /
              ("expvar_prometheus_test_" + std::to_string(getpid()) + ".prom");
  std::ofstream(path) << text;
  int exit_code = -1;
  std::string output = Promtool(path.string(), &exit_code);
  std::filesystem::remove(path);
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_EQ(output, "") << text;
}

}  // namespace
}  // namespace expvar::sink
