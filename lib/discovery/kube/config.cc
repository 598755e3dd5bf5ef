#include "discovery/kube/config.h"

#include <boost/algorithm/string/trim.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "http/url.h"

namespace expvar::discovery::kube {
namespace {

std::string DefaultFile(const char* name, const common::FileExists& exists) {
  std::string path = std::string(kServiceAccountDir) + "/" + name;
  return exists(path) ? path : "";
}

std::optional<std::string> InClusterServer(const common::EnvLookup& env, std::string* error) {
  const auto host = env("KUBERNETES_SERVICE_HOST");
  const auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    *error = "no --kube-api and not in a cluster (KUBERNETES_SERVICE_HOST/PORT unset)";
    return std::nullopt;
  }
  // The service host is an IP; an IPv6 one needs brackets in a URL.
  const bool ipv6 = host->find(':') != std::string::npos;
  return "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
}

}  // namespace

std::optional<ApiConfig> ResolveApiConfig(const ApiFlags& flags, const common::EnvLookup& env,
                                          const common::FileExists& exists, std::string* error) {
  ApiConfig config;
  if (!flags.api.empty()) {
    config.server = flags.api;
  } else if (auto server = InClusterServer(env, error)) {
    config.server = std::move(*server);
  } else {
    return std::nullopt;
  }
  std::string url_error;
  if (!http::ParseUrl(config.server, &url_error)) {
    *error = "invalid Kubernetes API URL " + config.server + ": " + url_error;
    return std::nullopt;
  }
  config.token_file = flags.token_file.empty() ? DefaultFile("token", exists) : flags.token_file;
  config.ca_file = flags.ca_file.empty() ? DefaultFile("ca.crt", exists) : flags.ca_file;
  config.insecure_skip_tls_verify = flags.insecure_skip_tls_verify;
  // An explicit file that is missing is a typo worth failing on; defaults are only optional.
  for (const auto* file : {&flags.token_file, &flags.ca_file}) {
    if (!file->empty() && !exists(*file)) {
      *error = "file not found: " + *file;
      return std::nullopt;
    }
  }
  return config;
}

bool RegularFileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

TokenSource::TokenSource(std::string path, Clock clock, ReadFile read_file,
                         std::chrono::seconds max_age)
    : path_(std::move(path)),
      clock_(std::move(clock)),
      read_file_(std::move(read_file)),
      max_age_(max_age) {}

const std::string& TokenSource::Get() {
  if (path_.empty()) return token_;
  const auto now = clock_();
  if (!stale_ && now - read_at_ < max_age_) return token_;
  ++reads_;
  if (auto text = read_file_(path_)) token_ = boost::algorithm::trim_copy(std::move(*text));
  read_at_ = now;
  stale_ = false;
  return token_;
}

std::optional<std::string> TokenSource::ReadTokenFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

}  // namespace expvar::discovery::kube
