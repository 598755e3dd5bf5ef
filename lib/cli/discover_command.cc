#include "cli/discover_command.h"

#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_from.hpp>
#include <fstream>
#include <future>
#include <ostream>
#include <sstream>
#include <thread>

#include "check/check.h"
#include "cli/kube_setup.h"
#include "cli/run_options.h"
#include "discovery/pod_json.h"

namespace expvar::cli {
namespace {

namespace json = boost::json;

constexpr auto kKubeWait = std::chrono::seconds(15);

std::vector<pipeline::Pod> PodsFromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value doc = json::parse(text.str(), ec);
  if (ec) throw std::runtime_error(path + ": not JSON: " + ec.message());
  json::array items;
  if (doc.is_array()) {
    items = doc.get_array();
  } else if (const auto* list = doc.is_object() ? doc.get_object().if_contains("items") : nullptr) {
    if (!list->is_array()) throw std::runtime_error(path + ": items is not an array");
    items = list->get_array();
  } else {
    items.push_back(doc);
  }
  std::vector<pipeline::Pod> pods;
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string error;
    auto pod = discovery::PodFromJson(items[i], &error);
    if (!pod) throw std::runtime_error(path + ": pod " + std::to_string(i) + ": " + error);
    pods.push_back(std::move(*pod));
  }
  return pods;
}

// One LIST through the watcher, then stop: the same code path the daemon uses.
std::vector<pipeline::Pod> PodsFromApi(const KubeSetup& setup) {
  boost::asio::io_context io;
  std::promise<std::vector<pipeline::Pod>> listed;
  bool delivered = false;
  discovery::kube::PodWatcher watcher(io.get_executor(), setup.api, setup.watcher,
                                      [&](const auto& pods, bool) {
                                        if (delivered) return;
                                        delivered = true;
                                        std::vector<pipeline::Pod> list;
                                        for (const auto& [uid, pod] : pods) list.push_back(pod);
                                        listed.set_value(std::move(list));
                                      });
  std::string error;
  if (!watcher.Start(&error)) throw std::runtime_error("kubernetes: " + error);
  auto result = listed.get_future();
  std::thread runner([&] { io.run_for(kKubeWait); });
  bool ready = result.wait_for(kKubeWait) == std::future_status::ready;
  watcher.Stop();
  io.stop();
  runner.join();
  if (!ready)
    throw std::runtime_error("kubernetes: no pod list from " + setup.api.server + " within 15 s");
  return result.get();
}

json::object InstanceJson(const pipeline::TargetSpec& target) {
  const pipeline::Instance& i = target.instance;
  json::array metrics;
  for (const auto& m : i.metrics) {
    json::object item{{"path", m.path}, {"type", pipeline::MetricTypeName(m.type)}};
    if (m.alias) item["alias"] = *m.alias;
    item["tags"] = json::value_from(m.tags);
    metrics.push_back(std::move(item));
  }
  json::object o{{"source", target.source},
                 {"expvar_url", check::FinalUrl(i.expvar_url)},
                 {"namespace", i.metric_namespace},
                 {"tags", json::value_from(i.tags)},
                 {"metrics", std::move(metrics)},
                 {"max_returned_metrics", i.max_returned_metrics},
                 {"timeout_seconds", i.timeout.count() / 1000.0}};
  if (i.min_collection_interval) {
    o["min_collection_interval_seconds"] = i.min_collection_interval->count() / 1000.0;
  }
  // Whether credentials are set, never what they are.
  o["basic_auth"] = !i.username.empty() || !i.password.empty();
  return o;
}

// One block per target and one line per problem: what a user scanning for their pod reads.
void PrintTable(const discovery::ProviderResult& result, std::ostream& out) {
  out << result.targets.size() << " instance(s)\n";
  for (const auto& t : result.targets) {
    out << "  " << t.source << "\n    url:  " << check::FinalUrl(t.instance.expvar_url)
        << "\n    tags:";
    for (const auto& tag : t.instance.tags) out << " " << tag;
    out << "\n    metrics: " << t.instance.metrics.size() << " custom item(s) after the defaults\n";
  }
  out << result.errors.size() << " problem(s)\n";
  for (const auto& e : result.errors) out << "  " << e.source << ": " << e.message << "\n";
  out << result.skipped.size() << " skipped\n";
  for (const auto& s : result.skipped) out << "  " << s.source << ": " << s.message << "\n";
}

}  // namespace

int RunDiscoverCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string pods_file;
  std::string output = "table";
  std::vector<std::string> rest;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--output" && i + 1 < args.size()) {
      output = args[++i];
    } else if (args[i] == "--pods" && i + 1 < args.size()) {
      pods_file = args[++i];
    } else {
      rest.push_back(args[i]);
    }
  }
  try {
    ParsedRunOptions parsed = ParseRunOptions(rest);
    if (parsed.help) {
      out << "expvar-collector discover [--pods FILE.json | --kube-mode node|pod kube flags]\n"
          << "Prints the instances pod annotations resolve to and every annotation error.\n"
          << "  --pods FILE.json     a PodList, an array of pods or one pod (kubectl get -o json)\n"
          << "  --output table|json  default table\n"
          << parsed.help_text;
      return 0;
    }
    RunOptions options = parsed.options;
    discovery::ProviderResult result;
    if (!pods_file.empty()) {
      discovery::PodTargetOptions targets =
          PodTargetOptionsFor(options, options.kube_mode == "pod" ? "pod" : "node");
      result = discovery::TargetsFromPods(PodsFromFile(pods_file), targets);
    } else {
      if (options.kube_mode == "auto") options.kube_mode = EffectiveKubeMode(options);
      auto setup = KubeSetupFor(options);
      if (!setup) {
        err << "discover: give --pods FILE.json, or --kube-mode node|pod with the kube flags\n";
        return 2;
      }
      result = discovery::TargetsFromPods(PodsFromApi(*setup), setup->targets);
    }
    if (output == "table") {
      PrintTable(result, out);
      return 0;
    }
    if (output != "json") throw UsageError("--output must be table or json");
    json::array targets, errors, skipped;
    for (const auto& t : result.targets) targets.push_back(InstanceJson(t));
    for (const auto& s : result.skipped) {
      skipped.push_back(json::object{{"source", s.source}, {"reason", s.message}});
    }
    for (const auto& e : result.errors)
      errors.push_back(json::object{{"source", e.source}, {"error", e.message}});
    out << json::serialize(json::object{{"targets", std::move(targets)},
                                        {"errors", std::move(errors)},
                                        {"skipped", std::move(skipped)}})
        << "\n";
    return 0;
  } catch (const UsageError& e) {
    err << "discover: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "discover: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace expvar::cli
