// CPU cost of the go_expvar check core on recorded documents: parse alone (the floor), the
// check (parse + paths + naming + rates + pause histogram) and the check plus DatadogSeries.
//
// The documents, confs and steady-state setup come from bench/cases.json, which
// bench/reference_check.py reads too, so both sides measure exactly the same work.
// EXPVAR_SOURCE_DIR (environment) overrides the repository root compiled in.

#include <benchmark/benchmark.h>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "check/check.h"
#include "config/conf_file.h"

namespace {

namespace json = boost::json;
using namespace expvar;

std::string SourceDir() {
  if (const char* env = std::getenv("EXPVAR_SOURCE_DIR"); env && *env) return env;
  return EXPVAR_SOURCE_DIR;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// One (document, conf) pair, prepared once.
struct Case {
  std::string document_name;
  std::string conf_name;  // "defaults" or "custom"
  std::string document;
  check::Plan plan;
  std::uint64_t previous_num_gc = 0;
  double interval = 15;
};

// Same parse options as check::ParseDocument.
json::parse_options ParseOptions() {
  json::parse_options options;
  options.max_depth = 128;
  options.allow_invalid_utf8 = true;
  return options;
}

void ParseOnly(benchmark::State& state, const std::string& document) {
  const json::parse_options options = ParseOptions();
  for (auto _ : state) {
    json::monotonic_resource arena;  // check::Run makes one arena per scrape too
    boost::system::error_code ec;
    json::value root = json::parse(document, ec, &arena, options);
    if (ec) {
      state.SkipWithError(ec.message().c_str());
      return;
    }
    benchmark::DoNotOptimize(root);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(document.size()));
}

// A warm-up run fills the rate state; every measured run is `interval` seconds after the last
// and sees NumGC - previous_num_gc new GCs, as a target scraped every interval would.
check::State SteadyState(const Case& c, double now) {
  check::State state;
  check::Result warmup = check::Run(c.plan, c.document, state, now);
  if (!warmup.ok) throw std::runtime_error(c.document_name + ": " + warmup.error);
  return state;
}

void Check(benchmark::State& state, const Case& c, bool with_series) {
  double now = 0;
  check::State check_state = SteadyState(c, now);
  std::size_t series_count = 0;
  std::size_t readings = 0;
  for (auto _ : state) {
    check_state.last_num_gc = c.previous_num_gc;
    now += c.interval;
    check::Result result = check::Run(c.plan, c.document, check_state, now);
    if (with_series) {
      std::vector<check::Series> series = check::DatadogSeries(c.plan, result);
      series_count = series.size();
      benchmark::DoNotOptimize(series.data());
    }
    readings = result.readings.size();
    benchmark::DoNotOptimize(result.readings.data());
  }
  if (!with_series) {
    check::Result result = check::Run(c.plan, c.document, check_state, now + c.interval);
    series_count = check::DatadogSeries(c.plan, result).size();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(c.document.size()));
  state.counters["readings"] = static_cast<double>(readings);
  state.counters["series"] = static_cast<double>(series_count);
}

std::vector<Case>& Cases() {
  static std::vector<Case> cases;
  return cases;
}

std::vector<std::pair<std::string, std::string>>& Documents() {
  static std::vector<std::pair<std::string, std::string>> documents;
  return documents;
}

void LoadCases() {
  const std::string root = SourceDir();
  json::value spec = json::parse(ReadFile(root + "/bench/cases.json"));
  double interval = spec.at("interval_seconds").to_number<double>();
  std::vector<std::string> confs;
  for (const auto& conf : spec.at("confs").as_array()) {
    confs.emplace_back(conf.as_string().c_str());
  }
  for (const auto& entry : spec.at("documents").as_array()) {
    const auto& doc = entry.as_object();
    std::string name(doc.at("name").as_string().c_str());
    std::string text = ReadFile(root + "/" + std::string(doc.at("file").as_string().c_str()));
    config::ConfFile conf =
        config::LoadConfFile(root + "/" + std::string(doc.at("conf").as_string().c_str()));
    if (conf.instances.empty()) throw std::runtime_error(conf.path + ": no instance");
    Documents().emplace_back(name, text);
    for (const std::string& conf_name : confs) {
      pipeline::Instance instance = conf.instances.front();
      if (conf_name == "defaults") {
        instance.metrics.clear();
      } else if (conf_name != "custom") {
        throw std::runtime_error("unknown conf variant " + conf_name);
      }
      Case c;
      c.document_name = name;
      c.conf_name = conf_name;
      c.document = text;
      c.plan = check::Compile(instance);
      c.previous_num_gc = doc.at("previous_num_gc").to_number<std::uint64_t>();
      c.interval = interval;
      Cases().push_back(std::move(c));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  try {
    LoadCases();
  } catch (const std::exception& e) {
    std::cerr << "check_bench: " << e.what() << "\n";
    return 1;
  }
  // Names: BM_<kind>/<document>[/<conf>]; bench/report.py parses them.
  for (const auto& [name, text] : Documents()) {
    benchmark::RegisterBenchmark(("BM_ParseOnly/" + name).c_str(), ParseOnly, text)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const Case& c : Cases()) {
    const std::string suffix = "/" + c.document_name + "/" + c.conf_name;
    benchmark::RegisterBenchmark(("BM_Check" + suffix).c_str(), Check, c, false)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(("BM_CheckAndSeries" + suffix).c_str(), Check, c, true)
        ->Unit(benchmark::kMicrosecond);
  }
  // A filter that matches nothing is an error, so the CI smoke test cannot pass vacuously.
  std::size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return ran > 0 ? 0 : 1;
}
