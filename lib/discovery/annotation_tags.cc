#include "discovery/annotation_tags.h"

#include <boost/json/object.hpp>
#include <charconv>
#include <optional>
#include <string_view>

#include "common/json_kind.h"

namespace expvar::discovery::detail {

using common::JsonKindName;

namespace {

namespace json = boost::json;

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

}  // namespace

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

}  // namespace expvar::discovery::detail
