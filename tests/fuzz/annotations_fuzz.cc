// Fuzzes the Autodiscovery annotation reader, and the pipeline behind it, with untrusted pod
// annotations: TemplatesFromAnnotations, then TargetsFromPods (resolution and the host guard) in
// node and pod mode. Every target must point at the pod itself and compile into a check plan.
//
// Input: one annotation a line, `key=value`. A key without '/' gets the `ad.datadoghq.com/`
// prefix and one starting with '~' the legacy `service-discovery.datadoghq.com/` prefix, so that
// short keys such as `app.checks` or `~worker.instances` reach the interesting code quickly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "check/check.h"
#include "discovery/annotation_limits.h"
#include "discovery/annotations.h"
#include "discovery/pod_tags.h"
#include "discovery/pod_targets.h"
#include "fuzz_ip.h"
#include "http/url.h"
#include "pipeline/pod.h"
#include "support/pod_builder.h"

namespace {

namespace discovery = expvar::discovery;
namespace pipeline = expvar::pipeline;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "annotations_fuzz invariant violated: %s\n", what.c_str());
  std::abort();
}

pipeline::Pod MakePod() {
  return expvar::testing::PodBuilder("jobs", "queue-worker-6b8d9f7c4-ql5mz",
                                     "a2e4c6d8-0f1b-4d3e-8a5c-7e9f1b3d5a7c")
      .Ips({"10.244.1.17", "fd00:10:244:1::11"})
      .AddContainer("app", {{"metrics", 9000, "TCP"}, {"http", 8080, "TCP"}})
      .AddContainer("worker", {{"debug", 7070, "TCP"}})
      .AddContainer("sidecar", {{"", 9090, "TCP"}})
      .AddContainer("exporter", {{"", 9100, "TCP"}})
      .AddContainer("stopped", {{"metrics", 9100, "TCP"}}, /*running=*/false)
      .Build();
}

std::optional<std::string> LookupEnv(const std::string& name) {
  if (name == "EXPVAR_PORT") return "9000";
  if (name == "EVIL") return "evil.example.com";
  return std::nullopt;
}

std::string ExpandKey(std::string_view key) {
  if (!key.empty() && key.front() == '~') {
    return std::string(discovery::kLegacyAdPrefix) + std::string(key.substr(1));
  }
  if (key.find('/') == std::string_view::npos) {
    return std::string(discovery::kAdPrefix) + std::string(key);
  }
  return std::string(key);
}

bool IsPodIpOrLoopback(const std::string& host, const pipeline::Pod& pod, bool loopback) {
  std::optional<expvar::fuzz::Ip> ip = expvar::fuzz::ParseIp(host);
  if (!ip) return false;
  if (ip == expvar::fuzz::ParseIp(pod.pod_ip)) return true;
  for (const auto& pod_ip : pod.pod_ips) {
    if (ip == expvar::fuzz::ParseIp(pod_ip)) return true;
  }
  return loopback && expvar::fuzz::IsLoopback(*ip);
}

// What an annotation may not do, whatever it says (the clamps are on, at their defaults): name a
// file, lift a limit, or set a tag the collector derives from the pod (the pod's own come first).
void CheckWithinLimits(const pipeline::Instance& instance, const std::vector<std::string>& pod_tags,
                       const discovery::AnnotationLimits& limits) {
  if (!instance.tls.ca_cert.empty() || !instance.tls.cert.empty() ||
      !instance.tls.private_key.empty()) {
    Fail("a target from an annotation names a file");
  }
  if (instance.max_body_bytes > limits.max_body_bytes || instance.timeout > limits.max_timeout ||
      instance.max_returned_metrics > limits.max_returned_metrics ||
      (instance.min_collection_interval &&
       *instance.min_collection_interval < limits.min_interval) ||
      instance.metrics.size() > limits.max_metric_items) {
    Fail("a target from an annotation beyond the limits");
  }
  if (instance.tags.size() < pod_tags.size() ||
      !std::equal(pod_tags.begin(), pod_tags.end(), instance.tags.begin())) {
    Fail("a target whose first tags are not the pod's own");
  }
  if (instance.tags.size() - pod_tags.size() > limits.max_tags) {
    Fail("more annotation tags than the limit");
  }
  for (std::size_t i = pod_tags.size(); i < instance.tags.size(); ++i) {
    if (discovery::IsReservedTag(instance.tags[i])) Fail("a reserved tag set by an annotation");
    if (instance.tags[i].size() > limits.max_tag_length) Fail("an annotation tag too long");
  }
  for (const auto& item : instance.metrics) {
    for (const auto& tag : item.tags) {
      if (discovery::IsReservedTag(tag)) Fail("a reserved tag set on a metric item");
    }
  }
}

void CheckTargets(const pipeline::Pod& pod, discovery::PodMode mode) {
  discovery::PodTargetOptions options;
  options.mode = mode;
  options.env = LookupEnv;
  const bool pod_mode = mode == discovery::PodMode::kPod;
  discovery::ProviderResult result = discovery::TargetsFromPods({pod}, options);
  for (const auto& target : result.targets) {
    const std::string& url = target.instance.expvar_url;
    std::string error;
    auto parsed = expvar::http::ParseUrl(url, &error);
    if (!parsed) Fail("a target with an unparsable expvar_url: " + url);
    if (!IsPodIpOrLoopback(parsed->host, pod, pod_mode)) {
      Fail("a target that does not point at the pod: " + url);
    }
    CheckWithinLimits(target.instance, discovery::PodTags(pod, target.entity.container_name),
                      options.limits);
    try {
      (void)expvar::check::Compile(target.instance);
    } catch (const std::exception& e) {
      Fail(std::string("a target that does not compile: ") + e.what());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  pipeline::Pod pod = MakePod();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    std::size_t newline = input.find('\n');
    std::string_view line = input.substr(0, newline);
    input.remove_prefix(newline == std::string_view::npos ? input.size() : newline + 1);
    std::size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    pod.annotations[ExpandKey(line.substr(0, equals))] = std::string(line.substr(equals + 1));
  }

  discovery::PodTemplates templates = discovery::TemplatesFromAnnotations(pod);
  for (const auto& t : templates.templates) {
    if (pod.FindContainer(t.container) == nullptr) Fail("a template for an unknown container");
    if (!t.init_config.is_object()) Fail("init_config is not an object");
    if (!t.instance.is_object()) Fail("an instance that is not an object");
  }
  for (const auto& e : templates.errors) {
    if (e.annotation.empty() || e.message.empty()) Fail("an error without annotation or message");
  }
  CheckTargets(pod, discovery::PodMode::kNode);
  CheckTargets(pod, discovery::PodMode::kPod);
  return 0;
}
