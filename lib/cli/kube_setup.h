// Turns the daemon's --kube-* options into the API connection, watch and pod-target settings.
#pragma once

#include <optional>

#include "cli/run_options.h"
#include "discovery/kube/config.h"
#include "discovery/kube/pod_watcher.h"
#include "discovery/pod_targets.h"
#include "resolve/resolver.h"

namespace expvar::cli {

struct KubeSetup {
  discovery::kube::ApiConfig api;
  discovery::kube::WatcherOptions watcher;
  discovery::PodTargetOptions targets;
};

// "auto" becomes node when running in a cluster with NODE_NAME set, else off.
std::string EffectiveKubeMode(const RunOptions& options);

// What %%env_X%% may read: the process environment, filtered by --template-env-allow (names,
// or prefixes ending in '*'; "*" is everything, as the Datadog Agent; empty: nothing, since any
// pod author could otherwise copy the collector's environment into tags).
common::EnvLookup TemplateEnvironment(const std::vector<std::string>& allowed);

// How pod annotations become targets in the given mode ("node" or "pod").
discovery::PodTargetOptions PodTargetOptionsFor(const RunOptions& options, const std::string& mode);

// nullopt when Kubernetes discovery is off. Throws UsageError naming what is missing.
std::optional<KubeSetup> KubeSetupFor(const RunOptions& options);

}  // namespace expvar::cli
