// Turns the pods discovery sees into scrape targets: annotations -> templates -> resolved
// instances.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "config/conf_file.h"
#include "discovery/annotation_limits.h"
#include "discovery/confd.h"
#include "pipeline/pod.h"

namespace expvar::discovery {

enum class PodMode {
  kNode,  // DaemonSet: every pod on the node; %%host%% is the pod's IP
  kPod,   // sidecar: the own pod; %%host%% is $POD_IP or 127.0.0.1
};

struct PodTargetOptions {
  PodMode mode = PodMode::kNode;
  std::string sidecar_host = "127.0.0.1";  // %%host%% in pod mode
  bool allow_any_host = false;
  std::function<std::optional<std::string>(const std::string&)> env;  // %%env_X%%
  // Anyone who can create a pod can ask for targets, so both counts are capped (0: no cap).
  std::size_t max_targets_per_pod = 10;
  std::size_t max_targets_per_node = 2000;
  AnnotationLimits limits;  // what one instance from annotations may ask for
  // Read Autodiscovery annotations under this prefix instead of "ad.datadoghq.com/" (and ignore
  // Datadog's own), so a Datadog Agent beside us does not run them too; see annotation_prefix.h.
  std::string annotation_prefix;
};

// Keeps the parsed instances of the previous TargetsFromPods call for reuse. Every watch event
// re-resolves every pod of the node, and parsing the resolved instance (yaml-cpp) was most of
// that cost; the result is a function of the text and its source, so it can be reused as is.
// Entries the current call did not use are dropped when it ends: the cache holds about one
// node's instances. One cache per caller; not thread-safe.
class ParseCache {
 public:
  // As config::ParseConfText, throwing the same ConfigError.
  config::ConfFile Parse(const std::string& text, const std::string& source);
  void EndCall();

 private:
  using Key = std::pair<std::string, std::string>;            // text, source
  using Entry = std::variant<config::ConfFile, std::string>;  // the parse, or its error
  std::map<Key, Entry> current_;
  std::map<Key, Entry> previous_;
};

// Every go_expvar instance the pods' annotations ask for, resolved, with the pod's tags first
// (PodTags), then the annotation tags without a key the pod's tags have; and every problem,
// naming the pod and the annotation. Pods that are not Running and Ready (unless they tolerate
// it) and containers that are not running contribute nothing and no error.
// Limits: a pod asking for more than max_targets_per_pod gets its first ones; pods are admitted
// oldest first (creationTimestamp, then namespace/name) and a pod whose targets would take the
// total over max_targets_per_node gets none. Both are reported as errors naming the pod, so a
// new pod cannot push out the targets of pods already scraped.
// With a cache, instances whose resolved text did not change since the previous call are not
// parsed again.
ProviderResult TargetsFromPods(const std::vector<pipeline::Pod>& pods,
                               const PodTargetOptions& options, ParseCache* cache = nullptr);

}  // namespace expvar::discovery
