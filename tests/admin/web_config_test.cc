#include "admin/web_config.h"

#include <gtest/gtest.h>

#include <string>

#include "admin/basic_auth.h"
#include "support/manual_clock.h"

namespace expvar::admin {
namespace {

// Made with `htpasswd -nbB prometheus 's3cret:pa55'` (apache2-utils), the tool Prometheus'
// docs recommend, so the check is against a hash we did not make ourselves.
constexpr char kHtpasswdHash[] = "$2y$05$xbjvYAmiLFuv7IXgAdv0cOwySfu/wHaKhDZzGUZav1cc0JbN6HAT6";
// base64("prometheus:s3cret:pa55"): a password may itself contain ':'.
constexpr char kGoodHeader[] = "Basic cHJvbWV0aGV1czpzM2NyZXQ6cGE1NQ==";

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseWebConfig(yaml, "web.yml");
  } catch (const WebConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ParseWebConfig, ReadsThePrometheusFormat) {
  WebConfig config = ParseWebConfig(std::string(R"(
tls_server_config:
  cert_file: /tls/tls.crt
  key_file: /tls/tls.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: /tls/ca.crt
  min_version: TLS13
basic_auth_users:
  prometheus: ')") + kHtpasswdHash + "'\n",
                                    "web.yml");
  ASSERT_TRUE(config.tls);
  EXPECT_EQ(config.tls->cert_file, "/tls/tls.crt");
  EXPECT_EQ(config.tls->key_file, "/tls/tls.key");
  EXPECT_EQ(config.tls->client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(config.tls->client_ca_file, "/tls/ca.crt");
  EXPECT_EQ(config.tls->min_version, "TLS13");
  EXPECT_EQ(config.basic_auth_users.at("prometheus"), kHtpasswdHash);
}

TEST(ParseWebConfig, AnEmptyFileMeansPlainHttpWithoutAuth) {
  WebConfig config = ParseWebConfig("", "web.yml");
  EXPECT_FALSE(config.tls);
  EXPECT_TRUE(config.basic_auth_users.empty());
}

TEST(ParseWebConfig, ErrorsNameTheFileAndKeyButNeverTheHash) {
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: a\n  keyfile: b\n")
                .rfind("web.yml: tls_server_config.keyfile: unknown key", 0),
            0u);
  EXPECT_NE(ErrorOf("http_server_config: {}\n").find("http_server_config: unknown key"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config:\n  cert_file: a\n").find("key_file are both required"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config: {cert_file: a, key_file: b, client_auth_type: Maybe}\n")
                .find("client_auth_type: \"Maybe\""),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config: {cert_file: a, key_file: b, client_auth_type: "
                    "RequireAndVerifyClientCert}\n")
                .find("client_ca_file: required"),
            std::string::npos);
  EXPECT_NE(ErrorOf("tls_server_config: {cert_file: a, key_file: b, min_version: TLS10}\n")
                .find("min_version"),
            std::string::npos);
  std::string plain = ErrorOf("basic_auth_users:\n  bob: hunter2\n");
  EXPECT_NE(plain.find("basic_auth_users.bob: not a bcrypt hash"), std::string::npos) << plain;
  EXPECT_EQ(plain.find("hunter2"), std::string::npos) << plain;
  EXPECT_NE(ErrorOf("[1, 2]\n").find("expected a map"), std::string::npos);
  EXPECT_NE(ErrorOf("a: [\n").find("web.yml: line"), std::string::npos);
}

TEST(LoadWebConfig, NamesAnUnreadableFile) {
  try {
    LoadWebConfig("/nonexistent/web.yml");
    FAIL() << "no error";
  } catch (const WebConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/web.yml"), std::string::npos);
  }
}

TEST(BasicAuth, AcceptsOnlyTheRightUserAndPassword) {
  BasicAuth auth(std::map<std::string, std::string>{{"prometheus", kHtpasswdHash}});
  auto allows = [&](std::string_view header) {
    return auth.Check(header) == AuthVerdict::kAllowed;
  };
  EXPECT_TRUE(allows(kGoodHeader));
  EXPECT_TRUE(allows(kGoodHeader));                               // the remembered digest path
  EXPECT_TRUE(allows("basic cHJvbWV0aGV1czpzM2NyZXQ6cGE1NQ=="));  // scheme is case-blind
  EXPECT_FALSE(allows("Basic cHJvbWV0aGV1czpzM2NyZXQ="));         // prometheus:s3cret
  EXPECT_FALSE(allows("Basic YWxpY2U6czNjcmV0OnBhNTU="));         // alice:s3cret:pa55
  EXPECT_FALSE(allows("Bearer cHJvbWV0aGV1czpzM2NyZXQ6cGE1NQ=="));
  EXPECT_FALSE(allows("Basic not-base64!"));
  EXPECT_FALSE(allows("Basic cHJvbWV0aGV1cw=="));  // "prometheus", no colon
  EXPECT_FALSE(allows(""));
  // A wrong password after a right one is still refused (the digest is compared, not skipped).
  EXPECT_EQ(auth.Check("Basic cHJvbWV0aGV1czpzM2NyZXQ6cGE1Ng=="), AuthVerdict::kDenied);  // pa56
}

TEST(BasicAuth, ThrottlesBcryptChecksBeyondTheBudgetButNeverTheRememberedPassword) {
  using namespace std::chrono_literals;
  constexpr char kWrong[] = "Basic cHJvbWV0aGV1czpzM2NyZXQ=";  // prometheus:s3cret
  // A 1 ns budget: any bcrypt check overdraws it; it refills as fast as time passes.
  BasicAuth auth(std::map<std::string, std::string>{{"prometheus", kHtpasswdHash}},
                 BcryptBudget{.per_second = 1s, .burst = 1ns});
  testing::ManualClock<BasicAuth::Clock> clock(BasicAuth::Clock::now());
  EXPECT_EQ(auth.Check(kWrong, clock.Now()), AuthVerdict::kDenied);  // checked; budget spent
  EXPECT_EQ(auth.Check(kWrong, clock.Now()), AuthVerdict::kThrottled);
  EXPECT_EQ(auth.Check(kGoodHeader, clock.Now()), AuthVerdict::kThrottled);  // not remembered yet
  // An unknown user costs a check too (its timing must not reveal that the name is unknown);
  // a malformed header needs none and is still answered.
  EXPECT_EQ(auth.Check("Basic YWxpY2U6czNjcmV0OnBhNTU=", clock.Now()), AuthVerdict::kThrottled);
  EXPECT_EQ(auth.Check("Basic not-base64!", clock.Now()), AuthVerdict::kDenied);
  // A minute later the overdraft (one bcrypt at cost 5, milliseconds) is paid back.
  clock.Advance(60s);
  EXPECT_EQ(auth.Check(kGoodHeader, clock.Now()), AuthVerdict::kAllowed);
  EXPECT_EQ(auth.Check(kWrong, clock.Now()), AuthVerdict::kThrottled);
  EXPECT_EQ(auth.Check(kGoodHeader, clock.Now()), AuthVerdict::kAllowed);  // remembered digest
}

TEST(BasicAuth, AnUnknownUserCostsABcryptCheckLikeAKnownOne) {
  using namespace std::chrono_literals;
  BasicAuth auth(std::map<std::string, std::string>{{"prometheus", kHtpasswdHash}},
                 BcryptBudget{.per_second = 1s, .burst = 1ns});
  testing::ManualClock<BasicAuth::Clock> clock(BasicAuth::Clock::now());
  // alice with prometheus' password: checked against that hash, and refused although it matches.
  EXPECT_EQ(auth.Check("Basic YWxpY2U6czNjcmV0OnBhNTU=", clock.Now()), AuthVerdict::kDenied);
  // That check spent the budget, as a known user's would have.
  EXPECT_EQ(auth.Check(kGoodHeader, clock.Now()), AuthVerdict::kThrottled);
}

}  // namespace
}  // namespace expvar::admin
