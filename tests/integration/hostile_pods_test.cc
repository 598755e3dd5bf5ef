// One healthy pod beside pods whose annotations attack the collector (SECURITY.md, "Two trust
// levels"): each attack is refused or clamped and reported on /status, the healthy pod's series
// keep their schedule, /healthz keeps answering (even with every admin connection held idle) and
// SIGTERM still ends the process quickly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>
#include <thread>
#include <vector>

#include "fake_api_server.h"
#include "fault_server.h"
#include "process.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;
using discovery::kube::testing::FakeApiServer;
namespace json = boost::json;

// A Running, Ready pod on node-a at 127.0.0.1 whose container "app" declares `port` as
// "metrics", with the given check instance (JSON) and extra annotations.
json::object Pod(const std::string& name, int port, const std::string& instance,
                 json::object extra = {}) {
  auto pod = FakeApiServer::MakePod("shop", name, "node-a", "127.0.0.1");
  pod["spec"].as_object()["containers"].as_array()[0].as_object()["ports"] =
      json::array{json::object{{"name", "metrics"}, {"containerPort", port}}};
  extra["ad.datadoghq.com/app.checks"] = R"({"go_expvar": {"instances": [)" + instance + "]}}";
  pod["metadata"].as_object()["annotations"] = std::move(extra);
  return pod;
}

struct Status {
  json::value document;
  // The error lines of the pod's sources, joined.
  std::string ErrorsOf(const std::string& pod) const {
    std::string out;
    for (const auto& e : document.at("errors").as_array()) {
      if (std::string(e.at("source").as_string()).find("shop/" + pod) != std::string::npos) {
        out += std::string(e.at("error").as_string()) + "\n";
      }
    }
    return out;
  }
  std::string WarningOf(const std::string& pod) const {
    for (const auto& t : document.at("targets").as_array()) {
      if (std::string(t.at("source").as_string()).find("shop/" + pod) != std::string::npos &&
          t.as_object().contains("last_warning")) {
        return std::string(t.at("last_warning").as_string());
      }
    }
    return "";
  }
  std::optional<std::int64_t> ScrapesOf(const std::string& pod) const {
    for (const auto& t : document.at("targets").as_array()) {
      if (std::string(t.at("source").as_string()).find("shop/" + pod) != std::string::npos) {
        return t.at("scrapes").to_number<std::int64_t>();
      }
    }
    return std::nullopt;
  }
};

std::optional<Status> GetStatus(const std::string& admin) {
  auto text = HttpGet(admin + "/status");
  if (!text) return std::nullopt;
  return Status{json::parse(*text)};
}

