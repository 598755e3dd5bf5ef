// expvar-collector: parses the command line and hands off to the subcommand.
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "cli/check_command.h"
#include "cli/check_config.h"
#include "cli/discover_command.h"
#include "cli/logging.h"
#include "cli/run_command.h"
#include "cli/run_options.h"

namespace po = boost::program_options;

namespace {

constexpr const char* kUsage =
    "usage: expvar-collector <command> [options]\n"
    "\n"
    "commands:\n"
    "  check CONF.yaml [--runs N] [--interval SECONDS]\n"
    "        run every instance of a go_expvar conf file and print each series as JSON\n"
    "  run [--config FILE] [--confd DIR] [--dogstatsd-url URL] [--listen ADDR] ...\n"
    "        the daemon: scrape every target, send to DogStatsD, serve /metrics and /status\n"
    "\n"
    "  discover [--pods FILE.json | --kube-mode node|pod ...]\n"
    "        print what pod annotations resolve to, and every annotation error\n"
    "\n"
    "  expvar-collector <command> --help    options of one command\n"
    "  expvar-collector --version\n";

int CheckMain(const std::vector<std::string>& args) {
  po::options_description options("expvar-collector check CONF.yaml [options]");
  double interval_seconds = 1.0;
  int runs = 1;
  std::string log_level = "warn";
  options.add_options()("help,h", "show this help")("runs", po::value(&runs)->default_value(1),
                                                    "run every instance N times")(
      "interval", po::value(&interval_seconds)->default_value(1.0),
      "seconds between runs (rates need two runs)")("log-level",
                                                    po::value(&log_level)->default_value("warn"),
                                                    "trace, debug, info, warn, error or off");
  po::options_description hidden;
  hidden.add_options()("conf", po::value<std::string>(), "conf file");
  po::options_description all;
  all.add(options).add(hidden);
  po::positional_options_description positional;
  positional.add("conf", 1);

  po::variables_map vars;
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vars);
  po::notify(vars);
  if (vars.count("help")) {
    std::cout << options << "\nPrints one JSON object per series:\n"
              << "  {\"name\": ..., \"type\": \"gauge|count|rate\", \"value\": ..., "
                 "\"tags\": [...], \"run\": N}\n"
              << "Exit status 0 when every instance was fetched and parsed on every run.\n";
    return 0;
  }
  if (!vars.count("conf")) {
    std::cerr << "check: missing CONF.yaml (see --help)\n";
    return 2;
  }
  if (runs < 1 || interval_seconds < 0) {
    std::cerr << "check: --runs must be >= 1 and --interval >= 0\n";
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  expvar::cli::CheckOptions check;
  check.conf_path = vars["conf"].as<std::string>();
  check.runs = runs;
  check.interval = std::chrono::milliseconds(static_cast<long>(interval_seconds * 1000));
  return expvar::cli::RunCheckCommand(check, std::cout, std::cerr);
}

int RunMain(const std::vector<std::string>& args) {
  expvar::cli::ParsedRunOptions parsed;
  try {
    parsed = expvar::cli::ParseRunOptions(args);
    if (parsed.help) {
      std::cout << parsed.help_text;
      return 0;
    }
    expvar::cli::ConfigureLogging(parsed.options.log_level, parsed.options.log_format);
  } catch (const std::exception& e) {
    std::cerr << "run: " << e.what() << " (see --help)\n";
    return 2;
  }
  if (parsed.check_config) return expvar::cli::CheckConfig(parsed.options, std::cout);
  return expvar::cli::RunDaemon(parsed.options, EXPVAR_VERSION);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "expvar-collector " << EXPVAR_VERSION << " (revision " << EXPVAR_REVISION << ")\n";
    return 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "check") return CheckMain(args);
    if (command == "run") return RunMain(args);
    if (command == "discover") return expvar::cli::RunDiscoverCommand(args, std::cout, std::cerr);
  } catch (const po::error& e) {
    std::cerr << command << ": " << e.what() << " (see --help)\n";
    return 2;
  }
  std::cerr << "unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
