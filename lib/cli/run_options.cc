#include "cli/run_options.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>

#include "common/environment.h"

namespace expvar::cli {
namespace {

namespace po = boost::program_options;

// Binds one setting to a flag and to the same-named YAML key (dashes become underscores).
struct Binding {
  std::string flag;
  std::function<void(const YAML::Node&)> from_yaml;
};

template <typename T>
std::function<void(const YAML::Node&)> YamlSetter(T* target) {
  return [target](const YAML::Node& node) { *target = node.as<T>(); };
}

// A YAML list, or one string for a list of one.
std::function<void(const YAML::Node&)> ListSetter(std::vector<std::string>* target) {
  return [target](const YAML::Node& node) {
    *target = node.IsSequence() ? node.as<std::vector<std::string>>()
                                : std::vector<std::string>{node.as<std::string>()};
  };
}

std::string YamlKey(std::string flag) {
  for (char& c : flag) c = c == '-' ? '_' : c;
  return flag;
}

using common::EnvOr;

po::options_description OptionsDescription(RunOptions& o, std::vector<Binding>& bindings) {
  po::options_description d("expvar-collector run [options]");
  auto add = [&](const char* flag, auto* target, const char* help) {
    d.add_options()(flag, po::value(target)->default_value(*target), help);
    bindings.push_back({flag, YamlSetter(target)});
  };
  auto add_switch = [&](const char* flag, bool* target, const char* help) {
    d.add_options()(flag, po::bool_switch(target), help);
    bindings.push_back({flag, YamlSetter(target)});
  };
  d.add_options()("help,h", "show this help")(
      "check-config",
      "validate the configuration (flags, --config, --web-config-file, the DogStatsD address, "
      "every conf.d file and instance, --podinfo-annotations), print every problem and exit: 0 "
      "when there is none, 1 otherwise")("config", po::value(&o.config_file),
                                         "YAML file with any of these options as keys (flags win)");
  add("listen", &o.listen, "admin HTTP address for /metrics /healthz /readyz /status");
  add("web-config-file", &o.web_config_file,
      "Prometheus web.config YAML: TLS, and basic auth for /metrics and /status");
  add("confd", &o.confd, "directory holding go_expvar.d/*.yaml (Datadog's conf.d layout)");
  add("dogstatsd-url", &o.dogstatsd_url,
      "udp://host:port or unix:///path (default: DD_DOGSTATSD_URL, DD_AGENT_HOST + "
      "DD_DOGSTATSD_PORT, /var/run/datadog/dsd.socket if present, udp://127.0.0.1:8125)");
  add("dogstatsd-flush-interval", &o.dogstatsd_flush_seconds,
      "seconds DogStatsD lines of all targets are gathered into full datagrams before they are "
      "sent (at most 1; 0 sends each scrape's lines at once)");
  add("kube-mode", &o.kube_mode,
      "node, pod, off, or auto (node in a cluster with NODE_NAME set, else off)");
  add("kube-api", &o.kube_api, "API server URL (default: in-cluster)");
  add("kube-token-file", &o.kube_token_file, "service-account token file");
  add("kube-ca-file", &o.kube_ca_file, "API server CA file");
  add_switch("kube-insecure-skip-tls-verify", &o.kube_insecure_skip_tls_verify,
             "do not verify the API server's certificate");
  add("node-name", &o.node_name, "this node (node mode; default $NODE_NAME)");
  add("pod-name", &o.pod_name, "this pod (pod mode; default $POD_NAME)");
  add("pod-namespace", &o.pod_namespace, "this pod's namespace (default $POD_NAMESPACE)");
  add("podinfo-annotations", &o.podinfo_annotations, "downward-API annotations file (pod mode)");
  add("annotation-prefix", &o.annotation_prefix,
      "read Autodiscovery annotations under this prefix (ending in '/') instead of Datadog's, "
      "and ignore Datadog's: pods annotated for this collector alone");
  d.add_options()("kube-events",
                  po::value(&o.kube_events)->default_value(true)->implicit_value(true),
                  "post annotation problems as Warning Events on their pods (needs RBAC events: "
                  "create, patch); --kube-events=false turns it off");
  bindings.push_back({"kube-events", YamlSetter(&o.kube_events)});
  add_switch("allow-any-host", &o.allow_any_host, "let annotations point at any host");
  add("max-targets-per-pod", &o.max_targets_per_pod,
      "most targets one pod's annotations may ask for (0: no limit)");
  add("max-targets-per-node", &o.max_targets_per_node,
      "most annotation targets in all (0: no limit); older pods are admitted first");
  add("interval", &o.interval_seconds, "default seconds between scrapes of a target");
  add("max-bodies-in-flight-bytes", &o.max_bodies_in_flight_bytes,
      "response bodies held in memory at once over every target; beyond it a scrape fails");
  add("annotation-max-body-bytes", &o.annotation_max_body_bytes,
      "most max_body_bytes a pod annotation may ask for");
  add("annotation-max-timeout", &o.annotation_max_timeout_seconds,
      "most timeout (seconds) a pod annotation may ask for");
  add("annotation-max-returned-metrics", &o.annotation_max_returned_metrics,
      "most max_returned_metrics a pod annotation may ask for");
  add("annotation-min-interval", &o.annotation_min_interval_seconds,
      "least min_collection_interval (seconds) a pod annotation may ask for");
  add("annotation-max-metric-items", &o.annotation_max_metric_items,
      "most metrics items one instance from a pod annotation may list");
  add("annotation-max-tags", &o.annotation_max_tags,
      "most tags an instance (or a metric item) from a pod annotation may carry");
  add("annotation-max-tag-length", &o.annotation_max_tag_length,
      "longest tag (bytes) a pod annotation may set; longer ones are dropped");
  add("log-level", &o.log_level, "trace, debug, info, warn, error or off");
  add("log-format", &o.log_format, "text or json");
  d.add_options()("tag", po::value(&o.tags)->composing(),
                  "global tag k:v added to every DogStatsD series (repeatable)");
  bindings.push_back({"tag", ListSetter(&o.tags)});
  d.add_options()("template-env-allow", po::value(&o.template_env_allow)->composing(),
                  "an environment variable %%env_X%% may read (a name, or a prefix ending in "
                  "'*'; repeatable; '*' allows all, as the Datadog Agent). Default: none");
  bindings.push_back({"template-env-allow", ListSetter(&o.template_env_allow)});
  d.add_options()("prometheus-label-tags", po::value(&o.prometheus_label_tags)->composing(),
                  "a tag that becomes a label on /metrics (a key, or a prefix ending in '*'; "
                  "repeatable; expvar_url always does). Default: all tags");
  bindings.push_back({"prometheus-label-tags", ListSetter(&o.prometheus_label_tags)});
  return d;
}

// Applies the YAML keys the command line left at their defaults.
void ApplyConfigFile(const std::string& path, const std::vector<Binding>& bindings,
                     const po::variables_map& flags) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    throw UsageError(path + ": " + e.what());
  }
  if (!root.IsMap()) throw UsageError(path + ": expected a map of options");
  std::map<std::string, const Binding*> by_key;
  for (const auto& b : bindings) by_key[YamlKey(b.flag)] = &b;
  by_key["tags"] = by_key["tag"];
  for (const auto& entry : root) {
    std::string key = entry.first.as<std::string>();
    auto it = by_key.find(key);
    if (it == by_key.end()) throw UsageError(path + ": unknown option \"" + key + "\"");
    const std::string& flag = it->second->flag;
    if (flags.count(flag) && !flags[flag].defaulted()) continue;  // the flag wins
    try {
      it->second->from_yaml(entry.second);
    } catch (const YAML::Exception& e) {
      throw UsageError(path + ": line " + std::to_string(e.mark.line + 1) + ": option \"" + key +
                       "\": wrong type");
    }
  }
}

