// One `instances:` entry. An instance whose connection settings (credentials, headers, TLS) are
// of the wrong type is skipped rather than defaulted: connecting with other credentials or TLS
// settings than the ones written would be wrong. Other bad values fall back to their defaults.

#include "config/instance_reader.h"

#include <algorithm>
#include <array>
#include <boost/algorithm/string/trim.hpp>
#include <cctype>
#include <climits>
#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

#include "config/metric_reader.h"

namespace expvar::config::detail {

using pipeline::Instance;
using pipeline::kDefaultMaxBodyBytes;
using pipeline::kDefaultMaxReturnedMetrics;
using pipeline::kDefaultNamespace;
using pipeline::kDefaultTimeout;
using pipeline::MetricSpec;
using pipeline::TlsOptions;

namespace {

constexpr std::array<std::string_view, 21> kInstanceKeys = {
    "expvar_url", "namespace", "metrics", "max_returned_metrics", "tags", "timeout",
    "min_collection_interval", "username", "password", "headers", "tls_verify", "tls_ca_cert",
    "tls_cert", "tls_private_key",
    // Legacy spellings of Datadog's go_expvar check.
    "ssl_verify", "ssl_certfile", "ssl_keyfile",
    // Our extension.
    "max_body_bytes",
    // Generic Datadog instance keys: `service` becomes a tag, the other two are accepted quietly.
    "service", "empty_default_hostname", "disable_generic_tags"};

// RFC 9110 token characters, which a header name must consist of.
bool IsHeaderName(std::string_view name) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || kSpecials.find(c) != kSpecials.npos;
  });
}

// A header value must not smuggle in another header line.
bool IsHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// Reads one `instances:` entry. Collects every problem before deciding, so that one pass over
// the warnings shows all that is wrong with an instance.
class InstanceReader {
 public:
  InstanceReader(std::string where, const InitDefaults& defaults, Diagnostics& diag)
      : where_(std::move(where)), defaults_(defaults), diag_(diag) {}

  std::optional<Instance> Read(const YAML::Node& node) {
    if (!node.IsMap()) {
      diag_.Warn(where_, "expected a map, got " + YamlKindName(node) + "; instance skipped");
      return std::nullopt;
    }
    entries_ = ReadMap(node, where_, diag_);
    WarnUnknownKeys(entries_, kInstanceKeys, where_, diag_);
    ReadUrl();
    ReadNamespace();
    ReadMetrics();
    ReadLimits();
    ReadInstanceTags();
    ReadCredentials();
    ReadHeaders();
    ReadTls();
    if (!usable_) return std::nullopt;
    return std::move(instance_);
  }

 private:
  const YAML::Node* Get(std::string_view key) const { return FindEntry(entries_, key); }
  std::string Where(std::string_view key) const { return KeyPath(where_, key); }
  void Warn(std::string_view key, const std::string& what) { diag_.Warn(Where(key), what); }
  void Skip(std::string_view key, const std::string& what) {
    diag_.Warn(Where(key), what + "; instance skipped");
    usable_ = false;
  }

  // A string-valued connection setting; the value is never shown in messages.
  std::optional<std::string> Secretish(std::string_view key) {
    const YAML::Node* value = Get(key);
    if (value == nullptr) return std::nullopt;
    if (!value->IsScalar()) {
      Skip(key, "expected a string, got " + YamlKindName(*value));
      return std::nullopt;
    }
    return value->Scalar();
  }

  void ReadUrl() {
    const YAML::Node* url = Get("expvar_url");
    if (url == nullptr) {
      Skip("expvar_url", "missing (required)");
    } else if (YamlKindName(*url) != "a string") {
      Skip("expvar_url", "expected a URL string, got " + YamlKindName(*url));
    } else if (boost::algorithm::trim_copy(url->Scalar()).empty()) {
      Skip("expvar_url", "empty");
    } else {
      instance_.expvar_url = url->Scalar();
    }
  }

