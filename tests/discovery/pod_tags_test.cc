#include "discovery/pod_tags.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "discovery/pod_json.h"
#include "support/pod_builder.h"

namespace expvar::discovery {
namespace {

using pipeline::OwnerReference;
using pipeline::Pod;
using V = std::vector<std::string>;

Pod LoadPod(const std::string& name) {
  std::ifstream in(std::string(EXPVAR_FIXTURES_DIR) + "/pods/" + name + ".json");
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  auto pod = PodFromJson(boost::json::parse(text.str()), &error);
  EXPECT_TRUE(pod) << error;
  return pod.value_or(Pod{});
}

// A Running pod "shop/<name>" with one container "app" running `image`, owned by `owner`.
Pod OwnedPod(const std::string& name, OwnerReference owner, const std::string& image = "") {
  Pod pod = testing::PodBuilder("shop", name).AddContainer("app").Build();
  pod.containers[0].image = image;
  pod.owner_references.push_back(std::move(owner));
  return pod;
}

// The tags of PodTags whose key is one of `keys`, in order.
V Only(const V& tags, const V& keys) {
  V out;
  for (const std::string& tag : tags) {
    for (const std::string& key : keys) {
      if (tag.starts_with(key + ":")) out.push_back(tag);
    }
  }
  return out;
}

const V kOwnerKeys = {"kube_ownerref_kind", "kube_ownerref_name", "kube_replica_set",
                      "kube_deployment",    "kube_daemon_set",    "kube_stateful_set",
                      "kube_job",           "kube_cronjob",       "kube_replication_controller"};

TEST(PodTags, ADeploymentsPodGetsEveryTagFamilyInOrder) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.labels["tags.datadoghq.com/env"] = "prod";
  pod.labels["tags.datadoghq.com/service"] = "payments";
  pod.labels["tags.datadoghq.com/version"] = "1.14.2";
  pod.labels["app.kubernetes.io/part-of"] = "shop";
  EXPECT_EQ(PodTags(pod, "api"), (V{
                                     "kube_namespace:payments",
                                     "pod_name:payments-api-7d9f8c6b5d-x2x9k",
                                     "kube_container_name:api",
                                     "env:prod",
                                     "service:payments",
                                     "version:1.14.2",
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
                                     "kube_app_part_of:shop",
                                 }));
  // The image is the container's own.
  EXPECT_EQ(Only(PodTags(pod, "envoy"), {"image_name", "image_tag", "short_image"}),
            (V{"image_name:envoyproxy/envoy", "image_tag:v1.28.0", "short_image:envoy"}));
}

TEST(PodTags, TheContainersUnifiedServiceLabelsWinForThatContainer) {
  Pod pod = LoadPod("running_two_containers_v2");
  pod.labels["tags.datadoghq.com/env"] = "prod";
  pod.labels["tags.datadoghq.com/service"] = "payments";
  pod.labels["tags.datadoghq.com/envoy.service"] = "payments-proxy";
  pod.labels["tags.datadoghq.com/envoy.version"] = "1.28.0";
  pod.labels["tags.datadoghq.com/api.env"] = "";  // empty: no tag, the pod's label stands
  const V keys = {"env", "service", "version"};
  EXPECT_EQ(Only(PodTags(pod, "api"), keys), (V{"env:prod", "service:payments"}));
  EXPECT_EQ(Only(PodTags(pod, "envoy"), keys),
            (V{"env:prod", "service:payments-proxy", "version:1.28.0"}));
}

TEST(PodTags, OwnerKinds) {
  struct Case {
    OwnerReference owner;
    V want;
  };
  const std::vector<Case> cases = {
      {{"DaemonSet", "node-agent", true},
       {"kube_ownerref_kind:daemonset", "kube_ownerref_name:node-agent",
        "kube_daemon_set:node-agent"}},
      {{"StatefulSet", "db", true},
       {"kube_ownerref_kind:statefulset", "kube_ownerref_name:db", "kube_stateful_set:db"}},
      // A CronJob's Job is named <cronjob>-<scheduled time in minutes>.
      {{"Job", "nightly-report-28930560", true},
       {"kube_ownerref_kind:job", "kube_ownerref_name:nightly-report-28930560",
        "kube_job:nightly-report-28930560", "kube_cronjob:nightly-report"}},
      {{"Job", "db-migrate", true},
       {"kube_ownerref_kind:job", "kube_ownerref_name:db-migrate", "kube_job:db-migrate"}},
      // A ReplicaSet not named <deployment>-<hash> is no Deployment's.
      {{"ReplicaSet", "hand-made", true},
       {"kube_ownerref_kind:replicaset", "kube_ownerref_name:hand-made",
        "kube_replica_set:hand-made"}},
      {{"Deployment", "web", true},
       {"kube_ownerref_kind:deployment", "kube_ownerref_name:web", "kube_deployment:web"}},
      {{"ReplicationController", "old", true},
       {"kube_ownerref_kind:replicationcontroller", "kube_ownerref_name:old",
        "kube_replication_controller:old"}},
      {{"Rollout", "canary", true}, {"kube_ownerref_kind:rollout", "kube_ownerref_name:canary"}},
      // Only the controller reference names the owner.
      {{"ReplicaSet", "web-5d9c7b8f4c", false}, {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Only(PodTags(OwnedPod("p", c.owner), "app"), kOwnerKeys), c.want) << c.owner.name;
  }
  Pod two = OwnedPod("p", {"ConfigMap", "not-the-controller", false});
  two.owner_references.push_back({"StatefulSet", "db", true});
  EXPECT_EQ(Only(PodTags(two, "app"), kOwnerKeys),
            (V{"kube_ownerref_kind:statefulset", "kube_ownerref_name:db", "kube_stateful_set:db"}));
}

TEST(PodTags, QosAndPhaseAndWhatAPodWithoutThemGets) {
  Pod pod = testing::PodBuilder("shop", "web-1").AddContainer("app").Build();
  EXPECT_EQ(PodTags(pod, "app"), (V{"kube_namespace:shop", "pod_name:web-1",
                                    "kube_container_name:app", "pod_phase:running"}));
  pod.qos_class = "BestEffort";
  pod.phase = "Succeeded";
  EXPECT_EQ(Only(PodTags(pod, "app"), {"kube_qos", "pod_phase"}),
            (V{"kube_qos:BestEffort", "pod_phase:succeeded"}));
}

TEST(PodTags, TheImageComesFromTheStatusWhenTheSpecHasNone) {
  std::string error;
  auto pod = PodFromJson(boost::json::parse(R"({
      "metadata": {"name": "p", "namespace": "n"},
      "spec": {"containers": [{"name": "app"}, {"name": "side", "image": "busybox"}]},
      "status": {"containerStatuses": [
          {"name": "app", "image": "docker.io/library/nginx:1.25", "state": {"running": {}}},
          {"name": "side", "image": "docker.io/library/busybox:latest"}]}})"),
                         &error);
  ASSERT_TRUE(pod) << error;
  EXPECT_EQ(pod->containers[0].image, "docker.io/library/nginx:1.25");
  EXPECT_EQ(pod->containers[1].image, "busybox");  // the spec, as written, wins
  EXPECT_EQ(Only(PodTags(*pod, "app"), {"image_name", "image_tag", "short_image"}),
            (V{"image_name:docker.io/library/nginx", "image_tag:1.25", "short_image:nginx"}));
}

TEST(SplitImageName, AsTheAgentSplitsIt) {
  struct Case {
    std::string image;
    ImageParts want;
  };
  const std::vector<Case> cases = {
      {"nginx", {"nginx", "nginx", "latest"}},
      {"nginx:1.25", {"nginx", "nginx", "1.25"}},
      {"library/nginx:1.25", {"library/nginx", "nginx", "1.25"}},
      {"gcr.io/team/sub/app:v2", {"gcr.io/team/sub/app", "app", "v2"}},
      // A registry port is not a tag.
      {"registry.local:5000/app", {"registry.local:5000/app", "app", "latest"}},
      {"registry.local:5000/team/app:1.0", {"registry.local:5000/team/app", "app", "1.0"}},
      // A digest is dropped; the tag before it kept, "latest" when there is none.
      {"app:1.0@sha256:4bf5f1f6a0e4c3b2", {"app", "app", "1.0"}},
      {"registry.local:5000/app@sha256:4bf5f1f6a0e4c3b2",
       {"registry.local:5000/app", "app", "latest"}},
      {"[fd00::1]:5000/app:2", {"[fd00::1]:5000/app", "app", "2"}},
      {"app:", {"app", "app", "latest"}},
  };
  for (const Case& c : cases) EXPECT_EQ(SplitImageName(c.image), c.want) << c.image;
  EXPECT_EQ(SplitImageName(""), std::nullopt);
  EXPECT_EQ(SplitImageName("sha256:4bf5f1f6a0e4c3b2"), std::nullopt);
  // The Agent names such a container's image by its id and gives no tag or short name.
  Pod pod = OwnedPod("p", {}, "sha256:4bf5f1f6a0e4c3b2");
  EXPECT_EQ(Only(PodTags(pod, "app"), {"image_name", "image_tag", "short_image"}),
            V{"image_name:sha256:4bf5f1f6a0e4c3b2"});
}

TEST(DeploymentForReplicaSet, OnlyAHashLikeSuffixIsStripped) {
  EXPECT_EQ(DeploymentForReplicaSet("payments-api-7d9f8c6b5d"), "payments-api");
  EXPECT_EQ(DeploymentForReplicaSet("web-5d9c7b8f4c"), "web");
  EXPECT_EQ(DeploymentForReplicaSet("web-1234567890"), "web");  // before Kubernetes 1.8
  EXPECT_EQ(DeploymentForReplicaSet("web-bcd"), "web");
  EXPECT_EQ(DeploymentForReplicaSet("web-ab"), "");        // too short
  EXPECT_EQ(DeploymentForReplicaSet("web-frontend"), "");  // 'e', 'o' are never drawn
  EXPECT_EQ(DeploymentForReplicaSet("web-7D9F8C6B5D"), "");
  EXPECT_EQ(DeploymentForReplicaSet("web-12ab"), "");  // digits and letters: no alphabet
  EXPECT_EQ(DeploymentForReplicaSet("web"), "");
  EXPECT_EQ(DeploymentForReplicaSet("web-"), "");
  EXPECT_EQ(DeploymentForReplicaSet(""), "");
}

TEST(CronJobForJob, OnlyANumericSuffixIsStripped) {
  EXPECT_EQ(CronJobForJob("nightly-report-28930560"), "nightly-report");
  EXPECT_EQ(CronJobForJob("hello-123"), "hello");
  EXPECT_EQ(CronJobForJob("hello-12"), "");                    // too short
  EXPECT_EQ(CronJobForJob("db-migrate"), "");                  // not digits
  EXPECT_EQ(CronJobForJob("hello-5d9c7b8f"), "");              // a hash is not a time
  EXPECT_EQ(CronJobForJob("hello-99999999999999999999"), "");  // not an int: no time
  EXPECT_EQ(CronJobForJob("28930560"), "");
}

TEST(WithoutPodTagKeys, ThePodsValueWins) {
  const V pod_tags = {"kube_namespace:shop", "env:prod", "service:web"};
  std::vector<std::string> warnings;
  EXPECT_EQ(WithoutPodTagKeys({"env:staging", "service:web", "team:a", "env", "version:2"},
                              pod_tags, "tags", warnings),
            (V{"team:a", "version:2"}));
  // The same tag twice loses nothing, so it is not worth a warning.
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_EQ(warnings[0],
            "tags: tag \"env\" is set from the pod (env:prod); the annotation's value dropped");
  EXPECT_NE(warnings[1].find("\"env\""), std::string::npos);
}

}  // namespace
}  // namespace expvar::discovery