void Validate(const RunOptions& o) {
  if (o.kube_mode != "auto" && o.kube_mode != "off" && o.kube_mode != "node" &&
      o.kube_mode != "pod") {
    throw UsageError("--kube-mode must be auto, node, pod or off, not \"" + o.kube_mode + "\"");
  }
  if (o.log_format != "text" && o.log_format != "json") {
    throw UsageError("--log-format must be text or json, not \"" + o.log_format + "\"");
  }
  if (o.annotation_prefix.empty() || o.annotation_prefix.back() != '/' ||
      o.annotation_prefix.find_first_of(" \t\n") != std::string::npos) {
    throw UsageError(
        "--annotation-prefix must be a DNS-style prefix ending in '/', such as "
        "expvar.example.com/, not \"" +
        o.annotation_prefix + "\"");
  }
  if (!(o.interval_seconds > 0))
    throw UsageError("--interval must be a positive number of seconds");
  if (!(o.dogstatsd_flush_seconds >= 0 && o.dogstatsd_flush_seconds <= 1)) {
    throw UsageError("--dogstatsd-flush-interval must be between 0 and 1 second");
  }
  if (!(o.annotation_max_timeout_seconds > 0) || !(o.annotation_min_interval_seconds > 0)) {
    throw UsageError("--annotation-max-timeout and --annotation-min-interval must be positive");
  }
}

