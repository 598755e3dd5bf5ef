#include "resolve/host_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <boost/algorithm/string/join.hpp>
#include <cctype>
#include <cstring>

#include "http/url.h"

namespace expvar::resolve {
namespace {

// An IP address in binary form; IPv4-mapped IPv6 addresses are stored as their IPv4 address so
// that ::ffff:10.0.0.5 and 10.0.0.5 compare equal.
struct Address {
  int family = AF_UNSPEC;
  std::array<unsigned char, 16> bytes{};

  bool operator==(const Address&) const = default;
};

bool IsV4Mapped(const unsigned char* b) {
  static constexpr unsigned char kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(b, kPrefix, sizeof(kPrefix)) == 0;
}

std::optional<Address> ParseV6(const std::string& text) {
  Address address;
  if (inet_pton(AF_INET6, text.c_str(), address.bytes.data()) != 1) return std::nullopt;
  address.family = AF_INET6;
  if (IsV4Mapped(address.bytes.data())) {
    Address v4;
    v4.family = AF_INET;
    std::copy_n(address.bytes.begin() + 12, 4, v4.bytes.begin());
    return v4;
  }
  return address;
}

// Only the canonical dotted quad: inet_ntop must give the text back, so "0177.0.0.1",
// "127.1" and "2130706433" (which some resolvers read as 127.0.0.1) never pass.
std::optional<Address> ParseV4(const std::string& text) {
  Address address;
  if (inet_pton(AF_INET, text.c_str(), address.bytes.data()) != 1) return std::nullopt;
  char canonical[INET_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET, address.bytes.data(), canonical, sizeof(canonical)) == nullptr ||
      text != canonical) {
    return std::nullopt;
  }
  address.family = AF_INET;
  return address;
}

std::optional<Address> ParseIp(std::string_view text) {
  const std::string copy(text);
  return copy.find(':') != std::string::npos ? ParseV6(copy) : ParseV4(copy);
}

bool IsLoopback(const Address& address) {
  if (address.family == AF_INET) return address.bytes[0] == 127;
  static constexpr std::array<unsigned char, 16> kV6Loopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                                                0, 0, 0, 0, 0, 0, 0, 1};
  return address.bytes == kV6Loopback;
}

// 0.0.0.0 and :: (mapped ones are stored as 0.0.0.0): a connection there reaches the
// connecting host itself, the node's loopback services included.
bool IsUnspecified(const Address& address) {
  return std::all_of(address.bytes.begin(), address.bytes.end(),
                     [](unsigned char byte) { return byte == 0; });
}

// An unspecified entry in status.podIP(s) would open the node's loopback to the pod's
// annotations; it is never the pod's own IP.
bool IsUnspecifiedIp(const std::string& ip) {
  const std::optional<Address> address = ParseIp(ip);
  return address && IsUnspecified(*address);
}

bool IsAllowedIp(const Address& address, const std::vector<std::string>& allowed_ips) {
  return std::any_of(allowed_ips.begin(), allowed_ips.end(), [&](const std::string& ip) {
    const std::optional<Address> allowed = ParseIp(ip);
    return allowed && !IsUnspecified(*allowed) && *allowed == address;
  });
}

bool IsAllowedHost(const Address& address, const std::vector<std::string>& allowed_ips,
                   HostPolicy policy) {
  return IsAllowedIp(address, allowed_ips) ||
         (policy == HostPolicy::kLoopbackOrPodIp && IsLoopback(address));
}

// RFC 3986 userinfo: unreserved, pct-encoded, sub-delims and ':'. ParseUrl (Boost.URL) already
// refuses anything else; checked again because a '@' or '\' inside the userinfo reads differently
// to people and to other parsers (http://evil\@10.0.0.5/ is evil to a browser), so the guard
// must not depend on which parser the client uses.
bool IsPlainUserinfo(std::string_view userinfo) {
  static constexpr std::string_view kAllowed = "-._~%!$&'()*+,;=:";
  return std::all_of(userinfo.begin(), userinfo.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           kAllowed.find(c) != std::string_view::npos;
  });
}

