// The tag annotations: ad.datadoghq.com/tags and ad.datadoghq.com/<container>.tags, as read into
// the templates of TemplatesFromAnnotations.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "annotations_test_util.h"
#include "discovery/annotations.h"

namespace expvar::discovery {
namespace {

using annotations_testing::Case;
using annotations_testing::kAppChecks;
using annotations_testing::kExpvar;
using annotations_testing::kSidecarChecks;
using annotations_testing::V2;

using annotations_testing::TemplatesFromAnnotationsTest;

const std::vector<Case> kCases = {
    {"PodAndContainerTags",
     {{kAppChecks, V2(kExpvar)},
      {kSidecarChecks, V2(kExpvar)},
      {"ad.datadoghq.com/tags", R"({"env": "prod", "team": ["web", "shop"]})"},
      {"ad.datadoghq.com/app.tags",
       R"({"component": "api", "shard": 3, "canary": false, "ratio": 0.5})"}},
     {{"app",
       kAppChecks,
       "{}",
       kExpvar,
       {"env:prod", "team:web", "team:shop", "component:api", "shard:3", "canary:false",
        "ratio:0.5"}},
      {"sidecar", kSidecarChecks, "{}", kExpvar, {"env:prod", "team:web", "team:shop"}}}},
    {"NumericTagsPrintLikeGo",
     {{kAppChecks, V2(kExpvar)},
      {"ad.datadoghq.com/app.tags",
       R"({"a": 1000000, "b": 123456, "c": 1234567, "d": 0.00001, "e": -1.5, "f": 0.0001,
           "g": [0, 2e3]})"}},
     {{"app",
       kAppChecks,
       "{}",
       kExpvar,
       {"a:1e+06", "b:123456", "c:1.234567e+06", "d:1e-05", "e:-1.5", "f:0.0001", "g:0",
        "g:2000"}}}},
    {"ContainerTagsFollowTheNameNotTheCheckId",
     {{"ad.datadoghq.com/app.check.id", "billing"},
      {"ad.datadoghq.com/billing.checks", V2(kExpvar)},
      {"ad.datadoghq.com/app.tags", R"({"component": "api"})"}},
     {{"app", "ad.datadoghq.com/billing.checks", "{}", kExpvar, {"component:api"}}}},
    {"BadTagsAreReportedAndTheRestKept",
     {{kAppChecks, V2(kExpvar)},
      {"ad.datadoghq.com/tags", R"({"env": "prod", "owner": {"team": "x"}, "zone": ["a", null]})"},
      {"ad.datadoghq.com/app.tags", "{\"component\": \n  \"api\""}},
     {{"app", kAppChecks, "{}", kExpvar, {"env:prod", "zone:a"}}},
     {{"ad.datadoghq.com/tags",
       {"\"owner\": expected a string or a list of strings, got an object"}},
      {"ad.datadoghq.com/tags", {"\"zone\": expected a string or a list of strings, got null"}},
      {"ad.datadoghq.com/app.tags",
       {"invalid JSON at byte 22 (line 2, column 8)", "incomplete JSON"}}}},
    {"TagsNotAnObject",
     {{kAppChecks, V2(kExpvar)}, {"ad.datadoghq.com/tags", R"(["env:prod"])"}},
     {{"app", kAppChecks, "{}", kExpvar, {}}},
     {{"ad.datadoghq.com/tags", {"expected an object of tags, got an array"}}}},
    {"TagsOfPodsWithoutGoExpvarAreNotOurBusiness",
     {{"ad.datadoghq.com/tags", "{broken"}, {"ad.datadoghq.com/app.tags", "[]"}}},

};

INSTANTIATE_TEST_SUITE_P(Tags, TemplatesFromAnnotationsTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace expvar::discovery
