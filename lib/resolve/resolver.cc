#include "resolve/resolver.h"

#include <algorithm>
#include <array>
#include <boost/algorithm/string/case_conv.hpp>
#include <boost/algorithm/string/join.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <vector>

#include "common/text.h"

namespace expvar::resolve {

using common::Quoted;
namespace {

using pipeline::Container;
using pipeline::Pod;

// Error texts name variables, containers, ports and keys, which all come from the pod spec and
// annotations; they never quote a resolved value or the literal text around a variable.
constexpr std::string_view kKnownVariables =
    "%%host%%, %%host_<network>%%, %%port%%, %%port_<index>%%, %%port_<name>%%, %%env_<VAR>%%, "
    "%%kube_namespace%%, %%kube_pod_name%%, %%kube_pod_uid%%, %%extra_<key>%%";

// Substrings of object keys whose values may be secrets (password, api_key, X-Auth-Token, every
// header value). Matching too much only withholds a variable name from an error.
constexpr std::array<std::string_view, 8> kSecretKeyParts = {"pass", "pwd", "secret", "token",
                                                             "auth", "key", "cookie", "header"};

// A "%%name%%" occurrence: [begin, end) in the string, and the name between the markers.
struct VarRef {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string_view name;
};

// A variable's value, or why it has none.
struct Lookup {
  std::optional<std::string> value;
  std::string why;
  bool is_host = false;  // a %%host*%% value: the IPv6 bracketing rule applies
};

Lookup Found(std::string value) { return Lookup{std::move(value), "", false}; }
Lookup Missing(std::string why) { return Lookup{std::nullopt, std::move(why), false}; }

// What a template variable name may hold: %%port_metrics%%, %%env_MY_VAR%%, %%host_eth-0%%.
bool IsVariableNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

bool IsAllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

// Finds the next variable at or after `from`. A "%%" that does not open a well-formed variable is
// skipped by one character so that "%%%port%%" still finds "%%port%%".
std::optional<VarRef> FindVariable(std::string_view s, std::size_t from) {
  for (auto open = s.find("%%", from); open != std::string_view::npos;
       open = s.find("%%", open + 1)) {
    std::size_t end = open + 2;
    while (end < s.size() && IsVariableNameChar(s[end])) ++end;
    if (end > open + 2 && s.substr(end, 2) == "%%") {
      return VarRef{open, end + 2, s.substr(open + 2, end - open - 2)};
    }
  }
  return std::nullopt;
}

// Datadog splits a name at its first '_': "env_MY_VAR" is ("env", "MY_VAR").
struct VarName {
  std::string_view head;
  std::optional<std::string_view> key;  // set when there is a '_'; may then be empty
};

VarName SplitName(std::string_view name) {
  const auto underscore = name.find('_');
  if (underscore == std::string_view::npos) return {name, std::nullopt};
  return {name.substr(0, underscore), name.substr(underscore + 1)};
}

bool IsKnownHead(std::string_view head) {
  for (std::string_view known : {"host", "port", "env", "kube", "extra", "pid", "hostname"}) {
    if (head == known) return true;
  }
  return false;
}

// %%host%% and %%host_<net>%%: a pod has one network (Datadog calls it "pod") and Datadog falls
// back to the only network's IP for an unknown name, so both are the caller's host value.
Lookup Host(const ResolveContext& ctx) {
  if (ctx.host.empty()) return Missing("no address to use (the pod has no IP yet)");
  Lookup found = Found(ctx.host);
  found.is_host = true;
  return found;
}

const Container* FindContainer(const Pod& pod, std::string_view name) {
  for (const Container& container : pod.containers) {
    if (container.name == name) return &container;
  }
  return nullptr;
}

// Declaration order, as the user wrote them: "http=8080, admin=9000, 7070".
std::string DescribePorts(const Container& container) {
  std::string out;
  for (const auto& port : container.ports) {
    if (!out.empty()) out += ", ";
    if (!port.name.empty()) out += port.name + "=";
    out += std::to_string(port.port);
  }
  return out;
}

// Datadog sorts a container's ports ascending: %%port%% is the last, %%port_<n>%% the n-th.
std::vector<int> SortedPorts(const Container& container) {
  std::vector<int> ports;
  for (const auto& port : container.ports) ports.push_back(port.port);
  std::sort(ports.begin(), ports.end());
  return ports;
}

std::string PortList(const std::vector<int>& ports) {
  std::vector<std::string> texts;
  for (int port : ports) texts.push_back(std::to_string(port));
  return boost::algorithm::join(texts, ", ");
}

Lookup PortByIndex(const Container& container, std::string_view index_text) {
  const std::vector<int> ports = SortedPorts(container);
  std::size_t index = 0;
  const auto [end, ec] =
      std::from_chars(index_text.data(), index_text.data() + index_text.size(), index);
  if (ec == std::errc() && end == index_text.data() + index_text.size() && index < ports.size()) {
    return Found(std::to_string(ports[index]));
  }
  return Missing("container " + Quoted(container.name) + " declares " +
                 std::to_string(ports.size()) + " port(s) (ascending: " + PortList(ports) +
                 "); index " + std::string(index_text) + " is out of range");
}

Lookup PortByName(const Container& container, std::string_view name) {
  for (const auto& port : container.ports) {
    if (port.name == name) return Found(std::to_string(port.port));
  }
  return Missing("container " + Quoted(container.name) + " has no port named " + Quoted(name) +
                 " (ports: " + DescribePorts(container) + ")");
}

Lookup Port(const std::optional<std::string_view>& key, const ResolveContext& ctx) {
  if (ctx.pod == nullptr) return Missing("not available without a pod (static configuration)");
  const Container* container = FindContainer(*ctx.pod, ctx.container);
  if (container == nullptr) return Missing("pod has no container " + Quoted(ctx.container));
  if (container->ports.empty()) {
    return Missing("container " + Quoted(container->name) + " declares no ports");
  }
  if (!key) return Found(std::to_string(SortedPorts(*container).back()));
  // Kubernetes port names must contain a letter, so an all-digit key is always an index.
  return IsAllDigits(*key) ? PortByIndex(*container, *key) : PortByName(*container, *key);
}

Lookup Env(const std::optional<std::string_view>& key, const ResolveContext& ctx) {
  if (!key) return Missing("needs a variable name, as in %%env_MY_VAR%%");
  const std::string name(*key);
  std::optional<std::string> value = ctx.env ? ctx.env(name) : std::nullopt;
  if (!value) {
    return Missing(name +
                   " is not set in the collector's environment (or not allowed by "
                   "--template-env-allow)");
  }
  return Found(std::move(*value));
}

std::optional<std::string> PodFact(std::string_view key, const Pod& pod) {
  if (key == "namespace") return pod.namespace_name;
  if (key == "pod_name") return pod.name;
  if (key == "pod_uid") return pod.uid;
  return std::nullopt;
}

std::string AvailableExtras(const ResolveContext& ctx) {
  std::string out = ctx.pod != nullptr ? "namespace, pod_name, pod_uid" : "";
  for (const auto& [name, value] : ctx.extras) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// %%kube_<key>%% and %%extra_<key>%% share one lookup, as in Datadog (both read the service's
// "extra config"): the pod's facts first, then the injected extras.
Lookup Extra(const std::optional<std::string_view>& key, const ResolveContext& ctx) {
  if (!key) return Missing("needs a key, as in %%kube_namespace%%");
  if (ctx.pod != nullptr) {
    if (std::optional<std::string> fact = PodFact(*key, *ctx.pod)) return Found(std::move(*fact));
  }
  if (const auto it = ctx.extras.find(std::string(*key)); it != ctx.extras.end()) {
    return Found(it->second);
  }
  return Missing("no value named " + Quoted(*key) + " (available: " + AvailableExtras(ctx) + ")");
}

Lookup Unknown() {
  return Missing("unknown template variable (known: " + std::string(kKnownVariables) + ")");
}

Lookup ResolveVariable(std::string_view name, const ResolveContext& ctx) {
  const VarName parts = SplitName(name);
  // "%%port_%%": Datadog's pattern needs at least one character after '_'.
  if (parts.key && parts.key->empty()) return Unknown();
  if (parts.head == "host") return Host(ctx);
  if (parts.head == "port") return Port(parts.key, ctx);
  if (parts.head == "env") return Env(parts.key, ctx);
  if (parts.head == "kube" || parts.head == "extra") return Extra(parts.key, ctx);
  if (!parts.key && (parts.head == "pid" || parts.head == "hostname")) {
    return Missing("not available on Kubernetes (Datadog does not support it there either)");
  }
  return Unknown();
}

// Decimal only: Datadog's strconv.ParseInt(s, 0, 64) also reads "0x1f" and "017" (octal), which
// turns a zero-padded value into a surprise; those stay strings here.
std::optional<std::int64_t> ParseCanonicalInteger(std::string_view text) {
  const std::string_view digits = text.substr(!text.empty() && text.front() == '-' ? 1 : 0);
  if (!IsAllDigits(digits) || (digits.size() > 1 && digits.front() == '0')) return std::nullopt;
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "http://[%%host%%]:80" is already bracketed by its author.
bool IsBracketed(std::string_view text, const VarRef& var) {
  return var.begin > 0 && text[var.begin - 1] == '[' && var.end < text.size() &&
         text[var.end] == ']';
}

bool IsSecretKey(std::string_view key) {
  const std::string lower = boost::algorithm::to_lower_copy(std::string(key));
  return std::any_of(kSecretKeyParts.begin(), kSecretKeyParts.end(),
                     [&](std::string_view part) { return lower.find(part) != std::string::npos; });
}

// Walks a copy of the template, substituting strings in place and tracking where it is.
class TemplateWalker {
 public:
  explicit TemplateWalker(const ResolveContext& ctx) : ctx_(ctx) {}

  std::optional<ResolveError> Visit(boost::json::value& value) {
    if (value.is_object()) return VisitObject(value.get_object());
    if (value.is_array()) return VisitArray(value.get_array());
    if (value.is_string()) return VisitString(value);
    return std::nullopt;
  }

 private:
  std::optional<ResolveError> VisitObject(boost::json::object& object) {
    for (auto& [key, child] : object) {
      const std::size_t saved = path_.size();
      path_ += (path_.empty() ? "" : ".") + std::string(key);
      const bool secret = IsSecretKey(key);
      secret_depth_ += secret ? 1 : 0;
      std::optional<ResolveError> error = Visit(child);
      secret_depth_ -= secret ? 1 : 0;
      path_.resize(saved);
      if (error) return error;
    }
    return std::nullopt;
  }

  std::optional<ResolveError> VisitArray(boost::json::array& array) {
    for (std::size_t i = 0; i < array.size(); ++i) {
      const std::size_t saved = path_.size();
      path_ += "[" + std::to_string(i) + "]";
      std::optional<ResolveError> error = Visit(array[i]);
      path_.resize(saved);
      if (error) return error;
    }
    return std::nullopt;
  }

  std::optional<ResolveError> VisitString(boost::json::value& value) {
    const std::string text(value.get_string());
    const bool url_like = text.find("://") != std::string::npos;
    std::string out;
    std::size_t pos = 0;
    std::optional<VarRef> last;
    while (std::optional<VarRef> var = FindVariable(text, pos)) {
      out.append(text, pos, var->begin - pos);
      Lookup lookup = ResolveVariable(var->name, ctx_);
      if (!lookup.value) return Error(var->name, lookup.why);
      const bool bracket = lookup.is_host && url_like && !IsBracketed(text, *var) &&
                           lookup.value->find(':') != std::string::npos;
      out += bracket ? "[" + *lookup.value + "]" : *lookup.value;
      pos = var->end;
      last = var;
    }
    if (!last) return std::nullopt;
    out.append(text, pos);
    const bool whole = last->begin == 0 && last->end == text.size();
    if (std::optional<std::int64_t> number = whole ? ParseCanonicalInteger(out) : std::nullopt) {
      value = *number;
    } else {
      value = out;
    }
    return std::nullopt;
  }

  // An unknown name under a secret-looking key may be a piece of a literal password.
  ResolveError Error(std::string_view name, const std::string& why) const {
    const bool withhold = secret_depth_ > 0 && !IsKnownHead(SplitName(name).head);
    if (withhold) {
      return ResolveError{"%%...%%", path_,
                          "%%...%%: unknown template variable (name withheld: it is inside a "
                          "secret-looking key)"};
    }
    const std::string variable = "%%" + std::string(name) + "%%";
    return ResolveError{variable, path_, variable + ": " + why};
  }

  const ResolveContext& ctx_;
  std::string path_;
  int secret_depth_ = 0;
};

}  // namespace

std::string ResolveError::ToString() const {
  return path.empty() ? message : path + ": " + message;
}

ResolveResult ResolveTemplate(const boost::json::value& tmpl, const ResolveContext& ctx) {
  boost::json::value resolved = tmpl;
  if (std::optional<ResolveError> error = TemplateWalker(ctx).Visit(resolved)) {
    return *std::move(error);
  }
  return resolved;
}

}  // namespace expvar::resolve
