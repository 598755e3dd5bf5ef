// Reads a go_expvar conf.yaml (Datadog's format) into its instances and warnings.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/instance.h"

namespace expvar::config {

// A whole conf.yaml: the instances that parsed, and what was wrong with the rest.
struct ConfFile {
  std::string path;
  std::vector<pipeline::Instance> instances;
  // Non-fatal findings (unknown key, unsupported metric type, ...), each naming file/instance/key.
  std::vector<std::string> warnings;
};

// A conf file that cannot be used at all. what() names the file, the instance index and the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses YAML text; `source` names the file in messages. Throws ConfigError only when the file
// as a whole is unusable: not YAML (the message has line:column), empty, top level not a map, or
// no `instances:` list. An unusable instance (not a map, no usable `expvar_url`, a credential,
// header or TLS key of the wrong type) is skipped with a warning and the others still load; a
// bad metric item is skipped with a warning; unknown keys and bad optional values are warnings.
// Warnings never contain the values of passwords, usernames, headers or TLS settings.
ConfFile ParseConfText(std::string_view yaml_text, const std::string& source);

// Reads and parses a file. Throws ConfigError (naming the path) when it cannot be read.
ConfFile LoadConfFile(const std::string& path);

}  // namespace expvar::config
