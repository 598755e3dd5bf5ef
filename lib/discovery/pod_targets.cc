#include "discovery/pod_targets.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <iterator>
#include <map>
#include <optional>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "common/text.h"
#include "config/conf_file.h"
#include "discovery/annotation_limits.h"
#include "discovery/annotation_prefix.h"
#include "discovery/annotations.h"
#include "discovery/pod_tags.h"
#include "resolve/host_guard.h"
#include "resolve/resolver.h"

namespace expvar::discovery {

using pipeline::Container;
using pipeline::Pod;

namespace {

std::string PodName(const Pod& pod) { return pod.namespace_name + "/" + pod.name; }

bool Schedulable(const Pod& pod, bool tolerate_unready) {
  return pod.phase == "Running" && (pod.ready || tolerate_unready);
}

class PodResolver {
 public:
  PodResolver(const Pod& pod, const PodTargetOptions& options, ParseCache* cache,
              ProviderResult& out)
      : pod_(pod), options_(options), cache_(cache), out_(out) {}

  void Run() {
    PodTemplates templates = TemplatesFromAnnotations(pod_);
    if (templates.templates.empty() && templates.errors.empty()) return;  // not ours
    if (!Schedulable(pod_, templates.tolerate_unready)) {
      Skip(pod_.phase != "Running"
               ? "phase " + pod_.phase + ": only Running pods are scraped"
               : "not Ready (ad.datadoghq.com/tolerate-unready: \"true\" scrapes unready pods)");
      return;
    }
    for (const auto& error : templates.errors) Fail(error.annotation, error.message);
    for (const auto& tmpl : templates.templates) Resolve(tmpl);
  }

 private:
  void Resolve(const CheckTemplate& tmpl) {
    const Container* container = pod_.FindContainer(tmpl.container);
    if (!container || !container->running) {  // it will come back when it runs
      Skip("container " + tmpl.container + " is not running");
      return;
    }
    auto resolved = resolve::ResolveTemplate(tmpl.instance, Context(tmpl.container));
    if (auto* error = std::get_if<resolve::ResolveError>(&resolved)) {
      Fail(tmpl.annotation, error->message);
      return;
    }
    const auto& instance = std::get<boost::json::value>(resolved);
    if (!GuardHost(tmpl, instance)) return;
    auto init_config = resolve::ResolveTemplate(tmpl.init_config, Context(tmpl.container));
    if (auto* error = std::get_if<resolve::ResolveError>(&init_config)) {
      Fail(tmpl.annotation, "init_config: " + error->message);
      return;
    }
    std::string source = "pod " + PodName(pod_) + " container " + tmpl.container;
    boost::json::object conf{{"init_config", std::get<boost::json::value>(init_config)},
                             {"instances", boost::json::array{instance}}};
    try {
      std::string text = boost::json::serialize(conf);
      config::ConfFile parsed =
          cache_ ? cache_->Parse(text, source) : config::ParseConfText(text, source);
      for (const auto& warning : parsed.warnings) Fail(tmpl.annotation, warning);
      for (auto& parsed_instance : parsed.instances) {
        if (auto refused = RefusedAnnotationKey(parsed_instance)) {
          Fail(tmpl.annotation, *refused);
          continue;
        }
        std::vector<std::string> pod_tags = PodTags(pod_, tmpl.container);
        KeepAnnotationTags(parsed_instance, tmpl, pod_tags);
        for (const auto& clamp : ClampToLimits(parsed_instance, options_.limits)) {
          Fail(tmpl.annotation, clamp);
        }
        // The pod's own tags come first: of two equal keys the first wins downstream.
        parsed_instance.tags.insert(parsed_instance.tags.begin(), pod_tags.begin(), pod_tags.end());
        pipeline::Entity entity{pod_.uid, pod_.name, pod_.namespace_name, tmpl.container};
        out_.targets.push_back({source, std::move(parsed_instance), std::move(entity)});
      }
    } catch (const config::ConfigError& e) {
      Fail(tmpl.annotation, e.what());
    }
  }

  bool GuardHost(const CheckTemplate& tmpl, const boost::json::value& instance) {
    const auto* object = instance.if_object();
    const auto* url = object ? object->if_contains("expvar_url") : nullptr;
    if (!url || !url->is_string()) return true;  // the config parser reports it
    auto policy = options_.allow_any_host           ? resolve::HostPolicy::kAny
                  : options_.mode == PodMode::kNode ? resolve::HostPolicy::kPodIpOnly
                                                    : resolve::HostPolicy::kLoopbackOrPodIp;
    std::vector<std::string> allowed = resolve::PodIps(pod_);
    if (options_.mode == PodMode::kPod) allowed.push_back(options_.sidecar_host);
    auto refused =
        resolve::CheckTargetHost(std::string(url->get_string()), allowed, policy, AllowedPorts());
    if (refused) Fail(tmpl.annotation, "expvar_url refused: " + *refused);
    return !refused;
  }

  // A hostNetwork pod's IP is the node's: in node mode only the ports its containers declare
  // are the pod's, any other is the node's (the kubelet, the collector's admin port, ...). In
  // pod mode the collector runs inside the pod already.
  std::optional<std::vector<int>> AllowedPorts() const {
    if (!pod_.host_network || options_.mode != PodMode::kNode) return std::nullopt;
    return resolve::DeclaredPorts(pod_);
  }

