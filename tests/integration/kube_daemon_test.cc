// `expvar-collector run --kube-mode node` against the in-test API server: an annotated pod on
// this node is scraped, and its series disappear when the pod is deleted.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json/serialize.hpp>
#include <fstream>
#include <thread>

#include "fake_api_server.h"
#include "process.h"
#include "support/datagram_receiver.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;
using discovery::kube::testing::FakeApiServer;

TEST(KubeDaemon, AnnotatedPodOnThisNodeIsScrapedUntilDeleted) {
  TempDir dir;
  Process goapp({EXPVAR_GOAPP, "-listen", "127.0.0.1:0"}, dir.path());
  auto line = goapp.WaitForLine("listening on ", 10s);
  ASSERT_TRUE(line);
  std::string port = line->substr(line->rfind(':') + 1);

  FakeApiServer api;
  std::ofstream(dir.path() / "token") << "test-token";
  // The pod's IP is loopback so the goapp stands in for it; in node mode only the pod's own IP
  // may be scraped, and that is what the annotation resolves to.
  auto pod = FakeApiServer::MakePod("shop", "web-1", "node-a", "127.0.0.1");
  pod["spec"].as_object()["containers"].as_array()[0].as_object()["ports"] = boost::json::array{
      boost::json::object{{"name", "metrics"}, {"containerPort", std::stoi(port)}}};
  pod["metadata"].as_object()["annotations"] = boost::json::object{
      {"ad.datadoghq.com/app.checks",
       R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:%%port_metrics%%"}]}})"},
      {"ad.datadoghq.com/tags", R"({"team": "shop"})"}};
  // Owned by a Deployment's ReplicaSet, with an image, a QoS class and unified service tagging
  // labels: the Agent's tagger derives tags from each, and so do we.
  pod["metadata"].as_object()["ownerReferences"] =
      boost::json::array{boost::json::object{{"apiVersion", "apps/v1"},
                                             {"kind", "ReplicaSet"},
                                             {"name", "web-7d9f8b6c5"},
                                             {"uid", "rs-uid"},
                                             {"controller", true}}};
  pod["metadata"].as_object()["labels"] = boost::json::object{
      {"app", "web"}, {"tags.datadoghq.com/env", "prod"}, {"tags.datadoghq.com/version", "1.4.2"}};
  pod["spec"].as_object()["containers"].as_array()[0].as_object()["image"] =
      "registry.example.com:5000/shop/web:1.4.2";
  pod["status"].as_object()["qosClass"] = "Burstable";
  api.AddPod(pod);
  auto elsewhere = FakeApiServer::MakePod("shop", "web-2", "node-b", "127.0.0.1");
  elsewhere["metadata"].as_object()["annotations"] = pod["metadata"].as_object()["annotations"];
  api.AddPod(elsewhere);

  DatagramReceiver dogstatsd;
  int admin_port = FreeLoopbackPort();
  std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  Process collector(
      {"env", "DD_TAGS=region:eu, tier:web", EXPVAR_BINARY, "run", "--kube-mode", "node",
       "--node-name", "node-a", "--kube-api", api.Url(), "--kube-token-file",
       (dir.path() / "token").string(), "--listen", "127.0.0.1:" + std::to_string(admin_port),
       "--dogstatsd-url", "udp://127.0.0.1:" + std::to_string(dogstatsd.port()), "--interval", "1"},
      dir.path());
  ASSERT_TRUE(Eventually([&] { return HttpGet(admin + "/readyz").has_value(); }))
      << collector.Stderr();
  // DogStatsD lines carry the pod's tags and its uid as the Agent's entity id, Datadog's
  // Kubernetes tags, and DD_TAGS on every line.
  std::string uid = *api.PodUid("shop", "web-1");
  const std::vector<std::string> derived = {"kube_replica_set:web-7d9f8b6c5",
                                            "kube_deployment:web",
                                            "kube_ownerref_kind:replicaset",
                                            "kube_ownerref_name:web-7d9f8b6c5",
                                            "image_name:registry.example.com:5000/shop/web",
                                            "image_tag:1.4.2",
                                            "short_image:web",
                                            "kube_qos:Burstable",
                                            "pod_phase:running",
                                            "env:prod",
                                            "version:1.4.2"};
  bool attributed = false;
  std::size_t lines = 0;
  for (int i = 0; i < 20 && !attributed; ++i) {
    for (const auto& line : dogstatsd.Receive(500ms)) {
      ++lines;
      EXPECT_TRUE(Contains(line, "region:eu") && Contains(line, "tier:web")) << line;
      if (line.find("pod_name:web-1") == std::string::npos) continue;
      attributed |= line.find("dd.internal.entity_id:" + uid) != std::string::npos;
      for (const auto& tag : derived) EXPECT_TRUE(Contains(line, tag)) << tag << " in " << line;
    }
  }
  EXPECT_TRUE(attributed);
  EXPECT_GT(lines, 0u);
  ASSERT_TRUE(Eventually([&] {
    return Contains(HttpGet(admin + "/metrics"), "pod_name=\"web-1\"");
  })) << collector.Stderr();
  auto metrics = HttpGet(admin + "/metrics");
  EXPECT_TRUE(Contains(metrics, "kube_namespace=\"shop\""));
  EXPECT_TRUE(Contains(metrics, "team=\"shop\""));
  EXPECT_TRUE(Contains(metrics, "kube_container_name=\"app\""));
  EXPECT_FALSE(Contains(metrics, "web-2")) << "a pod of another node was scraped";

  // An annotation pointing elsewhere is refused and shown on /status with the pod.
  auto bad = FakeApiServer::MakePod("shop", "evil-1", "node-a", "127.0.0.1");
  bad["metadata"].as_object()["annotations"] = boost::json::object{
      {"ad.datadoghq.com/app.checks",
       R"({"go_expvar": {"instances": [{"expvar_url": "http://169.254.169.254/latest"}]}})"}};
  api.AddPod(bad);
  EXPECT_TRUE(Eventually([&] {
    auto status = HttpGet(admin + "/status");
    return Contains(status, "shop/evil-1") && Contains(status, "refused");
  }));

  api.DeletePod("shop", "web-1");
  EXPECT_TRUE(
      Eventually([&] { return !Contains(HttpGet(admin + "/metrics"), "pod_name=\"web-1\""); }));
}

}  // namespace
}  // namespace expvar::testing