// `run` takes flags only. program_options passes words that are no flag's value through as
// positional arguments, so "--interval 5 10" would run with the 10 ignored: a typo must stop
// the daemon from starting instead.
void RefuseStrayArguments(const std::vector<std::string>& stray) {
  if (stray.empty()) return;
  std::string quoted;
  for (const auto& word : stray) quoted += (quoted.empty() ? "\"" : " \"") + word + "\"";
  throw UsageError("unexpected argument" + std::string(stray.size() > 1 ? "s " : " ") + quoted +
                   ": run takes only --flags (a flag takes one value; repeat --tag for several)");
}

}  // namespace

ParsedRunOptions ParseRunOptions(const std::vector<std::string>& args) {
  ParsedRunOptions parsed;
  RunOptions& o = parsed.options;
  o.node_name = EnvOr("NODE_NAME", "");
  o.pod_name = EnvOr("POD_NAME", "");
  o.pod_namespace = EnvOr("POD_NAMESPACE", "");
  std::vector<Binding> bindings;
  po::options_description description = OptionsDescription(o, bindings);
  po::variables_map flags;
  try {
    po::parsed_options given = po::command_line_parser(args).options(description).run();
    RefuseStrayArguments(po::collect_unrecognized(given.options, po::include_positional));
    po::store(given, flags);
    po::notify(flags);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  if (flags.count("help")) {
    std::ostringstream help;
    help << description;
    parsed.help = true;
    parsed.help_text = help.str();
    return parsed;
  }
  if (!o.config_file.empty()) ApplyConfigFile(o.config_file, bindings, flags);
  Validate(o);
  parsed.check_config = flags.count("check-config") > 0;
  return parsed;
}

std::chrono::milliseconds WholeMilliseconds(double seconds) {
  return std::chrono::milliseconds(std::llround(std::clamp(seconds * 1000, 1.0, 1e12)));
}

std::string DescribeRunOptions(const RunOptions& o) {
  std::ostringstream out;
  out << "listen=" << o.listen
      << " web_config_file=" << (o.web_config_file.empty() ? "(none)" : o.web_config_file)
      << " confd=" << (o.confd.empty() ? "(none)" : o.confd)
      << " dogstatsd_url=" << (o.dogstatsd_url.empty() ? "(from environment)" : o.dogstatsd_url)
      << " dogstatsd_flush_interval=" << o.dogstatsd_flush_seconds << "s"
      << " kube_mode=" << o.kube_mode << " kube_events=" << (o.kube_events ? "true" : "false")
      << " interval=" << o.interval_seconds << "s"
      << " log_level=" << o.log_level << " log_format=" << o.log_format
      << " allow_any_host=" << (o.allow_any_host ? "true" : "false")
      << " max_targets_per_pod=" << o.max_targets_per_pod
      << " max_targets_per_node=" << o.max_targets_per_node
      << " max_bodies_in_flight_bytes=" << o.max_bodies_in_flight_bytes
      << " annotation_max_body_bytes=" << o.annotation_max_body_bytes
      << " annotation_max_timeout=" << o.annotation_max_timeout_seconds << "s"
      << " annotation_max_returned_metrics=" << o.annotation_max_returned_metrics
      << " annotation_min_interval=" << o.annotation_min_interval_seconds << "s"
      << " annotation_max_metric_items=" << o.annotation_max_metric_items
      << " annotation_max_tags=" << o.annotation_max_tags
      << " annotation_max_tag_length=" << o.annotation_max_tag_length << " tags=";
  for (std::size_t i = 0; i < o.tags.size(); ++i) out << (i ? "," : "") << o.tags[i];
  return out.str();
}

}  // namespace expvar::cli
