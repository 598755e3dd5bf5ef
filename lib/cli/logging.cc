#include "cli/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace expvar::cli {
namespace {

// %j: the message as a JSON string literal, so that a log line is always valid JSON whatever
// a target or a file put into the message.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string quoted = boost::json::serialize(
        boost::json::string(std::string_view(msg.payload.data(), msg.payload.size())));
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// %E: the message with control characters escaped, so that a newline a pod or a target put into
// a key, an alias, a tag or an error cannot start a forged line in a text log.
class EscapedMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string escaped =
        EscapeControlCharacters(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessageFlag>();
  }
};

}  // namespace

std::string EscapeControlCharacters(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte != 0x7f) {
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      out += hex;
    }
  }
  return out;
}

std::unique_ptr<spdlog::formatter> TextFormatter() {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<EscapedMessageFlag>('E').set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %E");
  return formatter;
}

void ConfigureLogging(const std::string& level, const std::string& format) {
  auto parsed = spdlog::level::from_str(level);
  // from_str maps anything unknown to "off"; only accept "off" when it was asked for.
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level \"" + level + "\"");
  }
  auto logger = spdlog::stderr_logger_mt("expvar-collector");
  if (format == "json") {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<JsonMessageFlag>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","msg":%j})");
    logger->set_formatter(std::move(formatter));
  } else if (format == "text") {
    logger->set_formatter(TextFormatter());
  } else {
    throw std::invalid_argument("unknown log format \"" + format + "\"");
  }
  logger->set_level(parsed);
  spdlog::set_default_logger(logger);
}

}  // namespace expvar::cli