namespace expvar::testing {
namespace {

// A sidecar without API access reads its own annotations from the downward-API file.
TEST(KubeDaemon, SidecarFallsBackToTheDownwardApiFile) {
  TempDir dir;
  Process goapp({EXPVAR_GOAPP, "-listen", "127.0.0.1:0"}, dir.path());
  auto line = goapp.WaitForLine("listening on ", 10s);
  ASSERT_TRUE(line);
  std::string port = line->substr(line->rfind(':') + 1);
  std::ofstream(dir.path() / "annotations")
      << "ad.datadoghq.com/app.checks=\"{\\\"go_expvar\\\": {\\\"instances\\\": "
         "[{\\\"expvar_url\\\": \\\"http://%%host%%:"
      << port << "\\\"}]}}\"\n";
  int admin_port = FreeLoopbackPort();
  std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  Process collector({"env",
                     "-u",
                     "KUBERNETES_SERVICE_HOST",
                     "POD_IP=127.0.0.1",
                     EXPVAR_BINARY,
                     "run",
                     "--kube-mode",
                     "pod",
                     "--pod-name",
                     "web-1",
                     "--pod-namespace",
                     "shop",
                     "--podinfo-annotations",
                     (dir.path() / "annotations").string(),
                     "--listen",
                     "127.0.0.1:" + std::to_string(admin_port),
                     "--dogstatsd-url",
                     "udp://127.0.0.1:9",
                     "--interval",
                     "1"},
                    dir.path());
  ASSERT_TRUE(Eventually([&] { return HttpGet(admin + "/readyz").has_value(); }))
      << collector.Stderr();
  EXPECT_TRUE(Eventually([&] {
    return Contains(HttpGet(admin + "/metrics"), "kube_container_name=\"app\"");
  })) << collector.Stderr();
  EXPECT_TRUE(Contains(HttpGet(admin + "/metrics"), "pod_name=\"web-1\""));
}

}  // namespace
}  // namespace expvar::testing

