// Credentials never leak: the daemon (conf.d and Kubernetes modes together, debug logging), the
// `check` and the `discover` commands are run with passwords in a conf.d instance, in a URL's
// userinfo, in a header and in a pod annotation, and with a bearer token for the API server;
// then every output a user can see is searched for them.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <fstream>
#include <thread>

#include "fake_api_server.h"
#include "fault_server.h"
#include "process.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;
using discovery::kube::testing::FakeApiOptions;
using discovery::kube::testing::FakeApiServer;

constexpr char kBody[] = R"({"requests": 42})";
constexpr char kConfPassword[] = "Conf-Pa55word-q7";
constexpr char kUrlPassword[] = "Url-Pa55word-z3";
constexpr char kWrongPassword[] = "Wrong-Pa55word-k9";
constexpr char kHeaderSecret[] = "Header-Secret-x4";
constexpr char kAnnotationPassword[] = "Annot-Pa55word-m2";
constexpr char kBrokenAnnotationPassword[] = "Broken-Pa55word-b8";
constexpr char kKubeToken[] = "Kube-Token-s3cr3t-v1";

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (i < in.size()) {
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + Base64(user + ":" + password);
}

// Everything that must never be shown: the secrets and the header values made from them.
std::vector<std::string> Secrets() {
  return {kConfPassword,
          kUrlPassword,
          kWrongPassword,
          kHeaderSecret,
          kAnnotationPassword,
          kBrokenAnnotationPassword,
          kKubeToken,
          Base64(std::string("alice:") + kConfPassword),
          Base64(std::string("bob:") + kUrlPassword),
          Base64(std::string("alice:") + kWrongPassword),
          Base64(std::string("carol:") + kAnnotationPassword)};
}

// Fails the test for every secret found in `text`, naming where it was seen.
void ExpectNoSecret(const std::string& where, const std::string& text) {
  for (const auto& secret : Secrets()) {
    auto pos = text.find(secret);
    EXPECT_EQ(pos, std::string::npos) << secret << " leaked in " << where << ": ..."
                                      << text.substr(pos < 200 ? 0 : pos - 200, 400) << "...";
  }
  for (const char* header : {"Authorization: B", "authorization: b", "Bearer "}) {
    EXPECT_EQ(text.find(header), std::string::npos) << "an Authorization value in " << where;
  }
}

std::string Conf(const FaultServer& basic, const FaultServer& userinfo, const FaultServer& header) {
  const std::string url_with_userinfo = "http://bob:" + std::string(kUrlPassword) +
                                        "@127.0.0.1:" + std::to_string(userinfo.port()) +
                                        "/debug/vars";
  const std::string items = "    metrics:\n      - path: requests\n      - path: missing\n";
  return "init_config:\ninstances:\n"
         "  - expvar_url: " +
         basic.Url() + "\n    username: alice\n    password: " + kConfPassword +
         "\n    tags: [\"auth:conf\"]\n" + items + "  - expvar_url: " + url_with_userinfo +
         "\n    tags: [\"auth:url\"]\n" + items +
         // The same server with a wrong password: a 401 on every scrape.
         "  - expvar_url: " + basic.Url() +
         "\n    username: alice\n    password: " + kWrongPassword +
         "\n    tags: [\"auth:wrong\"]\n" + items + "  - expvar_url: " + header.Url() +
         "\n    headers:\n      Authorization: \"Token " + kHeaderSecret +
         "\"\n    tags: [\"auth:header\"]\n" + items +
         // A password of the wrong type: the instance is skipped with a warning.
         "  - expvar_url: " + basic.Url() + "/x\n    password: [\"" + kConfPassword + "\"]\n";
}

class SecretsTest : public ::testing::Test {
 protected:
  SecretsTest() {
    std::filesystem::create_directories(dir_.path() / "conf.d" / "go_expvar.d");
    std::ofstream(dir_.path() / "conf.d" / "go_expvar.d" / "app.yaml")
        << Conf(basic_, userinfo_, header_);
    std::ofstream(token_file()) << kKubeToken << "\n";

    auto pod = FakeApiServer::MakePod("shop", "web-1", "node-a", "127.0.0.1");
    pod["spec"].as_object()["containers"].as_array()[0].as_object()["ports"] = boost::json::array{
        boost::json::object{{"name", "metrics"}, {"containerPort", annotated_.port()}}};
    pod["metadata"].as_object()["annotations"] = boost::json::object{
        {"ad.datadoghq.com/app.checks",
         std::string(
             R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:%%port_metrics%%",)"
             R"( "username": "carol", "password": ")") +
             kAnnotationPassword + R"(", "metrics": [{"path": "requests"}]}]}})"}};
    pods_.push_back(pod);
    // A broken annotation that carries a password: its error must not quote it.
    auto broken = FakeApiServer::MakePod("shop", "web-2", "node-a", "127.0.0.1");
    broken["metadata"].as_object()["annotations"] = boost::json::object{
        {"ad.datadoghq.com/app.checks",
         std::string(R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:1",)"
                     R"( "password": ")") +
             kBrokenAnnotationPassword + R"(%%bogus%%"}]}})"}};
    pods_.push_back(broken);
    auto truncated = FakeApiServer::MakePod("shop", "web-3", "node-a", "127.0.0.1");
    truncated["metadata"].as_object()["annotations"] = boost::json::object{
        {"ad.datadoghq.com/app.checks",
         std::string(
             R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:1", "password": ")") +
             kBrokenAnnotationPassword}};
    pods_.push_back(truncated);
    for (const auto& p : pods_) api_.AddPod(p);
  }

  std::filesystem::path token_file() const { return dir_.path() / "token"; }
  std::vector<std::string> KubeFlags() const {
    return {"--kube-mode", "node",     "--node-name",       "node-a",
            "--kube-api",  api_.Url(), "--kube-token-file", token_file().string()};
  }

  TempDir dir_;
  std::vector<boost::json::object> pods_;
  FaultServer basic_{Fault::kServe, kBody, Basic("alice", kConfPassword)};
  FaultServer userinfo_{Fault::kServe, kBody, Basic("bob", kUrlPassword)};
  FaultServer header_{Fault::kServe, kBody, std::string("Token ") + kHeaderSecret};
  FaultServer annotated_{Fault::kServe, kBody, Basic("carol", kAnnotationPassword)};
  FakeApiServer api_{[] {
    FakeApiOptions options;
    options.token = kKubeToken;
    return options;
  }()};
};

