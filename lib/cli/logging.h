// Sets up spdlog for the daemon: level and text or JSON lines on stderr.
#pragma once

#include <string>

namespace expvar::cli {

// Throws std::invalid_argument for an unknown level or format.
void ConfigureLogging(const std::string& level, const std::string& format);

}  // namespace expvar::cli
