#include "discovery/confd.h"

#include <algorithm>
#include <filesystem>

#include "config/conf_file.h"

namespace expvar::discovery {
namespace {

namespace fs = std::filesystem;

bool IsConfFile(const fs::path& path) {
  std::string name = path.filename().string();
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".yaml") || ends_with(".yml") || name == "conf.yaml.default";
}

std::vector<std::string> ConfFiles(const fs::path& dir, std::string* error) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    *error = "cannot read " + dir.string() + ": " + ec.message();
    return files;
  }
  for (const auto& entry : it) {
    if (IsConfFile(entry.path()) && entry.is_regular_file(ec))
      files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<pipeline::TargetSpec> TargetsOf(const config::ConfFile& conf) {
  std::vector<pipeline::TargetSpec> targets;
  for (std::size_t i = 0; i < conf.instances.size(); ++i) {
    targets.push_back({conf.path + "#" + std::to_string(i), conf.instances[i], {}});
  }
  return targets;
}

}  // namespace

ConfdProvider::ConfdProvider(std::string confd_dir) : dir_(std::move(confd_dir)) {}

ProviderResult ConfdProvider::Load() {
  ProviderResult result;
  fs::path check_dir = fs::path(dir_) / "go_expvar.d";
  std::string dir_error;
  std::vector<std::string> files = ConfFiles(check_dir, &dir_error);
  if (!dir_error.empty()) {
    // An unreadable directory is a transient problem: keep every file's last good config.
    result.errors.push_back({check_dir.string(), dir_error});
    for (const auto& [path, targets] : last_good_) {
      result.targets.insert(result.targets.end(), targets.begin(), targets.end());
    }
    return result;
  }
  std::map<std::string, std::vector<pipeline::TargetSpec>> loaded;
  for (const auto& path : files) {
    try {
      config::ConfFile conf = config::LoadConfFile(path);
      for (const auto& warning : conf.warnings) result.errors.push_back({path, warning});
      loaded[path] = TargetsOf(conf);
    } catch (const config::ConfigError& e) {
      // Logged by the scheduler, once, with every other source's problems.
      std::string error = e.what();
      if (auto previous = last_good_.find(path); previous != last_good_.end()) {
        error += " (keeping its previous configuration)";
        loaded[path] = previous->second;
      }
      result.errors.push_back({path, std::move(error)});
    }
  }
  last_good_ = std::move(loaded);
  for (const auto& [path, targets] : last_good_) {
    result.targets.insert(result.targets.end(), targets.begin(), targets.end());
  }
  return result;
}

}  // namespace expvar::discovery
