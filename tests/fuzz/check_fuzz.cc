// Fuzzes the go_expvar check with untrusted /debug/vars bytes: two runs of a fixed, realistic
// plan (the memstats defaults plus literal, regex and aliased custom paths), then DatadogSeries.
// Input: one document, or two separated by a NUL byte (NUL is never valid JSON), so that the
// second run sees a different document and the rate and GC-pause-ring state is exercised.
// Each document is also parsed whole and pruned to the plan's paths (without the catch-alls,
// which keep everything): every path must match the same values in both.
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "check/check.h"
#include "check/document.h"
#include "pipeline/instance.h"

namespace {

namespace check = expvar::check;
namespace pipeline = expvar::pipeline;

// Small enough that documents in the corpus hit it.
constexpr int kMaxReturnedMetrics = 40;

pipeline::MetricSpec Item(std::string path, pipeline::MetricType type,
                          std::optional<std::string> alias = std::nullopt,
                          std::vector<std::string> tags = {}) {
  pipeline::MetricSpec spec;
  spec.path = std::move(path);
  spec.type = type;
  spec.alias = std::move(alias);
  spec.tags = std::move(tags);
  return spec;
}

check::Plan MakePlan() {
  using pipeline::MetricType;
  pipeline::Instance instance;
  instance.expvar_url = "http://127.0.0.1:8080";
  instance.tags = {"env:fuzz"};
  instance.max_returned_metrics = kMaxReturnedMetrics;
  instance.metrics = {
      // tests/fixtures/golden/goapp.conf.yaml
      Item("requests", MetricType::kRate),
      Item("load_avg", MetricType::kGauge),
      Item("queue_depth_str", MetricType::kGauge),
      Item("http/.*/count", MetricType::kMonotonicCounter, "app.http.count", {"team:web"}),
      Item("workers/[0-9]+/done", MetricType::kCount),
      Item("memstats/BySize/1/Mallocs", MetricType::kGauge),
      Item("ready", MetricType::kGauge),
      // tests/fixtures/golden/etcd.conf.yaml
      Item("cmdline/0", MetricType::kGauge),
      Item("memstats/GCCPUFraction", MetricType::kGauge),
      Item("raft.status/(term|commit|applied)", MetricType::kCount),
      Item("raft.status/progress/[0-9a-f]+/match", MetricType::kGauge, "etcd.raft.progress.match"),
      // Catch-alls, so that arbitrary keys reach name normalization.
      Item(".*", MetricType::kRate),
      Item("[a-zA-Z]+/.*/.+", MetricType::kCounter, ""),
  };
  return check::Compile(instance);
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "check_fuzz invariant violated: %s\n", what);
  std::abort();
}

void RunOnce(const check::Plan& plan, std::string_view doc, check::State& state, double now) {
  check::Result result = check::Run(plan, doc, state, now);
  if (!result.ok) {
    if (!result.readings.empty()) Fail("a failed run has readings");
    return;
  }
  if (result.readings.size() > static_cast<std::size_t>(plan.max_returned_metrics)) {
    Fail("more readings than max_returned_metrics");
  }
  if (result.default_readings > result.readings.size()) Fail("default_readings out of range");
  std::vector<check::Series> series = check::DatadogSeries(plan, result);
  // Every reading at most once, plus the five pause aggregates.
  if (series.size() > result.readings.size() + 5) Fail("more series than readings + 5");
  for (const auto& s : series) {
    if (s.name.empty()) Fail("a series without a name");
  }
}

// Every match of `path` as "key/key/=value" lines.
std::string MatchesOf(const check::CompiledPath& path, const boost::json::value& root) {
  std::string out;
  path.ForEachMatch(root, [&](const auto& keys, const boost::json::value& value) {
    for (auto key : keys) out.append(key).push_back('/');
    out += "=" + boost::json::serialize(value) + "\n";
  });
  return out;
}

void CheckPruning(const check::Plan& plan, std::string_view doc) {
  std::vector<const check::CompiledPath*> paths;
  for (const auto& metric : plan.metrics) {
    if (metric.path->Text() != ".*" && metric.path->Text() != "[a-zA-Z]+/.*/.+") {
      paths.push_back(metric.path.get());
    }
  }
  check::Reach reach(paths, nullptr);
  check::ParsedDocument whole = check::ParseDocument(doc);
  check::ParsedDocument pruned = check::ParseDocument(doc, {}, &reach);
  if (whole.ok != pruned.ok) Fail("pruning changed whether the document parses");
  if (whole.errors != pruned.errors) Fail("pruning changed the document errors");
  if (!whole.ok) return;
  for (const auto* path : paths) {
    if (MatchesOf(*path, whole.root) != MatchesOf(*path, pruned.root)) {
      Fail("a path matches differently in the pruned document");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const check::Plan plan = MakePlan();
  if (!plan.warnings.empty()) Fail("the fixed plan does not compile cleanly");
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view first = input;
  std::string_view second = input;
  if (auto nul = input.find('\0'); nul != std::string_view::npos) {
    first = input.substr(0, nul);
    second = input.substr(nul + 1);
  }
  CheckPruning(plan, first);
  check::State state;
  RunOnce(plan, first, state, 1000.0);
  RunOnce(plan, second, state, 1015.0);
  return 0;
}
