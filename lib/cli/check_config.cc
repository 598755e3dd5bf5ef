#include "cli/check_config.h"

#include <boost/asio/io_context.hpp>
#include <exception>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "admin/web_config.h"
#include "check/check.h"
#include "common/environment.h"
#include "discovery/confd.h"
#include "discovery/podinfo.h"
#include "pipeline/target.h"
#include "sink/registry.h"

namespace expvar::cli {
namespace {

using Problems = std::vector<pipeline::SourceError>;

void CheckWebConfig(const RunOptions& options, Problems& problems) {
  if (options.web_config_file.empty()) return;
  try {
    admin::LoadWebConfig(options.web_config_file);
  } catch (const std::exception& e) {
    problems.push_back({"--web-config-file " + options.web_config_file, e.what()});
  }
}

// Builds the sinks as the daemon would (an unusable DogStatsD address is refused there) and
// says where their output goes.
std::string CheckSinks(const RunOptions& options, Problems& problems) {
  boost::asio::io_context io;  // never run: nothing is sent
  sink::SinkContext context{io.get_executor(), {}, common::ProcessEnvironment, common::PathExists};
  context.settings.dogstatsd_url = options.dogstatsd_url;
  context.settings.tags = options.tags;
  std::string described;
  try {
    for (const auto& built : sink::BuiltinSinks().Build(context)) {
      described += (described.empty() ? "" : "; ") + built.description;
    }
  } catch (const std::exception& e) {
    problems.push_back({"DogStatsD address", e.what()});
  }
  return described;
}

// Every conf.d file and instance, each instance compiled as its worker would compile it.
std::size_t CheckConfd(const RunOptions& options, Problems& problems) {
  if (options.confd.empty()) return 0;
  discovery::ProviderResult result = discovery::ConfdProvider(options.confd).Load();
  problems.insert(problems.end(), result.errors.begin(), result.errors.end());
  for (const auto& target : result.targets) {
    try {
      for (const auto& warning : check::Compile(target.instance).warnings) {
        problems.push_back({target.source, warning});
      }
    } catch (const std::exception& e) {
      problems.push_back({target.source, e.what()});
    }
  }
  return result.targets.size();
}

void CheckPodinfo(const RunOptions& options, Problems& problems) {
  if (options.podinfo_annotations.empty()) return;
  std::ifstream in(options.podinfo_annotations, std::ios::binary);
  if (!in) {
    problems.push_back({"--podinfo-annotations " + options.podinfo_annotations, "cannot read"});
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  if (!discovery::ParseDownwardApiAnnotations(text.str(), &error)) {
    problems.push_back({"--podinfo-annotations " + options.podinfo_annotations, error});
  }
}

}  // namespace

int CheckConfig(const RunOptions& options, std::ostream& out) {
  Problems problems;
  CheckWebConfig(options, problems);
  std::string sinks = CheckSinks(options, problems);
  std::size_t instances = CheckConfd(options, problems);
  CheckPodinfo(options, problems);
  for (const auto& problem : problems) out << problem.source << ": " << problem.message << "\n";
  out << (problems.empty() ? "configuration ok" : "configuration has problems") << ": "
      << problems.size() << " problem(s); " << instances << " conf.d instance(s)"
      << (options.confd.empty() ? " (no --confd)" : " in " + options.confd)
      << (sinks.empty() ? "" : "; " + sinks) << "\n";
  return problems.empty() ? 0 : 1;
}

}  // namespace expvar::cli
