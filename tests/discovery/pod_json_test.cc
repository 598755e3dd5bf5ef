#include "discovery/pod_json.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace expvar::discovery {

using pipeline::Container;
using pipeline::Pod;

namespace {

// Whether `text` contains `part`, printing both when it does not.
testing::AssertionResult HasText(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

boost::json::value ReadFixture(const std::string& name) {
  std::ifstream in(std::string(EXPVAR_FIXTURES_DIR) + "/pods/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream text;
  text << in.rdbuf();
  return boost::json::parse(text.str());
}

Pod LoadFixture(const std::string& name) {
  std::string error;
  std::optional<Pod> pod = PodFromJson(ReadFixture(name), &error);
  EXPECT_TRUE(pod.has_value()) << name << ": " << error;
  return pod.value_or(Pod{});
}

// The error PodFromJson gives for a JSON text, or "" when it parses.
std::string ErrorOf(const std::string& json_text) {
  std::string error;
  std::optional<Pod> pod = PodFromJson(boost::json::parse(json_text), &error);
  EXPECT_EQ(pod.has_value(), error.empty()) << error;
  return error;
}

// --- fixtures ---------------------------------------------------------------------------------

TEST(PodFromJsonTest, RunningReadyPodWithTwoContainers) {
  const Pod pod = LoadFixture("running_two_containers_v2.json");
  EXPECT_EQ(pod.uid, "5f0c2a8e-3b7d-4c41-9a53-2f7e1d6c9b10");
  EXPECT_EQ(pod.name, "payments-api-7d9f8c6b5d-x2x9k");
  EXPECT_EQ(pod.namespace_name, "payments");
  EXPECT_EQ(pod.resource_version, "184467");
  EXPECT_EQ(pod.node_name, "worker-2");
  EXPECT_EQ(pod.phase, "Running");
  EXPECT_TRUE(pod.ready);
  EXPECT_EQ(pod.pod_ip, "10.244.2.14");
  EXPECT_EQ(pod.pod_ips, std::vector<std::string>{"10.244.2.14"});
  EXPECT_EQ(pod.labels.at("app.kubernetes.io/name"), "payments-api");
  EXPECT_EQ(pod.annotations.size(), 4u);
  EXPECT_TRUE(HasText(pod.annotations.at("ad.datadoghq.com/api.checks"), "%%port_metrics%%"));

  ASSERT_EQ(pod.containers.size(), 2u);
  const Container& api = pod.containers[0];
  EXPECT_EQ(api.name, "api");
  EXPECT_TRUE(api.running);
  ASSERT_EQ(api.ports.size(), 2u);
  EXPECT_EQ(api.ports[0].name, "http");
  EXPECT_EQ(api.ports[0].port, 8080);
  EXPECT_EQ(api.ports[1].name, "metrics");
  EXPECT_EQ(api.ports[1].port, 6060);
  EXPECT_EQ(api.ports[1].protocol, "TCP");

  const Container& envoy = pod.containers[1];
  EXPECT_EQ(envoy.name, "envoy");
  EXPECT_TRUE(envoy.running);
  ASSERT_EQ(envoy.ports.size(), 3u);
  EXPECT_EQ(envoy.ports[2].name, "dogstatsd");
  EXPECT_EQ(envoy.ports[2].protocol, "UDP");
}

// The facts the pod tags are made of: who owns the pod, what runs in it, its QoS class.
TEST(PodFromJsonTest, OwnersImagesAndQosClass) {
  const Pod pod = LoadFixture("running_two_containers_v2.json");
  ASSERT_EQ(pod.owner_references.size(), 1u);
  EXPECT_EQ(pod.owner_references[0].kind, "ReplicaSet");
  EXPECT_EQ(pod.owner_references[0].name, "payments-api-7d9f8c6b5d");
  EXPECT_TRUE(pod.owner_references[0].controller);
  ASSERT_EQ(pod.containers.size(), 2u);
  EXPECT_EQ(pod.containers[0].image, "registry.example.com/payments/api:1.14.2");
  EXPECT_EQ(pod.containers[1].image, "envoyproxy/envoy:v1.28.0");
  EXPECT_FALSE(pod.host_network);
  EXPECT_EQ(pod.qos_class, "Burstable");

  const Pod host = *PodFromJson(boost::json::parse(R"({
      "spec": {"hostNetwork": true}, "status": {"qosClass": "Guaranteed"}})"),
                                nullptr);
  EXPECT_TRUE(host.host_network);
  EXPECT_EQ(host.qos_class, "Guaranteed");
}

TEST(PodFromJsonTest, StatusesAreMatchedByNameAndPortDefaultsApply) {
  // containerStatuses are sorted by name, spec.containers are not; the exporter port has no
  // name and no protocol.
  const Pod pod = LoadFixture("v1_and_legacy.json");
  ASSERT_EQ(pod.containers.size(), 3u);
  EXPECT_EQ(pod.containers[0].name, "worker");
  EXPECT_EQ(pod.containers[1].name, "redis");
  EXPECT_EQ(pod.containers[2].name, "exporter");
  for (const Container& container : pod.containers) EXPECT_TRUE(container.running);
  ASSERT_EQ(pod.containers[2].ports.size(), 1u);
  EXPECT_EQ(pod.containers[2].ports[0].name, "");
  EXPECT_EQ(pod.containers[2].ports[0].port, 9100);
  EXPECT_EQ(pod.containers[2].ports[0].protocol, "TCP");
  EXPECT_EQ(pod.annotations.count("service-discovery.datadoghq.com/exporter.check_names"), 1u);
}

TEST(PodFromJsonTest, PendingUnreadyPod) {
  const Pod pod = LoadFixture("pending_unready.json");
  EXPECT_EQ(pod.phase, "Pending");
  EXPECT_FALSE(pod.ready);
  EXPECT_EQ(pod.pod_ip, "");
  EXPECT_TRUE(pod.pod_ips.empty());
  ASSERT_EQ(pod.containers.size(), 1u);
  EXPECT_FALSE(pod.containers[0].running);  // state.waiting
  EXPECT_EQ(pod.annotations.at("ad.datadoghq.com/tolerate-unready"), "true");
}

TEST(PodFromJsonTest, DualStackPodListsPodIpFirstAndSkipsInitContainers) {
  const Pod pod = LoadFixture("dual_stack.json");
  EXPECT_EQ(pod.pod_ip, "10.244.3.7");
  EXPECT_EQ(pod.pod_ips, (std::vector<std::string>{"10.244.3.7", "fd00:10:244:3::7"}));
  EXPECT_TRUE(pod.ready);
  ASSERT_EQ(pod.containers.size(), 1u);  // the init container "migrate" is not listed
  EXPECT_EQ(pod.containers[0].name, "gateway");
  EXPECT_TRUE(pod.containers[0].running);
  EXPECT_EQ(pod.FindContainer("migrate"), nullptr);
}

// --- details ----------------------------------------------------------------------------------

TEST(PodFromJsonTest, FindContainer) {
  const Pod pod = LoadFixture("running_two_containers_v2.json");
  ASSERT_NE(pod.FindContainer("envoy"), nullptr);
  EXPECT_EQ(pod.FindContainer("envoy")->ports.size(), 3u);
  EXPECT_EQ(pod.FindContainer("api"), &pod.containers[0]);
  EXPECT_EQ(pod.FindContainer("nginx"), nullptr);
  EXPECT_EQ(pod.FindContainer(""), nullptr);
}

TEST(PodFromJsonTest, MissingAndNullFieldsTakeZeroValues) {
  for (const char* text : {
           R"({})",
           R"({"metadata": null, "spec": null, "status": null})",
           R"({"metadata": {"annotations": null}, "spec": {"containers": null},
               "status": {"podIPs": null, "conditions": null, "containerStatuses": null}})",
       }) {
    std::string error;
    std::optional<Pod> pod = PodFromJson(boost::json::parse(text), &error);
    ASSERT_TRUE(pod.has_value()) << text << ": " << error;
    EXPECT_EQ(pod->name, "");
    EXPECT_TRUE(pod->annotations.empty());
    EXPECT_TRUE(pod->containers.empty());
    EXPECT_FALSE(pod->ready);
  }
}

