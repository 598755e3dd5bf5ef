// DogStatsD destination: parses `udp://`/`unix://` URLs and picks the default address and the
// global tags from the Datadog environment variables, with the environment injected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/environment.h"

namespace expvar::sink {

inline constexpr std::uint16_t kDefaultDogStatsDPort = 8125;
inline constexpr std::string_view kDefaultDogStatsDSocket = "/var/run/datadog/dsd.socket";

// `env:`, `service:`, `version:` from DD_ENV, DD_SERVICE, DD_VERSION (unset or empty: no tag),
// as the Datadog clients add them, then the tags DD_TAGS lists (separated by spaces, commas or
// both; empty entries skipped). The caller appends the repeated `--tag` values.
std::vector<std::string> GlobalTagsFromEnvironment(const common::EnvLookup& env);

struct DogStatsDAddress {
  enum Kind { kUdp, kUnix };
  Kind kind = kUdp;
  std::string host;  // kUdp: IPv4, IPv6 (no brackets) or a hostname
  std::uint16_t port = kDefaultDogStatsDPort;
  std::string path;  // kUnix: absolute socket path

  // `udp://host:port` (IPv6 bracketed) or `unix:///path`.
  std::string ToString() const;
  // kUdpDatagramLimit or kUnixDatagramLimit.
  std::size_t DatagramLimit() const;

  bool operator==(const DogStatsDAddress&) const = default;
};

// Parses `udp://host[:port]` (IPv4, [IPv6] or hostname; port 8125 when omitted) and
// `unix:///abs/path` (`unixgram://` is accepted as a synonym, as in the Datadog clients). On
// failure returns nullopt and sets *error.
std::optional<DogStatsDAddress> ParseDogStatsDUrl(std::string_view url, std::string* error);

// The default destination (design §4): DD_DOGSTATSD_URL; else DD_AGENT_HOST with
// DD_DOGSTATSD_PORT (8125 when unset); else kDefaultDogStatsDSocket when it exists; else
// udp://127.0.0.1 on DD_DOGSTATSD_PORT (8125). As in the Datadog clients, DD_AGENT_HOST may carry
// its own `:port` (IPv6 then bracketed) or be a whole `unix://` URL. An invalid DD_DOGSTATSD_URL,
// DD_AGENT_HOST or DD_DOGSTATSD_PORT is an error (nullopt and *error), not a silent fallback.
std::optional<DogStatsDAddress> ResolveDefaultAddress(const common::EnvLookup& env,
                                                      const common::FileExists& exists,
                                                      std::string* error);

}  // namespace expvar::sink
