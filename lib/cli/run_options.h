// The daemon's settings: every option is a flag and a key of the optional --config YAML file.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace expvar::cli {

struct RunOptions {
  std::string config_file;
  std::string listen = "0.0.0.0:9145";
  std::string web_config_file;  // Prometheus web.config: TLS and basic auth for the admin server
  std::string confd;
  std::string dogstatsd_url;       // empty: resolved from DD_* variables at start
  std::string kube_mode = "auto";  // auto: node in a cluster with NODE_NAME set, else off
  std::string kube_api;
  std::string kube_token_file;
  std::string kube_ca_file;
  bool kube_insecure_skip_tls_verify = false;
  std::string node_name;
  std::string pod_name;
  std::string pod_namespace;
  std::string podinfo_annotations;
  // Autodiscovery annotations are read under this prefix; another one makes the collector read
  // only pods annotated for it (and a Datadog Agent beside it none of them).
  std::string annotation_prefix = "ad.datadoghq.com/";
  // Post annotation problems as Events on their pods (needs RBAC events: create, patch).
  bool kube_events = true;
  bool allow_any_host = false;
  unsigned max_targets_per_pod = 10;     // annotation targets only; 0: no limit
  unsigned max_targets_per_node = 2000;  // annotation targets of this collector; 0: no limit
  double interval_seconds = 15;
  double dogstatsd_flush_seconds = 0.1;
  // Response bodies held in memory at once over every target; a scrape whose body would take
  // the total over it fails with an error saying so.
  std::uint64_t max_bodies_in_flight_bytes = 64 * 1024 * 1024;
  std::string log_level = "info";
  std::string log_format = "text";
  std::vector<std::string> tags;  // global DogStatsD tags (--tag, repeatable)
  // Variables %%env_X%% may read (names, or prefixes ending in '*'); empty: none. "*" restores
  // the Datadog Agent's behaviour (every variable), which lets any pod author read them.
  std::vector<std::string> template_env_allow;
  std::vector<std::string> prometheus_label_tags;  // empty: all tags become labels
  // What one instance from pod annotations (untrusted) may ask for; conf.d is not limited.
  std::uint64_t annotation_max_body_bytes = 8 * 1024 * 1024;
  double annotation_max_timeout_seconds = 10;
  int annotation_max_returned_metrics = 1000;
  double annotation_min_interval_seconds = 1;
  unsigned annotation_max_metric_items = 100;
  unsigned annotation_max_tags = 100;
  unsigned annotation_max_tag_length = 200;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ParsedRunOptions {
  RunOptions options;
  bool help = false;
  std::string help_text;
  bool check_config = false;  // --check-config: validate, report, exit
};

// Parses `run` flags, then fills what the flags left unset from the --config YAML file (flags
// beat the file). Environment defaults: NODE_NAME, POD_NAME, POD_NAMESPACE. Throws UsageError
// naming the flag or the file key at fault.
ParsedRunOptions ParseRunOptions(const std::vector<std::string>& args);

// A seconds option in whole milliseconds, at least 1 (a 0 ms interval divided by zero on the
// scrape grid: `--interval 0.0001` crashed with SIGFPE) and at most 1e9 s (the conf.d limit; a
// larger double does not fit the cast).
std::chrono::milliseconds WholeMilliseconds(double seconds);

// One line per setting, for the start-up log (nothing here is secret: only file paths).
std::string DescribeRunOptions(const RunOptions& options);

}  // namespace expvar::cli