namespace expvar::testing {
namespace {

boost::json::object AnnotatedPod(const std::string& name, const std::string& ip, int port,
                                 const std::string& team) {
  auto pod = FakeApiServer::MakePod("shop", name, "node-a", ip);
  pod["spec"].as_object()["containers"].as_array()[0].as_object()["ports"] =
      boost::json::array{boost::json::object{{"name", "metrics"}, {"containerPort", port}}};
  pod["metadata"].as_object()["annotations"] = boost::json::object{
      {"ad.datadoghq.com/app.checks",
       R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:%%port_metrics%%"}]}})"},
      {"ad.datadoghq.com/tags", R"({"team": ")" + team + R"("})"}};
  return pod;
}

void SetReady(boost::json::object& pod, bool ready) {
  pod["status"].as_object()["conditions"] = boost::json::array{
      boost::json::object{{"type", "Ready"}, {"status", ready ? "True" : "False"}}};
}

// Pods on 127.0.0.2 and 127.0.0.3 come and go, flip readiness, get edited and broken, while the
// watch is dropped and expires (410): the scraped set follows every change.
TEST(KubeDaemon, FollowsPodsThroughReadinessEditsDroppedWatchesAnd410) {
  TempDir dir;
  Process app_a({EXPVAR_GOAPP, "-listen", "127.0.0.2:0"}, dir.path());
  Process app_b({EXPVAR_GOAPP, "-listen", "127.0.0.3:0"}, dir.path());
  auto line_a = app_a.WaitForLine("listening on ", 10s);
  auto line_b = app_b.WaitForLine("listening on ", 10s);
  ASSERT_TRUE(line_a && line_b);
  int port_a = std::stoi(line_a->substr(line_a->rfind(':') + 1));
  int port_b = std::stoi(line_b->substr(line_b->rfind(':') + 1));

  FakeApiServer api;
  std::ofstream(dir.path() / "token") << "test-token";
  api.AddPod(AnnotatedPod("a-1", "127.0.0.2", port_a, "red"));
  int admin_port = FreeLoopbackPort();
  std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  Process collector({EXPVAR_BINARY, "run", "--kube-mode", "node", "--node-name", "node-a",
                     "--kube-api", api.Url(), "--kube-token-file", (dir.path() / "token").string(),
                     "--listen", "127.0.0.1:" + std::to_string(admin_port), "--dogstatsd-url",
                     "udp://127.0.0.1:9", "--interval", "1"},
                    dir.path());
  auto metrics_have = [&](const std::string& needle) {
    return Eventually([&] { return Contains(HttpGet(admin + "/metrics"), needle); });
  };
  auto metrics_lack = [&](const std::string& needle) {
    return Eventually([&] { return !Contains(HttpGet(admin + "/metrics"), needle); });
  };
  ASSERT_TRUE(metrics_have("pod_name=\"a-1\"")) << collector.Stderr();

  // Unready: stop at once; ready again: back.
  api.ModifyPod("shop", "a-1", [](boost::json::object& pod) { SetReady(pod, false); });
  EXPECT_TRUE(metrics_lack("pod_name=\"a-1\""));
  api.ModifyPod("shop", "a-1", [](boost::json::object& pod) { SetReady(pod, true); });
  EXPECT_TRUE(metrics_have("pod_name=\"a-1\""));

  // An edit that changes the resolved instance (a tag) restarts it with the new tag.
  api.ModifyPod("shop", "a-1", [](boost::json::object& pod) {
    pod["metadata"].as_object()["annotations"].as_object()["ad.datadoghq.com/tags"] =
        R"({"team": "blue"})";
  });
  EXPECT_TRUE(metrics_have("team=\"blue\""));
  EXPECT_TRUE(metrics_lack("team=\"red\""));

  // A malformed annotation on another pod is reported; the good pod keeps flowing.
  auto broken = AnnotatedPod("broken-1", "127.0.0.3", port_b, "x");
  broken["metadata"].as_object()["annotations"].as_object()["ad.datadoghq.com/app.checks"] =
      "{\"go_expvar\": ";
  api.AddPod(broken);
  EXPECT_TRUE(Eventually([&] {
    auto status = HttpGet(admin + "/status");
    return Contains(status, "shop/broken-1") && Contains(status, "invalid JSON");
  }));

  // The watch connection drops; a pod added meanwhile still arrives.
  api.EndWatches();
  api.AddPod(AnnotatedPod("b-1", "127.0.0.3", port_b, "green"));
  EXPECT_TRUE(metrics_have("pod_name=\"b-1\""));

  // History compacted and the watch ends: the re-watch gets 410, the re-list drops a-1, which
  // was deleted while nobody watched.
  api.Compact();
  api.EndWatches();
  api.DeletePod("shop", "a-1");
  EXPECT_TRUE(metrics_lack("pod_name=\"a-1\""));
  EXPECT_TRUE(Contains(HttpGet(admin + "/metrics"), "pod_name=\"b-1\""));
}

}  // namespace
}  // namespace expvar::testing

