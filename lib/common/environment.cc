#include "common/environment.h"

#include <cstdlib>
#include <filesystem>

namespace expvar::common {

std::optional<std::string> ProcessEnvironment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

bool PathExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

std::string EnvOr(const std::string& name, const std::string& fallback) {
  std::optional<std::string> value = ProcessEnvironment(name);
  return value && !value->empty() ? *value : fallback;
}

}  // namespace expvar::common
