#include "cli/logging.h"

#include <gtest/gtest.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <sstream>

namespace expvar::cli {
namespace {

TEST(EscapeControlCharacters, OnlyControlCharactersChange) {
  EXPECT_EQ(EscapeControlCharacters("plain text: a/b\\c \"q\" é"), "plain text: a/b\\c \"q\" é");
  EXPECT_EQ(EscapeControlCharacters("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(EscapeControlCharacters(std::string("\x1b[31m\0\x7f", 7)), "\\x1b[31m\\x00\\x7f");
}

// A key or tag from a pod holding a newline must not start a second, forged log line.
TEST(TextFormatter, AMessageIsAlwaysOneLine) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(TextFormatter());
  logger.warn("skipping key {}", "x\n2026-12-06T00:00:00.000Z error forged");
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_NE(text.find(" warning skipping key x\\n2026-12-06T00:00:00.000Z error forged\n"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace expvar::cli
