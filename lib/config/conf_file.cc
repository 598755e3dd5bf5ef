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

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

namespace expvar::config {
namespace {

// A conf file larger than this is refused rather than read into memory.
constexpr std::size_t kMaxConfFileBytes = 16 * 1024 * 1024;
// Most merged maps (`<<:`) expanded for one YAML map, nested merges included.
constexpr int kMaxMerges = 64;
// Durations above this many seconds are refused (they would overflow the conversion to ms).
constexpr double kMaxSeconds = 1e9;
// Longest value quoted in a message.
constexpr std::size_t kMaxQuotedChars = 64;

constexpr const char* kExpectedTypes = "gauge, rate, count, counter or monotonic_counter";

constexpr std::array<std::string_view, 3> kTopLevelKeys = {"init_config", "instances", "logs"};
constexpr std::array<std::string_view, 2> kInitConfigKeys = {"min_collection_interval", "service"};
constexpr std::array<std::string_view, 21> kInstanceKeys = {
    "expvar_url", "namespace", "metrics", "max_returned_metrics", "tags", "timeout",
    "min_collection_interval", "username", "password", "headers", "tls_verify", "tls_ca_cert",
    "tls_cert", "tls_private_key",
    // Legacy spellings of Datadog's go_expvar check.
    "ssl_verify", "ssl_certfile", "ssl_keyfile",
    // Our extension.
    "max_body_bytes",
    // Generic Datadog instance keys: `service` becomes a tag, the other two are accepted quietly.
    "service", "empty_default_hostname", "disable_generic_tags"};
constexpr std::array<std::string_view, 4> kMetricKeys = {"path", "type", "alias", "tags"};

std::string_view Trim(std::string_view text) {
  const auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Strips one leading '+' (YAML and Python accept it; from_chars does not).
std::optional<std::string_view> NumberText(std::string_view text) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
    if (!text.empty() && text.front() == '-') return std::nullopt;
  }
  if (text.empty()) return std::nullopt;
  return text;
}

std::optional<double> ParseNumber(std::string_view raw) {
  const std::optional<std::string_view> text = NumberText(raw);
  if (!text) return std::nullopt;
  double value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<long long> ParseInteger(std::string_view raw) {
  const std::optional<std::string_view> text = NumberText(raw);
  if (!text) return std::nullopt;
  long long value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// YAML booleans as yaml-cpp reads them (true/false, yes/no, on/off, y/n), quoted or not.
std::optional<bool> ParseBool(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  bool value = false;
  if (!YAML::convert<bool>::decode(node, value)) return std::nullopt;
  return value;
}

// "a list", "a map", "null", "a number", "a boolean" or "a string", for messages.
std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      if (node.Tag() == "?") {  // plain (unquoted) scalar: YAML may read it as a bool or number
        if (ParseBool(node)) return "a boolean";
        if (ParseNumber(node.Scalar())) return "a number";
      }
      return "a string";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// `text` in double quotes, escaped and shortened, for messages.
std::string Quote(std::string_view text) {
  std::string out = "\"";
  std::size_t count = 0;
  for (const char c : text) {
    if (++count > kMaxQuotedChars) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// A scalar's quoted text, or what the node is; only for values that are never secret.
std::string Shown(const YAML::Node& node) {
  return node.IsScalar() ? Quote(node.Scalar()) : Describe(node);
}

std::string Join(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  std::string out(where);
  out += '.';
  out += key;
  return out;
}

std::string Index(std::string_view where, std::string_view list, std::size_t i) {
  return Join(where, std::string(list) + "[" + std::to_string(i) + "]");
}

std::string FormatSeconds(std::chrono::milliseconds value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g s", static_cast<double>(value.count()) / 1000.0);
  return buf;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const char x = static_cast<char>(std::tolower(static_cast<unsigned char>(a[i - 1])));
      const char y = static_cast<char>(std::tolower(static_cast<unsigned char>(b[j - 1])));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (x == y ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// "unknown key; ignored", with a suggestion when the key looks like a typo of a known one.
template <std::size_t N>
std::string UnknownKeyMessage(const std::array<std::string_view, N>& keys, std::string_view key) {
  std::string message = "unknown key; ignored";
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only within two edits
  for (const std::string_view candidate : keys) {
    const std::size_t distance = EditDistance(key, candidate);
    if (distance < best_distance && distance < candidate.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (!best.empty()) message += " (did you mean " + std::string(best) + "?)";
  return message;
}

// Collects the warnings of one file; each message is "<source>: <where>: <what>".
class Diagnostics {
 public:
  Diagnostics(const std::string& source, std::vector<std::string>& warnings)
      : source_(source), warnings_(warnings) {}

  void Warn(std::string_view where, std::string_view what) {
    warnings_.push_back(Format(where, what));
  }

  [[noreturn]] void Fail(std::string_view where, std::string_view what) const {
    throw ConfigError(Format(where, what));
  }

 private:
  std::string Format(std::string_view where, std::string_view what) const {
    std::string out = source_;
    out += ": ";
    if (!where.empty()) {
      out += where;
      out += ": ";
    }
    out += what;
    return out;
  }

  const std::string& source_;
  std::vector<std::string>& warnings_;
};

struct Entry {
  std::string key;
  YAML::Node value;
};
using Entries = std::vector<Entry>;  // file order, each key once

// Reads a YAML map into unique keys in file order. A repeated key is warned about and the later
// value wins (as in PyYAML and the Agent's Go YAML parser). YAML merge keys (`<<: *defaults`) are
// expanded as the Agent's parser does (yaml-cpp leaves them as plain keys); explicit keys win,
// then earlier merged maps. `merge_budget` bounds the expansion: with aliases, nested merges
// can be exponential in the size of the text.
Entries ReadMap(const YAML::Node& map, const std::string& where, Diagnostics& diag,
                int& merge_budget) {
  Entries entries;
  std::unordered_map<std::string, std::size_t> index;  // key -> position in entries
  std::vector<YAML::Node> merges;
  for (const auto& pair : map) {
    // Copies: yaml-cpp's iterator values are temporaries, and a Node is a cheap handle.
    const YAML::Node key = pair.first;
    const YAML::Node value = pair.second;
    if (!key.IsScalar()) {
      diag.Warn(where, "a key is " + Describe(key) + ", not a string; ignored");
      continue;
    }
    const std::string& name = key.Scalar();
    if (name == "<<" && key.Tag() == "?") {
      if (value.IsSequence()) {
        for (const YAML::Node& source : value) merges.push_back(source);
      } else {
        merges.push_back(value);
      }
      continue;
    }
    if (const auto [it, inserted] = index.emplace(name, entries.size()); inserted) {
      entries.push_back({name, value});
    } else {
      diag.Warn(Join(where, name), "given more than once; the last value is used");
      entries[it->second].value = value;
    }
  }
  for (const YAML::Node& source : merges) {
    if (!source.IsMap()) {
      diag.Warn(Join(where, "<<"), "merge value is " + Describe(source) + ", not a map; ignored");
      continue;
    }
    if (merge_budget <= 0) {
      if (merge_budget == 0) {  // warn once, then skip the rest quietly
        diag.Warn(Join(where, "<<"), "too many merge keys (more than " +
                                         std::to_string(kMaxMerges) + "); the rest are ignored");
        merge_budget = -1;
      }
      continue;
    }
    --merge_budget;
    for (Entry& merged : ReadMap(source, where, diag, merge_budget)) {
      if (index.emplace(merged.key, entries.size()).second) entries.push_back(std::move(merged));
    }
  }
  return entries;
}

Entries ReadMap(const YAML::Node& map, const std::string& where, Diagnostics& diag) {
  int merge_budget = kMaxMerges;
  return ReadMap(map, where, diag, merge_budget);
}

// The value of `key`, or nullptr when it is absent or null.
const YAML::Node* Find(const Entries& entries, std::string_view key) {
  for (const Entry& entry : entries) {
    if (entry.key == key) return entry.value.IsNull() ? nullptr : &entry.value;
  }
  return nullptr;
}

template <std::size_t N>
void WarnUnknownKeys(const Entries& entries, const std::array<std::string_view, N>& known,
                     const std::string& where, Diagnostics& diag) {
  for (const Entry& entry : entries) {
    if (!Contains(known, entry.key)) {
      diag.Warn(Join(where, entry.key), UnknownKeyMessage(known, entry.key));
    }
  }
}

// A positive, finite number of seconds (numeric strings accepted), rounded to milliseconds.
std::optional<std::chrono::milliseconds> ReadSeconds(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::optional<double> seconds = ParseNumber(node.Scalar());
  if (!seconds || *seconds <= 0 || *seconds > kMaxSeconds) return std::nullopt;
  return std::chrono::milliseconds(std::max(1LL, std::llround(*seconds * 1000)));
}

// An integer in [min, max] (numeric strings accepted).
std::optional<long long> ReadInteger(const YAML::Node& node, long long min, long long max) {
  if (!node.IsScalar()) return std::nullopt;
  const std::optional<long long> value = ParseInteger(node.Scalar());
  if (!value || *value < min || *value > max) return std::nullopt;
  return value;
}

// Appends "k:v" (or "k" when v is null) for each entry of a tags map. Entries whose key or value
// is not a scalar are skipped with a warning.
void AppendMapTags(const YAML::Node& map, const std::string& where, Diagnostics& diag,
                   std::vector<std::string>& tags) {
  for (const Entry& entry : ReadMap(map, where, diag)) {
    if (entry.value.IsNull()) {
      tags.push_back(entry.key);
    } else if (entry.value.IsScalar()) {
      tags.push_back(entry.key + ":" + entry.value.Scalar());
    } else {
      diag.Warn(Join(where, entry.key),
                "tag value is " + Describe(entry.value) + ", not a string; tag skipped");
    }
  }
}

// Reads `tags:`. A list is the normal form: scalar items are kept as text (numbers and booleans
// as written); an item written as a map (`- env: prod`, a common slip for `- env:prod`) is
// converted to "env:prod" with a warning; null, empty and list items are skipped with a warning.
// A map (`tags: {env: prod}`) is converted to "k:v" tags with a warning. Returns nullopt when the
// value is a single scalar, which the caller reports.
std::optional<std::vector<std::string>> ReadTags(const YAML::Node& node, const std::string& where,
                                                 Diagnostics& diag) {
  std::vector<std::string> tags;
  if (node.IsMap()) {
    diag.Warn(where, "given as a map; converted to key:value tags (Datadog expects a list)");
    AppendMapTags(node, where, diag, tags);
    return tags;
  }
  if (!node.IsSequence()) return std::nullopt;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node item = node[i];
    const std::string item_where = where + "[" + std::to_string(i) + "]";
    if (item.IsScalar() && !Trim(item.Scalar()).empty()) {
      tags.push_back(item.Scalar());
    } else if (item.IsScalar() || item.IsNull()) {
      diag.Warn(item_where, "empty tag; skipped");
    } else if (item.IsMap()) {
      diag.Warn(item_where,
                "written as a map (\"- key: value\"); converted to \"key:value\" (write it "
                "without the space after the colon)");
      AppendMapTags(item, item_where, diag, tags);
    } else {
      diag.Warn(item_where, "expected a string, got " + Describe(item) + "; tag skipped");
    }
  }
  return tags;
}

// RFC 9110 token characters, which a header name must consist of.
bool IsHeaderName(std::string_view name) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || kSpecials.find(c) != kSpecials.npos;
  });
}

// A header value must not smuggle in another header line.
bool IsHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Defaults that `init_config` gives every instance.
struct InitDefaults {
  std::optional<std::chrono::milliseconds> min_collection_interval;
  std::optional<std::string> service;
};

InitDefaults ReadInitConfig(const YAML::Node* node, Diagnostics& diag) {
  InitDefaults defaults;
  if (node == nullptr) return defaults;  // absent or null: no defaults
  const std::string where = "init_config";
  if (!node->IsMap()) {
    diag.Warn(where, "expected a map, got " + Describe(*node) + "; ignored");
    return defaults;
  }
  const Entries entries = ReadMap(*node, where, diag);
  WarnUnknownKeys(entries, kInitConfigKeys, where, diag);
  if (const YAML::Node* value = Find(entries, "min_collection_interval")) {
    defaults.min_collection_interval = ReadSeconds(*value);
    if (!defaults.min_collection_interval) {
      diag.Warn(Join(where, "min_collection_interval"),
                "expected a positive number of seconds, got " + Shown(*value) + "; ignored");
    }
  }
  if (const YAML::Node* value = Find(entries, "service")) {
    if (value->IsScalar()) {
      defaults.service = value->Scalar();
    } else {
      diag.Warn(Join(where, "service"), "expected a string, got " + Describe(*value) + "; ignored");
    }
  }
  return defaults;
}

// Reads one metric item; nullopt (after a warning) when the item must be skipped.
std::optional<MetricSpec> ReadMetric(const YAML::Node& node, const std::string& where,
                                     Diagnostics& diag) {
  if (!node.IsMap()) {
    diag.Warn(where, "expected a map with path, type, alias and tags, got " + Describe(node) +
                         "; item skipped");
    return std::nullopt;
  }
  const Entries entries = ReadMap(node, where, diag);
  WarnUnknownKeys(entries, kMetricKeys, where, diag);
  MetricSpec spec;
  bool usable = true;
  const auto skip = [&](std::string_view key, const std::string& what) {
    diag.Warn(Join(where, key), what + "; item skipped");
    usable = false;
  };

  if (const YAML::Node* path = Find(entries, "path"); path == nullptr) {
    skip("path", "missing");
  } else if (!path->IsScalar()) {
    skip("path", "expected a string, got " + Describe(*path));
  } else if (Trim(path->Scalar()).empty()) {
    skip("path", "empty");
  } else {
    spec.path = path->Scalar();
  }

  if (const YAML::Node* type = Find(entries, "type")) {
    if (!type->IsScalar()) {
      skip("type", "expected " + std::string(kExpectedTypes) + ", got " + Describe(*type));
    } else if (const std::optional<MetricType> parsed = ParseMetricType(type->Scalar())) {
      spec.type = *parsed;
    } else {
      skip("type", "unsupported metric type " + Quote(type->Scalar()) + " (expected " +
                       kExpectedTypes + ")");
    }
  }

  if (const YAML::Node* alias = Find(entries, "alias")) {
    if (alias->IsScalar()) {
      spec.alias = alias->Scalar();
    } else {
      skip("alias", "expected a string, got " + Describe(*alias));
    }
  }

  if (const YAML::Node* tags = Find(entries, "tags")) {
    const std::string tags_where = Join(where, "tags");
    if (std::optional<std::vector<std::string>> parsed = ReadTags(*tags, tags_where, diag)) {
      spec.tags = std::move(*parsed);
    } else {
      skip("tags", "expected a list of strings, got " + Describe(*tags));
    }
  }

  if (!usable) return std::nullopt;
  return spec;
}

// Reads one `instances:` entry. Collects every problem before deciding, so that one pass over
// the warnings shows all that is wrong with an instance.
class InstanceReader {
 public:
  InstanceReader(std::string where, const InitDefaults& defaults, Diagnostics& diag)
      : where_(std::move(where)), defaults_(defaults), diag_(diag) {}

  std::optional<Instance> Read(const YAML::Node& node) {
    if (!node.IsMap()) {
      diag_.Warn(where_, "expected a map, got " + Describe(node) + "; instance skipped");
      return std::nullopt;
    }
    entries_ = ReadMap(node, where_, diag_);
    WarnUnknownKeys(entries_, kInstanceKeys, where_, diag_);
    ReadUrl();
    ReadNamespace();
    ReadMetrics();
    ReadLimits();
    ReadInstanceTags();
    ReadCredentials();
    ReadHeaders();
    ReadTls();
    if (!usable_) return std::nullopt;
    return std::move(instance_);
  }

 private:
  const YAML::Node* Get(std::string_view key) const { return Find(entries_, key); }
  std::string Where(std::string_view key) const { return Join(where_, key); }
  void Warn(std::string_view key, const std::string& what) { diag_.Warn(Where(key), what); }
  void Skip(std::string_view key, const std::string& what) {
    diag_.Warn(Where(key), what + "; instance skipped");
    usable_ = false;
  }

  // A string-valued connection setting; the value is never shown in messages.
  std::optional<std::string> Secretish(std::string_view key) {
    const YAML::Node* value = Get(key);
    if (value == nullptr) return std::nullopt;
    if (!value->IsScalar()) {
      Skip(key, "expected a string, got " + Describe(*value));
      return std::nullopt;
    }
    return value->Scalar();
  }

  void ReadUrl() {
    const YAML::Node* url = Get("expvar_url");
    if (url == nullptr) {
      Skip("expvar_url", "missing (required)");
    } else if (Describe(*url) != "a string") {
      Skip("expvar_url", "expected a URL string, got " + Describe(*url));
    } else if (Trim(url->Scalar()).empty()) {
      Skip("expvar_url", "empty");
    } else {
      instance_.expvar_url = url->Scalar();
    }
  }

  void ReadNamespace() {
    const YAML::Node* value = Get("namespace");
    if (value == nullptr) return;
    if (value->IsScalar()) {
      instance_.metric_namespace = value->Scalar();  // "" stays "": names get no prefix
    } else {
      Warn("namespace", "expected a string, got " + Describe(*value) + "; default \"" +
                            kDefaultNamespace + "\" used");
    }
  }

  void ReadMetrics() {
    const YAML::Node* metrics = Get("metrics");
    if (metrics == nullptr) return;
    if (!metrics->IsSequence()) {
      Warn("metrics", "expected a list of metric items, got " + Describe(*metrics) +
                          "; no custom metrics collected");
      return;
    }
    for (std::size_t i = 0; i < metrics->size(); ++i) {
      if (std::optional<MetricSpec> spec =
              ReadMetric((*metrics)[i], Index(where_, "metrics", i), diag_)) {
        instance_.metrics.push_back(std::move(*spec));
      }
    }
  }

  void ReadLimits() {
    if (const YAML::Node* value = Get("max_returned_metrics")) {
      if (const std::optional<long long> n = ReadInteger(*value, 0, INT_MAX)) {
        instance_.max_returned_metrics = static_cast<int>(*n);
      } else {
        Warn("max_returned_metrics", "expected an integer >= 0, got " + Shown(*value) +
                                         "; default " + std::to_string(kDefaultMaxReturnedMetrics) +
                                         " used");
      }
    }
    if (const YAML::Node* value = Get("timeout")) {
      if (const std::optional<std::chrono::milliseconds> timeout = ReadSeconds(*value)) {
        instance_.timeout = *timeout;
      } else {
        Warn("timeout", "expected a positive number of seconds, got " + Shown(*value) +
                            "; default " + FormatSeconds(kDefaultTimeout) + " used");
      }
    }
    instance_.min_collection_interval = defaults_.min_collection_interval;
    if (const YAML::Node* value = Get("min_collection_interval")) {
      if (const std::optional<std::chrono::milliseconds> interval = ReadSeconds(*value)) {
        instance_.min_collection_interval = *interval;
      } else {
        Warn("min_collection_interval",
             "expected a positive number of seconds, got " + Shown(*value) + "; ignored");
      }
    }
    if (const YAML::Node* value = Get("max_body_bytes")) {
      if (const std::optional<long long> n = ReadInteger(*value, 1, LLONG_MAX)) {
        instance_.max_body_bytes = static_cast<std::size_t>(*n);
      } else {
        Warn("max_body_bytes", "expected an integer > 0, got " + Shown(*value) + "; default " +
                                   std::to_string(kDefaultMaxBodyBytes) + " used");
      }
    }
  }

  void ReadInstanceTags() {
    if (const YAML::Node* tags = Get("tags")) {
      if (std::optional<std::vector<std::string>> parsed = ReadTags(*tags, Where("tags"), diag_)) {
        instance_.tags = std::move(*parsed);
      } else {
        Warn("tags", "expected a list of strings, got " + Describe(*tags) + "; ignored");
      }
    }
    // As the Agent does, `service` becomes a `service:` tag; the instance's beats init_config's.
    std::optional<std::string> service = defaults_.service;
    if (const YAML::Node* value = Get("service")) {
      if (value->IsScalar()) {
        service = value->Scalar();
      } else {
        Warn("service", "expected a string, got " + Describe(*value) + "; ignored");
      }
    }
    if (service && !Trim(*service).empty()) instance_.tags.push_back("service:" + *service);
  }

  void ReadCredentials() {
    if (std::optional<std::string> username = Secretish("username")) {
      instance_.username = std::move(*username);
    }
    if (std::optional<std::string> password = Secretish("password")) {
      instance_.password = std::move(*password);
    }
  }

  void ReadHeaders() {
    const YAML::Node* headers = Get("headers");
    if (headers == nullptr) return;
    if (!headers->IsMap()) {
      Skip("headers", "expected a map of header names to values, got " + Describe(*headers));
      return;
    }
    const std::string where = Where("headers");
    const Entries entries = ReadMap(*headers, where, diag_);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& entry = entries[i];
      const std::string header_where = Join(where, entry.key);
      if (!IsHeaderName(entry.key)) {
        // Not quoted: a mistyped name may hold the value ("Authorization: Bearer ...").
        diag_.Warn(where, "header name #" + std::to_string(i + 1) +
                              " is not a valid HTTP token (letters, digits, !#$%&'*+-.^_`|~); "
                              "instance skipped");
        usable_ = false;
      } else if (entry.value.IsNull()) {
        diag_.Warn(header_where, "null value; header not sent");
      } else if (!entry.value.IsScalar()) {
        diag_.Warn(header_where,
                   "expected a string, got " + Describe(entry.value) + "; instance skipped");
        usable_ = false;
      } else if (!IsHeaderValue(entry.value.Scalar())) {
        diag_.Warn(header_where, "value contains a line break or NUL; instance skipped");
        usable_ = false;
      } else {
        instance_.headers.emplace_back(entry.key, entry.value.Scalar());
      }
    }
  }

  std::optional<bool> Bool(std::string_view key) {
    const YAML::Node* value = Get(key);
    if (value == nullptr) return std::nullopt;
    const std::optional<bool> parsed = ParseBool(*value);
    if (!parsed) Skip(key, "expected true or false, got " + Describe(*value));
    return parsed;
  }

  // tls_* keys win over the legacy ssl_* aliases of Datadog's go_expvar check.
  void ReadTls() {
    TlsOptions& tls = instance_.tls;
    const bool has_tls_verify = Get("tls_verify") != nullptr;
    const bool has_tls_ca = Get("tls_ca_cert") != nullptr;
    const bool has_tls_cert = Get("tls_cert") != nullptr;
    const bool has_tls_key = Get("tls_private_key") != nullptr;

    if (const YAML::Node* ssl_verify = Get("ssl_verify")) {
      if (has_tls_verify) {
        Warn("ssl_verify", "ignored because tls_verify is set");
      } else if (const std::optional<bool> verify = ParseBool(*ssl_verify)) {
        tls.verify = *verify;
      } else if (Describe(*ssl_verify) == "a string") {
        // As in the check's `requests.get(verify=...)`, a string is a CA bundle to verify with.
        tls.verify = true;
        if (has_tls_ca) {
          Warn("ssl_verify", "CA bundle ignored because tls_ca_cert is set");
        } else {
          tls.ca_cert = ssl_verify->Scalar();
        }
      } else {
        Skip("ssl_verify",
             "expected true, false or a CA bundle path, got " + Describe(*ssl_verify));
      }
    }
    if (std::optional<bool> verify = Bool("tls_verify")) tls.verify = *verify;

    const auto file = [&](std::string_view key, std::string_view legacy_key, bool has_key,
                          std::string& out) {
      if (Get(legacy_key) != nullptr && has_key) {
        Warn(legacy_key, "ignored because " + std::string(key) + " is set");
      } else if (std::optional<std::string> value = Secretish(legacy_key)) {
        out = std::move(*value);
      }
      if (std::optional<std::string> value = Secretish(key)) out = std::move(*value);
    };
    file("tls_cert", "ssl_certfile", has_tls_cert, tls.cert);
    file("tls_private_key", "ssl_keyfile", has_tls_key, tls.private_key);
    if (std::optional<std::string> ca = Secretish("tls_ca_cert")) tls.ca_cert = std::move(*ca);
  }

  const std::string where_;
  const InitDefaults& defaults_;
  Diagnostics& diag_;
  Entries entries_;
  Instance instance_;
  bool usable_ = true;
};

// Counts the YAML documents in `text` (called after the first one parsed), stopping at 2.
// (YAML::LoadAll is not used: yaml-cpp 0.7 loops forever, allocating, on a stray flow indicator
// such as a leading ",".)
std::size_t CountDocuments(std::string_view text) {
  class Counter : public YAML::EventHandler {
   public:
    void OnDocumentStart(const YAML::Mark&) override {}
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  };
  std::istringstream stream{std::string(text)};
  YAML::Parser parser(stream);
  Counter counter;
  std::size_t documents = 0;
  try {
    while (documents < 2 && parser.HandleNextDocument(counter)) ++documents;
  } catch (const YAML::Exception&) {
    ++documents;  // a later document that does not parse is still a document
  }
  return documents;
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
                      Describe(root));
  }

  const Entries top = ReadMap(root, "", diag);
  for (const Entry& entry : top) {
    if (!Contains(kTopLevelKeys, entry.key)) {
      diag.Warn(entry.key, UnknownKeyMessage(kTopLevelKeys, entry.key));
    }
  }
  const auto instances = std::find_if(top.begin(), top.end(),
                                      [](const Entry& entry) { return entry.key == "instances"; });
  if (instances == top.end()) {
    diag.Fail("instances", "missing; a conf file needs an instances: list");
  }
  if (!instances->value.IsSequence()) {
    diag.Fail("instances", "expected a list of instances, got " + Describe(instances->value));
  }

  const InitDefaults defaults = ReadInitConfig(Find(top, "init_config"), diag);
  for (std::size_t i = 0; i < instances->value.size(); ++i) {
    InstanceReader reader(Index("", "instances", i), defaults, diag);
    if (std::optional<Instance> instance = reader.Read(instances->value[i])) {
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
