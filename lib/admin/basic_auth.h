// Checks HTTP Basic credentials against bcrypt hashes, as Prometheus' web.config does.
#pragma once

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace expvar::admin {

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> bcrypt_by_user);

  // True when `authorization` is "Basic base64(user:password)" for a known user whose bcrypt
  // hash matches. A bcrypt check costs milliseconds by design; a scraper sends the same
  // credentials every time, so the last password that matched is remembered per user as a
  // SHA-256 digest (never in clear) and later requests compare digests.
  bool Allows(std::string_view authorization) const;

 private:
  using Digest = std::array<unsigned char, 32>;

  std::map<std::string, std::string> bcrypt_by_user_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Digest> verified_;  // user -> digest of the last good password
};

}  // namespace expvar::admin
