#include "discovery/annotation_keys.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace expvar::discovery::detail {

using pipeline::Container;
using pipeline::Pod;

namespace {

// "ad.datadoghq.com/<X>.checks" → X, for the keys this collector reads; nullopt for other keys.
// check.id and tags are per container name; the check suffixes are per check identifier.
struct NamedKey {
  std::string identifier;
  bool by_container_name = false;
};

std::optional<NamedKey> ParseNamedKey(std::string_view key) {
  struct Form {
    std::string_view prefix;
    std::string_view suffix;
    bool by_container_name;
  };
  static constexpr Form kForms[] = {
      {kAdPrefix, ".check.id", true},
      {kAdPrefix, ".tags", true},
      {kAdPrefix, ".checks", false},
      {kAdPrefix, ".check_names", false},
      {kAdPrefix, ".init_configs", false},
      {kAdPrefix, ".instances", false},
      {kLegacyAdPrefix, ".check_names", false},
      {kLegacyAdPrefix, ".init_configs", false},
      {kLegacyAdPrefix, ".instances", false},
  };
  for (const Form& form : kForms) {
    if (key.size() > form.prefix.size() + form.suffix.size() && key.starts_with(form.prefix) &&
        key.ends_with(form.suffix)) {
      key.remove_prefix(form.prefix.size());
      key.remove_suffix(form.suffix.size());
      return NamedKey{std::string(key), form.by_container_name};
    }
  }
  return std::nullopt;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

// A check annotation under a container name whose checks are read under its check.id instead.
std::string CheckIdHint(const Pod& pod, const std::vector<std::string>& ids,
                        const std::string& identifier) {
  for (std::size_t i = 0; i < pod.containers.size(); ++i) {
    if (pod.containers[i].name == identifier && ids[i] != identifier) {
      return "; container " + Quoted(identifier) + " reads its checks under its check id " +
             Quoted(ids[i]);
    }
  }
  return "";
}

// Each container's check identifier; an empty check.id (already reported) keeps the name.
std::vector<std::string> Identifiers(const Reporter& reporter) {
  std::vector<std::string> ids;
  for (const Container& container : reporter.pod().containers) {
    const std::string* id = reporter.Find(std::string(kAdPrefix) + container.name + ".check.id");
    ids.push_back(id == nullptr || id->empty() ? container.name : *id);
  }
  return ids;
}

}  // namespace

void ValidateNamedKeys(Reporter& reporter) {
  const std::vector<std::string> ids = Identifiers(reporter);
  const Pod& pod = reporter.pod();
  std::vector<std::string> names;
  for (const Container& container : pod.containers) names.push_back(container.name);
  for (const auto& [key, value] : pod.annotations) {
    std::optional<NamedKey> named = ParseNamedKey(key);
    if (!named) continue;
    const std::vector<std::string>& valid = named->by_container_name ? names : ids;
    if (std::ranges::find(valid, named->identifier) != valid.end()) continue;
    const bool plain = named->by_container_name || ids == names;
    reporter.Error(key, Quoted(named->identifier) +
                            (plain ? " names no container of the pod (containers: "
                                   : " matches no check identifier of the pod (identifiers: ") +
                            JoinNames(valid) + ")" + CheckIdHint(pod, ids, named->identifier));
  }
}

}  // namespace expvar::discovery::detail
