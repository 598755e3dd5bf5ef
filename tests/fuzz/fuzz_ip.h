// IP-literal helpers the harnesses use to check the SSRF guard's verdicts independently of it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <optional>
#include <string>

namespace expvar::fuzz {

// An IP in binary form, IPv4-mapped IPv6 folded to IPv4 (as the guard documents).
struct Ip {
  int family = 0;
  std::array<unsigned char, 16> bytes{};
  bool operator==(const Ip&) const = default;
};

// Any spelling inet_pton accepts, with or without IPv6 brackets.
inline std::optional<Ip> ParseIp(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  Ip ip;
  if (inet_pton(AF_INET, host.c_str(), ip.bytes.data()) == 1) {
    ip.family = AF_INET;
    return ip;
  }
  if (inet_pton(AF_INET6, host.c_str(), ip.bytes.data()) != 1) return std::nullopt;
  ip.family = AF_INET6;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes.data(), kMapped, sizeof(kMapped)) == 0) {
    Ip v4;
    v4.family = AF_INET;
    std::memcpy(v4.bytes.data(), ip.bytes.data() + 12, 4);
    return v4;
  }
  return ip;
}

inline bool IsLoopback(const Ip& ip) {
  if (ip.family == AF_INET) return ip.bytes[0] == 127;
  static constexpr std::array<unsigned char, 16> kLoopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                              0, 0, 0, 0, 0, 0, 0, 1};
  return ip.bytes == kLoopback;
}

}  // namespace expvar::fuzz
