#include "cli/check_command.h"

#include <chrono>
#include <ostream>
#include <thread>
#include <vector>

#include "check/check.h"
#include "cli/series_json.h"
#include "config/conf_file.h"
#include "http/client.h"
#include "schedule/worker.h"

namespace expvar::cli {
namespace {

struct Target {
  check::Plan plan;
  http::Url url;
  http::ClientOptions client_options;
  check::State state;
};

// Builds a runnable target per instance; reports and skips the ones that cannot run.
std::vector<Target> PrepareTargets(const config::ConfFile& conf, std::ostream& err, bool& ok) {
  std::vector<Target> targets;
  for (std::size_t i = 0; i < conf.instances.size(); ++i) {
    const auto& instance = conf.instances[i];
    std::string where = conf.path + ": instances[" + std::to_string(i) + "]";
    try {
      check::Plan plan = check::Compile(instance);
      for (const auto& warning : plan.warnings) err << where << "." << warning << "\n";
      http::Url url = schedule::FetchUrl(plan, instance);
      targets.push_back({std::move(plan),
                         std::move(url),
                         schedule::ClientOptionsFor(instance, std::nullopt),
                         {}});
    } catch (const std::invalid_argument& e) {
      err << where << ".expvar_url: " << e.what() << "\n";
      ok = false;
    }
  }
  return targets;
}

double SecondsSinceStart() {
  static const auto start = std::chrono::steady_clock::now();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Fetches and checks one target once; prints its series. Returns false on any failure.
bool RunTarget(Target& target, int run, std::ostream& out, std::ostream& err) {
  http::FetchResult fetched = http::FetchOnce(target.url, target.client_options);
  if (!fetched.ok) {
    err << target.plan.url << ": run " << run << ": fetch failed: " << fetched.error << "\n";
    return false;
  }
  check::Result result = check::Run(target.plan, fetched.body, target.state, SecondsSinceStart());
  for (const auto& problem : result.document_errors) {
    err << target.plan.url << ": run " << run << ": " << problem << "\n";
  }
  if (!result.ok) {
    err << target.plan.url << ": run " << run << ": parse failed: " << result.error << "\n";
    return false;
  }
  for (const auto& series : check::DatadogSeries(target.plan, result)) {
    out << SeriesJsonLine(series, run) << "\n";
  }
  if (result.dropped_by_cap > 0) {
    err << target.plan.url << ": run " << run << ": " << result.dropped_by_cap
        << " values dropped by max_returned_metrics=" << target.plan.max_returned_metrics << "\n";
  }
  if (result.pauses.missed > 0) {
    err << target.plan.url << ": run " << run << ": " << result.pauses.missed
        << " GC pauses were overwritten in the PauseNs ring before this run\n";
  }
  return true;
}

}  // namespace

int RunCheckCommand(const CheckOptions& options, std::ostream& out, std::ostream& err) {
  config::ConfFile conf;
  try {
    conf = config::LoadConfFile(options.conf_path);
  } catch (const config::ConfigError& e) {
    err << e.what() << "\n";
    return 1;
  }
  for (const auto& warning : conf.warnings) err << "warning: " << warning << "\n";
  bool ok = true;
  std::vector<Target> targets = PrepareTargets(conf, err, ok);
  if (conf.instances.empty()) {
    err << options.conf_path << ": no usable instance\n";
    return 1;
  }
  for (int run = 1; run <= options.runs; ++run) {
    if (run > 1) std::this_thread::sleep_for(options.interval);
    for (auto& target : targets) ok = RunTarget(target, run, out, err) && ok;
    out.flush();
  }
  return ok ? 0 : 1;
}

}  // namespace expvar::cli
