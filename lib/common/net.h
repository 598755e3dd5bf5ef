// Address and port checks shared by the HTTP client, the Kubernetes client, the admin server and
// the DogStatsD sink.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace expvar::common {

// A port number: ASCII digits (leading zeros allowed, as Python's urlparse does) with a value of
// at most 65535. Zero is
// a valid result; callers that need a real destination refuse it themselves.
std::optional<std::uint16_t> ParsePort(std::string_view text);

// True for an IPv4 or IPv6 address literal (no brackets), false for a host name.
bool IsIpLiteral(const std::string& host);

}  // namespace expvar::common
