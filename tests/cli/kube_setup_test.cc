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

// Any pod author writes %%env_X%%: by default they read nothing of the collector's environment.
TEST_F(TemplateEnvironmentTest, WithoutAnAllowListNoVariableResolves) {
  auto env = TemplateEnvironment({});
  EXPECT_EQ(env("EXPVAR_TEST_SECRET_TOKEN"), std::nullopt);
  EXPECT_EQ(env("EXPVAR_TEST_PORT"), std::nullopt);
}

TEST_F(TemplateEnvironmentTest, AStarRestoresTheDatadogBehaviour) {
  auto env = TemplateEnvironment({"*"});
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

TEST(AnnotationLimitsTest, PodTargetOptionsTakeTheFlags) {
  RunOptions options;
  options.annotation_max_body_bytes = 1024;
  options.annotation_max_timeout_seconds = 2.5;
  options.annotation_max_returned_metrics = 50;
  options.annotation_min_interval_seconds = 5;
  options.annotation_max_metric_items = 3;
  options.annotation_max_tags = 4;
  options.annotation_max_tag_length = 64;
  const discovery::AnnotationLimits limits = PodTargetOptionsFor(options, "node").limits;
  EXPECT_EQ(limits.max_body_bytes, 1024u);
  EXPECT_EQ(limits.max_timeout, std::chrono::milliseconds(2500));
  EXPECT_EQ(limits.max_returned_metrics, 50);
  EXPECT_EQ(limits.min_interval, std::chrono::seconds(5));
  EXPECT_EQ(limits.max_metric_items, 3u);
  EXPECT_EQ(limits.max_tags, 4u);
  EXPECT_EQ(limits.max_tag_length, 64u);
}

}  // namespace
}  // namespace expvar::cli