TEST_F(SecretsTest, DaemonLogStatusAndMetricsShowNoCredential) {
  const int admin_port = FreeLoopbackPort();
  const std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  std::vector<std::string> args = {EXPVAR_BINARY,     "run",
                                   "--confd",         (dir_.path() / "conf.d").string(),
                                   "--listen",        "127.0.0.1:" + std::to_string(admin_port),
                                   "--dogstatsd-url", "udp://127.0.0.1:9",
                                   "--interval",      "1",
                                   "--log-level",     "debug"};
  for (const auto& flag : KubeFlags()) args.push_back(flag);
  Process collector(args, dir_.path());

  // Every credential works (so the daemon really holds and uses it) ...
  ASSERT_TRUE(Eventually(
      [&] {
        auto metrics = HttpGet(admin + "/metrics");
        return Contains(metrics, "auth=\"conf\"") && Contains(metrics, "auth=\"url\"") &&
               Contains(metrics, "auth=\"header\"") && Contains(metrics, "pod_name=\"web-1\"");
      },
      20s))
      << HttpGet(admin + "/status").value_or("no /status") << "\n"
      << collector.Stderr();
  // ... the wrong one fails, and the broken annotations are reported.
  ASSERT_TRUE(Eventually([&] {
    auto status = HttpGet(admin + "/status");
    return Contains(status, "HTTP 401") && Contains(status, "shop/web-2") &&
           Contains(status, "shop/web-3");
  })) << HttpGet(admin + "/status").value_or("");
  // A 401 from the API server (the token rotated away) goes through the error paths too.
  api_.SetToken("another-token");
  api_.EndWatches();
  ASSERT_TRUE(Eventually([&] { return Contains(collector.Stderr(), "failed: HTTP 401"); }, 10s))
      << collector.Stderr();

  ExpectNoSecret("/status", HttpGet(admin + "/status").value_or(""));
  ExpectNoSecret("/metrics", HttpGet(admin + "/metrics").value_or(""));
  collector.Stop();
  const std::string log = collector.Stderr() + collector.Stdout();
  // The missing path's note is logged at debug level only.
  EXPECT_NE(log.find(" debug "), std::string::npos) << "not at debug level:\n" << log;
  ExpectNoSecret("the debug log", log);
  // The target really received the credentials (the test would be vacuous otherwise).
  bool sent = false;
  for (const auto& head : basic_.RequestHeads()) {
    sent |= head.find(Basic("alice", kConfPassword)) != std::string::npos;
  }
  EXPECT_TRUE(sent);
}

TEST_F(SecretsTest, CheckAndDiscoverShowNoCredential) {
  CommandResult check = RunCommand(
      {EXPVAR_BINARY, "check", (dir_.path() / "conf.d" / "go_expvar.d" / "app.yaml").string()},
      30s);
  EXPECT_EQ(check.exit_code, 1) << check.err;  // the wrong password fails
  EXPECT_NE(check.err.find("HTTP 401"), std::string::npos) << check.err;
  // The userinfo and conf credentials work: their series are printed.
  EXPECT_NE(check.out.find("auth:url"), std::string::npos) << check.out << check.err;
  EXPECT_NE(check.out.find("auth:conf"), std::string::npos) << check.out;
  ExpectNoSecret("check's output", check.out);
  ExpectNoSecret("check's errors", check.err);

  for (const std::string output : {"table", "json"}) {
    std::vector<std::string> args = {EXPVAR_BINARY, "discover", "--output", output};
    for (const auto& flag : KubeFlags()) args.push_back(flag);
    CommandResult discover = RunCommand(args, 30s);
    EXPECT_EQ(discover.exit_code, 0) << discover.err;
    EXPECT_NE(discover.out.find("web-1"), std::string::npos) << discover.out;
    ExpectNoSecret("discover --output " + output, discover.out + discover.err);
  }
  // Offline, from the same pods as a file.
  boost::json::array items;
  for (const auto& pod : pods_) items.push_back(pod);
  std::ofstream(dir_.path() / "pods.json")
      << boost::json::serialize(boost::json::object{{"items", items}});
  CommandResult offline = RunCommand({EXPVAR_BINARY, "discover", "--pods",
                                      (dir_.path() / "pods.json").string(), "--output", "json"},
                                     30s);
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_NE(offline.out.find("web-1"), std::string::npos) << offline.out;
  ExpectNoSecret("discover --pods", offline.out + offline.err);
}

}  // namespace
}  // namespace expvar::testing
