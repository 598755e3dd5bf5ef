#include "admin/web_config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

namespace expvar::admin {
namespace {

const std::set<std::string> kClientAuthTypes = {"NoClientCert", "VerifyClientCertIfGiven",
                                                "RequireAndVerifyClientCert"};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void Fail(const std::string& key, const std::string& why) const {
    throw WebConfigError(source_ + ": " + key + ": " + why);
  }

  void OnlyKeys(const YAML::Node& map, const std::string& where,
                const std::set<std::string>& known) const {
    for (const auto& entry : map) {
      std::string key = entry.first.as<std::string>();
      if (!known.contains(key)) {
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        Fail(where + key, "unknown key (supported: " + list + ")");
      }
    }
  }

  std::string String(const YAML::Node& map, const std::string& key, const std::string& path) const {
    const YAML::Node node = map[key];
    if (!node) return "";
    if (!node.IsScalar()) Fail(path, "must be a string");
    return node.as<std::string>();
  }

  WebConfig::Tls Tls(const YAML::Node& node) const {
    if (!node.IsMap()) Fail("tls_server_config", "must be a map");
    OnlyKeys(node, "tls_server_config.",
             {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"});
    WebConfig::Tls tls;
    tls.cert_file = String(node, "cert_file", "tls_server_config.cert_file");
    tls.key_file = String(node, "key_file", "tls_server_config.key_file");
    if (tls.cert_file.empty() || tls.key_file.empty()) {
      Fail("tls_server_config", "cert_file and key_file are both required");
    }
    if (auto type = String(node, "client_auth_type", "tls_server_config.client_auth_type");
        !type.empty()) {
      if (!kClientAuthTypes.contains(type)) {
        Fail("tls_server_config.client_auth_type",
             "\"" + type +
                 "\" is not NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert");
      }
      tls.client_auth_type = type;
    }
    tls.client_ca_file = String(node, "client_ca_file", "tls_server_config.client_ca_file");
    if (tls.client_auth_type != "NoClientCert" && tls.client_ca_file.empty()) {
      Fail("tls_server_config.client_ca_file",
           "required by client_auth_type " + tls.client_auth_type);
    }
    if (auto version = String(node, "min_version", "tls_server_config.min_version");
        !version.empty()) {
      if (version != "TLS12" && version != "TLS13") {
        Fail("tls_server_config.min_version", "\"" + version + "\" is not TLS12 or TLS13");
      }
      tls.min_version = version;
    }
    return tls;
  }

  std::map<std::string, std::string> Users(const YAML::Node& node) const {
    if (!node.IsMap()) Fail("basic_auth_users", "must be a map of user: bcrypt hash");
    std::map<std::string, std::string> users;
    for (const auto& entry : node) {
      std::string user = entry.first.as<std::string>();
      std::string path = "basic_auth_users." + user;
      if (user.empty() || user.find(':') != std::string::npos) {
        Fail(path, "a user name must be non-empty and contain no ':'");
      }
      if (!entry.second.IsScalar()) Fail(path, "must be a bcrypt hash string");
      std::string hash = entry.second.as<std::string>();
      // Never quote the hash: it is a secret too.
      if (!(hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"))) {
        Fail(path,
             "not a bcrypt hash (expected $2y$..., e.g. from `htpasswd -nBC 10 " + user + "`)");
      }
      users.emplace(user, hash);
    }
    return users;
  }

 private:
  std::string source_;
};

void CheckReadable(const std::string& source, const std::string& key, const std::string& file) {
  if (file.empty()) return;
  std::ifstream in(file);
  if (!in) throw WebConfigError(source + ": " + key + ": cannot read \"" + file + "\"");
}

}  // namespace

WebConfig ParseWebConfig(const std::string& yaml_text, const std::string& source) {
  Reader reader(source);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw WebConfigError(source + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  WebConfig config;
  if (!root || root.IsNull()) return config;  // an empty file: plain HTTP, no auth
  if (!root.IsMap()) reader.Fail("(top level)", "expected a map");
  reader.OnlyKeys(root, "", {"tls_server_config", "basic_auth_users"});
  if (root["tls_server_config"]) config.tls = reader.Tls(root["tls_server_config"]);
  if (root["basic_auth_users"]) config.basic_auth_users = reader.Users(root["basic_auth_users"]);
  return config;
}

WebConfig LoadWebConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw WebConfigError(path + ": cannot read the web config file");
  std::ostringstream text;
  text << in.rdbuf();
  WebConfig config = ParseWebConfig(text.str(), path);
  if (config.tls) {
    CheckReadable(path, "tls_server_config.cert_file", config.tls->cert_file);
    CheckReadable(path, "tls_server_config.key_file", config.tls->key_file);
    CheckReadable(path, "tls_server_config.client_ca_file", config.tls->client_ca_file);
  }
  return config;
}

}  // namespace expvar::admin