  void ReadNamespace() {
    const YAML::Node* value = Get("namespace");
    if (value == nullptr) return;
    if (value->IsScalar()) {
      instance_.metric_namespace = value->Scalar();  // "" stays "": names get no prefix
    } else {
      Warn("namespace", "expected a string, got " + YamlKindName(*value) + "; default \"" +
                            kDefaultNamespace + "\" used");
    }
  }

  void ReadMetrics() {
    const YAML::Node* metrics = Get("metrics");
    if (metrics == nullptr) return;
    if (!metrics->IsSequence()) {
      Warn("metrics", "expected a list of metric items, got " + YamlKindName(*metrics) +
                          "; no custom metrics collected");
      return;
    }
    for (std::size_t i = 0; i < metrics->size(); ++i) {
      if (std::optional<MetricSpec> spec =
              ReadMetric((*metrics)[i], ListItemPath(where_, "metrics", i), diag_)) {
        instance_.metrics.push_back(std::move(*spec));
      }
    }
  }

  void ReadLimits() {
    if (const YAML::Node* value = Get("max_returned_metrics")) {
      if (const std::optional<long long> n = ReadInteger(*value, 0, INT_MAX)) {
        instance_.max_returned_metrics = static_cast<int>(*n);
      } else {
        Warn("max_returned_metrics", "expected an integer >= 0, got " + Shown(*value) +
                                         "; default " + std::to_string(kDefaultMaxReturnedMetrics) +
                                         " used");
      }
    }
    if (const YAML::Node* value = Get("timeout")) {
      if (const std::optional<std::chrono::milliseconds> timeout = ReadSeconds(*value)) {
        instance_.timeout = *timeout;
      } else {
        Warn("timeout", "expected a positive number of seconds, got " + Shown(*value) +
                            "; default " + FormatSeconds(kDefaultTimeout) + " used");
      }
    }
    instance_.min_collection_interval = defaults_.min_collection_interval;
    if (const YAML::Node* value = Get("min_collection_interval")) {
      if (const std::optional<std::chrono::milliseconds> interval = ReadSeconds(*value)) {
        instance_.min_collection_interval = *interval;
      } else {
        Warn("min_collection_interval",
             "expected a positive number of seconds, got " + Shown(*value) + "; ignored");
      }
    }
    if (const YAML::Node* value = Get("max_body_bytes")) {
      if (const std::optional<long long> n = ReadInteger(*value, 1, LLONG_MAX)) {
        instance_.max_body_bytes = static_cast<std::size_t>(*n);
      } else {
        Warn("max_body_bytes", "expected an integer > 0, got " + Shown(*value) + "; default " +
                                   std::to_string(kDefaultMaxBodyBytes) + " used");
      }
    }
  }

  void ReadInstanceTags() {
    if (const YAML::Node* tags = Get("tags")) {
      if (std::optional<std::vector<std::string>> parsed =
              ReadTagList(*tags, Where("tags"), diag_)) {
        instance_.tags = std::move(*parsed);
      } else {
        Warn("tags", "expected a list of strings, got " + YamlKindName(*tags) + "; ignored");
      }
    }
    // As the Agent does, `service` becomes a `service:` tag; the instance's beats init_config's.
    std::optional<std::string> service = defaults_.service;
    if (const YAML::Node* value = Get("service")) {
      if (value->IsScalar()) {
        service = value->Scalar();
      } else {
        Warn("service", "expected a string, got " + YamlKindName(*value) + "; ignored");
      }
    }
    if (service && !boost::algorithm::trim_copy(*service).empty())
      instance_.tags.push_back("service:" + *service);
  }

  void ReadCredentials() {
    if (std::optional<std::string> username = Secretish("username")) {
      instance_.username = std::move(*username);
    }
    if (std::optional<std::string> password = Secretish("password")) {
      instance_.password = std::move(*password);
    }
  }

