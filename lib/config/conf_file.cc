// Parsing policy for go_expvar conf files (the README documents it for users):
//  - ConfigError only when the file as a whole is unusable: not YAML, empty, top level not a map,
//    `instances` missing, null or not a list. `instances: []` is a valid file with no instances.
//  - An instance that cannot be used is skipped with a warning and the other instances still
//    load: not a map; `expvar_url` missing, empty or not a string; or a connection setting
//    (username, password, headers, tls_*, ssl_*) of the wrong type, since connecting with other
//    credentials or TLS settings than the ones written would be wrong.
//  - A metric item that cannot be used (not a map, no usable path, unsupported type, alias or tags
//    of the wrong type) is skipped with a warning, as Datadog's check does.
//  - Any other key with a wrong type or an out-of-range value is warned about and its default is
//    used; unknown keys are warned about and ignored.
//  - A key whose value is null (`timeout:` with nothing after it, `~`) counts as absent.
//  - Every message starts with the source name and the YAML location, e.g.
//    `app.yaml: instances[0].metrics[3].type: ...`. Messages never quote the values of username,
//    password, headers or TLS settings.

#include "config/conf_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/instance_reader.h"
#include "config/yaml_reader.h"

namespace expvar::config {

using pipeline::Instance;

namespace {

using detail::CountDocuments;
using detail::Diagnostics;
using detail::Entries;
using detail::Entry;
using detail::FindEntry;
using detail::InitDefaults;
using detail::KeyPath;
using detail::ListItemPath;
using detail::ReadInstance;
using detail::ReadMap;
using detail::ReadSeconds;
using detail::Shown;
using detail::WarnUnknownKeys;
using detail::YamlKindName;

// A conf file larger than this is refused rather than read into memory.
constexpr std::size_t kMaxConfFileBytes = 16 * 1024 * 1024;

constexpr std::array<std::string_view, 3> kTopLevelKeys = {"init_config", "instances", "logs"};
constexpr std::array<std::string_view, 2> kInitConfigKeys = {"min_collection_interval", "service"};

InitDefaults ReadInitConfig(const YAML::Node* node, Diagnostics& diag) {
  InitDefaults defaults;
  if (node == nullptr) return defaults;  // absent or null: no defaults
  const std::string where = "init_config";
  if (!node->IsMap()) {
    diag.Warn(where, "expected a map, got " + YamlKindName(*node) + "; ignored");
    return defaults;
  }
  const Entries entries = ReadMap(*node, where, diag);
  WarnUnknownKeys(entries, kInitConfigKeys, where, diag);
  if (const YAML::Node* value = FindEntry(entries, "min_collection_interval")) {
    defaults.min_collection_interval = ReadSeconds(*value);
    if (!defaults.min_collection_interval) {
      diag.Warn(KeyPath(where, "min_collection_interval"),
                "expected a positive number of seconds, got " + Shown(*value) + "; ignored");
    }
  }
  if (const YAML::Node* value = FindEntry(entries, "service")) {
    if (value->IsScalar()) {
      defaults.service = value->Scalar();
    } else {
      diag.Warn(KeyPath(where, "service"),
                "expected a string, got " + YamlKindName(*value) + "; ignored");
    }
  }
  return defaults;
}

}  // namespace

ConfFile ParseConfText(std::string_view yaml_text, const std::string& source) {
  ConfFile conf;
  conf.path = source;
  Diagnostics diag(source, conf.warnings);

  YAML::Node root;
  std::size_t documents = 0;
  try {
    root = YAML::Load(std::string(yaml_text));  // the first document, as the Agent reads it
    documents = CountDocuments(yaml_text);
  } catch (const YAML::ParserException& e) {
    // "<source>:<line>:<column>: ...", 1-based like an editor (yaml-cpp's marks are 0-based).
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": not valid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    diag.Fail("", std::string("not valid YAML: ") + e.what());
  }
  if (root.IsNull()) diag.Fail("", "empty document; expected a map with init_config and instances");
  if (documents > 1) diag.Warn("", "contains more than one YAML document; only the first is used");
  if (!root.IsMap()) {
    diag.Fail("", "expected a map with init_config and instances at the top level, got " +
                      YamlKindName(root));
  }

  const Entries top = ReadMap(root, "", diag);
  WarnUnknownKeys(top, kTopLevelKeys, "", diag);
  const auto instances = std::find_if(top.begin(), top.end(),
                                      [](const Entry& entry) { return entry.key == "instances"; });
  if (instances == top.end()) {
    diag.Fail("instances", "missing; a conf file needs an instances: list");
  }
  if (!instances->value.IsSequence()) {
    diag.Fail("instances", "expected a list of instances, got " + YamlKindName(instances->value));
  }

  const InitDefaults defaults = ReadInitConfig(FindEntry(top, "init_config"), diag);
  for (std::size_t i = 0; i < instances->value.size(); ++i) {
    if (std::optional<Instance> instance =
            ReadInstance(instances->value[i], ListItemPath("", "instances", i), defaults, diag)) {
      conf.instances.push_back(std::move(*instance));
    }
  }
  return conf;
}

ConfFile LoadConfFile(const std::string& path) {
  const auto fail = [&path](const std::string& what) -> ConfigError {
    return ConfigError(path + ": " + what);
  };
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  const std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) throw fail(std::string("cannot open: ") + std::strerror(errno));
  std::string text;
  char buf[64 * 1024];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof(buf), file.get());
    text.append(buf, n);
    if (text.size() > kMaxConfFileBytes) {
      throw fail("larger than " + std::to_string(kMaxConfFileBytes) + " bytes; not a conf file");
    }
    if (n < sizeof(buf)) break;
  }
  if (std::ferror(file.get())) throw fail(std::string("cannot read: ") + std::strerror(errno));
  return ParseConfText(text, path);
}

}  // namespace expvar::config