TEST(PodFromJsonTest, ContainerStateRunningMustBePresent) {
  const Pod pod = *PodFromJson(boost::json::parse(R"({
    "spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]},
    "status": {"containerStatuses": [
      {"name": "a", "state": {"running": {}}},
      {"name": "b", "state": {"terminated": {"exitCode": 1}}},
      {"name": "c", "state": {"running": null}},
      {"name": "ghost", "state": {"running": {}}}]}})"),
                               nullptr);
  EXPECT_TRUE(pod.containers[0].running);
  EXPECT_FALSE(pod.containers[1].running);
  EXPECT_FALSE(pod.containers[2].running);
}

TEST(PodFromJsonTest, ReadyNeedsTheReadyConditionTrue) {
  auto ready = [](const std::string& conditions) {
    std::string text = R"({"status": {"conditions": )" + conditions + "}}";
    return PodFromJson(boost::json::parse(text), nullptr)->ready;
  };
  EXPECT_TRUE(ready(R"([{"type": "PodScheduled", "status": "False"},
                        {"type": "Ready", "status": "True"}])"));
  EXPECT_FALSE(ready(R"([{"type": "Ready", "status": "False"}])"));
  EXPECT_FALSE(ready(R"([{"type": "Ready", "status": "true"}])"));
  EXPECT_FALSE(ready(R"([{"type": "ContainersReady", "status": "True"}])"));
  EXPECT_FALSE(ready("[]"));
}