namespace expvar::testing {
namespace {

int CountEventPosts(const FakeApiServer& api) {
  return api.CountRequests([](const discovery::kube::testing::RecordedRequest& r) {
    return r.method == "POST" && r.path.ends_with("/events");
  });
}

// A malformed annotation becomes one Warning Event on the pod (what `kubectl describe pod`
// shows its owner), however often discovery sees the pod again; --kube-events=false posts none.
TEST(KubeDaemon, AnnotationProblemBecomesOneEventOnThePod) {
  TempDir dir;
  std::ofstream(dir.path() / "token") << "test-token";
  auto broken = FakeApiServer::MakePod("shop", "broken-1", "node-a", "127.0.0.1");
  broken["metadata"].as_object()["annotations"] = boost::json::object{
      {"ad.datadoghq.com/app.checks", R"({"go_expvar": {"instances": [{"expvar_url": )"}};
  const auto start = [&](FakeApiServer& api, int admin_port, std::vector<std::string> extra) {
    std::vector<std::string> args{EXPVAR_BINARY,       "run",
                                  "--kube-mode",       "node",
                                  "--node-name",       "node-a",
                                  "--kube-api",        api.Url(),
                                  "--kube-token-file", (dir.path() / "token").string(),
                                  "--listen",          "127.0.0.1:" + std::to_string(admin_port),
                                  "--dogstatsd-url",   "udp://127.0.0.1:9"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(args, dir.path());
  };

  FakeApiServer api;
  api.AddPod(broken);
  const std::string uid = *api.PodUid("shop", "broken-1");
  int admin_port = FreeLoopbackPort();
  std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  auto collector = start(api, admin_port, {});
  ASSERT_TRUE(Eventually([&] { return Contains(HttpGet(admin + "/status"), "shop/broken-1"); }))
      << collector->Stderr();
  ASSERT_TRUE(Eventually([&] { return api.Events().size() == 1; })) << collector->Stderr();
  auto event = api.Events()[0];
  EXPECT_EQ(event.at("reason"), "ExpvarConfigError");
  EXPECT_EQ(event.at("type"), "Warning");
  EXPECT_EQ(event.at("count"), 1);
  EXPECT_EQ(event.at("involvedObject").at("kind"), "Pod");
  EXPECT_EQ(event.at("involvedObject").at("name"), "broken-1");
  EXPECT_EQ(event.at("involvedObject").at("namespace"), "shop");
  EXPECT_EQ(std::string(event.at("involvedObject").at("uid").as_string()), uid);
  EXPECT_EQ(event.at("reportingInstance"), "node-a");
  const std::string message(event.at("message").as_string());
  EXPECT_TRUE(message.starts_with("annotation ad.datadoghq.com/app.checks: invalid JSON"))
      << message;
  EXPECT_TRUE(std::string(event.at("metadata").at("name").as_string()).starts_with("broken-1."));

  // Discovery sees the pod again and again: edits, a re-watch, a 410 and its re-LIST.
  for (int i = 0; i < 3; ++i) {
    api.ModifyPod("shop", "broken-1", [&](boost::json::object& pod) {
      pod["metadata"].as_object()["labels"].as_object()["edit"] = std::to_string(i);
    });
    std::this_thread::sleep_for(200ms);
  }
  api.EndWatches();
  std::this_thread::sleep_for(300ms);
  api.FailNext(1, 410);  // the next re-watch is refused: the watcher lists again
  api.EndWatches();
  ASSERT_TRUE(Eventually([&] {
    return api.CountRequests([](const discovery::kube::testing::RecordedRequest& r) {
      return r.path == "/api/v1/pods" && !r.IsWatch();
    }) >= 2;
  })) << collector->Stderr();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(api.Events().size(), 1u);
  EXPECT_EQ(CountEventPosts(api), 1);
  EXPECT_EQ(api.Events()[0].at("count"), 1);
  EXPECT_EQ(api.CountRequests([](const discovery::kube::testing::RecordedRequest& r) {
    return r.method == "PATCH";
  }),
            0)
      << "bumped before 5 minutes";

  // Turned off: the problem is on /status only.
  FakeApiServer quiet;
  quiet.AddPod(broken);
  int quiet_port = FreeLoopbackPort();
  auto off = start(quiet, quiet_port, {"--kube-events=false"});
  ASSERT_TRUE(Eventually([&] {
    return Contains(HttpGet("http://127.0.0.1:" + std::to_string(quiet_port) + "/status"),
                    "shop/broken-1");
  })) << off->Stderr();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(CountEventPosts(quiet), 0);
  EXPECT_TRUE(quiet.Events().empty());
}

}  // namespace
}  // namespace expvar::testing
