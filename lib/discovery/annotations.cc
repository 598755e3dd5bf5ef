#include "discovery/annotations.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <optional>
#include <utility>

#include "common/json_kind.h"
#include "discovery/annotation_keys.h"
#include "discovery/annotation_reporter.h"
#include "discovery/annotation_tags.h"

namespace expvar::discovery {

using common::JsonKindName;
using pipeline::Container;
using pipeline::Pod;

namespace {

namespace json = boost::json;

using detail::Indexed;
using detail::ParseJson;
using detail::Quoted;
using detail::ReadTags;
using detail::Reporter;
using detail::ValidateNamedKeys;

// An instance found for one container, before the tags are known.
struct Found {
  std::string annotation;
  json::value init_config;
  json::value instance;
};

// --- v2: ad.datadoghq.com/<ID>.checks ----------------------------------------------------------

// The check an entry of a v2 checks object configures: its "name" when that is a non-empty
// string (Datadog's override), else its key.
std::string_view V2CheckName(std::string_view key, const json::value& entry) {
  if (!entry.is_object()) return key;
  const json::value* name = entry.get_object().if_contains("name");
  if (name == nullptr || !name->is_string() || name->get_string().empty()) return key;
  return name->get_string();
}

// init_config of a v2 entry: absent or null means {} (as in Datadog).
std::optional<json::value> V2InitConfig(const json::object& entry, const std::string& path,
                                        std::string* error) {
  const json::value* init_config = entry.if_contains("init_config");
  if (init_config == nullptr || init_config->is_null()) return json::object();
  if (!init_config->is_object()) {
    *error = path + ".init_config: expected an object, got " + JsonKindName(*init_config);
    return std::nullopt;
  }
  return *init_config;
}

// Appends the instances of one go_expvar entry of a v2 checks object. Absent or null
// "instances" means none.
bool AppendV2Entry(const std::string& annotation, std::string_view key, const json::value& entry,
                   std::vector<Found>& found, std::string* error) {
  const std::string path = Quoted(key);
  if (!entry.is_object()) {
    *error = path + ": expected an object, got " + JsonKindName(entry);
    return false;
  }
  const json::object& object = entry.get_object();
  if (const json::value* name = object.if_contains("name"); name && !name->is_string()) {
    *error = path + ".name: expected a string, got " + JsonKindName(*name);
    return false;
  }
  std::optional<json::value> init_config = V2InitConfig(object, path, error);
  if (!init_config) return false;
  const json::value* instances = object.if_contains("instances");
  if (instances == nullptr || instances->is_null()) return true;
  if (!instances->is_array()) {
    *error = path + ".instances: expected an array, got " + JsonKindName(*instances);
    return false;
  }
  const json::array& list = instances->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) {
      *error =
          Indexed(path + ".instances", i) + ": expected an object, got " + JsonKindName(list[i]);
      return false;
    }
    found.push_back({annotation, *init_config, list[i]});
  }
  return true;
}

// Entries for other checks are not ours: they are skipped without being validated.
std::vector<Found> ReadV2(Reporter& reporter, const std::string& key, const std::string& text) {
  std::string error;
  std::optional<json::value> checks = ParseJson(text, &error);
  if (!checks) {
    reporter.Error(key, error);
    return {};
  }
  if (!checks->is_object()) {
    reporter.Error(key, "expected a JSON object of checks by name, got " + JsonKindName(*checks));
    return {};
  }
  std::vector<Found> found;
  for (const auto& [name, entry] : checks->get_object()) {
    if (V2CheckName(name, entry) != kGoExpvarCheck) continue;
    if (!AppendV2Entry(key, name, entry, found, &error)) {
      reporter.Error(key, error);
      return {};
    }
  }
  return found;
}

// --- v1 and legacy: <prefix><ID>.check_names / .init_configs / .instances --------------------

