#include "discovery/annotation_prefix.h"

#include <gtest/gtest.h>

#include "discovery/pod_targets.h"
#include "support/pod_builder.h"

namespace expvar::discovery {
namespace {

using testing::PodBuilder;

constexpr const char* kChecks =
    R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:6060"}]}})";

pipeline::Pod AnnotatedForBoth() {
  return PodBuilder("shop", "cart", "uid-1")
      .Ips({"10.1.2.3"})
      .AddContainer("app")
      .Annotate("ad.datadoghq.com/app.checks",
                R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:7070"}]}})")
      .Annotate("service-discovery.datadoghq.com/app.check_names", R"(["go_expvar"])")
      .Annotate("expvar.example.com/app.checks", kChecks)
      .Annotate("expvar.example.com/tags", R"({"team": "shop"})")
      .Annotate("other.io/keep", "yes")
      .Build();
}

TEST(AnnotationPrefix, DatadogsPrefixLeavesThePodAsItIs) {
  pipeline::Pod pod = AnnotatedForBoth();
  EXPECT_EQ(WithAnnotationPrefix(pod, "").annotations, pod.annotations);
  EXPECT_EQ(WithAnnotationPrefix(pod, "ad.datadoghq.com/").annotations, pod.annotations);
  EXPECT_EQ(InAnnotationPrefix("ad.datadoghq.com/app.checks", ""), "ad.datadoghq.com/app.checks");
}

TEST(AnnotationPrefix, TheOperatorsPrefixReplacesDatadogsWhichAreDropped) {
  auto annotations = WithAnnotationPrefix(AnnotatedForBoth(), "expvar.example.com/").annotations;
  EXPECT_EQ(annotations,
            (std::map<std::string, std::string>{{"ad.datadoghq.com/app.checks", kChecks},
                                                {"ad.datadoghq.com/tags", R"({"team": "shop"})"},
                                                {"other.io/keep", "yes"}}));
  EXPECT_EQ(
      InAnnotationPrefix("annotation ad.datadoghq.com/app.checks: ad.datadoghq.com/x", "e.io/"),
      "annotation e.io/app.checks: e.io/x");
}

// The Agent keeps running the ad.datadoghq.com annotations; the collector runs only its own.
TEST(AnnotationPrefix, TargetsComeOnlyFromTheOperatorsAnnotationsAndProblemsNameThem) {
  PodTargetOptions options;
  options.annotation_prefix = "expvar.example.com/";
  ProviderResult result = TargetsFromPods({AnnotatedForBoth()}, options);
  ASSERT_EQ(result.targets.size(), 1u);
  EXPECT_EQ(result.targets[0].instance.expvar_url, "http://10.1.2.3:6060");
  const auto& tags = result.targets[0].instance.tags;
  EXPECT_NE(std::find(tags.begin(), tags.end(), "team:shop"), tags.end());

  pipeline::Pod broken = PodBuilder("shop", "bad", "uid-2")
                             .Ips({"10.1.2.4"})
                             .AddContainer("app")
                             .Annotate("expvar.example.com/app.checks", "{not json")
                             .Build();
  result = TargetsFromPods({broken}, options);
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].source.find("expvar.example.com/app.checks"), std::string::npos)
      << result.errors[0].source;
  EXPECT_EQ(result.errors[0].source.find("ad.datadoghq.com"), std::string::npos);
}

}  // namespace
}  // namespace expvar::discovery
