// Turning yaml-cpp nodes into values. yaml-cpp reads every scalar as text and leaves merge keys
// unexpanded, so the reading rules of Datadog's Agent (numbers with a '+', YAML booleans, `<<:`)
// are applied here, once, for every key of a conf file.

#include "config/yaml_reader.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <boost/algorithm/string/trim.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "common/text.h"
#include "config/conf_file.h"

namespace expvar::config::detail {
namespace {

// Most merged maps (`<<:`) expanded for one YAML map, nested merges included.
constexpr int kMaxMerges = 64;
// Durations above this many seconds are refused (they would overflow the conversion to ms).
constexpr double kMaxSeconds = 1e9;
// Longest value quoted in a message.
constexpr std::size_t kMaxQuotedChars = 64;

// Strips one leading '+' (YAML and Python accept it; from_chars does not).
std::optional<std::string_view> NumberText(std::string_view text) {
  text = boost::algorithm::trim_copy(text);
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

// "unknown key; ignored", with a suggestion when the key looks like a typo of a known one.
std::string UnknownKeyMessage(std::span<const std::string_view> keys, std::string_view key) {
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
      diag.Warn(where, "a key is " + YamlKindName(key) + ", not a string; ignored");
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
      diag.Warn(KeyPath(where, name), "given more than once; the last value is used");
      entries[it->second].value = value;
    }
  }
  for (const YAML::Node& source : merges) {
    if (!source.IsMap()) {
      diag.Warn(KeyPath(where, "<<"),
                "merge value is " + YamlKindName(source) + ", not a map; ignored");
      continue;
    }
    if (merge_budget <= 0) {
      if (merge_budget == 0) {  // warn once, then skip the rest quietly
        diag.Warn(KeyPath(where, "<<"), "too many merge keys (more than " +
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

}  // namespace

void Diagnostics::Warn(std::string_view where, std::string_view what) {
  warnings_.push_back(Format(where, what));
}

void Diagnostics::Fail(std::string_view where, std::string_view what) const {
  throw ConfigError(Format(where, what));
}

std::string Diagnostics::Format(std::string_view where, std::string_view what) const {
  std::string out = source_;
  out += ": ";
  if (!where.empty()) {
    out += where;
    out += ": ";
  }
  out += what;
  return out;
}

std::optional<bool> ParseBool(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  bool value = false;
  if (!YAML::convert<bool>::decode(node, value)) return std::nullopt;
  return value;
}

std::string YamlKindName(const YAML::Node& node) {
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

std::string Shown(const YAML::Node& node) {
  return node.IsScalar() ? Quote(node.Scalar()) : YamlKindName(node);
}

std::string KeyPath(std::string_view where, std::string_view key) {
  if (where.empty()) return std::string(key);
  std::string out(where);
  out += '.';
  out += key;
  return out;
}

std::string ListItemPath(std::string_view where, std::string_view list, std::size_t i) {
  return KeyPath(where, common::Indexed(list, i));
}

Entries ReadMap(const YAML::Node& map, const std::string& where, Diagnostics& diag) {
  int merge_budget = kMaxMerges;
  return ReadMap(map, where, diag, merge_budget);
}

const YAML::Node* FindEntry(const Entries& entries, std::string_view key) {
  for (const Entry& entry : entries) {
    if (entry.key == key) return entry.value.IsNull() ? nullptr : &entry.value;
  }
  return nullptr;
}

void WarnUnknownKeys(const Entries& entries, std::span<const std::string_view> known,
                     const std::string& where, Diagnostics& diag) {
  for (const Entry& entry : entries) {
    if (std::ranges::find(known, entry.key) == known.end()) {
      diag.Warn(KeyPath(where, entry.key), UnknownKeyMessage(known, entry.key));
    }
  }
}

std::optional<std::chrono::milliseconds> ReadSeconds(const YAML::Node& node) {
  if (!node.IsScalar()) return std::nullopt;
  const std::optional<double> seconds = ParseNumber(node.Scalar());
  if (!seconds || *seconds <= 0 || *seconds > kMaxSeconds) return std::nullopt;
  return std::chrono::milliseconds(std::max(1LL, std::llround(*seconds * 1000)));
}

std::optional<long long> ReadInteger(const YAML::Node& node, long long min, long long max) {
  if (!node.IsScalar()) return std::nullopt;
  const std::optional<long long> value = ParseInteger(node.Scalar());
  if (!value || *value < min || *value > max) return std::nullopt;
  return value;
}

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

}  // namespace expvar::config::detail
