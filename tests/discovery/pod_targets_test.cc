#include "discovery/pod_targets.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>

#include "discovery/pod_json.h"

namespace expvar::discovery {

using pipeline::Pod;

namespace {

Pod LoadPod(const std::string& name) {
  std::ifstream in(std::string(EXPVAR_FIXTURES_DIR) + "/pods/" + name + ".json");
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  auto pod = PodFromJson(boost::json::parse(text.str()), &error);
  EXPECT_TRUE(pod) << error;
  return pod.value_or(Pod{});
}

bool HasTag(const pipeline::Instance& instance, const std::string& tag) {
  return std::find(instance.tags.begin(), instance.tags.end(), tag) != instance.tags.end();
}

TEST(TargetsFromPods, V2AnnotationResolvesToThePodIpAndNamedPortWithPodTags) {
  ProviderResult result = TargetsFromPods({LoadPod("running_two_containers_v2")}, {});
  ASSERT_FALSE(result.targets.empty());
  for (const auto& e : result.errors) ADD_FAILURE() << e.source << ": " << e.message;
  const pipeline::Instance& instance = result.targets[0].instance;
  EXPECT_EQ(instance.expvar_url, "http://10.244.2.14:6060");
  EXPECT_EQ(instance.metric_namespace, "payments");
  for (const char* tag : {"kube_namespace:payments", "pod_name:payments-api-7d9f8c6b5d-x2x9k",
                          "kube_container_name:api", "team:payments", "component:api"}) {
    EXPECT_TRUE(HasTag(instance, tag)) << tag;
  }
  EXPECT_EQ(result.targets[0].source, "pod payments/payments-api-7d9f8c6b5d-x2x9k container api");
  // The series belong to this pod and container; sinks derive their own attribution from it
  // (DogStatsD its entity-id tag), so no such tag is added to the instance's tags.
  Pod pod = LoadPod("running_two_containers_v2");
  EXPECT_EQ(result.targets[0].entity,
            (pipeline::Entity{pod.uid, pod.name, pod.namespace_name, "api"}));
  EXPECT_FALSE(HasTag(instance, "dd.internal.entity_id:" + pod.uid));
}

TEST(TargetsFromPods, V1NestedInstancesAndTheLegacyPrefix) {
  ProviderResult result = TargetsFromPods({LoadPod("v1_and_legacy")}, {});
  std::vector<std::string> urls;
  for (const auto& t : result.targets) urls.push_back(t.instance.expvar_url);
  EXPECT_EQ(urls, (std::vector<std::string>{"http://10.244.1.23:7070",
                                            "http://10.244.1.23:7070/debug/vars2",
                                            "http://10.244.1.23:9100"}));
}

TEST(TargetsFromPods, UnreadyPodsWaitUnlessTheyTolerateIt) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.ready = false;
  ProviderResult unready = TargetsFromPods({pod}, {});
  EXPECT_TRUE(unready.targets.empty());
  ASSERT_EQ(unready.skipped.size(), 1u);  // explained by discover, not an error
  EXPECT_NE(unready.skipped[0].message.find("not Ready"), std::string::npos);
  EXPECT_TRUE(unready.errors.empty());
  pod.annotations["ad.datadoghq.com/tolerate-unready"] = "true";
  EXPECT_FALSE(TargetsFromPods({pod}, {}).targets.empty());
  pod.phase = "Pending";
  EXPECT_TRUE(TargetsFromPods({pod}, {}).targets.empty());
}

TEST(TargetsFromPods, ContainersThatAreNotRunningContributeNothing) {
  Pod pod = LoadPod("running_two_containers_v2");
  for (auto& c : pod.containers) c.running = false;
  ProviderResult result = TargetsFromPods({pod}, {});
  EXPECT_TRUE(result.targets.empty());
  EXPECT_TRUE(result.errors.empty());
}

TEST(TargetsFromPods, AUrlPointingElsewhereIsRefusedAndReported) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"instances": [{"expvar_url": "http://169.254.169.254/latest"}]}})";
  ProviderResult result = TargetsFromPods({pod}, {});
  EXPECT_TRUE(result.targets.empty());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].source.find("payments/payments-api"), std::string::npos);
  EXPECT_NE(result.errors[0].source.find("ad.datadoghq.com/api.checks"), std::string::npos);
  EXPECT_NE(result.errors[0].message.find("refused"), std::string::npos);
  PodTargetOptions any;
  any.allow_any_host = true;
  EXPECT_EQ(TargetsFromPods({pod}, any).targets.size(), 1u);
}

