// Substitutes Datadog Autodiscovery template variables (%%host%%, %%port_<name>%%, ...) in a
// check template, as a pure function of the template, the pod's facts and an injected environment.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "common/environment.h"
#include "pipeline/pod.h"

namespace expvar::resolve {

// Looks up a variable of the collector's environment; nullopt when it is not set.

struct ResolveContext {
  // The pod the template came from. May be null (a static conf.d file): then only %%env_*%% and
  // injected %%extra_*%% values resolve; every pod variable is an error.
  const pipeline::Pod* pod = nullptr;
  // The container the template belongs to; %%port*%% use its declared ports.
  std::string container;
  // What %%host%% and %%host_<net>%% become: the pod IP in node mode, $POD_IP or 127.0.0.1 in
  // pod (sidecar) mode. Empty means "no address yet", which makes %%host%% an error.
  std::string host;
  // %%env_<VAR>%%. Empty function = nothing is set. Callers in node mode should pass a lookup
  // restricted to an allow-list: a pod author can put %%env_X%% into a URL pointing at their own
  // pod and so read any variable this lookup exposes.
  common::EnvLookup env;
  // Extra values for %%extra_<key>%% / %%kube_<key>%% beyond the pod's own
  // (namespace, pod_name, pod_uid, which always win).
  std::map<std::string, std::string> extras;
};

struct ResolveError {
  // The variable as written ("%%port_metrics%%"), or "%%…%%" when it is not a known variable
  // and sits under a secret-looking key (its text may be part of a password).
  std::string variable;
  // Where in the template, e.g. "expvar_url", "metrics[1].tags[0]", "headers.X-Token".
  std::string path;
  // The variable and why it did not resolve. Never contains a resolved or literal value.
  std::string message;

  // "<path>: <message>", for /status and logs.
  std::string ToString() const;
};

using ResolveResult = std::variant<boost::json::value, ResolveError>;

// Substitutes every %%var%% in every string of `tmpl` (recursively through objects and arrays;
// object keys and non-string values are untouched). Rules, following Datadog's configresolver:
//  - A variable is "%%" + [A-Za-z0-9_.-]+ + "%%"; names are case-sensitive. Any other "%%" (no
//    closing "%%", or other characters in between) is left as is.
//  - Substituted values are not scanned again.
//  - A string that is exactly one variable whose value is a decimal integer (optional '-', no
//    leading zeros, fits in int64) becomes a JSON integer; everything else stays a string.
//  - An IPv6 %%host%% is bracketed when the string contains "://" and the variable is not
//    already between '[' and ']'.
//  - The first variable that does not resolve fails the whole template (Datadog drops the
//    instance); objects and arrays are walked in document order.
ResolveResult ResolveTemplate(const boost::json::value& tmpl, const ResolveContext& ctx);

}  // namespace expvar::resolve
