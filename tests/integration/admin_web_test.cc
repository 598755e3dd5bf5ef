// The admin server behind a Prometheus web.config: TLS and basic auth, checked with curl,
// htpasswd and promtool, the tools a user would reach for.
#include <gtest/gtest.h>

#include <fstream>

#include "process.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kUser[] = "prometheus";
constexpr char kPassword[] = "s3cret:pa55";

class AdminWebTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / "conf.d" / "go_expvar.d");
    auto cert = RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                            "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                            "-keyout", Path("tls.key"), "-out", Path("tls.crt")},
                           30s);
    ASSERT_EQ(cert.exit_code, 0) << cert.err;
    auto hash = RunCommand({"htpasswd", "-nbB", kUser, kPassword}, 30s);
    ASSERT_EQ(hash.exit_code, 0) << hash.err;
    htpasswd_line_ = hash.out.substr(0, hash.out.find('\n'));  // "prometheus:$2y$..."
  }

  std::string Path(const std::string& name) const { return (dir_.path() / name).string(); }

  std::string WriteWebConfig(bool tls, bool auth) const {
    std::string text;
    if (tls) {
      text += "tls_server_config:\n  cert_file: " + Path("tls.crt") +
              "\n  key_file: " + Path("tls.key") + "\n";
    }
    if (auth) {
      std::string hash = htpasswd_line_.substr(htpasswd_line_.find(':') + 1);
      text += "basic_auth_users:\n  " + std::string(kUser) + ": '" + hash + "'\n";
    }
    std::ofstream(Path("web.yml")) << text;
    return Path("web.yml");
  }

  std::vector<std::string> DaemonArgs(int port, const std::string& web_config) const {
    return {EXPVAR_BINARY,       "run",
            "--confd",           Path("conf.d"),
            "--dogstatsd-url",   "udp://127.0.0.1:9",
            "--listen",          "127.0.0.1:" + std::to_string(port),
            "--web-config-file", web_config,
            "--log-level",       "debug"};
  }

  // curl's HTTP status for an https URL trusting our certificate ("000": no HTTP answer).
  std::string HttpsStatus(int port, const std::string& path,
                          const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> argv = {"curl",     "-s",           "-o",         "/dev/null",
                                     "-w",       "%{http_code}", "--max-time", "5",
                                     "--cacert", Path("tls.crt")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("https://127.0.0.1:" + std::to_string(port) + path);
    return RunCommand(argv, 10s).out;
  }

  TempDir dir_;
  std::string htpasswd_line_;
};

TEST_F(AdminWebTest, PromtoolAcceptsTheWebConfigWeAccept) {
  auto check = RunCommand({"promtool", "check", "web-config", WriteWebConfig(true, true)}, 30s);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
}

TEST_F(AdminWebTest, TlsAndBasicAuthGuardMetricsAndStatusButNotTheProbes) {
  int port = FreeLoopbackPort();
  Process daemon(DaemonArgs(port, WriteWebConfig(true, true)), dir_.path());
  ASSERT_TRUE(Eventually([&] { return HttpsStatus(port, "/healthz") == "200"; }, 10s))
      << daemon.Stderr();
  std::string credentials = std::string(kUser) + ":" + kPassword;
  EXPECT_EQ(HttpsStatus(port, "/readyz"), "200");
  EXPECT_EQ(HttpsStatus(port, "/metrics"), "401");
  EXPECT_EQ(HttpsStatus(port, "/status"), "401");
  EXPECT_EQ(HttpsStatus(port, "/metrics", {"-u", "prometheus:wrong"}), "401");
  EXPECT_EQ(HttpsStatus(port, "/metrics", {"-u", credentials}), "200");
  EXPECT_EQ(HttpsStatus(port, "/status", {"-u", credentials}), "200");
  // Plain HTTP on the TLS port gets no HTTP answer.
  EXPECT_FALSE(HttpGet("http://127.0.0.1:" + std::to_string(port) + "/healthz"));
  daemon.Stop();
  EXPECT_EQ(daemon.Stderr().find(kPassword), std::string::npos) << "the password was logged";
}

TEST_F(AdminWebTest, ABrokenWebConfigStopsTheStartNamingTheFileAndKey) {
  std::ofstream(Path("web.yml")) << "tls_server_config:\n  cert_file: " << Path("tls.crt") << "\n";
  auto run = RunCommand(DaemonArgs(FreeLoopbackPort(), Path("web.yml")), 10s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find(Path("web.yml")), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("key_file"), std::string::npos) << run.err;

  // A certificate file that holds no certificate: found at start, not at the first scrape.
  std::ofstream(Path("web.yml")) << "tls_server_config:\n  cert_file: " << Path("tls.key")
                                 << "\n  key_file: " << Path("tls.key") << "\n";
  run = RunCommand(DaemonArgs(FreeLoopbackPort(), Path("web.yml")), 10s);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("tls_server_config.cert_file"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace expvar::testing
