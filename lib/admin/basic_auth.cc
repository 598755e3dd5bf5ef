#include "admin/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

namespace expvar::admin {
namespace {

struct Credentials {
  std::string user;
  std::string password;
};

std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(text.size() / 4 * 3);
  int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  return std::string(out.begin(), out.begin() + (n - static_cast<int>(padding)));
}

std::optional<Credentials> ParseBasic(std::string_view header) {
  constexpr std::string_view kScheme = "Basic ";
  if (header.size() <= kScheme.size() || strncasecmp(header.data(), "basic ", 6) != 0) {
    return std::nullopt;
  }
  header.remove_prefix(kScheme.size());
  while (header.starts_with(' ')) header.remove_prefix(1);
  auto decoded = DecodeBase64(header);
  if (!decoded) return std::nullopt;
  std::size_t colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::array<unsigned char, 32> Sha256(const std::string& text) {
  std::array<unsigned char, 32> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return digest;
}

bool BcryptMatches(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();  // ~32 KB: not on the coroutine's stack
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* computed = crypt_r(password.c_str(), hash.c_str(), data.get());
  // libxcrypt returns a string starting with '*' on failure, never the hash.
  return computed != nullptr && std::strlen(computed) == hash.size() &&
         CRYPTO_memcmp(computed, hash.data(), hash.size()) == 0;
}

}  // namespace

BasicAuth::BasicAuth(std::map<std::string, std::string> bcrypt_by_user, BcryptBudget budget)
    : bcrypt_by_user_(std::move(bcrypt_by_user)),
      budget_(budget),
      balance_(budget.burst),
      refilled_at_(Clock::now()) {}

AuthVerdict BasicAuth::Check(std::string_view authorization, Clock::time_point now) const {
  auto credentials = ParseBasic(authorization);
  if (!credentials || bcrypt_by_user_.empty()) return AuthVerdict::kDenied;
  auto user = bcrypt_by_user_.find(credentials->user);
  const bool known_user = user != bcrypt_by_user_.end();
  auto digest = Sha256(credentials->password);
  {
    std::lock_guard lock(mutex_);
    auto known = known_user ? verified_.find(user->first) : verified_.end();
    if (known != verified_.end() &&
        CRYPTO_memcmp(known->second.data(), digest.data(), digest.size()) == 0) {
      return AuthVerdict::kAllowed;
    }
    if (!BudgetLeft(now)) return AuthVerdict::kThrottled;
  }
  // An unknown user is checked against some user's hash all the same (and refused whatever the
  // outcome), so that the answer's timing does not tell which user names exist, as Prometheus'
  // exporter-toolkit does.
  const std::string& hash = known_user ? user->second : bcrypt_by_user_.begin()->second;
  const auto started = Clock::now();
  const bool matches = BcryptMatches(credentials->password, hash);
  std::lock_guard lock(mutex_);
  balance_ -= Clock::now() - started;
  if (!known_user || !matches) return AuthVerdict::kDenied;
  verified_[user->first] = digest;
  return AuthVerdict::kAllowed;
}

bool BasicAuth::BudgetLeft(Clock::time_point now) const {
  if (now > refilled_at_) {
    const auto elapsed = std::chrono::duration<double>(now - refilled_at_);
    const auto earned = std::chrono::duration_cast<std::chrono::nanoseconds>(
        elapsed.count() * std::chrono::duration<double, std::nano>(budget_.per_second));
    balance_ = std::min(budget_.burst, balance_ + earned);
    refilled_at_ = now;
  }
  return balance_ > std::chrono::nanoseconds::zero();
}

}  // namespace expvar::admin
