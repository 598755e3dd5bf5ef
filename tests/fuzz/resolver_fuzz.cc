// Fuzzes template-variable resolution and the SSRF guard. The input is used as a template
// string (alone and as an expvar_url), and, when it parses, as a whole JSON template. Every
// resolved URL goes through CheckTargetHost under the node and sidecar policies; a URL the guard
// accepts must name, under the client's parser and under a plain RFC 3986 / WHATWG split of its
// authority alike, the pod's own IP (or, for the sidecar policy, a loopback address).
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz_ip.h"
#include "http/url.h"
#include "pipeline/pod.h"
#include "resolve/host_guard.h"
#include "resolve/resolver.h"
#include "support/pod_builder.h"

namespace {

namespace pipeline = expvar::pipeline;
namespace resolve = expvar::resolve;
using expvar::fuzz::Ip;
using expvar::fuzz::IsLoopback;
using expvar::fuzz::ParseIp;

[[noreturn]] void Fail(const std::string& what, std::string_view url) {
  std::fprintf(stderr, "resolver_fuzz invariant violated: %s (url: %.*s)\n", what.c_str(),
               static_cast<int>(url.size()), url.data());
  std::abort();
}

pipeline::Pod MakePod() {
  return expvar::testing::PodBuilder("shop", "web-7d9f", "6f1c9a52-0d3e-4b7a-9c1e-2f5d8e7a4b10")
      .Ips({"10.1.2.3", "fd00::3"})
      .AddContainer("app", {{"metrics", 9000, "TCP"}, {"http", 8080, "TCP"}, {"", 6060, "TCP"}})
      .AddContainer("sidecar")
      .Build();
}

std::optional<std::string> LookupEnv(const std::string& name) {
  static const auto* env = new std::map<std::string, std::string>{
      {"PORT", "8080"},
      {"HOST", "10.1.2.3"},
      {"EVIL", "evil.example.com"},
      {"AT", "user@10.9.9.9"},
      {"PATH_", "/debug/vars"},
      {"LOOP", "%%env_PORT%%"},
      {"V6", "::1"},
      {"EMPTY", ""},
      {"NL", "a\nb"},
  };
  auto it = env->find(name);
  if (it == env->end()) return std::nullopt;
  return it->second;
}

// The host of an absolute URL split by hand: authority up to the first of `terminators`, userinfo
// up to the last '@', port after the last ':' outside brackets.
std::string SplitHost(std::string_view url, std::string_view terminators) {
  // Leading and trailing whitespace is stripped by the client and by WHATWG parsers alike.
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.front())))
    url.remove_prefix(1);
  while (!url.empty() && std::isspace(static_cast<unsigned char>(url.back()))) url.remove_suffix(1);
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of(terminators));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    return std::string(authority.substr(0, authority.find(']') + 1));
  }
  return std::string(authority.substr(0, authority.rfind(':')));
}

void CheckHostAllowed(const std::string& host, std::string_view url, const std::vector<Ip>& allowed,
                      resolve::HostPolicy policy, const char* parser) {
  std::optional<Ip> ip = ParseIp(host);
  if (!ip) Fail(std::string("accepted host is not an IP under ") + parser, url);
  for (const Ip& a : allowed) {
    if (a == *ip) return;
  }
  if (policy == resolve::HostPolicy::kLoopbackOrPodIp && IsLoopback(*ip)) return;
  Fail(std::string("accepted host is neither the pod IP nor allowed loopback under ") + parser,
       url);
}

void CheckUrl(std::string_view url, const std::vector<std::string>& allowed_ips,
              resolve::HostPolicy policy) {
  if (resolve::CheckTargetHost(url, allowed_ips, policy)) return;  // refused: fine
  std::vector<Ip> allowed;
  for (const auto& text : allowed_ips) {
    if (auto ip = ParseIp(text)) allowed.push_back(*ip);
  }
  std::string error;
  auto parsed = expvar::http::ParseUrl(url, &error);
  if (!parsed) Fail("accepted URL does not parse", url);
  CheckHostAllowed(parsed->host, url, allowed, policy, "http::ParseUrl");
  CheckHostAllowed(SplitHost(url, "/?#"), url, allowed, policy, "RFC 3986 split");
  CheckHostAllowed(SplitHost(url, "/?#\\"), url, allowed, policy, "WHATWG split");
}

struct Mode {
  resolve::ResolveContext ctx;
  std::vector<std::string> allowed_ips;
  resolve::HostPolicy policy;
};

std::vector<Mode> MakeModes(const pipeline::Pod& pod) {
  std::vector<Mode> modes;
  resolve::ResolveContext node;
  node.pod = &pod;
  node.container = "app";
  node.host = pod.pod_ip;
  node.env = LookupEnv;
  node.extras = {{"cluster", "c1"}, {"kube_namespace", "ignored"}};
  modes.push_back({node, resolve::PodIps(pod), resolve::HostPolicy::kPodIpOnly});
  resolve::ResolveContext v6 = node;
  v6.host = "fd00::3";
  modes.push_back({v6, resolve::PodIps(pod), resolve::HostPolicy::kPodIpOnly});
  resolve::ResolveContext sidecar = node;
  sidecar.container = "sidecar";
  sidecar.host = "127.0.0.1";
  modes.push_back({sidecar, {pod.pod_ip}, resolve::HostPolicy::kLoopbackOrPodIp});
  return modes;
}

// Resolves and, when the result carries a URL, guards it.
void ResolveAndGuard(const boost::json::value& tmpl, const Mode& mode) {
  resolve::ResolveResult result = resolve::ResolveTemplate(tmpl, mode.ctx);
  if (const auto* error = std::get_if<resolve::ResolveError>(&result)) {
    (void)error->ToString();
    return;
  }
  const auto& value = std::get<boost::json::value>(result);
  const boost::json::value* url = &value;
  if (const auto* object = value.if_object()) url = object->if_contains("expvar_url");
  if (url != nullptr && url->is_string()) {
    CheckUrl(url->get_string(), mode.allowed_ips, mode.policy);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pipeline::Pod pod = MakePod();
  static const std::vector<Mode> modes = MakeModes(pod);
  std::string_view input(reinterpret_cast<const char*>(data), size);

  const boost::json::value as_string(input);
  boost::json::object as_instance;
  as_instance["expvar_url"] = input;
  as_instance["tags"] = boost::json::array{boost::json::value(input)};
  const boost::json::value instance(std::move(as_instance));
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 64;
  const boost::json::value as_json = boost::json::parse(input, ec, {}, options);

  for (const Mode& mode : modes) {
    ResolveAndGuard(as_string, mode);
    ResolveAndGuard(instance, mode);
    if (!ec) ResolveAndGuard(as_json, mode);
    CheckUrl(input, mode.allowed_ips, mode.policy);  // the guard on its own
  }
  return 0;
}