  void ReadHeaders() {
    const YAML::Node* headers = Get("headers");
    if (headers == nullptr) return;
    if (!headers->IsMap()) {
      Skip("headers", "expected a map of header names to values, got " + YamlKindName(*headers));
      return;
    }
    const std::string where = Where("headers");
    const Entries entries = ReadMap(*headers, where, diag_);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& entry = entries[i];
      const std::string header_where = KeyPath(where, entry.key);
      if (!IsHeaderName(entry.key)) {
        // Not quoted: a mistyped name may hold the value ("Authorization: Bearer ...").
        diag_.Warn(where, "header name #" + std::to_string(i + 1) +
                              " is not a valid HTTP token (letters, digits, !#$%&'*+-.^_`|~); "
                              "instance skipped");
        usable_ = false;
      } else if (entry.value.IsNull()) {
        diag_.Warn(header_where, "null value; header not sent");
      } else if (!entry.value.IsScalar()) {
        diag_.Warn(header_where,
                   "expected a string, got " + YamlKindName(entry.value) + "; instance skipped");
        usable_ = false;
      } else if (!IsHeaderValue(entry.value.Scalar())) {
        diag_.Warn(header_where, "value contains a line break or NUL; instance skipped");
        usable_ = false;
      } else {
        instance_.headers.emplace_back(entry.key, entry.value.Scalar());
      }
    }
  }

  std::optional<bool> Bool(std::string_view key) {
    const YAML::Node* value = Get(key);
    if (value == nullptr) return std::nullopt;
    const std::optional<bool> parsed = ParseBool(*value);
    if (!parsed) Skip(key, "expected true or false, got " + YamlKindName(*value));
    return parsed;
  }

  // tls_* keys win over the legacy ssl_* aliases of Datadog's go_expvar check.
  void ReadTls() {
    TlsOptions& tls = instance_.tls;
    const bool has_tls_verify = Get("tls_verify") != nullptr;
    const bool has_tls_ca = Get("tls_ca_cert") != nullptr;
    const bool has_tls_cert = Get("tls_cert") != nullptr;
    const bool has_tls_key = Get("tls_private_key") != nullptr;

    if (const YAML::Node* ssl_verify = Get("ssl_verify")) {
      if (has_tls_verify) {
        Warn("ssl_verify", "ignored because tls_verify is set");
      } else if (const std::optional<bool> verify = ParseBool(*ssl_verify)) {
        tls.verify = *verify;
      } else if (YamlKindName(*ssl_verify) == "a string") {
        // As in the check's `requests.get(verify=...)`, a string is a CA bundle to verify with.
        tls.verify = true;
        if (has_tls_ca) {
          Warn("ssl_verify", "CA bundle ignored because tls_ca_cert is set");
        } else {
          tls.ca_cert = ssl_verify->Scalar();
        }
      } else {
        Skip("ssl_verify",
             "expected true, false or a CA bundle path, got " + YamlKindName(*ssl_verify));
      }
    }
    if (std::optional<bool> verify = Bool("tls_verify")) tls.verify = *verify;

    const auto file = [&](std::string_view key, std::string_view legacy_key, bool has_key,
                          std::string& out) {
      if (Get(legacy_key) != nullptr && has_key) {
        Warn(legacy_key, "ignored because " + std::string(key) + " is set");
      } else if (std::optional<std::string> value = Secretish(legacy_key)) {
        out = std::move(*value);
      }
      if (std::optional<std::string> value = Secretish(key)) out = std::move(*value);
    };
    file("tls_cert", "ssl_certfile", has_tls_cert, tls.cert);
    file("tls_private_key", "ssl_keyfile", has_tls_key, tls.private_key);
    if (std::optional<std::string> ca = Secretish("tls_ca_cert")) tls.ca_cert = std::move(*ca);
  }

  const std::string where_;
  const InitDefaults& defaults_;
  Diagnostics& diag_;
  Entries entries_;
  Instance instance_;
  bool usable_ = true;
};

}  // namespace

std::optional<Instance> ReadInstance(const YAML::Node& node, std::string where,
                                     const InitDefaults& defaults, Diagnostics& diag) {
  return InstanceReader(std::move(where), defaults, diag).Read(node);
}

}  // namespace expvar::config::detail
