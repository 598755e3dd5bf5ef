#include "discovery/annotation_limits.h"

#include <gtest/gtest.h>

namespace expvar::discovery {
namespace {

using namespace std::chrono_literals;
using pipeline::Instance;
using V = std::vector<std::string>;

bool Mentions(const V& warnings, const std::string& text) {
  for (const auto& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(RefusedAnnotationKey, EveryFilePathIsRefusedByItsKey) {
  EXPECT_EQ(RefusedAnnotationKey(Instance{}), std::nullopt);
  for (auto [key, field] : {std::pair{"tls_ca_cert", &pipeline::TlsOptions::ca_cert},
                            std::pair{"tls_cert", &pipeline::TlsOptions::cert},
                            std::pair{"tls_private_key", &pipeline::TlsOptions::private_key}}) {
    Instance instance;
    instance.tls.*field = "/proc/self/fd/0";
    auto refusal = RefusedAnnotationKey(instance);
    ASSERT_TRUE(refusal) << key;
    EXPECT_EQ(refusal->rfind(std::string(key) + ": file paths are not accepted", 0), 0u)
        << *refusal;
    EXPECT_EQ(refusal->find("/proc"), std::string::npos);  // never echoes the path
  }
}

TEST(ClampToLimits, WithinTheLimitsNothingChangesAndNothingIsSaid) {
  Instance instance;
  instance.min_collection_interval = 30s;
  instance.tags = {"team:a"};
  Instance before = instance;
  EXPECT_TRUE(ClampToLimits(instance, AnnotationLimits{}).empty());
  EXPECT_EQ(instance.max_body_bytes, before.max_body_bytes);
  EXPECT_EQ(instance.timeout, before.timeout);
  EXPECT_EQ(instance.max_returned_metrics, before.max_returned_metrics);
  EXPECT_EQ(instance.min_collection_interval, before.min_collection_interval);
  EXPECT_EQ(instance.tags, before.tags);
}

TEST(ClampToLimits, EveryLimitIsClampedWithAWarningNamingKeyAndFlag) {
  Instance instance;
  instance.max_body_bytes = 40 * 1024 * 1024;
  instance.timeout = 60s;
  instance.max_returned_metrics = 100000;
  instance.min_collection_interval = 1ms;
  AnnotationLimits limits;
  V warnings = ClampToLimits(instance, limits);
  EXPECT_EQ(instance.max_body_bytes, limits.max_body_bytes);
  EXPECT_EQ(instance.timeout, limits.max_timeout);
  EXPECT_EQ(instance.max_returned_metrics, limits.max_returned_metrics);
  EXPECT_EQ(instance.min_collection_interval, limits.min_interval);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_EQ(warnings[0],
            "max_body_bytes: 41943040 bytes is beyond the limit 8388608 bytes "
            "(--annotation-max-body-bytes); 8388608 bytes used");
  EXPECT_TRUE(Mentions(warnings, "timeout: 60 s is beyond the limit 10 s"));
  EXPECT_TRUE(Mentions(warnings, "(--annotation-max-returned-metrics)"));
  EXPECT_TRUE(Mentions(warnings, "min_collection_interval: 0.001 s is beyond the limit 1 s"));
}

TEST(ClampToLimits, ItemsAndTagsAreCutToTheirCountsAndLengths) {
  AnnotationLimits limits;
  limits.max_metric_items = 2;
  limits.max_tags = 3;
  limits.max_tag_length = 10;
  Instance instance;
  for (int i = 0; i < 5; ++i) {
    pipeline::MetricSpec item;
    item.path = "memstats/X" + std::to_string(i);
    instance.metrics.push_back(item);
  }
  instance.metrics[0].tags = {"a:1", "b:2", "c:3", "d:4"};
  instance.tags = {"short:1", "this-one-is-too-long", "b:2", "c:3", "d:4"};
  V warnings = ClampToLimits(instance, limits);
  ASSERT_EQ(instance.metrics.size(), 2u);
  EXPECT_EQ(instance.metrics[1].path, "memstats/X1");
  EXPECT_EQ(instance.metrics[0].tags, (V{"a:1", "b:2", "c:3"}));
  // The count is cut first, then over-long tags go: a pod cannot push others out with them.
  EXPECT_EQ(instance.tags, (V{"short:1", "b:2"}));
  EXPECT_TRUE(Mentions(warnings, "metrics: 5 items, more than 2 (--annotation-max-metric-items)"));
  EXPECT_TRUE(Mentions(warnings, "tags: 5 tags, more than 3 (--annotation-max-tags)"));
  EXPECT_TRUE(Mentions(warnings, "tags: 1 tag(s) longer than 10 bytes"));
  EXPECT_TRUE(Mentions(warnings, "metrics[0].tags: 4 tags, more than 3"));
}

TEST(IsReservedTag, ThePodsOwnTagsAndTheEntityIdAreReserved) {
  for (const char* tag :
       {"kube_namespace:victims", "pod_name:victim", "kube_container_name:app", "kube_deployment:x",
        "pod_phase:running", "image_name:x", "image_tag:1", "short_image:x", "container_id:1",
        "dd.internal.entity_id:1", "pod_name"}) {
    EXPECT_TRUE(IsReservedTag(tag)) << tag;
  }
  for (const char* tag :
       {"team:a", "env:prod", "podname:x", "kube:x", "namespace:x", "image:x", "service:web"}) {
    EXPECT_FALSE(IsReservedTag(tag)) << tag;
  }
}

TEST(WithoutReservedTags, DropsThemAndSaysWhichKey) {
  V warnings;
  V kept = WithoutReservedTags({"team:a", "pod_name:victim", "env:prod"}, "tags", warnings);
  EXPECT_EQ(kept, (V{"team:a", "env:prod"}));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0],
            "tags: tag \"pod_name\" is set by the collector from the pod; the annotation's value "
            "dropped");
}

}  // namespace
}  // namespace expvar::discovery
