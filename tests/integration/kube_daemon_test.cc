// `expvar-collector run --kube-mode node` against the in-test API server: an annotated pod on
// this node is scraped, and its series disappear when the pod is deleted.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json/serialize.hpp>
#include <fstream>
#include <thread>

#include "datagram_receiver.h"
#include "fake_api_server.h"
#include "process.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;
using discovery::kube::testing::FakeApiServer;

template <typename Probe>
bool Eventually(Probe probe, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (probe()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return probe();
}

bool Contains(const std::optional<std::string>& text, const std::string& needle) {
  return text && text->find(needle) != std::string::npos;
}

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
  api.AddPod(pod);
  auto elsewhere = FakeApiServer::MakePod("shop", "web-2", "node-b", "127.0.0.1");
  elsewhere["metadata"].as_object()["annotations"] = pod["metadata"].as_object()["annotations"];
  api.AddPod(elsewhere);

  DatagramReceiver dogstatsd;
  int admin_port = FreeLoopbackPort();
  std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);
  Process collector({EXPVAR_BINARY, "run", "--kube-mode", "node", "--node-name", "node-a",
                     "--kube-api", api.Url(), "--kube-token-file", (dir.path() / "token").string(),
                     "--listen", "127.0.0.1:" + std::to_string(admin_port), "--dogstatsd-url",
                     "udp://127.0.0.1:" + std::to_string(dogstatsd.port()), "--interval", "1"},
                    dir.path());
  ASSERT_TRUE(Eventually([&] { return HttpGet(admin + "/readyz").has_value(); }))
      << collector.Stderr();
  // DogStatsD lines carry the pod's tags and its uid as the Agent's entity id.
  std::string uid = *api.PodUid("shop", "web-1");
  bool attributed = false;
  for (int i = 0; i < 20 && !attributed; ++i) {
    for (const auto& line : dogstatsd.Receive(500ms)) {
      attributed |= line.find("dd.internal.entity_id:" + uid) != std::string::npos &&
                    line.find("pod_name:web-1") != std::string::npos;
    }
  }
  EXPECT_TRUE(attributed);
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