TEST(TargetsFromPods, AnUnspecifiedPodIpIsNeverThePodsIp) {
  Pod pod = LoadPod("running_two_containers_v2");  // expvar_url http://%%host%%:%%port_metrics%%
  pod.pod_ip = "0.0.0.0";
  pod.pod_ips = {"0.0.0.0"};
  ProviderResult result = TargetsFromPods({pod}, {});
  EXPECT_TRUE(result.targets.empty());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].source,
            "pod payments/payments-api-7d9f8c6b5d-x2x9k annotation ad.datadoghq.com/api.checks");
  EXPECT_EQ(result.errors[0].message,
            "expvar_url refused: host \"0.0.0.0\" is not the pod's IP (allowed: none); "
            "--allow-any-host lifts this check");
}

TEST(TargetsFromPods, AHostNetworkPodGetsOnlyThePortsItsContainersDeclare) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:%%port_metrics%%"},)"
      R"( {"expvar_url": "http://%%host%%:9901/"}, {"expvar_url": "http://%%host%%:10250/"}]}})";
  EXPECT_EQ(TargetsFromPods({pod}, {}).targets.size(), 3u);  // not hostNetwork: unchanged
  pod.host_network = true;
  ProviderResult result = TargetsFromPods({pod}, {});
  std::vector<std::string> urls;
  for (const auto& t : result.targets) urls.push_back(t.instance.expvar_url);
  // 9901 is declared by the other container, envoy: it is the pod's too.
  EXPECT_EQ(urls,
            (std::vector<std::string>{"http://10.244.2.14:6060", "http://10.244.2.14:9901/"}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].source,
            "pod payments/payments-api-7d9f8c6b5d-x2x9k annotation ad.datadoghq.com/api.checks");
  EXPECT_NE(result.errors[0].message.find(
                "expvar_url refused: port 10250 is not declared by the hostNetwork pod's "
                "containers"),
            std::string::npos)
      << result.errors[0].message;
  PodTargetOptions sidecar;  // the collector runs inside the pod: no port list
  sidecar.mode = PodMode::kPod;
  sidecar.sidecar_host = "127.0.0.1";
  EXPECT_EQ(TargetsFromPods({pod}, sidecar).targets.size(), 3u);
}

TEST(TargetsFromPods, UnresolvableVariableDropsTheInstanceWithAnError) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:%%port_nope%%"}]}})";
  ProviderResult result = TargetsFromPods({pod}, {});
  EXPECT_TRUE(result.targets.empty());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("%%port_nope%%"), std::string::npos);
}

TEST(TargetsFromPods, InitConfigIsResolvedToo) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"init_config": {"min_collection_interval": "%%env_SCRAPE_EVERY%%"},)"
      R"( "instances": [{"expvar_url": "http://%%host%%:6060"}]}})";
  PodTargetOptions options;
  options.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "SCRAPE_EVERY") return "30";
    return std::nullopt;
  };
  ProviderResult result = TargetsFromPods({pod}, options);
  ASSERT_EQ(result.targets.size(), 1u);
  EXPECT_EQ(result.targets[0].instance.min_collection_interval, std::chrono::seconds(30));
  options.env = [](const std::string&) { return std::optional<std::string>(); };
  result = TargetsFromPods({pod}, options);
  EXPECT_TRUE(result.targets.empty());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].message.find("init_config"), std::string::npos);
}

