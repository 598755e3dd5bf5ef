// Reads the admin server's TLS and basic-auth settings from a Prometheus web.config YAML file.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

namespace expvar::admin {

// The subset of the Prometheus exporter-toolkit format we honour; any other key is an error, so
// that a setting the user relies on is never silently ignored:
//
//   tls_server_config:
//     cert_file: /etc/tls/tls.crt
//     key_file: /etc/tls/tls.key
//     client_auth_type: RequireAndVerifyClientCert   # or NoClientCert (default),
//     client_ca_file: /etc/tls/ca.crt                #    VerifyClientCertIfGiven
//     min_version: TLS12                             # or TLS13
//   basic_auth_users:
//     prometheus: $2y$10$...                         # bcrypt, as `htpasswd -nBC 10 user` makes
struct WebTlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_auth_type = "NoClientCert";
  std::string client_ca_file;
  std::string min_version = "TLS12";
};

struct WebConfig {
  // Declared outside: Clang cannot use a nested class's member initializers inside the enclosing
  // class (std::optional<Tls> would not be default-constructible there).
  using Tls = WebTlsConfig;
  std::optional<Tls> tls;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
};

class WebConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses the YAML text; errors name `source` and the key at fault.
WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& source);

// Reads and parses the file; also checks that the files it names can be read.
WebConfig LoadWebConfig(const std::string& path);

}  // namespace expvar::admin