TEST(PodFromJsonTest, PodIpsWithoutPodIp) {
  const Pod pod = *PodFromJson(
      boost::json::parse(R"({"status": {"podIPs": [{"ip": "fd00::1"}, {"ip": "10.0.0.1"}]}})"),
      nullptr);
  EXPECT_EQ(pod.pod_ips, (std::vector<std::string>{"fd00::1", "10.0.0.1"}));
}

TEST(PodFromJsonTest, WrongTypesNameTheField) {
  struct Case {
    const char* json;
    const char* error;
  };
  const std::vector<Case> cases = {
      {R"([])", "pod: expected an object, got an array"},
      {R"({"metadata": []})", "metadata: expected an object, got an array"},
      {R"({"metadata": {"name": 7}})", "metadata.name: expected a string, got a number"},
      {R"({"metadata": {"uid": true}})", "metadata.uid: expected a string, got a boolean"},
      {R"({"metadata": {"name": "p", "namespace": "ns", "annotations": {"a": "x", "b/c": 1}}})",
       "pod ns/p: metadata.annotations[\"b/c\"]: expected a string, got a number"},
      {R"({"metadata": {"labels": ["app"]}})", "metadata.labels: expected an object"},
      {R"({"spec": {"nodeName": {}}})", "spec.nodeName: expected a string, got an object"},
      {R"({"spec": {"containers": {}}})", "spec.containers: expected an array, got an object"},
      {R"({"spec": {"containers": [{"name": "a"}, "b"]}})",
       "spec.containers[1]: expected an object, got a string"},
      {R"({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": "8080"}]}]}})",
       "spec.containers[0].ports[0].containerPort: expected an integer, got a string"},
      {R"({"spec": {"containers": [{"ports": [{"containerPort": 8080.5}]}]}})",
       "spec.containers[0].ports[0].containerPort: expected an integer, got a number"},
      {R"({"spec": {"containers": [{"ports": [{"containerPort": 8080}, {"containerPort": 70000}]}]}})",
       "spec.containers[0].ports[1].containerPort: port out of range"},
      {R"({"spec": {"containers": [{"ports": [{"containerPort": 80, "protocol": 6}]}]}})",
       "spec.containers[0].ports[0].protocol: expected a string"},
      {R"({"status": {"phase": 1}})", "status.phase: expected a string"},
      {R"({"status": {"qosClass": []}})", "status.qosClass: expected a string, got an array"},
      {R"({"spec": {"hostNetwork": "true"}})",
       "spec.hostNetwork: expected a boolean, got a string"},
      {R"({"spec": {"containers": [{"image": 3}]}})",
       "spec.containers[0].image: expected a string, got a number"},
      {R"({"metadata": {"ownerReferences": {}}})",
       "metadata.ownerReferences: expected an array, got an object"},
      {R"({"metadata": {"ownerReferences": [{"kind": "Job", "controller": "yes"}]}})",
       "metadata.ownerReferences[0].controller: expected a boolean, got a string"},
      {R"({"status": {"podIPs": [{"ip": 1}]}})", "status.podIPs[0].ip: expected a string"},
      {R"({"status": {"conditions": [{"type": "Ready", "status": true}]}})",
       "status.conditions[0].status: expected a string, got a boolean"},
      {R"({"status": {"containerStatuses": [{"name": "a", "state": {"running": "yes"}}]}})",
       "status.containerStatuses[0].state.running: expected an object, got a string"},
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(HasText(ErrorOf(c.json), c.error)) << c.json;
  }
}

TEST(PodFromJsonTest, ErrorNamesThePodWhenKnown) {
  EXPECT_EQ(ErrorOf(R"({"metadata": {"name": "web-1", "namespace": "shop"},
                        "spec": {"containers": [{"name": 5}]}})"),
            "pod shop/web-1: spec.containers[0].name: expected a string, got a number");
}

TEST(PodFromJsonTest, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(PodFromJson(boost::json::parse("[]"), nullptr).has_value());
  EXPECT_FALSE(PodFromJson(boost::json::parse(R"({"spec": 1})"), nullptr).has_value());
}

}  // namespace
}  // namespace expvar::discovery
