// Checks HTTP Basic credentials against bcrypt hashes, as Prometheus' web.config does.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace expvar::admin {

// How much time bcrypt may take on the admin thread. Every request with credentials the digest
// cache cannot answer costs a full bcrypt (tens of ms at cost 10, seconds at cost 14), and all
// of them run on the thread that also answers /healthz: a flood of wrong passwords would
// otherwise starve the kubelet's probes and get the collector restarted.
struct BcryptBudget {
  std::chrono::nanoseconds per_second = std::chrono::milliseconds(250);  // long-run share
  std::chrono::nanoseconds burst = std::chrono::milliseconds(500);       // saved up while idle
};

enum class AuthVerdict {
  kAllowed,
  kDenied,     // missing, malformed or wrong credentials: 401
  kThrottled,  // the bcrypt budget is spent: 429, try again later
};

class BasicAuth {
 public:
  using Clock = std::chrono::steady_clock;

  explicit BasicAuth(std::map<std::string, std::string> bcrypt_by_user, BcryptBudget budget = {});

  // kAllowed when `authorization` is "Basic base64(user:password)" for a known user whose bcrypt
  // hash matches. A scraper sends the same credentials every time, so the last password that
  // matched is remembered per user as a SHA-256 digest (never in clear) and later requests
  // compare digests without spending budget. `now` is a parameter for the tests.
  AuthVerdict Check(std::string_view authorization, Clock::time_point now = Clock::now()) const;

 private:
  using Digest = std::array<unsigned char, 32>;

  // Refills the budget for the time since the last call; true when some is left.
  bool BudgetLeft(Clock::time_point now) const;

  std::map<std::string, std::string> bcrypt_by_user_;
  BcryptBudget budget_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Digest> verified_;  // user -> digest of the last good password
  mutable std::chrono::nanoseconds balance_;        // may go negative after an expensive check
  mutable Clock::time_point refilled_at_;
};

}  // namespace expvar::admin
