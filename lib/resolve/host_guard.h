// Refuses resolved expvar_urls that point anywhere but the pod itself (the SSRF guard).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/pod.h"

namespace expvar::resolve {

enum class HostPolicy {
  kPodIpOnly,        // node mode: one of the pod's own IPs
  kLoopbackOrPodIp,  // pod (sidecar) mode: loopback, or $POD_IP / the pod's IPs
  kAny,              // --allow-any-host: any host, names included
};

// The pod's IPs to pass as `allowed_ips`: status.podIP plus status.podIPs, without duplicates
// and without unspecified addresses (0.0.0.0, ::, ::ffff:0.0.0.0): a connection there reaches
// the node's loopback, so they may never pass as "the pod's IP".
std::vector<std::string> PodIps(const pipeline::Pod& pod);

// The TCP ports the pod's containers declare (containerPort), to pass as `allowed_ports` for a
// hostNetwork pod: its IP is the node's, and every other port there is the node's (the kubelet's
// 10250, the collector's admin port, ...).
std::vector<int> DeclaredPorts(const pipeline::Pod& pod);

// nullopt = allowed; otherwise why it was refused. The URL must parse as http(s) (same parser
// as the HTTP client, so the guard and the client agree on the host) under every policy. Unless
// kAny, its host must be an IP literal in canonical form: an address equal to one of
// `allowed_ips`, or (kLoopbackOrPodIp) in 127.0.0.0/8 or ::1. An IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) counts as its IPv4 address. Host names are refused because they could resolve
// anywhere, and so are other spellings of IPv4 (2130706433, 0177.0.0.1, 0x7f.1), zone ids and
// trailing dots, and so is a userinfo with characters outside RFC 3986's set ('@', '\'), which
// other parsers split differently. An unspecified address is never allowed, even when listed.
// With `allowed_ports` (and unless kAny), the URL's port (explicit, or 80/443 for the scheme)
// must also be one of them. The reason never quotes the URL's userinfo.
std::optional<std::string> CheckTargetHost(
    std::string_view url, const std::vector<std::string>& allowed_ips, HostPolicy policy,
    const std::optional<std::vector<int>>& allowed_ports = std::nullopt);

}  // namespace expvar::resolve
