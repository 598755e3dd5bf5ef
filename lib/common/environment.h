// The collector's own environment and file system as the stages look them up: injectable, so that
// tests never touch the real process environment.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace expvar::common {

// Looks up an environment variable (nullopt when unset).
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
using FileExists = std::function<bool(const std::string& path)>;

std::optional<std::string> ProcessEnvironment(const std::string& name);
bool PathExists(const std::string& path);

// The variable's value, or `fallback` when it is unset or empty.
std::string EnvOr(const std::string& name, const std::string& fallback);

}  // namespace expvar::common