TEST(TargetsFromPods, SidecarModeUsesTheGivenHostAndAllowsLoopback) {
  Pod pod = LoadPod("running_two_containers_v2");
  PodTargetOptions sidecar;
  sidecar.mode = PodMode::kPod;
  sidecar.sidecar_host = "127.0.0.1";
  ProviderResult result = TargetsFromPods({pod}, sidecar);
  ASSERT_FALSE(result.targets.empty());
  EXPECT_EQ(result.targets[0].instance.expvar_url, "http://127.0.0.1:6060");
}

TEST(TargetsFromPods, OnePodsErrorsLeaveOtherPodsAlone) {
  Pod broken = LoadPod("running_two_containers_v2");
  broken.annotations["ad.datadoghq.com/api.checks"] = "{not json";
  ProviderResult result = TargetsFromPods({broken, LoadPod("v1_and_legacy")}, {});
  EXPECT_EQ(result.targets.size(), 3u);
  EXPECT_EQ(result.errors.size(), 1u);
}

// Annotations are untrusted: they may not name files, lift the operator's limits or set the tags
// the collector derives from the pod.
TEST(TargetsFromPods, AnnotationsMayNotNameFiles) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"instances": [{"expvar_url": "https://%%host%%:8443",
                                       "tls_ca_cert": "/var/run/secrets/fifo"}]}})";
  ProviderResult result = TargetsFromPods({pod}, {});
  EXPECT_TRUE(result.targets.empty());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_NE(result.errors[0].source.find("ad.datadoghq.com/api.checks"), std::string::npos);
  EXPECT_EQ(result.errors[0].message.rfind("tls_ca_cert: file paths are not accepted", 0), 0u)
      << result.errors[0].message;
}

TEST(TargetsFromPods, LimitsAreClampedAndTheClampIsReported) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"init_config": {"min_collection_interval": 0.001},
          "instances": [{"expvar_url": "http://%%host%%:6060", "max_body_bytes": 41943040}]}})";
  ProviderResult result = TargetsFromPods({pod}, {});
  ASSERT_EQ(result.targets.size(), 1u);
  const pipeline::Instance& instance = result.targets[0].instance;
  EXPECT_EQ(instance.max_body_bytes, AnnotationLimits{}.max_body_bytes);
  EXPECT_EQ(instance.min_collection_interval, std::chrono::seconds(1));
  ASSERT_EQ(result.errors.size(), 2u);
  for (const auto& error : result.errors) {
    EXPECT_NE(error.source.find("ad.datadoghq.com/api.checks"), std::string::npos);
    EXPECT_NE(error.message.find("--annotation-"), std::string::npos) << error.message;
  }
}

