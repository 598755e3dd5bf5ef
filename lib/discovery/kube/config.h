// Where the Kubernetes API is and how to authenticate to it: flags, in-cluster defaults, token.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/environment.h"

namespace expvar::discovery::kube {

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

struct ApiConfig {
  std::string server;      // "https://10.96.0.1:443"; http:// is allowed (tests, kubectl proxy)
  std::string token_file;  // "" = no Authorization header
  std::string ca_file;     // "" = system trust store
  bool insecure_skip_tls_verify = false;
};

// The --kube-* flags as given; empty means "not given".
struct ApiFlags {
  std::string api;
  std::string token_file;
  std::string ca_file;
  bool insecure_skip_tls_verify = false;
};

// Flags win; what they leave open comes from the pod's service account when its files exist.
// Without --kube-api the server is https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT.
// On failure returns nullopt and sets *error.
std::optional<ApiConfig> ResolveApiConfig(const ApiFlags& flags, const common::EnvLookup& env,
                                          const common::FileExists& exists, std::string* error);

// The filesystem, for production callers: a token or CA file must be a regular file.
bool RegularFileExists(const std::string& path);

// The bearer token, re-read from its file when older than max_age (the kubelet rotates projected
// tokens well before they expire) and right after Invalidate() (a 401 says it changed sooner).
class TokenSource {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using ReadFile = std::function<std::optional<std::string>(const std::string& path)>;

  explicit TokenSource(std::string path, Clock clock = std::chrono::steady_clock::now,
                       ReadFile read_file = ReadTokenFile,
                       std::chrono::seconds max_age = std::chrono::seconds(60));

  // The token without surrounding whitespace; "" when no file is configured. A failed re-read
  // keeps the last good token (a rotation swaps the file atomically, so failures are transient).
  const std::string& Get();
  // Forces a re-read on the next Get().
  void Invalidate() { stale_ = true; }
  int reads() const { return reads_; }

  static std::optional<std::string> ReadTokenFile(const std::string& path);

 private:
  std::string path_;
  Clock clock_;
  ReadFile read_file_;
  std::chrono::seconds max_age_;
  std::string token_;
  std::chrono::steady_clock::time_point read_at_{};
  bool stale_ = true;
  int reads_ = 0;
};

}  // namespace expvar::discovery::kube
