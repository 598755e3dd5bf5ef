#include "discovery/kube/config.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "support/manual_clock.h"

namespace expvar::discovery::kube {
namespace {

using std::chrono::seconds;

struct FakeWorld {
  std::map<std::string, std::string> env;
  std::set<std::string> files;

  common::EnvLookup Env() const {
    return [this](const std::string& name) -> std::optional<std::string> {
      const auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    };
  }
  common::FileExists Exists() const {
    return [this](const std::string& path) { return files.count(path) > 0; };
  }
};

const std::string kToken = std::string(kServiceAccountDir) + "/token";
const std::string kCa = std::string(kServiceAccountDir) + "/ca.crt";

TEST(ApiConfigTest, InClusterUsesServiceEnvAndServiceAccountFiles) {
  FakeWorld world{{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
                  {kToken, kCa}};
  std::string error;
  const auto config = ResolveApiConfig({}, world.Env(), world.Exists(), &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, kToken);
  EXPECT_EQ(config->ca_file, kCa);
  EXPECT_FALSE(config->insecure_skip_tls_verify);
}

TEST(ApiConfigTest, BracketsAnIpv6ServiceHost) {
  FakeWorld world{{{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "6443"}},
                  {}};
  std::string error;
  const auto config = ResolveApiConfig({}, world.Env(), world.Exists(), &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->server, "https://[fd00::1]:6443");
  EXPECT_EQ(config->token_file, "");  // no service-account files: anonymous, system CAs
  EXPECT_EQ(config->ca_file, "");
}

TEST(ApiConfigTest, FlagsWinOverInClusterDefaults) {
  FakeWorld world{{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}},
                  {kToken, kCa, "/etc/t", "/etc/ca"}};
  ApiFlags flags{"https://api.example:6443", "/etc/t", "/etc/ca", true};
  std::string error;
  const auto config = ResolveApiConfig(flags, world.Env(), world.Exists(), &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->server, "https://api.example:6443");
  EXPECT_EQ(config->token_file, "/etc/t");
  EXPECT_EQ(config->ca_file, "/etc/ca");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
}

TEST(ApiConfigTest, ExplicitApiStillPicksUpServiceAccountFiles) {
  FakeWorld world{{}, {kToken}};
  std::string error;
  const auto config = ResolveApiConfig({"http://127.0.0.1:8001", "", "", false}, world.Env(),
                                       world.Exists(), &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->token_file, kToken);
  EXPECT_EQ(config->ca_file, "");
}

TEST(ApiConfigTest, Errors) {
  FakeWorld world;
  std::string error;
  EXPECT_FALSE(ResolveApiConfig({}, world.Env(), world.Exists(), &error));
  EXPECT_NE(error.find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  EXPECT_FALSE(ResolveApiConfig({"ftp://x", "", "", false}, world.Env(), world.Exists(), &error));
  EXPECT_FALSE(ResolveApiConfig({"https://x", "/missing/token", "", false}, world.Env(),
                                world.Exists(), &error));
  EXPECT_NE(error.find("/missing/token"), std::string::npos);
  EXPECT_FALSE(ResolveApiConfig({"https://x", "", "/missing/ca", false}, world.Env(),
                                world.Exists(), &error));
}

class TokenSourceTest : public ::testing::Test {
 protected:
  TokenSource Make(std::string path = "/token") {
    return TokenSource(std::move(path), clock_.AsFunction(),
                       [this](const std::string&) -> std::optional<std::string> {
                         ++file_reads_;
                         return file_;
                       });
  }

  testing::ManualClock<> clock_;
  std::optional<std::string> file_ = "first\n";
  int file_reads_ = 0;
};

TEST_F(TokenSourceTest, ReReadsOnlyAfterAMinute) {
  auto tokens = Make();
  EXPECT_EQ(tokens.Get(), "first");
  file_ = "second";
  clock_.Advance(seconds(59));
  EXPECT_EQ(tokens.Get(), "first");
  EXPECT_EQ(file_reads_, 1);
  clock_.Advance(seconds(1));
  EXPECT_EQ(tokens.Get(), "second");
  EXPECT_EQ(file_reads_, 2);
}

TEST_F(TokenSourceTest, InvalidateForcesTheNextGetToReRead) {
  auto tokens = Make();
  EXPECT_EQ(tokens.Get(), "first");
  file_ = "  rotated \n";
  tokens.Invalidate();
  EXPECT_EQ(tokens.Get(), "rotated");
  EXPECT_EQ(tokens.Get(), "rotated");
  EXPECT_EQ(file_reads_, 2);
}

TEST_F(TokenSourceTest, AFailedReadKeepsTheLastGoodToken) {
  auto tokens = Make();
  EXPECT_EQ(tokens.Get(), "first");
  file_.reset();
  tokens.Invalidate();
  EXPECT_EQ(tokens.Get(), "first");
}

TEST_F(TokenSourceTest, NoFileMeansNoToken) {
  auto tokens = Make("");
  EXPECT_EQ(tokens.Get(), "");
  EXPECT_EQ(file_reads_, 0);
}

}  // namespace
}  // namespace expvar::discovery::kube
