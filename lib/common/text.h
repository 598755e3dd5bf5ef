// Small text helpers for messages and paths that several stages build the same way.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace expvar::common {

// `"text"`: how messages name a key, a variable or a value.
inline std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// `path[i]`: how messages name an element of a list.
inline std::string Indexed(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// "2.5 s": how messages state a duration given in seconds.
inline std::string FormatSeconds(std::chrono::milliseconds value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", static_cast<double>(value.count()) / 1000.0);
  return text;
}

}  // namespace expvar::common
