#include "discovery/annotations.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "annotations_test_util.h"
#include "discovery/pod_json.h"

namespace expvar::discovery {

using pipeline::Pod;

namespace {

namespace json = boost::json;

using annotations_testing::Case;
using annotations_testing::Describe;
using annotations_testing::ExpectMatches;
using annotations_testing::kAppChecks;
using annotations_testing::kExpvar;
using annotations_testing::kSidecarChecks;
using annotations_testing::MakePod;
using annotations_testing::V2;

using annotations_testing::TemplatesFromAnnotationsTest;

TEST_P(TemplatesFromAnnotationsTest, Matches) {
  const Case& c = GetParam();
  ExpectMatches(c, TemplatesFromAnnotations(MakePod(c.annotations)));
}

const std::string kAppNames = "ad.datadoghq.com/app.check_names";
const std::string kAppInit = "ad.datadoghq.com/app.init_configs";
const std::string kAppInstances = "ad.datadoghq.com/app.instances";
const std::string kLegacyNames = "service-discovery.datadoghq.com/app.check_names";
const std::string kLegacyInit = "service-discovery.datadoghq.com/app.init_configs";
const std::string kLegacyInstances = "service-discovery.datadoghq.com/app.instances";

// The malformed JSON of one case, with the byte its error is at.
const std::string kMalformed = R"({"go_expvar": {"instances": [{"expvar_url": "x"},]}})";
const std::string kMalformedAt = std::to_string(kMalformed.find(",]") + 1);

const std::vector<Case> kCases = {
    // --- v2 ---
    {"V2SingleInstance", {{kAppChecks, V2(kExpvar)}}, {{"app", kAppChecks, "{}", kExpvar, {}}}},
    {"V2MultipleInstancesKeepOrderAndInitConfig",
     {{kAppChecks, R"({"go_expvar": {"init_config": {"min_collection_interval": 30},
                     "instances": [{"expvar_url": "http://%%host%%:1"},
                                   {"expvar_url": "http://%%host%%:2", "namespace": "b"}]}})"}},
     {{"app",
       kAppChecks,
       R"({"min_collection_interval": 30})",
       R"({"expvar_url": "http://%%host%%:1"})",
       {}},
      {"app",
       kAppChecks,
       R"({"min_collection_interval": 30})",
       R"({"expvar_url": "http://%%host%%:2", "namespace": "b"})",
       {}}}},
    {"V2OtherChecksIgnoredEvenWhenBroken",
     {{kAppChecks, R"({"redisdb": {"instances": "not a list"}, "nginx": 5,
                     "go_expvar": {"instances": [{"expvar_url": "http://%%host%%"}]},
                     "http_check": {"init_config": {}, "instances": [{"url": "http://x"}]}})"}},
     {{"app", kAppChecks, "{}", R"({"expvar_url": "http://%%host%%"})", {}}}},
    {"V2OnlyOtherChecksIsQuiet",
     {{kAppChecks, R"({"redisdb": {"init_config": {}, "instances": [{"host": "%%host%%"}]}})"}}},
    {"V2NameOverride",
     {{kAppChecks,
       R"({"expvar_app": {"name": "go_expvar", "instances": [{"expvar_url": "http://a"}]},
                     "go_expvar": {"name": "custom_check", "instances": [{"expvar_url": "http://b"}]}})"}},
     {{"app", kAppChecks, "{}", R"({"expvar_url": "http://a"})", {}}}},
    {"V2InitConfigMissingOrNullIsEmptyObject",
     {{kAppChecks, R"({"go_expvar": {"init_config": null, "instances": [{"expvar_url": "a"}]}})"},
      {kSidecarChecks, R"({"go_expvar": {"instances": [{"expvar_url": "b"}]}})"}},
     {{"app", kAppChecks, "{}", R"({"expvar_url": "a"})", {}},
      {"sidecar", kSidecarChecks, "{}", R"({"expvar_url": "b"})", {}}}},
    {"V2NoInstancesIsQuiet", {{kAppChecks, R"({"go_expvar": {"init_config": {}}})"}}},

    // --- v1 and legacy ---
    {"V1ParallelArrays",
     {{kAppNames, R"(["redisdb", "go_expvar"])"},
      {kAppInit, R"([{}, {"min_collection_interval": 60}])"},
      {kAppInstances,
       R"([{"host": "%%host%%", "port": 6379}, {"expvar_url": "http://%%host%%:6060"}])"}},
     {{"app",
       kAppInstances,
       R"({"min_collection_interval": 60})",
       R"({"expvar_url": "http://%%host%%:6060"})",
       {}}}},
    {"V1NestedArrayGivesSeveralInstances",
     {{kAppNames, R"(["go_expvar", "redisdb"])"},
      {kAppInit, R"([[{}], {}])"},
      {kAppInstances,
       R"([[{"expvar_url": "http://a"}, {"expvar_url": "http://b"}], {"host": "r"}])"}},
     {{"app", kAppInstances, "{}", R"({"expvar_url": "http://a"})", {}},
      {"app", kAppInstances, "{}", R"({"expvar_url": "http://b"})", {}}}},
    {"V1EmptyNestedListMeansNoInstances",
     {{kAppNames, R"(["go_expvar"])"}, {kAppInit, "[{}]"}, {kAppInstances, "[[]]"}}},
    {"V1WithoutGoExpvarIsNotValidated",
     {{kAppNames, R"(["redisdb"])"}, {kAppInit, "[{}, {}]"}, {kAppInstances, "not json"}}},
    {"LegacyPrefix",
     {{kLegacyNames, R"(["go_expvar"])"},
      {kLegacyInit, "[{}]"},
      {kLegacyInstances, std::string("[") + kExpvar + "]"}},
     {{"app", kLegacyInstances, "{}", kExpvar, {}}}},
    {"V1NewPrefixWinsOverLegacy",
     {{kAppNames, R"(["go_expvar"])"},
      {kAppInit, "[{}]"},
      {kAppInstances, R"([{"expvar_url": "new"}])"},
      {kLegacyNames, R"(["go_expvar"])"},
      {kLegacyInit, "[{}]"},
      {kLegacyInstances, R"([{"expvar_url": "old"}])"}},
     {{"app", kAppInstances, "{}", R"({"expvar_url": "new"})", {}}}},
    {"V2WinsOverV1ForThatContainerOnly",
     {{kAppChecks, V2(R"({"expvar_url": "v2"})")},
      {kAppNames, R"(["go_expvar"])"},
      {kAppInit, "[{}]"},
      {kAppInstances, R"([{"expvar_url": "v1"}])"},
      {"ad.datadoghq.com/sidecar.check_names", R"(["go_expvar"])"},
      {"ad.datadoghq.com/sidecar.init_configs", "[{}]"},
      {"ad.datadoghq.com/sidecar.instances", R"([{"expvar_url": "sidecar v1"}])"}},
     {{"app", kAppChecks, "{}", R"({"expvar_url": "v2"})", {}},
      {"sidecar",
       "ad.datadoghq.com/sidecar.instances",
       "{}",
       R"({"expvar_url": "sidecar v1"})",
       {}}}},
    {"BrokenV2StillHidesV1",  // Datadog: v2 present means v1 is not read, even when v2 is broken
     {{kAppChecks, "{"},
      {kAppNames, R"(["go_expvar"])"},
      {kAppInit, "[{}]"},
      {kAppInstances, "[{}]"}},
     {},
     {{kAppChecks, {"invalid JSON at byte 1", "incomplete JSON"}}}},

    // --- check.id ---
    {"CheckIdReplacesTheContainerName",
     {{"ad.datadoghq.com/app.check.id", "billing"},
      {"ad.datadoghq.com/billing.checks", V2(kExpvar)}},
     {{"app", "ad.datadoghq.com/billing.checks", "{}", kExpvar, {}}}},
    {"CheckIdWithV1",
     {{"ad.datadoghq.com/app.check.id", "billing"},
      {"ad.datadoghq.com/billing.check_names", R"(["go_expvar"])"},
      {"ad.datadoghq.com/billing.init_configs", "[{}]"},
      {"ad.datadoghq.com/billing.instances", std::string("[") + kExpvar + "]"}},
     {{"app", "ad.datadoghq.com/billing.instances", "{}", kExpvar, {}}}},
    {"CheckIdHidesAnnotationsUnderTheContainerName",
     {{"ad.datadoghq.com/app.check.id", "billing"}, {kAppChecks, V2(kExpvar)}},
     {},
     {{kAppChecks,
       {"\"app\" matches no check identifier of the pod (identifiers: billing, sidecar)",
        "container \"app\" reads its checks under its check id \"billing\""}}}},
    {"CheckIdOfUnknownContainer",
     {{"ad.datadoghq.com/db.check.id", "billing"}},
     {},
     {{"ad.datadoghq.com/db.check.id",
       {"\"db\" names no container of the pod (containers: app, sidecar)"}}}},
    {"EmptyCheckId",
     {{"ad.datadoghq.com/app.check.id", ""},
      {kAppChecks, V2(kExpvar)},
      {kSidecarChecks, V2(kExpvar)}},
     {{"sidecar", kSidecarChecks, "{}", kExpvar, {}}},
     {{"ad.datadoghq.com/app.check.id", {"the check id is empty"}}}},

    // --- tolerate-unready ---
    {"TolerateUnready", {{"ad.datadoghq.com/tolerate-unready", "true"}}, {}, {}, true},
    {"TolerateUnreadyIsExactlyTrue",
     {{"ad.datadoghq.com/tolerate-unready", "True"}},
     {},
     {},
     false},

    // --- malformed annotations ---
    {"MalformedJsonHasPosition",
     {{kAppChecks, kMalformed}},
     {},
     {{kAppChecks, {"invalid JSON at byte " + kMalformedAt, "syntax error"}}}},
    {"TrailingTextAfterJson",
     {{kAppChecks, V2(kExpvar) + " x"}},
     {},
     {{kAppChecks, {"unexpected text after the value"}}}},
    {"EmptyValue", {{kAppChecks, "  "}}, {}, {{kAppChecks, {"the value is empty"}}}},
    {"ChecksNotAnObject",
     {{kAppChecks, R"([{"go_expvar": {}}])"}},
     {},
     {{kAppChecks, {"expected a JSON object of checks by name, got an array"}}}},
    {"CheckEntryNotAnObject",
     {{kAppChecks, R"({"go_expvar": [{"expvar_url": "x"}]})"}},
     {},
     {{kAppChecks, {"\"go_expvar\": expected an object, got an array"}}}},
    {"InstancesNotAnArray",
     {{kAppChecks, R"({"go_expvar": {"instances": {"expvar_url": "x"}}})"}},
     {},
     {{kAppChecks, {"\"go_expvar\".instances: expected an array, got an object"}}}},
    {"InstanceNotAnObject",
     {{kAppChecks, R"({"go_expvar": {"instances": [{"expvar_url": "a"}, "http://b"]}})"}},
     {},
     {{kAppChecks, {"\"go_expvar\".instances[1]: expected an object, got a string"}}}},
    {"V2InitConfigNotAnObject",
     {{kAppChecks, R"({"go_expvar": {"init_config": [], "instances": []}})"}},
     {},
     {{kAppChecks, {"\"go_expvar\".init_config: expected an object, got an array"}}}},
    {"V2NameNotAString",
     {{kAppChecks, R"({"go_expvar": {"name": 1, "instances": []}})"}},
     {},
     {{kAppChecks, {"\"go_expvar\".name: expected a string, got a number"}}}},
    {"V1LengthMismatch",
     {{kAppNames, R"(["go_expvar"])"},
      {kAppInit, "[{}, {}]"},
      {kAppInstances, std::string("[") + kExpvar + "]"}},
     {},
     {{kAppNames, {"check_names has 1 entries, init_configs 2, instances 1"}}}},
    {"V1InstancesNotAnArray",
     {{kAppNames, R"(["go_expvar"])"}, {kAppInit, "[{}]"}, {kAppInstances, kExpvar}},
     {},
     {{kAppInstances, {"expected an array, got an object"}}}},
    {"V1InstanceNotAnObject",
     {{kAppNames, R"(["go_expvar"])"}, {kAppInit, "[{}]"}, {kAppInstances, R"(["http://x"])"}},
     {},
     {{kAppInstances, {"instances[0]: expected an object or a list of objects, got a string"}}}},
    {"V1NestedInstanceNotAnObject",
     {{kAppNames, R"(["go_expvar"])"}, {kAppInit, "[{}]"}, {kAppInstances, R"([[{}, 7]])"}},
     {},
     {{kAppInstances, {"instances[0][1]: expected an object, got a number"}}}},
    {"V1InitConfigListOfTwo",
     {{kAppNames, R"(["go_expvar"])"}, {kAppInit, "[[{}, {}]]"}, {kAppInstances, "[{}]"}},
     {},
     {{kAppInit,
       {"init_configs[0]: expected an object or a list of one object, got a list of 2 items"}}}},
    {"V1InitConfigNull",
     {{kAppNames, R"(["go_expvar"])"}, {kAppInit, "[null]"}, {kAppInstances, "[{}]"}},
     {},
     {{kAppInit, {"init_configs[0]: expected an object or a list of one object, got null"}}}},
    {"V1CheckNamesNotStrings",
     {{kAppNames, R"(["go_expvar", 2])"}, {kAppInit, "[{}, {}]"}, {kAppInstances, "[{}, {}]"}},
     {},
     {{kAppNames, {"check_names[1]: expected a string, got a number"}}}},
    {"V1MissingInstances",
     {{kAppNames, R"(["go_expvar"])"}, {kAppInit, "[{}]"}},
     {},
     {{kAppInstances, {"missing, but " + kAppNames + " names a go_expvar check"}}}},
    {"V1WithoutCheckNames",
     {{kAppInit, "[{}]"}, {kAppInstances, std::string("[") + kExpvar + "]"}},
     {},
     {{kAppInit, {"ignored: there is no " + kAppNames}},
      {kAppInstances, {"ignored: there is no " + kAppNames}}}},

    // --- containers named in keys ---
    {"UnknownContainerListsValidNames",
     {{"ad.datadoghq.com/web.checks", V2(kExpvar)}},
     {},
     {{"ad.datadoghq.com/web.checks",
       {"\"web\" names no container of the pod (containers: app, sidecar)"}}}},
    {"UnknownContainerEveryCheckKeyAndLegacy",
     {{"ad.datadoghq.com/web.tags", "{}"}, {"service-discovery.datadoghq.com/db.instances", "[]"}},
     {},
     {{"ad.datadoghq.com/web.tags", {"\"web\" names no container"}},
      {"service-discovery.datadoghq.com/db.instances", {"\"db\" names no container"}}}},
    {"AnnotationsWeDoNotReadAreNotValidated",
     {{"ad.datadoghq.com/web.logs", "[]"},
      {"ad.datadoghq.com/exclude", "true"},
      {"kubectl.kubernetes.io/restartedAt", "2026-11-27T09:57:48Z"},
      {"prometheus.io/scrape", "true"}}},
    {"OneContainersErrorLeavesTheOtherAlone",
     {{kAppChecks, kMalformed},
      {kSidecarChecks, V2(kExpvar)},
      {"ad.datadoghq.com/sidecar.tags", R"({"c": "s"})"},
      {"ad.datadoghq.com/ghost.checks", V2(kExpvar)}},
     {{"sidecar", kSidecarChecks, "{}", kExpvar, {"c:s"}}},
     {{kAppChecks, {"syntax error"}},
      {"ad.datadoghq.com/ghost.checks", {"\"ghost\" names no container"}}}},
};

INSTANTIATE_TEST_SUITE_P(Table, TemplatesFromAnnotationsTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// --- beyond the table --------------------------------------------------------------------------

TEST(TemplatesFromAnnotationsOrderTest, SpecOrderNotAnnotationOrder) {
  const Pod pod = MakePod({{"ad.datadoghq.com/alpha.checks", V2(R"({"expvar_url": "a"})")},
                           {"ad.datadoghq.com/zeta.checks", V2(R"({"expvar_url": "z"})")}},
                          {"zeta", "alpha"});
  const PodTemplates got = TemplatesFromAnnotations(pod);
  ASSERT_EQ(got.templates.size(), 2u);
  EXPECT_EQ(got.templates[0].container, "zeta");
  EXPECT_EQ(got.templates[1].container, "alpha");
}

TEST(TemplatesFromAnnotationsOrderTest, SameCheckIdForTwoContainers) {
  const Pod pod = MakePod({{"ad.datadoghq.com/app.check.id", "shared"},
                           {"ad.datadoghq.com/sidecar.check.id", "shared"},
                           {"ad.datadoghq.com/shared.checks", V2(kExpvar)}});
  const PodTemplates got = TemplatesFromAnnotations(pod);
  ASSERT_EQ(got.templates.size(), 2u);
  EXPECT_EQ(got.templates[0].container, "app");
  EXPECT_EQ(got.templates[1].container, "sidecar");
  EXPECT_TRUE(got.errors.empty());
}

TEST(TemplatesFromAnnotationsOrderTest, ErrorsNeverQuoteTheValue) {
  const Pod pod =
      MakePod({{kAppChecks,
                R"({"go_expvar": {"instances": [{"expvar_url": "x", "password": "hunter2"},]}})"},
               {kSidecarChecks, R"({"go_expvar": {"instances": ["hunter2"]}})"}});
  const PodTemplates got = TemplatesFromAnnotations(pod);
  ASSERT_EQ(got.errors.size(), 2u);
  for (const AnnotationError& e : got.errors) {
    EXPECT_EQ(e.message.find("hunter2"), std::string::npos) << e.message;
  }
}

TEST(TemplatesFromAnnotationsOrderTest, MultiLineAnnotationErrorGivesLineAndColumn) {
  const Pod pod = MakePod({{kAppChecks, "{\n  \"go_expvar\": {\n    \"instances\": [}\n}\n"}});
  const PodTemplates got = TemplatesFromAnnotations(pod);
  ASSERT_EQ(got.errors.size(), 1u);
  EXPECT_NE(got.errors[0].message.find("(line 3, column 19)"), std::string::npos)
      << got.errors[0].message;
}

TEST(TemplatesFromAnnotationsOrderTest, NoAnnotationsNoTemplates) {
  const PodTemplates got = TemplatesFromAnnotations(MakePod({}));
  EXPECT_TRUE(got.templates.empty());
  EXPECT_TRUE(got.errors.empty());
  EXPECT_FALSE(got.tolerate_unready);
}

// --- the fixture pods, end to end ---------------------------------------------------------------

Pod LoadFixture(const std::string& name) {
  std::ifstream in(std::string(EXPVAR_FIXTURES_DIR) + "/pods/" + name);
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  std::optional<Pod> pod = PodFromJson(json::parse(text.str()), &error);
  EXPECT_TRUE(pod.has_value()) << name << ": " << error;
  return pod.value_or(Pod{});
}

TEST(TemplatesFromFixturesTest, RunningPodWithV2AndTags) {
  const PodTemplates got = TemplatesFromAnnotations(LoadFixture("running_two_containers_v2.json"));
  EXPECT_TRUE(got.errors.empty()) << Describe(got);
  ASSERT_EQ(got.templates.size(), 1u);
  const CheckTemplate& t = got.templates[0];
  EXPECT_EQ(t.container, "api");
  EXPECT_EQ(t.annotation, "ad.datadoghq.com/api.checks");
  EXPECT_EQ(t.instance.at("expvar_url"), "http://%%host%%:%%port_metrics%%");
  EXPECT_EQ(t.instance.at("metrics").as_array().size(), 2u);
  EXPECT_EQ(t.tags, (std::vector<std::string>{"team:payments", "tier:backend", "component:api",
                                              "component:http"}));
}

TEST(TemplatesFromFixturesTest, V1NestedAndLegacy) {
  const PodTemplates got = TemplatesFromAnnotations(LoadFixture("v1_and_legacy.json"));
  EXPECT_TRUE(got.errors.empty()) << Describe(got);
  ASSERT_EQ(got.templates.size(), 3u);
  EXPECT_EQ(got.templates[0].container, "worker");
  EXPECT_EQ(got.templates[0].instance.at("tags").as_array()[0], "shard:a");
  EXPECT_EQ(got.templates[1].container, "worker");
  EXPECT_EQ(got.templates[1].instance.at("tags").as_array()[0], "shard:b");
  EXPECT_EQ(got.templates[2].container, "exporter");
  EXPECT_EQ(got.templates[2].annotation, "service-discovery.datadoghq.com/exporter.instances");
}

TEST(TemplatesFromFixturesTest, PendingPodToleratesUnready) {
  const PodTemplates got = TemplatesFromAnnotations(LoadFixture("pending_unready.json"));
  EXPECT_TRUE(got.errors.empty()) << Describe(got);
  EXPECT_TRUE(got.tolerate_unready);
  ASSERT_EQ(got.templates.size(), 1u);
  EXPECT_EQ(got.templates[0].init_config, json::object());
}

TEST(TemplatesFromFixturesTest, DualStack) {
  const PodTemplates got = TemplatesFromAnnotations(LoadFixture("dual_stack.json"));
  EXPECT_TRUE(got.errors.empty()) << Describe(got);
  ASSERT_EQ(got.templates.size(), 1u);
  EXPECT_EQ(got.templates[0].container, "gateway");
}

}  // namespace
}  // namespace expvar::discovery
