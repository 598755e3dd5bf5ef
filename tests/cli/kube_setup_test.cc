#include "cli/kube_setup.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace expvar::cli {
namespace {

class TemplateEnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("EXPVAR_TEST_TIMEOUT", "5", 1);
    ::setenv("EXPVAR_TEST_PORT", "8080", 1);
    ::setenv("EXPVAR_TEST_SECRET_TOKEN", "hunter2", 1);
  }
  void TearDown() override {
    for (const char* name : {"EXPVAR_TEST_TIMEOUT", "EXPVAR_TEST_PORT", "EXPVAR_TEST_SECRET_TOKEN"})
      ::unsetenv(name);
  }
};

TEST_F(TemplateEnvironmentTest, WithoutAnAllowListEveryVariableResolvesAsInDatadog) {
  auto env = TemplateEnvironment({});
  EXPECT_EQ(env("EXPVAR_TEST_SECRET_TOKEN"), "hunter2");
  EXPECT_EQ(env("EXPVAR_TEST_UNSET"), std::nullopt);
}

TEST_F(TemplateEnvironmentTest, TheAllowListTakesNamesAndPrefixes) {
  auto env = TemplateEnvironment({"EXPVAR_TEST_TIMEOUT", "EXPVAR_TEST_P*"});
  EXPECT_EQ(env("EXPVAR_TEST_TIMEOUT"), "5");
  EXPECT_EQ(env("EXPVAR_TEST_PORT"), "8080");
  EXPECT_EQ(env("EXPVAR_TEST_SECRET_TOKEN"), std::nullopt);
  EXPECT_EQ(env("EXPVAR_TEST_TIMEOUT2"), std::nullopt);  // a name is not a prefix
}

TEST_F(TemplateEnvironmentTest, PodTargetOptionsUseIt) {
  RunOptions options;
  options.template_env_allow = {"EXPVAR_TEST_PORT"};
  auto targets = PodTargetOptionsFor(options, "node");
  EXPECT_EQ(targets.env("EXPVAR_TEST_PORT"), "8080");
  EXPECT_EQ(targets.env("EXPVAR_TEST_SECRET_TOKEN"), std::nullopt);
}

}  // namespace
}  // namespace expvar::cli
