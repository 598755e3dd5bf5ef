#include "cli/series_json.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <charconv>

namespace expvar::cli {
namespace {

std::string JsonString(const std::string& text) {
  return boost::json::serialize(boost::json::string(text));
}

// Shortest round-trip form: integers print without a fraction, so 1e6 stays readable as 1000000.
std::string Number(double value) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, ec == std::errc() ? end : buffer);
}

}  // namespace

std::string SeriesJsonLine(const check::Series& series, int run) {
  std::string line = "{\"name\": " + JsonString(series.name) + ", \"type\": \"" +
                     std::string(check::ReportKindName(series.kind)) +
                     "\", \"value\": " + Number(series.value) + ", \"tags\": [";
  for (std::size_t i = 0; i < series.tags.size(); ++i) {
    if (i) line += ", ";
    line += JsonString(series.tags[i]);
  }
  line += "], \"run\": " + std::to_string(run) + "}";
  return line;
}

}  // namespace expvar::cli