TEST(HostilePods, EveryAttackFailsAndTheHealthyPodKeepsItsSchedule) {
  TempDir dir;
  Process goapp({EXPVAR_GOAPP, "-listen", "127.0.0.1:0"}, dir.path());
  auto line = goapp.WaitForLine("listening on ", 10s);
  ASSERT_TRUE(line);
  const int port = std::stoi(line->substr(line->rfind(':') + 1));
  const std::string url = R"("expvar_url": "http://%%host%%:%%port_metrics%%")";
  const std::string fifo = (dir.path() / "fifo").string();
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int admin_port = FreeLoopbackPort();
  std::string admin = "http://127.0.0.1:" + std::to_string(admin_port);

  FakeApiServer api;
  std::ofstream(dir.path() / "token") << "test-token";
  api.AddPod(Pod("healthy", port, "{" + url + "}"));
  // 1, 2: a file path (a FIFO would block whoever opens it).
  api.AddPod(Pod("fifo", port, "{" + url + R"(, "tls_ca_cert": ")" + fifo + "\"}"));
  // 3, 7: limits beyond the operator's.
  api.AddPod(
      Pod("greedy", port,
          "{" + url + R"(, "max_body_bytes": 419430400, "min_collection_interval": 0.001})"));
  // 5: ten thousand tags.
  std::string many = "{";
  for (int i = 0; i < 10000; ++i) many += (i ? ", " : "") + ("\"t" + std::to_string(i) + "\": 1");
  api.AddPod(Pod("tags", port, "{" + url + "}", {{"ad.datadoghq.com/tags", many + "}"}}));
  // 6: passing for the healthy pod.
  api.AddPod(Pod("spoof", port, "{" + url + R"(, "tags": ["pod_name:healthy"]})"));
  // 8: the collector's environment.
  api.AddPod(Pod("env", port, R"({"expvar_url": "http://%%host%%:%%env_HOME%%"})"));
  // 10: a hostNetwork pod reaching a port of the node it does not declare (our admin port), and
  // a pod reporting the unspecified address.
  auto host = Pod("hostnet", port,
                  R"({"expvar_url": "http://%%host%%:)" + std::to_string(admin_port) + "\"}");
  host["spec"].as_object()["hostNetwork"] = true;
  api.AddPod(host);
  auto unspecified = Pod("zeros", port, "{" + url + "}");
  unspecified["status"].as_object()["podIP"] = "0.0.0.0";
  unspecified["status"].as_object()["podIPs"] = json::array{json::object{{"ip", "0.0.0.0"}}};
  api.AddPod(unspecified);
  // 4: a pattern near the size limit against a document of 10 KB keys (unbounded: ~0.2 s a key,
  // a minute a scrape).
  std::string long_keys = "{";
  for (int i = 0; i < 300; ++i) {
    long_keys += (i ? ", \"" : "\"") + std::to_string(i) + std::string(10000, 'x') + "\": 1";
  }
  FaultServer long_key_target(Fault::kServe, long_keys + "}");
  api.AddPod(Pod("regex", port,
                 R"({"expvar_url": "http://%%host%%:)" + std::to_string(long_key_target.port()) +
                     R"(", "metrics": [{"path": "(.*){1,1000}y"}]})"));
  // 9: a '/' in the password, which a lax parser reads as the start of the path.
  api.AddPod(
      Pod("password", port, R"({"expvar_url": "http://user:pa/ss@%%host%%:%%port_metrics%%"})"));
  // 13: a tag and a metric path with newlines that would forge log lines.
  api.AddPod(Pod(
      "newlines", port,
      "{" + url + R"(, "tags": ["a:b\nFORGED: tag"], "metrics": [{"path": "x(\nFORGED: path"}]})"));

  Process collector({EXPVAR_BINARY, "run", "--kube-mode", "node", "--node-name", "node-a",
                     "--kube-api", api.Url(), "--kube-token-file", (dir.path() / "token").string(),
                     "--listen", "127.0.0.1:" + std::to_string(admin_port), "--dogstatsd-url",
                     "udp://127.0.0.1:9", "--interval", "1", "--log-level", "warn"},
                    dir.path());
  ASSERT_TRUE(Eventually([&] {
    auto status = GetStatus(admin);
    return status && status->ScrapesOf("healthy").value_or(0) >= 1;
  })) << collector.Stderr();

  auto status = GetStatus(admin);
  ASSERT_TRUE(status);
  EXPECT_TRUE(Contains(status->ErrorsOf("fifo"), "tls_ca_cert: file paths are not accepted"));
  EXPECT_FALSE(status->ScrapesOf("fifo"));
  EXPECT_TRUE(Contains(status->ErrorsOf("greedy"), "--annotation-max-body-bytes"));
  EXPECT_TRUE(Contains(status->ErrorsOf("greedy"), "--annotation-min-interval"));
  EXPECT_TRUE(Contains(status->ErrorsOf("tags"), "more than 100 (--annotation-max-tags)"));
  EXPECT_TRUE(Contains(status->ErrorsOf("spoof"), "tag \"pod_name\" is set by the collector"));
  EXPECT_TRUE(Contains(status->ErrorsOf("env"), "%%env_HOME%%"));
  EXPECT_FALSE(status->ScrapesOf("env"));
  EXPECT_TRUE(Contains(status->ErrorsOf("hostnet"), "not declared"));
  EXPECT_FALSE(status->ScrapesOf("hostnet"));
  EXPECT_FALSE(status->ScrapesOf("zeros"));
  EXPECT_FALSE(status->ScrapesOf("password"));
  EXPECT_FALSE(Contains(status->ErrorsOf("password"), "pa/ss"));
  EXPECT_FALSE(Contains(status->ErrorsOf("password"), "ss@"));
  ASSERT_TRUE(Eventually([&] {
    auto now = GetStatus(admin);
    return now && Contains(now->WarningOf("regex"), "matching budget");
  })) << collector.Stderr();

  // 11: sixty-four idle connections held to the admin port (its connection limit) while the
  // kubelet probes. Over four seconds the healthy pod is scraped every second; the greedy one
  // no faster.
  auto before = *status;
  boost::asio::io_context io;
  std::vector<boost::asio::ip::tcp::socket> idle;
  for (int i = 0; i < 64; ++i) {
    idle.emplace_back(io).connect(
        {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(admin_port)});
  }
  std::this_thread::sleep_for(4s);
  auto probe_start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Contains(HttpGet(admin + "/healthz"), "ok"));
  EXPECT_LT(std::chrono::steady_clock::now() - probe_start, 1s);
  idle.clear();
  auto after = GetStatus(admin);
  ASSERT_TRUE(after);
  auto delta = [&](const std::string& pod) {
    return after->ScrapesOf(pod).value_or(0) - before.ScrapesOf(pod).value_or(0);
  };
  EXPECT_GE(delta("healthy"), 2);
  EXPECT_LE(delta("greedy"), 6);
  // Only the healthy pod's own series say pod_name="healthy".
  auto metrics = HttpGet(admin + "/metrics");
  ASSERT_TRUE(metrics);
  std::size_t owned = 0;
  for (std::size_t at = 0;
       (at = metrics->find("go_expvar_memstats_alloc_bytes{", at)) != std::string::npos; ++at) {
    owned += metrics->substr(at, metrics->find('\n', at) - at).find("pod_name=\"healthy\"") !=
             std::string::npos;
  }
  EXPECT_EQ(owned, 1u) << *metrics;
  // Every refusal and clamp above is counted as an annotation problem; no conf.d was given.
  const std::string annotation_errors =
      "expvar_collector_config_errors_total{source=\"annotation\"} ";
  auto at = metrics->find(annotation_errors);
  ASSERT_NE(at, std::string::npos) << *metrics;
  EXPECT_GE(std::stod(metrics->substr(at + annotation_errors.size())), 5) << *metrics;
  EXPECT_TRUE(Contains(metrics, "expvar_collector_config_errors_total{source=\"confd\"} 0\n"));

  auto start = std::chrono::steady_clock::now();
  kill(collector.pid(), SIGTERM);
  EXPECT_TRUE(collector.WaitExit(5s)) << collector.Stderr();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // No line of the log was written by a pod: the bad pattern is logged, its newline escaped.
  EXPECT_TRUE(Contains(collector.Stderr(), "FORGED: path")) << collector.Stderr();
  EXPECT_FALSE(Contains(collector.Stderr(), "\nFORGED")) << collector.Stderr();
}

}  // namespace
}  // namespace expvar::testing