// Indexes of go_expvar in a check_names annotation; nullopt (with the error recorded) when it is
// not a JSON array of strings.
std::optional<std::vector<std::size_t>> GoExpvarIndexes(Reporter& reporter, const std::string& key,
                                                        std::size_t* count) {
  std::string error;
  std::optional<json::value> names = ParseJson(*reporter.Find(key), &error);
  if (names && !names->is_array())
    error = "expected an array of check names, got " + JsonKindName(*names);
  if (!error.empty()) {
    reporter.Error(key, error);
    return std::nullopt;
  }
  std::vector<std::size_t> indexes;
  const json::array& list = names->get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) {
      reporter.Error(
          key, Indexed("check_names", i) + ": expected a string, got " + JsonKindName(list[i]));
      return std::nullopt;
    }
    if (list[i].get_string() == kGoExpvarCheck) indexes.push_back(i);
  }
  *count = list.size();
  return indexes;
}

// init_configs or instances: required once check_names names a go_expvar check.
std::optional<json::array> V1List(Reporter& reporter, const std::string& key,
                                  const std::string& names_key) {
  const std::string* text = reporter.Find(key);
  if (text == nullptr) {
    reporter.Error(key, "missing, but " + names_key + " names a go_expvar check");
    return std::nullopt;
  }
  std::string error;
  std::optional<json::value> list = ParseJson(*text, &error);
  if (list && !list->is_array()) error = "expected an array, got " + JsonKindName(*list);
  if (!error.empty()) {
    reporter.Error(key, error);
    return std::nullopt;
  }
  return std::move(list->get_array());
}

// One init_configs entry: an object, or a list holding exactly one object.
std::optional<json::value> V1InitConfig(const json::value& entry, std::size_t index,
                                        std::string* error) {
  if (entry.is_object()) return entry;
  if (entry.is_array() && entry.get_array().size() == 1 && entry.get_array()[0].is_object()) {
    return entry.get_array()[0];
  }
  *error = Indexed("init_configs", index) + ": expected an object or a list of one object, got " +
           (entry.is_array() ? "a list of " + std::to_string(entry.get_array().size()) + " items"
                             : JsonKindName(entry));
  return std::nullopt;
}

// One instances entry: an object, or a list of objects (several instances of one check). An
// empty list means no instances; Datadog drops it, which misaligns the parallel lists.
bool AppendV1Instances(const std::string& annotation, const json::value& init_config,
                       const json::value& entry, std::size_t index, std::vector<Found>& found,
                       std::string* error) {
  if (entry.is_object()) {
    found.push_back({annotation, init_config, entry});
    return true;
  }
  if (!entry.is_array()) {
    *error = Indexed("instances", index) + ": expected an object or a list of objects, got " +
             JsonKindName(entry);
    return false;
  }
  const json::array& list = entry.get_array();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) {
      *error = Indexed(Indexed("instances", index), i) + ": expected an object, got " +
               JsonKindName(list[i]);
      return false;
    }
    found.push_back({annotation, init_config, list[i]});
  }
  return true;
}

bool SameLengths(Reporter& reporter, const std::string& prefix, std::size_t names,
                 const json::array& init_configs, const json::array& instances) {
  if (init_configs.size() == names && instances.size() == names) return true;
  reporter.Error(prefix + "check_names",
                 "check_names has " + std::to_string(names) + " entries, init_configs " +
                     std::to_string(init_configs.size()) + ", instances " +
                     std::to_string(instances.size()) + ": the lists must have the same length");
  return false;
}

// `prefix` is "ad.datadoghq.com/<ID>." or the legacy one, and <prefix>check_names exists.
// Entries of other checks are not validated, as for v2.
std::vector<Found> ReadV1(Reporter& reporter, const std::string& prefix) {
  const std::string names_key = prefix + "check_names";
  const std::string init_key = prefix + "init_configs";
  const std::string instances_key = prefix + "instances";
  std::size_t count = 0;
  std::optional<std::vector<std::size_t>> indexes = GoExpvarIndexes(reporter, names_key, &count);
  if (!indexes || indexes->empty()) return {};
  std::optional<json::array> init_configs = V1List(reporter, init_key, names_key);
  std::optional<json::array> instances = V1List(reporter, instances_key, names_key);
  if (!init_configs || !instances) return {};
  if (!SameLengths(reporter, prefix, count, *init_configs, *instances)) return {};
  std::vector<Found> found;
  std::string error;
  for (std::size_t i : *indexes) {
    std::optional<json::value> init_config = V1InitConfig((*init_configs)[i], i, &error);
    if (!init_config) {
      reporter.Error(init_key, error);
      return {};
    }
    if (!AppendV1Instances(instances_key, *init_config, (*instances)[i], i, found, &error)) {
      reporter.Error(instances_key, error);
      return {};
    }
  }
  return found;
}