std::string ListOrNone(const std::vector<std::string>& items) {
  return items.empty() ? "none" : boost::algorithm::join(items, ", ");
}

// With an '@' anywhere in the URL, what the parser calls the host may be a piece of a password
// that contains '/', '?' or '#'; then the host is described, not quoted.
std::string HostForMessage(std::string_view url, const std::string& host) {
  if (url.find('@') != std::string_view::npos) return "the URL's host";
  return "host \"" + host + "\"";
}

std::string Refusal(std::string_view url, const std::string& host,
                    const std::vector<std::string>& allowed_ips, HostPolicy policy) {
  const bool loopback = policy == HostPolicy::kLoopbackOrPodIp;
  return HostForMessage(url, host) +
         (loopback ? " is neither loopback nor the pod's IP (allowed: 127.0.0.0/8, ::1, "
                   : " is not the pod's IP (allowed: ") +
         ListOrNone(allowed_ips) + "); --allow-any-host lifts this check";
}

// Like HostForMessage: with an '@' in the URL, the "port" may be the start of a password.
std::string PortForMessage(std::string_view url, unsigned short port) {
  if (url.find('@') != std::string_view::npos) return "the URL's port";
  return "port " + std::to_string(port);
}

std::optional<std::string> CheckPort(std::string_view url, const http::Url& parsed,
                                     const std::vector<int>& allowed_ports) {
  const unsigned short port = http::PortNumber(parsed);
  if (std::find(allowed_ports.begin(), allowed_ports.end(), port) != allowed_ports.end()) {
    return std::nullopt;
  }
  std::vector<std::string> declared;
  for (int allowed : allowed_ports) declared.push_back(std::to_string(allowed));
  return PortForMessage(url, port) + " is not declared by the hostNetwork pod's containers " +
         "(declared: " + ListOrNone(declared) +
         "): the pod shares the node's IP, where any other port is the node's; "
         "--allow-any-host lifts this check";
}

}  // namespace

std::vector<std::string> PodIps(const pipeline::Pod& pod) {
  std::vector<std::string> ips;
  auto add = [&](const std::string& ip) {
    if (!ip.empty() && std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(ip);
  };
  add(pod.pod_ip);
  for (const std::string& ip : pod.pod_ips) add(ip);
  std::erase_if(ips, IsUnspecifiedIp);
  return ips;
}

std::vector<int> DeclaredPorts(const pipeline::Pod& pod) {
  std::vector<int> ports;
  for (const pipeline::Container& container : pod.containers) {
    for (const pipeline::ContainerPort& port : container.ports) {
      if (port.protocol == "TCP") ports.push_back(port.port);  // HTTP runs over TCP only
    }
  }
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

std::optional<std::string> CheckTargetHost(std::string_view url,
                                           const std::vector<std::string>& allowed_ips,
                                           HostPolicy policy,
                                           const std::optional<std::vector<int>>& allowed_ports) {
  std::string error;
  const std::optional<http::Url> parsed = http::ParseUrl(url, &error);
  if (!parsed) return "invalid URL: " + error;
  if (policy == HostPolicy::kAny) return std::nullopt;
  if (!IsPlainUserinfo(parsed->userinfo)) {
    return std::string("the URL's userinfo contains characters that make its host ambiguous");
  }
  const std::optional<Address> address = ParseIp(parsed->host);
  if (!address) {
    return HostForMessage(url, parsed->host) +
           " is not an IP address in canonical form; names could resolve anywhere "
           "(use the pod's IP, or --allow-any-host)";
  }
  if (!IsAllowedHost(*address, allowed_ips, policy)) {
    return Refusal(url, parsed->host, allowed_ips, policy);
  }
  if (allowed_ports) return CheckPort(url, *parsed, *allowed_ports);
  return std::nullopt;
}

}  // namespace expvar::resolve
