#include "discovery/annotations.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/stream_parser.hpp>
#include <charconv>
#include <optional>
#include <utility>

namespace expvar::discovery {
namespace {

namespace json = boost::json;

// An instance found for one container, before the tags are known.
struct Found {
  std::string annotation;
  json::value init_config;
  json::value instance;
};

// Reads the pod's annotations and records errors, each naming the pod and the annotation.
class Reporter {
 public:
  Reporter(const Pod& pod, std::vector<AnnotationError>& errors) : pod_(pod), errors_(errors) {}

  const Pod& pod() const { return pod_; }

  const std::string* Find(const std::string& key) const {
    auto it = pod_.annotations.find(key);
    return it == pod_.annotations.end() ? nullptr : &it->second;
  }

  void Error(const std::string& key, const std::string& what) {
    errors_.push_back({key, "pod " + pod_.namespace_name + "/" + pod_.name + ": annotation " + key +
                                ": " + what});
  }

 private:
  const Pod& pod_;
  std::vector<AnnotationError>& errors_;
};

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string Indexed(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// "byte 12 (line 1, column 13)": annotations written as YAML block scalars span several lines.
std::string Position(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "byte " + std::to_string(offset) + " (line " + std::to_string(line) + ", column " +
         std::to_string(column) + ")";
}

// Parses one JSON value, strictly (as Go's encoding/json does). On failure, `error` says what is
// wrong and where; it never quotes the text, which may hold credentials.
std::optional<json::value> ParseJson(std::string_view text, std::string* error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    *error = "the value is empty";
    return std::nullopt;
  }
  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t used = parser.write_some(text.data(), text.size(), ec);
  if (!ec && used < text.size()) {
    *error = "invalid JSON at " + Position(text, used) + ": unexpected text after the value";
    return std::nullopt;
  }
  if (!ec) parser.finish(ec);
  if (ec) {
    *error = "invalid JSON at " + Position(text, used) + ": " + ec.message();
    return std::nullopt;
  }
  return parser.release();
}

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

// --- tags ---------------------------------------------------------------------------------

// Go's fmt.Sprint of a float64, which is what encoding/json makes of any JSON number: the
// shortest digits, in exponent form when the exponent is below -4 or at least 6 ("3", "1.5",
// "123456", "1e+06", "1.234567e+06", "1e-05").
std::string GoNumberText(double number) {
  char buffer[64];
  auto scientific =
      std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::scientific);
  std::string_view text(buffer, scientific.ptr - buffer);
  std::string_view exponent_text = text.substr(text.find('e') + 1);
  if (exponent_text.starts_with('+')) exponent_text.remove_prefix(1);
  int exponent = 0;
  std::from_chars(exponent_text.data(), exponent_text.data() + exponent_text.size(), exponent);
  if (exponent < -4 || exponent >= 6) return std::string(text);
  auto fixed = std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::fixed);
  return std::string(buffer, fixed.ptr);
}

// A scalar tag value as the Datadog tagger prints it (fmt.Sprint of the decoded JSON value).
std::optional<std::string> ScalarText(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return std::string(value.get_string());
    case json::kind::bool_:
      return value.get_bool() ? "true" : "false";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return GoNumberText(value.to_number<double>());
    default:
      return std::nullopt;
  }
}

// A JSON object of tags: each value a string (one tag) or a list of them (one tag each).
// A bad value is reported and skipped; the other tags are kept.
std::vector<std::string> ReadTags(Reporter& reporter, const std::string& key) {
  const std::string* text = reporter.Find(key);
  if (text == nullptr) return {};
  std::string error;
  std::optional<json::value> tags = ParseJson(*text, &error);
  if (tags && !tags->is_object()) error = "expected an object of tags, got " + JsonKindName(*tags);
  if (!error.empty()) {
    reporter.Error(key, error);
    return {};
  }
  std::vector<std::string> out;
  for (const json::key_value_pair& entry : tags->get_object()) {
    // Not a structured binding: clang 14 cannot capture one in a lambda (C++20 P1091).
    const json::string_view name = entry.key();
    const json::value& value = entry.value();
    auto add = [&](const json::value& element) {
      if (std::optional<std::string> tag = ScalarText(element)) {
        out.push_back(std::string(name) + ":" + *tag);
      } else {
        reporter.Error(key, Quoted(name) + ": expected a string or a list of strings, got " +
                                JsonKindName(element));
      }
    };
    if (!value.is_array()) {
      add(value);
      continue;
    }
    for (const json::value& element : value.get_array()) add(element);
  }
  return out;
}

// --- containers named in annotation keys -------------------------------------------------------

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

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
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

void ValidateNamedKeys(Reporter& reporter, const std::vector<std::string>& ids) {
  const Pod& pod = reporter.pod();
  std::vector<std::string> names;
  for (const Container& container : pod.containers) names.push_back(container.name);
  for (const auto& [key, value] : pod.annotations) {
    std::optional<NamedKey> named = ParseNamedKey(key);
    if (!named) continue;
    const std::vector<std::string>& valid = named->by_container_name ? names : ids;
    if (Contains(valid, named->identifier)) continue;
    const bool plain = named->by_container_name || ids == names;
    reporter.Error(key, Quoted(named->identifier) +
                            (plain ? " names no container of the pod (containers: "
                                   : " matches no check identifier of the pod (identifiers: ") +
                            JoinNames(valid) + ")" + CheckIdHint(pod, ids, named->identifier));
  }
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
  ValidateNamedKeys(reporter, Identifiers(reporter));
  return out;
}

}  // namespace expvar::discovery
