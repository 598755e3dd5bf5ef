// Runs the check core on documents read from files, as one target scraped every --interval
// seconds, and prints every series as one JSON object a line (the `check` subcommand's format).
// bench/reference_check.py compares its own output with this one.
//
// Usage: dump_series [--defaults-only] [--interval S] CONF.yaml DOC.json [DOC.json ...]

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "check/check.h"
#include "cli/series_json.h"
#include "config/conf_file.h"

namespace {

using namespace expvar;

int Usage() {
  std::cerr << "usage: dump_series [--defaults-only] [--interval S] CONF.yaml DOC.json...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool defaults_only = false;
  double interval = 15;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--defaults-only") {
      defaults_only = true;
    } else if (arg == "--interval" && i + 1 < argc) {
      interval = std::strtod(argv[++i], nullptr);
    } else if (arg.rfind("--", 0) == 0) {
      return Usage();
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() < 2) return Usage();
  try {
    config::ConfFile conf = config::LoadConfFile(positional[0]);
    if (conf.instances.empty()) {
      std::cerr << positional[0] << ": no instance\n";
      return 1;
    }
    pipeline::Instance instance = conf.instances.front();
    if (defaults_only) instance.metrics.clear();
    check::Plan plan = check::Compile(instance);
    check::State state;
    int status = 0;
    for (std::size_t run = 1; run < positional.size(); ++run) {
      std::ifstream in(positional[run], std::ios::binary);
      if (!in) {
        std::cerr << "cannot read " << positional[run] << "\n";
        return 1;
      }
      std::ostringstream text;
      text << in.rdbuf();
      check::Result result =
          check::Run(plan, text.str(), state, interval * static_cast<double>(run - 1));
      if (!result.ok) {
        std::cerr << positional[run] << ": " << result.error << "\n";
        status = 1;
        continue;
      }
      for (const check::Series& series : check::DatadogSeries(plan, result)) {
        std::string line = cli::SeriesJsonLine(series, run);
        std::cout << line << "\n";
      }
    }
    return status;
  } catch (const std::exception& e) {
    std::cerr << "dump_series: " << e.what() << "\n";
    return 1;
  }
}