TEST(TargetsFromPods, AnnotationsCannotSetThePodsTags) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:6060",
          "tags": ["pod_name:victim", "team:a"],
          "metrics": [{"path": "requests", "tags": ["kube_namespace:victims"]}]}]}})";
  pod.annotations["ad.datadoghq.com/tags"] = R"({"pod_name": "victim2", "env": "prod"})";
  ProviderResult result = TargetsFromPods({pod}, {});
  ASSERT_EQ(result.targets.size(), 1u);
  const pipeline::Instance& instance = result.targets[0].instance;
  // The pod's own tags come first, then what the annotations may add.
  ASSERT_GE(instance.tags.size(), 3u);
  EXPECT_EQ(instance.tags[0], "kube_namespace:payments");
  EXPECT_EQ(instance.tags[1], "pod_name:payments-api-7d9f8c6b5d-x2x9k");
  EXPECT_EQ(instance.tags[2], "kube_container_name:api");
  EXPECT_FALSE(HasTag(instance, "pod_name:victim"));
  EXPECT_FALSE(HasTag(instance, "pod_name:victim2"));
  EXPECT_TRUE(HasTag(instance, "team:a"));
  EXPECT_TRUE(HasTag(instance, "env:prod"));
  ASSERT_EQ(instance.metrics.size(), 1u);
  EXPECT_TRUE(instance.metrics[0].tags.empty());
  EXPECT_EQ(result.errors.size(), 3u);  // one warning per tag dropped
}

}  // namespace
// A copy of a running pod whose container "api" asks for `instances` go_expvar instances.
Pod PodAsking(int instances, const std::string& name, const std::string& created) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.name = name;
  pod.uid = "uid-" + name;
  pod.creation_timestamp = created;
  std::string list;
  for (int i = 0; i < instances; ++i) {
    list += (i ? "," : "") + std::string(R"({"expvar_url": "http://%%host%%:6060/v)") +
            std::to_string(i) + "\"}";
  }
  pod.annotations = {
      {"ad.datadoghq.com/api.checks", R"({"go_expvar": {"instances": [)" + list + "]}}"}};
  return pod;
}

std::vector<std::string> PodNames(const ProviderResult& result) {
  std::vector<std::string> names;
  for (const auto& t : result.targets) {
    for (const auto& tag : t.instance.tags) {
      if (tag.starts_with("pod_name:")) names.push_back(tag.substr(9));
    }
  }
  return names;
}

TEST(TargetsFromPods, ThePodsTagsComeFirstAndItsUnifiedServiceLabelsWin) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.labels["tags.datadoghq.com/env"] = "prod";
  pod.labels["tags.datadoghq.com/api.service"] = "payments";
  pod.annotations["ad.datadoghq.com/api.checks"] =
      R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:6060",
          "tags": ["env:staging", "version:2"],
          "metrics": [{"path": "requests", "tags": ["service:other", "path:x"]}]}]}})";
  pod.annotations["ad.datadoghq.com/tags"] = R"({"env": "prod", "team": "payments"})";
  pod.annotations.erase("ad.datadoghq.com/api.tags");
  ProviderResult result = TargetsFromPods({pod}, {});
  ASSERT_EQ(result.targets.size(), 1u);
  const pipeline::Instance& instance = result.targets[0].instance;
  EXPECT_EQ(instance.tags, (std::vector<std::string>{
                               "kube_namespace:payments",
                               "pod_name:payments-api-7d9f8c6b5d-x2x9k",
                               "kube_container_name:api",
                               "env:prod",
                               "service:payments",
                               "kube_ownerref_kind:replicaset",
                               "kube_ownerref_name:payments-api-7d9f8c6b5d",
                               "kube_replica_set:payments-api-7d9f8c6b5d",
                               "kube_deployment:payments-api",
                               "image_name:registry.example.com/payments/api",
                               "image_tag:1.14.2",
                               "short_image:api",
                               "kube_qos:Burstable",
                               "pod_phase:running",
                               "kube_app_name:payments-api",
                               "version:2",
                               "team:payments",
                           }));
  ASSERT_EQ(instance.metrics.size(), 1u);
  EXPECT_EQ(instance.metrics[0].tags, std::vector<std::string>{"path:x"});
  // env:staging and service:other are reported; the annotation's env:prod repeats the label.
  ASSERT_EQ(result.errors.size(), 2u);
  EXPECT_NE(result.errors[0].message.find("\"env\" is set from the pod (env:prod)"),
            std::string::npos)
      << result.errors[0].message;
  EXPECT_NE(result.errors[1].message.find("metrics[0].tags: tag \"service\""), std::string::npos)
      << result.errors[1].message;
}

