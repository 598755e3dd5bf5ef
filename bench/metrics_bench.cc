// CPU cost of GET /metrics at 500 and 10,000 targets, split into its parts: building the
// families from the targets' latest snapshots (PrometheusSink::Collect), writing them in the
// text format (ours, admin::AppendText, beside prometheus-cpp's TextSerializer it replaced) and
// gzip. Each target is the recorded goapp_gc300 document through the check with the default
// plan, under its own URL.

#include <benchmark/benchmark.h>
#include <prometheus/text_serializer.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "admin/exposition.h"
#include "admin/gzip.h"
#include "check/check.h"
#include "sink/prometheus.h"

namespace {

using namespace expvar;

std::string Fixture() {
  std::ifstream in(std::string(EXPVAR_SOURCE_DIR) + "/tests/fixtures/goapp_gc300.json");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A sink holding `targets` targets, each scraped twice (so rates and pauses are filled).
std::unique_ptr<sink::PrometheusSink> SinkWith(int targets) {
  static const std::string document = Fixture();
  auto sink = std::make_unique<sink::PrometheusSink>();
  for (int i = 0; i < targets; ++i) {
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
    sink->Publish(snapshot);
  }
  return sink;
}

void BM_Collect(benchmark::State& state) {
  auto sink = SinkWith(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(sink->Collect());
}

void BM_TextSerializer(benchmark::State& state) {
  auto families = SinkWith(static_cast<int>(state.range(0)))->Collect();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = prometheus::TextSerializer().Serialize(families);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_AppendText(benchmark::State& state) {
  auto families = SinkWith(static_cast<int>(state.range(0)))->Collect();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text;
    text.reserve(bytes);  // as the router does, from the previous exposition's size
    admin::AppendText(families, text);
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

void BM_Gzip(benchmark::State& state) {
  std::string text;
  admin::AppendText(SinkWith(static_cast<int>(state.range(0)))->Collect(), text);
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string compressed = admin::Gzip(text);
    bytes = compressed.size();
    benchmark::DoNotOptimize(compressed);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}

BENCHMARK(BM_Collect)->Arg(500)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TextSerializer)->Arg(500)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_AppendText)->Arg(500)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gzip)->Arg(500)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
