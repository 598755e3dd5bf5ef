#include "discovery/annotation_reporter.h"

#include <boost/json/stream_parser.hpp>

namespace expvar::discovery::detail {
namespace {

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

}  // namespace

std::optional<boost::json::value> ParseJson(std::string_view text, std::string* error) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    *error = "the value is empty";
    return std::nullopt;
  }
  boost::json::stream_parser parser;
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

}  // namespace expvar::discovery::detail
