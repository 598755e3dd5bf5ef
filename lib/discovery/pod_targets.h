// Turns the pods discovery sees into scrape targets: annotations -> templates -> resolved
// instances.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "discovery/confd.h"
#include "discovery/pod.h"

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
};

// Every go_expvar instance the pods' annotations ask for, resolved, with the pod tags
// (kube_namespace, pod_name, kube_container_name, annotation tags); and every problem, naming
// the pod and the annotation. Pods that are not Running and Ready (unless they tolerate it) and
// containers that are not running contribute nothing and no error.
ProviderResult TargetsFromPods(const std::vector<Pod>& pods, const PodTargetOptions& options);

}  // namespace expvar::discovery
