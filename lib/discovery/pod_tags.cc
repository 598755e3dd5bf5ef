#include "discovery/pod_tags.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "common/ascii.h"
#include "common/text.h"

namespace expvar::discovery {

using pipeline::Container;
using pipeline::OwnerReference;
using pipeline::Pod;

namespace {

// The characters Kubernetes' rand.String draws from (the pod-template-hash since 1.8), and the
// digits of the older hashes and of a CronJob's scheduled time.
constexpr std::string_view kHashAlphabet = "bcdfghjklmnpqrstvwxz2456789";
constexpr std::string_view kDigits = "0123456789";

// What follows the last '-' when it is at least 3 characters all from `alphabet`; nullopt else.
std::optional<std::size_t> GeneratedSuffixDash(std::string_view name,
                                               std::initializer_list<std::string_view> alphabets) {
  const std::size_t dash = name.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view suffix = name.substr(dash + 1);
  if (suffix.size() < 3) return std::nullopt;
  for (std::string_view alphabet : alphabets) {
    if (suffix.find_first_not_of(alphabet) == std::string_view::npos) return dash;
  }
  return std::nullopt;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (common::IsAsciiUpper(c)) c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view KeyOf(std::string_view tag) { return tag.substr(0, tag.find(':')); }

// Collects `key:value` tags, leaving out empty values as the Agent's tag list does.
class TagList {
 public:
  void Add(std::string_view key, std::string_view value) {
    if (!value.empty()) tags_.push_back(std::string(key) + ":" + std::string(value));
  }
  std::vector<std::string> Take() { return std::move(tags_); }

 private:
  std::vector<std::string> tags_;
};

const std::string* FindLabel(const Pod& pod, const std::string& key) {
  auto it = pod.labels.find(key);
  return it == pod.labels.end() || it->second.empty() ? nullptr : &it->second;
}

// Unified service tagging: tags.datadoghq.com/<container>.<key> wins over the pod-wide label.
void AddUnifiedServiceTags(const Pod& pod, const std::string& container, TagList& tags) {
  for (const char* key : {"env", "service", "version"}) {
    const std::string* value = FindLabel(pod, "tags.datadoghq.com/" + container + "." + key);
    if (value == nullptr) value = FindLabel(pod, std::string("tags.datadoghq.com/") + key);
    if (value != nullptr) tags.Add(key, *value);
  }
}

// The owner the pod's controller reference names (Kubernetes allows at most one).
const OwnerReference* Controller(const Pod& pod) {
  auto it = std::ranges::find_if(pod.owner_references,
                                 [](const OwnerReference& owner) { return owner.controller; });
  return it == pod.owner_references.end() ? nullptr : &*it;
}

void AddOwnerTags(const Pod& pod, TagList& tags) {
  const OwnerReference* owner = Controller(pod);
  if (owner == nullptr) return;
  tags.Add("kube_ownerref_kind", AsciiLower(owner->kind));
  tags.Add("kube_ownerref_name", owner->name);
  const std::string& kind = owner->kind;
  if (kind == "ReplicaSet") {
    tags.Add("kube_replica_set", owner->name);
    tags.Add("kube_deployment", DeploymentForReplicaSet(owner->name));
  } else if (kind == "Deployment") {
    tags.Add("kube_deployment", owner->name);
  } else if (kind == "DaemonSet") {
    tags.Add("kube_daemon_set", owner->name);
  } else if (kind == "StatefulSet") {
    tags.Add("kube_stateful_set", owner->name);
  } else if (kind == "Job") {
    tags.Add("kube_job", owner->name);
    tags.Add("kube_cronjob", CronJobForJob(owner->name));
  } else if (kind == "ReplicationController") {
    tags.Add("kube_replication_controller", owner->name);
  }
}

void AddImageTags(const Container* container, TagList& tags) {
  if (container == nullptr || container->image.empty()) return;
  std::optional<ImageParts> parts = SplitImageName(container->image);
  if (!parts) {  // a bare image id: the Agent keeps it as the name
    tags.Add("image_name", container->image);
    return;
  }
  tags.Add("image_name", parts->name);
  tags.Add("image_tag", parts->tag);
  tags.Add("short_image", parts->short_name);
}

void AddAppLabelTags(const Pod& pod, TagList& tags) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kAppLabels = {{
      {"app.kubernetes.io/name", "kube_app_name"},
      {"app.kubernetes.io/instance", "kube_app_instance"},
      {"app.kubernetes.io/version", "kube_app_version"},
      {"app.kubernetes.io/component", "kube_app_component"},
      {"app.kubernetes.io/part-of", "kube_app_part_of"},
      {"app.kubernetes.io/managed-by", "kube_app_managed_by"},
  }};
  for (const auto& [label, key] : kAppLabels) {
    if (const std::string* value = FindLabel(pod, std::string(label))) tags.Add(key, *value);
  }
}

}  // namespace

std::vector<std::string> PodTags(const Pod& pod, const std::string& container) {
  TagList tags;
  tags.Add("kube_namespace", pod.namespace_name);
  tags.Add("pod_name", pod.name);
  tags.Add("kube_container_name", container);
  AddUnifiedServiceTags(pod, container, tags);
  AddOwnerTags(pod, tags);
  AddImageTags(pod.FindContainer(container), tags);
  tags.Add("kube_qos", pod.qos_class);
  tags.Add("pod_phase", AsciiLower(pod.phase));
  AddAppLabelTags(pod, tags);
  return tags.Take();
}

std::vector<std::string> WithoutPodTagKeys(const std::vector<std::string>& tags,
                                           const std::vector<std::string>& pod_tags,
                                           const std::string& where,
                                           std::vector<std::string>& warnings) {
  std::vector<std::string> kept;
  for (const std::string& tag : tags) {
    const std::string_view key = KeyOf(tag);
    auto owned = std::ranges::find_if(
        pod_tags, [&](const std::string& pod_tag) { return KeyOf(pod_tag) == key; });
    if (owned == pod_tags.end()) {
      kept.push_back(tag);
      continue;
    }
    if (*owned == tag) continue;  // the same tag twice: nothing lost
    warnings.push_back(where + ": tag " + common::Quoted(key) + " is set from the pod (" + *owned +
                       "); the annotation's value dropped");
  }
  return kept;
}

std::string DeploymentForReplicaSet(std::string_view replica_set) {
  auto dash = GeneratedSuffixDash(replica_set, {kDigits, kHashAlphabet});
  return dash ? std::string(replica_set.substr(0, *dash)) : std::string();
}

std::string CronJobForJob(std::string_view job) {
  auto dash = GeneratedSuffixDash(job, {kDigits});
  if (!dash) return "";
  // The Agent reads the suffix as an int (Go's strconv.Atoi): one that overflows is no time.
  const std::string_view suffix = job.substr(*dash + 1);
  std::int64_t minutes = 0;
  auto [end, ec] = std::from_chars(suffix.data(), suffix.data() + suffix.size(), minutes);
  if (ec != std::errc() || end != suffix.data() + suffix.size()) return "";
  return std::string(job.substr(0, *dash));
}

std::optional<ImageParts> SplitImageName(std::string_view image) {
  if (image.empty() || image.starts_with("sha256:")) return std::nullopt;
  std::string_view name = image;
  // A digest-pinned reference (`…@sha256:…`) is named without its digest.
  if (std::size_t at = name.rfind("@sha"); at != std::string_view::npos && at > 0) {
    name = name.substr(0, at);
  }
  ImageParts parts;
  const std::size_t last_colon = name.rfind(':');
  const std::size_t last_slash = name.rfind('/');
  // A ':' before the last '/' is a registry port, not a tag.
  if (last_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || last_colon > last_slash)) {
    parts.tag = std::string(name.substr(last_colon + 1));
    name = name.substr(0, last_colon);
  }
  parts.short_name =
      std::string(last_slash == std::string_view::npos ? name : name.substr(last_slash + 1));
  parts.name = std::string(name);
  if (parts.tag.empty()) parts.tag = "latest";  // what Kubernetes pulls when none is given
  return parts;
}

}  // namespace expvar::discovery
