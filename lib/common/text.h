// Small text helpers for messages and paths that several stages build the same way.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace expvar::common {

// `"text"`: how messages name a key, a variable or a value.
inline std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// `path[i]`: how messages name an element of a list.
inline std::string Indexed(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

}  // namespace expvar::common
