// Turns yaml-cpp nodes of a conf file into values, with warnings located as `file: where: what`.
// Private to lib/config: not part of the conf file reader's interface.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"

namespace expvar::config::detail {

// Collects the warnings of one file; each message is "<source>: <where>: <what>".
class Diagnostics {
 public:
  Diagnostics(const std::string& source, std::vector<std::string>& warnings)
      : source_(source), warnings_(warnings) {}

  void Warn(std::string_view where, std::string_view what);

  // Throws ConfigError: the file as a whole is unusable.
  [[noreturn]] void Fail(std::string_view where, std::string_view what) const;

 private:
  std::string Format(std::string_view where, std::string_view what) const;

  const std::string& source_;
  std::vector<std::string>& warnings_;
};

// YAML booleans as yaml-cpp reads them (true/false, yes/no, on/off, y/n), quoted or not.
std::optional<bool> ParseBool(const YAML::Node& node);

// "a list", "a map", "null", "a number", "a boolean" or "a string", for messages.
std::string YamlKindName(const YAML::Node& node);

// `text` in double quotes, escaped and shortened, for messages.
std::string Quote(std::string_view text);

// A scalar's quoted text, or what the node is; only for values that are never secret.
std::string Shown(const YAML::Node& node);

// Locations in messages: KeyPath("instances[0]", "timeout"), ListItemPath("", "instances", 0).
std::string KeyPath(std::string_view where, std::string_view key);
std::string ListItemPath(std::string_view where, std::string_view list, std::size_t i);

using common::FormatSeconds;

struct Entry {
  std::string key;
  YAML::Node value;
};
using Entries = std::vector<Entry>;  // file order, each key once

// Reads a YAML map into unique keys in file order. A repeated key is warned about and the later
// value wins (as in PyYAML and the Agent's Go YAML parser). YAML merge keys (`<<: *defaults`) are
// expanded as the Agent's parser does (yaml-cpp leaves them as plain keys); explicit keys win,
// then earlier merged maps. The expansion is bounded: with aliases, nested merges can be
// exponential in the size of the text.
Entries ReadMap(const YAML::Node& map, const std::string& where, Diagnostics& diag);

// The value of `key`, or nullptr when it is absent or null.
const YAML::Node* FindEntry(const Entries& entries, std::string_view key);

// Warns "unknown key; ignored" for each entry not in `known`, suggesting a near known key.
void WarnUnknownKeys(const Entries& entries, std::span<const std::string_view> known,
                     const std::string& where, Diagnostics& diag);

// A positive, finite number of seconds (numeric strings accepted), rounded to milliseconds.
std::optional<std::chrono::milliseconds> ReadSeconds(const YAML::Node& node);

// An integer in [min, max] (numeric strings accepted).
std::optional<long long> ReadInteger(const YAML::Node& node, long long min, long long max);

// Counts the YAML documents in `text` (called after the first one parsed), stopping at 2.
std::size_t CountDocuments(std::string_view text);

}  // namespace expvar::config::detail