// "ad.datadoghq.com/<ID>." when <that>check_names exists, else the legacy prefix when it does,
// else "" (Datadog's order).
std::string V1Prefix(const Reporter& reporter, const std::string& id) {
  for (std::string_view prefix : {kAdPrefix, kLegacyAdPrefix}) {
    std::string candidate = std::string(prefix) + id + ".";
    if (reporter.Find(candidate + "check_names") != nullptr) return candidate;
  }
  return "";
}

// Datadog ignores init_configs/instances without check_names silently; say why nothing runs.
void ReportOrphans(Reporter& reporter, const std::string& id) {
  for (std::string_view prefix : {kAdPrefix, kLegacyAdPrefix}) {
    for (const char* suffix : {".init_configs", ".instances"}) {
      std::string key = std::string(prefix) + id + suffix;
      if (reporter.Find(key) != nullptr) {
        reporter.Error(key, "ignored: there is no " + std::string(prefix) + id +
                                ".check_names annotation naming its checks");
      }
    }
  }
}

// The identifier Datadog reads a container's check annotations under: its check.id, or its name.
std::optional<std::string> CheckId(Reporter& reporter, const Container& container) {
  const std::string key = std::string(kAdPrefix) + container.name + ".check.id";
  const std::string* id = reporter.Find(key);
  if (id == nullptr) return container.name;
  if (id->empty()) {
    reporter.Error(key, "the check id is empty");
    return std::nullopt;
  }
  return *id;
}

std::vector<Found> ContainerTemplates(Reporter& reporter, const Container& container) {
  std::optional<std::string> id = CheckId(reporter, container);
  if (!id) return {};
  const std::string v2_key = std::string(kAdPrefix) + *id + ".checks";
  if (const std::string* checks = reporter.Find(v2_key)) return ReadV2(reporter, v2_key, *checks);
  const std::string prefix = V1Prefix(reporter, *id);
  if (!prefix.empty()) return ReadV1(reporter, prefix);
  ReportOrphans(reporter, *id);
  return {};
}

}  // namespace

PodTemplates TemplatesFromAnnotations(const Pod& pod) {
  PodTemplates out;
  Reporter reporter(pod, out.errors);
  const std::string* tolerate = reporter.Find(std::string(kAdPrefix) + "tolerate-unready");
  out.tolerate_unready = tolerate != nullptr && *tolerate == "true";

  std::vector<std::vector<Found>> found;
  bool any = false;
  for (const Container& container : pod.containers) {
    found.push_back(ContainerTemplates(reporter, container));
    any = any || !found.back().empty();
  }
  // Tags matter only to pods with go_expvar checks; other pods' tags are not our business.
  const std::vector<std::string> pod_tags =
      any ? ReadTags(reporter, std::string(kAdPrefix) + "tags") : std::vector<std::string>{};
  for (std::size_t i = 0; i < pod.containers.size(); ++i) {
    if (found[i].empty()) continue;
    const std::string& name = pod.containers[i].name;
    std::vector<std::string> tags = pod_tags;
    for (std::string& tag : ReadTags(reporter, std::string(kAdPrefix) + name + ".tags")) {
      tags.push_back(std::move(tag));
    }
    for (Found& each : found[i]) {
      out.templates.push_back({name, std::move(each.annotation), std::move(each.init_config),
                               std::move(each.instance), tags});
    }
  }
  ValidateNamedKeys(reporter);
  return out;
}

}  // namespace expvar::discovery
