// Sets up spdlog for the daemon: level and text or JSON lines on stderr.
#pragma once

#include <spdlog/formatter.h>

#include <memory>
#include <string>
#include <string_view>

namespace expvar::cli {

// Control characters (newline, CR, tab, ESC, ...) as \n, \r, \t or \xNN; other bytes as they are.
std::string EscapeControlCharacters(std::string_view text);

// The text format: "<UTC time> <level> <message>", one line per message whatever it holds.
std::unique_ptr<spdlog::formatter> TextFormatter();

// Throws std::invalid_argument for an unknown level or format.
void ConfigureLogging(const std::string& level, const std::string& format);

}  // namespace expvar::cli