TEST(TargetsFromPods, APodGetsAtMostMaxTargetsPerPodAndIsToldWhy) {
  PodTargetOptions options;
  options.max_targets_per_pod = 2;
  ProviderResult result =
      TargetsFromPods({PodAsking(3, "greedy", "2026-01-01T00:00:00Z")}, options);
  ASSERT_EQ(result.targets.size(), 2u);
  EXPECT_EQ(result.targets[0].instance.expvar_url, "http://10.244.2.14:6060/v0");
  EXPECT_EQ(result.targets[1].instance.expvar_url, "http://10.244.2.14:6060/v1");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].source, "pod payments/greedy");
  EXPECT_NE(result.errors[0].message.find("asks for 3"), std::string::npos);
  EXPECT_NE(result.errors[0].message.find("--max-targets-per-pod 2"), std::string::npos);

  options.max_targets_per_pod = 0;  // no limit
  EXPECT_EQ(TargetsFromPods({PodAsking(3, "greedy", "")}, options).targets.size(), 3u);
}

TEST(TargetsFromPods, TheNodeLimitAdmitsOlderPodsFirstWhateverTheListOrder) {
  PodTargetOptions options;
  options.max_targets_per_node = 3;
  Pod oldest = PodAsking(1, "oldest", "2026-01-01T00:00:00Z");
  Pod middle = PodAsking(2, "middle", "2026-01-02T00:00:00Z");
  Pod newest = PodAsking(1, "newest", "2026-01-03T00:00:00Z");
  for (const auto& pods :
       {std::vector<Pod>{newest, middle, oldest}, std::vector<Pod>{oldest, newest, middle}}) {
    ProviderResult result = TargetsFromPods(pods, options);
    EXPECT_EQ(PodNames(result), (std::vector<std::string>{"oldest", "middle", "middle"}));
    ASSERT_EQ(result.errors.size(), 1u);
    EXPECT_EQ(result.errors[0].source, "pod payments/newest");
    EXPECT_NE(result.errors[0].message.find("--max-targets-per-node 3"), std::string::npos);
  }
  // A pod too big for the room left does not stop a smaller, newer one from fitting.
  options.max_targets_per_node = 2;
  ProviderResult result = TargetsFromPods({oldest, middle, newest}, options);
  EXPECT_EQ(PodNames(result), (std::vector<std::string>{"oldest", "newest"}));
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].source, "pod payments/middle");
}

TEST(TargetsFromPods, AParseCacheGivesTheSameTargetsAndErrorsCallAfterCall) {
  Pod good = PodAsking(2, "good", "2026-01-01T00:00:00Z");
  Pod bad = PodAsking(1, "bad", "2026-01-02T00:00:00Z");
  bad.annotations = {{"ad.datadoghq.com/api.checks",
                      R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:6060",
                          "metrics": [{"path": "x", "type": "histogram"}]}]}})"}};
  ProviderResult plain = TargetsFromPods({good, bad}, {});
  ParseCache cache;
  for (int call = 0; call < 3; ++call) {  // a miss, a hit from the previous call, a hit again
    ProviderResult cached = TargetsFromPods({good, bad}, {}, &cache);
    ASSERT_EQ(cached.targets.size(), plain.targets.size());
    for (std::size_t i = 0; i < plain.targets.size(); ++i) {
      EXPECT_EQ(cached.targets[i].instance.expvar_url, plain.targets[i].instance.expvar_url);
      EXPECT_EQ(cached.targets[i].instance.tags, plain.targets[i].instance.tags);
    }
    ASSERT_EQ(cached.errors.size(), plain.errors.size());
    ASSERT_FALSE(cached.errors.empty());
    EXPECT_EQ(cached.errors[0].message, plain.errors[0].message);
  }
  // A changed pod is parsed afresh.
  good.annotations.begin()->second =
      R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:7070"}]}})";
  ProviderResult changed = TargetsFromPods({good}, {}, &cache);
  ASSERT_EQ(changed.targets.size(), 1u);
  EXPECT_EQ(changed.targets[0].instance.expvar_url, "http://10.244.2.14:7070");
}

}  // namespace expvar::discovery