  // The tags the annotations give (the instance's, then ad.datadoghq.com/tags), minus those the
  // collector derives from the pod (reserved keys always; env, service and version when the
  // pod's labels set them); each one dropped is reported.
  void KeepAnnotationTags(pipeline::Instance& instance, const CheckTemplate& tmpl,
                          const std::vector<std::string>& pod_tags) {
    std::vector<std::string> warnings;
    auto keep = [&](const std::vector<std::string>& tags, const std::string& where) {
      return WithoutPodTagKeys(WithoutReservedTags(tags, where, warnings), pod_tags, where,
                               warnings);
    };
    std::vector<std::string> tags = keep(instance.tags, "tags");
    for (auto& tag : keep(tmpl.tags, "ad.datadoghq.com tags")) tags.push_back(std::move(tag));
    instance.tags = std::move(tags);
    for (std::size_t i = 0; i < instance.metrics.size(); ++i) {
      auto& item = instance.metrics[i];
      item.tags = keep(item.tags, common::Indexed("metrics", i) + ".tags");
    }
    for (const auto& warning : warnings) Fail(tmpl.annotation, warning);
  }

  resolve::ResolveContext Context(const std::string& container) const {
    resolve::ResolveContext ctx;
    ctx.pod = &pod_;
    ctx.container = container;
    ctx.host = options_.mode == PodMode::kNode ? pod_.pod_ip : options_.sidecar_host;
    ctx.env = options_.env;
    return ctx;
  }

  void Skip(const std::string& why) { out_.skipped.push_back({"pod " + PodName(pod_), why}); }

  void Fail(const std::string& annotation, const std::string& message) {
    out_.errors.push_back({"pod " + PodName(pod_) + " annotation " + annotation, message});
  }

  const Pod& pod_;
  const PodTargetOptions& options_;
  ParseCache* cache_;
  ProviderResult& out_;
};

// Older pods first, so that the node limit keeps what is already scraped when a pod is added.
std::vector<const Pod*> OldestFirst(const std::vector<Pod>& pods) {
  std::vector<const Pod*> order;
  order.reserve(pods.size());
  for (const auto& pod : pods) order.push_back(&pod);
  std::stable_sort(order.begin(), order.end(), [](const Pod* a, const Pod* b) {
    return std::tie(a->creation_timestamp, a->namespace_name, a->name) <
           std::tie(b->creation_timestamp, b->namespace_name, b->name);
  });
  return order;
}

void CapPerPod(const Pod& pod, std::size_t limit, ProviderResult& own) {
  if (limit == 0 || own.targets.size() <= limit) return;
  own.errors.push_back(
      {"pod " + PodName(pod), "asks for " + std::to_string(own.targets.size()) +
                                  " go_expvar instances, more than --max-targets-per-pod " +
                                  std::to_string(limit) + ": only the first " +
                                  std::to_string(limit) + " are scraped"});
  own.targets.resize(limit);
}

void Admit(const Pod& pod, std::size_t node_limit, ProviderResult own, ProviderResult& result) {
  if (node_limit != 0 && result.targets.size() + own.targets.size() > node_limit) {
    own.errors.push_back({"pod " + PodName(pod),
                          "not scraped: its " + std::to_string(own.targets.size()) +
                              " targets would take this collector over --max-targets-per-node " +
                              std::to_string(node_limit) + " (older pods already have " +
                              std::to_string(result.targets.size()) + ")"});
    own.targets.clear();
  }
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  };
  append(result.targets, own.targets);
  append(result.errors, own.errors);
  append(result.skipped, own.skipped);
}

}  // namespace

config::ConfFile ParseCache::Parse(const std::string& text, const std::string& source) {
  Key key{text, source};
  auto it = current_.find(key);
  if (it == current_.end()) {
    if (auto old = previous_.find(key); old != previous_.end()) {
      it = current_.insert(previous_.extract(old)).position;
    }
  }
  if (it == current_.end()) {
    Entry entry;
    try {
      entry = config::ParseConfText(text, source);
    } catch (const config::ConfigError& e) {
      entry = std::string(e.what());
    }
    it = current_.emplace(std::move(key), std::move(entry)).first;
  }
  if (const auto* error = std::get_if<std::string>(&it->second)) throw config::ConfigError(*error);
  return std::get<config::ConfFile>(it->second);
}

void ParseCache::EndCall() {
  previous_ = std::move(current_);
  current_.clear();
}

// Problems about pods read under an operator's prefix name the annotations the pods really have.
void NameTheOperatorsPrefix(std::string_view prefix, ProviderResult& result) {
  if (IsDatadogPrefix(prefix)) return;
  for (auto& error : result.errors) {
    error.source = InAnnotationPrefix(std::move(error.source), prefix);
    error.message = InAnnotationPrefix(std::move(error.message), prefix);
  }
  for (auto& skipped : result.skipped) {
    skipped.message = InAnnotationPrefix(std::move(skipped.message), prefix);
  }
}

ProviderResult TargetsFromPods(const std::vector<Pod>& pods, const PodTargetOptions& options,
                               ParseCache* cache) {
  ProviderResult result;
  for (const Pod* pod : OldestFirst(pods)) {
    ProviderResult own;
    std::optional<Pod> renamed;  // only under an operator's prefix: most collectors copy nothing
    if (!IsDatadogPrefix(options.annotation_prefix)) {
      renamed = WithAnnotationPrefix(*pod, options.annotation_prefix);
    }
    PodResolver(renamed ? *renamed : *pod, options, cache, own).Run();
    CapPerPod(*pod, options.max_targets_per_pod, own);
    Admit(*pod, options.max_targets_per_node, std::move(own), result);
  }
  if (cache) cache->EndCall();
  NameTheOperatorsPrefix(options.annotation_prefix, result);
  return result;
}

}  // namespace expvar::discovery
