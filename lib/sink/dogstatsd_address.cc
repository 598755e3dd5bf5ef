#include "sink/dogstatsd_address.h"

#include <sys/un.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "common/net.h"
#include "sink/dogstatsd_encoding.h"

namespace expvar::sink {
namespace {

namespace asio = boost::asio;

std::optional<DogStatsDAddress> AddressError(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// A destination port: 1-65535.
std::optional<std::uint16_t> DestinationPort(std::string_view text) {
  std::optional<std::uint16_t> port = common::ParsePort(text);
  return port && *port != 0 ? port : std::nullopt;
}

bool IsHostname(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

bool IsIpv6(std::string_view host) {
  boost::system::error_code ec;
  asio::ip::make_address_v6(std::string(host), ec);
  return !ec;
}

// `host[:port]` or `[v6][:port]`, the part of a udp:// URL after the scheme.
std::optional<DogStatsDAddress> ParseUdp(std::string_view rest, std::uint16_t default_port,
                                         std::string* error) {
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  DogStatsDAddress address;
  address.port = default_port;
  std::string_view host;
  std::string_view after;  // what follows the host: "" or ":port"
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return AddressError(error, "unterminated [IPv6] host");
    host = rest.substr(1, close - 1);
    after = rest.substr(close + 1);
    if (!IsIpv6(host)) return AddressError(error, "invalid IPv6 address: " + std::string(host));
  } else {
    std::size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    after = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
    if (after.find(':', 1) != std::string_view::npos) {
      return AddressError(error, "an IPv6 address must be in brackets: udp://[::1]:8125");
    }
    if (!IsHostname(host)) return AddressError(error, "invalid host: '" + std::string(host) + "'");
  }
  if (!after.empty()) {
    auto port = after.front() == ':' ? DestinationPort(after.substr(1)) : std::nullopt;
    if (!port) return AddressError(error, "invalid port in '" + std::string(rest) + "'");
    address.port = *port;
  }
  address.kind = DogStatsDAddress::kUdp;
  address.host = std::string(host);
  return address;
}

std::optional<DogStatsDAddress> ParseUnix(std::string_view path, std::string* error) {
  if (path.empty() || path.front() != '/') {
    return AddressError(error,
                        "a unix socket path must be absolute: unix:///var/run/datadog/dsd.socket");
  }
  if (path.find('\0') != std::string_view::npos) return AddressError(error, "NUL in socket path");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return AddressError(error, "socket path longer than " +
                                   std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  DogStatsDAddress address;
  address.kind = DogStatsDAddress::kUnix;
  address.path = std::string(path);
  return address;
}

// DD_AGENT_HOST as the Datadog clients read it: a host (IPv4, IPv6 with or without brackets, or
// a name), optionally with its own `:port`, or a full `unix://`/`udp://` URL.
std::optional<DogStatsDAddress> AddressFromAgentHost(std::string_view value, std::uint16_t port,
                                                     std::string* error) {
  if (value.find("://") != std::string_view::npos) return ParseDogStatsDUrl(value, error);
  if (IsIpv6(value)) {
    DogStatsDAddress address;
    address.host = std::string(value);
    address.port = port;
    return address;
  }
  return ParseUdp(value, port, error);
}

}  // namespace

std::vector<std::string> GlobalTagsFromEnvironment(const common::EnvLookup& env) {
  std::vector<std::string> tags;
  for (const auto& [variable, key] :
       {std::pair{"DD_ENV", "env:"}, std::pair{"DD_SERVICE", "service:"},
        std::pair{"DD_VERSION", "version:"}}) {
    auto value = env(variable);
    if (value && !value->empty()) tags.push_back(key + *value);
  }
  // DD_TAGS: the Agent splits it at whitespace, the Datadog tracers at commas too.
  const std::string extra = env("DD_TAGS").value_or("");
  constexpr std::string_view kSeparators = " \t\n\v\f\r,";
  for (std::size_t start = extra.find_first_not_of(kSeparators); start != std::string::npos;) {
    const std::size_t end = extra.find_first_of(kSeparators, start);
    tags.push_back(extra.substr(start, end - start));
    start = extra.find_first_not_of(kSeparators, end);
  }
  return tags;
}

std::string DogStatsDAddress::ToString() const {
  if (kind == kUnix) return "unix://" + path;
  bool bracket = host.find(':') != std::string::npos;
  return "udp://" + (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::size_t DogStatsDAddress::DatagramLimit() const {
  return kind == kUnix ? kUnixDatagramLimit : kUdpDatagramLimit;
}

std::optional<DogStatsDAddress> ParseDogStatsDUrl(std::string_view url, std::string* error) {
  for (std::string_view scheme : {"unix://", "unixgram://"}) {
    if (StartsWithNoCase(url, scheme)) return ParseUnix(url.substr(scheme.size()), error);
  }
  if (StartsWithNoCase(url, "udp://")) {
    return ParseUdp(url.substr(6), kDefaultDogStatsDPort, error);
  }
  return AddressError(error, "unsupported DogStatsD URL '" + std::string(url) +
                                 "' (expected udp://host:port or unix:///path)");
}

std::optional<DogStatsDAddress> ResolveDefaultAddress(const common::EnvLookup& env,
                                                      const common::FileExists& exists,
                                                      std::string* error) {
  auto get = [&env](const char* name) { return env(name).value_or(""); };
  if (std::string url = get("DD_DOGSTATSD_URL"); !url.empty()) {
    std::string why;
    auto address = ParseDogStatsDUrl(url, &why);
    if (!address) return AddressError(error, "DD_DOGSTATSD_URL: " + why);
    return address;
  }
  DogStatsDAddress address;
  if (std::string port = get("DD_DOGSTATSD_PORT"); !port.empty()) {
    auto parsed = DestinationPort(port);
    if (!parsed) return AddressError(error, "DD_DOGSTATSD_PORT: invalid port '" + port + "'");
    address.port = *parsed;
  }
  if (std::string host = get("DD_AGENT_HOST"); !host.empty()) {
    std::string why;
    auto parsed = AddressFromAgentHost(host, address.port, &why);
    if (!parsed) return AddressError(error, "DD_AGENT_HOST: " + why);
    return parsed;
  }
  std::string socket(kDefaultDogStatsDSocket);
  if (exists(socket)) {
    address.kind = DogStatsDAddress::kUnix;
    address.path = socket;
    address.port = kDefaultDogStatsDPort;
    return address;
  }
  address.host = "127.0.0.1";
  return address;
}

}  // namespace expvar::sink
