// CPU cost of /metrics at 500 and 10,000 targets, split into its parts: rendering one target's
// text (what every Publish pays, on the worker), merging every target's text into one
// exposition (what a GET pays), and a whole GET with gzip streamed as Prometheus asks for it.
// Each target is the recorded goapp_gc300 document through the check with the default plan,
// under its own URL.

#include <benchmark/benchmark.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "admin/gzip.h"
#include "check/check.h"
#include "common/exposition.h"
#include "sink/prometheus.h"

namespace {

using namespace expvar;

std::string Fixture() {
  std::ifstream in(std::string(EXPVAR_SOURCE_DIR) + "/tests/fixtures/goapp_gc300.json");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Target i's snapshot after two scrapes (so rates and pauses are filled).
pipeline::SnapshotPtr SnapshotOf(int i) {
  static const std::string document = Fixture();
  pipeline::Instance instance;
  instance.expvar_url = "http://10.0.0." + std::to_string(1 + i % 250) + ":" +
                        std::to_string(8000 + i / 250) + "/debug/vars";
  instance.tags = {"kube_namespace:shop", "pod_name:app-" + std::to_string(i)};
  check::Plan plan = check::Compile(instance);
  check::State state;
  check::Run(plan, document, state, 0);
  check::Result result = check::Run(plan, document, state, 15);
  auto snapshot = std::make_shared<pipeline::ScrapeSnapshot>();
  snapshot->target_id = std::to_string(i);
  snapshot->url = plan.url;
  snapshot->metric_namespace = plan.metric_namespace;
  snapshot->readings = std::move(result.readings);
  snapshot->pause_metric_name = plan.pause_metric_name;
  snapshot->pause_tags = plan.base_tags;
  snapshot->pauses_ns = std::move(result.pauses.pauses_ns);
  snapshot->entity = std::make_shared<pipeline::Entity>();
  return snapshot;
}

std::unique_ptr<sink::PrometheusSink> SinkWith(int targets) {
  auto sink = std::make_unique<sink::PrometheusSink>();
  for (int i = 0; i < targets; ++i) sink->Publish(SnapshotOf(i));
  return sink;
}

// One Publish of a target the sink already has: its text rendered again.
void BM_Publish(benchmark::State& state) {
  auto sink = SinkWith(1);
  auto snapshot = SnapshotOf(0);
  for (auto _ : state) sink->Publish(snapshot);
}

void BM_Merge(benchmark::State& state) {
  auto sink = SinkWith(static_cast<int>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    common::ExpositionWriter writer({}, bytes);
    sink->AppendExposition(writer);
    std::string text = writer.Finish();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

// Merge and gzip as the router does for Prometheus: compressed chunk by chunk.
void BM_MergeGzip(benchmark::State& state) {
  auto sink = SinkWith(static_cast<int>(state.range(0)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    admin::GzipStream gzip;
    common::ExpositionWriter writer([&gzip](std::string_view chunk) { gzip.Append(chunk); });
    sink->AppendExposition(writer);
    writer.Finish();
    std::string compressed = gzip.Finish();
    bytes = compressed.size();
    benchmark::DoNotOptimize(compressed);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_Publish)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Merge)->Arg(500)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MergeGzip)->Arg(500)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
