#include "cli/kube_setup.h"

#include <cstdlib>

#include "common/environment.h"

namespace expvar::cli {

using common::EnvOr;

std::string EffectiveKubeMode(const RunOptions& options) {
  if (options.kube_mode != "auto") return options.kube_mode;
  bool in_cluster = !EnvOr("KUBERNETES_SERVICE_HOST", "").empty();
  return in_cluster && !options.node_name.empty() ? "node" : "off";
}

common::EnvLookup TemplateEnvironment(const std::vector<std::string>& allowed) {
  return [allowed](const std::string& name) -> std::optional<std::string> {
    for (const auto& pattern : allowed) {
      bool prefix = pattern.ends_with('*');
      if (prefix ? name.starts_with(std::string_view(pattern).substr(0, pattern.size() - 1))
                 : name == pattern) {
        return common::ProcessEnvironment(name);
      }
    }
    return std::nullopt;
  };
}

namespace {

discovery::AnnotationLimits AnnotationLimitsFor(const RunOptions& options) {
  discovery::AnnotationLimits limits;
  limits.max_body_bytes = options.annotation_max_body_bytes;
  limits.max_timeout = WholeMilliseconds(options.annotation_max_timeout_seconds);
  limits.max_returned_metrics = options.annotation_max_returned_metrics;
  limits.min_interval = WholeMilliseconds(options.annotation_min_interval_seconds);
  limits.max_metric_items = options.annotation_max_metric_items;
  limits.max_tags = options.annotation_max_tags;
  limits.max_tag_length = options.annotation_max_tag_length;
  return limits;
}

}  // namespace

discovery::PodTargetOptions PodTargetOptionsFor(const RunOptions& options,
                                                const std::string& mode) {
  discovery::PodTargetOptions targets;
  targets.mode = mode == "pod" ? discovery::PodMode::kPod : discovery::PodMode::kNode;
  targets.sidecar_host = EnvOr("POD_IP", "127.0.0.1");
  targets.allow_any_host = options.allow_any_host;
  targets.max_targets_per_pod = options.max_targets_per_pod;
  targets.max_targets_per_node = options.max_targets_per_node;
  targets.env = TemplateEnvironment(options.template_env_allow);
  targets.limits = AnnotationLimitsFor(options);
  targets.annotation_prefix = options.annotation_prefix;
  return targets;
}

std::optional<KubeSetup> KubeSetupFor(const RunOptions& options) {
  std::string mode = EffectiveKubeMode(options);
  if (mode == "off") return std::nullopt;
  KubeSetup setup;
  discovery::kube::ApiFlags flags{options.kube_api, options.kube_token_file, options.kube_ca_file,
                                  options.kube_insecure_skip_tls_verify};
  std::string error;
  auto api = discovery::kube::ResolveApiConfig(flags, common::ProcessEnvironment,
                                               discovery::kube::RegularFileExists, &error);
  if (!api) throw UsageError("kubernetes: " + error);
  setup.api = *api;
  if (mode == "node") {
    if (options.node_name.empty())
      throw UsageError("--kube-mode node needs --node-name or $NODE_NAME");
    setup.watcher.mode = discovery::kube::WatchMode::kNode;
    setup.watcher.node_name = options.node_name;
  } else {
    if (options.pod_name.empty() || options.pod_namespace.empty()) {
      throw UsageError(
          "--kube-mode pod needs --pod-name and --pod-namespace (or $POD_NAME, $POD_NAMESPACE)");
    }
    setup.watcher.mode = discovery::kube::WatchMode::kPod;
    setup.watcher.pod_name = options.pod_name;
    setup.watcher.pod_namespace = options.pod_namespace;
  }
  setup.targets = PodTargetOptionsFor(options, mode);
  return setup;
}

}  // namespace expvar::cli
