// `expvar-collector run` with real targets (goapp, etcd), real DogStatsD sockets, promtool and a
// real Prometheus server.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>
#include <set>
#include <thread>

#include "process.h"
#include "support/datagram_receiver.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Polls `probe` every 100 ms until it returns true or `timeout` passes.
class Goapp {
 public:
  Goapp(const std::filesystem::path& dir, const std::string& listen = "127.0.0.1:0")
      : process_({EXPVAR_GOAPP, "-listen", listen}, dir) {
    auto line = process_.WaitForLine("listening on ", 10s);
    if (!line) throw std::runtime_error("goapp did not start: " + process_.Stderr());
    address_ = line->substr(line->find("on ") + 3);
  }
  const std::string& address() const { return address_; }
  std::string url() const { return "http://" + address_; }
  std::string vars_url() const { return url() + "/debug/vars"; }
  void Stop() { process_.Stop(); }

 private:
  Process process_;
  std::string address_;
};

std::string ConfFor(const std::string& url, const std::string& extra = "") {
  return "init_config:\ninstances:\n  - expvar_url: " + url + "\n    tags: [\"it:yes\"]\n" + extra;
}

class Daemon {
 public:
  Daemon(const std::filesystem::path& dir, const std::string& confd, const std::string& dogstatsd,
         std::vector<std::string> extra = {})
      : port_(FreeLoopbackPort()), process_(Args(confd, dogstatsd, std::move(extra)), dir) {
    bool ready = Eventually([&] { return HttpGet(Url("/readyz")).has_value(); }, 10s);
    if (!ready) throw std::runtime_error("collector not ready: " + process_.Stderr());
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  Process& process() { return process_; }

 private:
  std::vector<std::string> Args(const std::string& confd, const std::string& dogstatsd,
                                std::vector<std::string> extra) const {
    std::vector<std::string> args = {
        EXPVAR_BINARY,     "run",     "--confd",  confd,
        "--dogstatsd-url", dogstatsd, "--listen", "127.0.0.1:" + std::to_string(port_),
        "--interval",      "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  int port_;
  Process process_;
};

// The metric name of a DogStatsD line "name:value|type|#tags".
std::string NameOf(const std::string& line) { return line.substr(0, line.find(':')); }

class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(confd() / "go_expvar.d"); }
  std::filesystem::path confd() const { return dir_.path() / "conf.d"; }
  std::filesystem::path conf(const std::string& name) const {
    return confd() / "go_expvar.d" / name;
  }
  TempDir dir_;
};

// Every name of Datadog's go_expvar metric table arrives over UDP with the expvar_url tag.
TEST_F(DaemonTest, SendsTheDatadogMetricTableOverUdp) {
  Goapp goapp(dir_.path());
  WriteFile(conf("goapp.yaml"), ConfFor(goapp.url()));
  DatagramReceiver receiver;
  Daemon daemon(dir_.path(), confd().string(),
                "udp://127.0.0.1:" + std::to_string(receiver.port()));
  const std::set<std::string> wanted = {"go_expvar.memstats.alloc",
                                        "go_expvar.memstats.frees",
                                        "go_expvar.memstats.heap_alloc",
                                        "go_expvar.memstats.heap_idle",
                                        "go_expvar.memstats.heap_inuse",
                                        "go_expvar.memstats.heap_objects",
                                        "go_expvar.memstats.heap_released",
                                        "go_expvar.memstats.heap_sys",
                                        "go_expvar.memstats.lookups",
                                        "go_expvar.memstats.mallocs",
                                        "go_expvar.memstats.num_gc",
                                        "go_expvar.memstats.pause_ns",
                                        "go_expvar.memstats.pause_total_ns",
                                        "go_expvar.memstats.total_alloc",
                                        "go_expvar.memstats.total_alloc.count"};
  std::set<std::string> seen;
  std::string url_tag = "expvar_url:" + goapp.vars_url();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (seen != wanted && std::chrono::steady_clock::now() < deadline) {
    HttpGet(goapp.url() + "/gc?n=2");  // so every scrape sees new GC pauses
    for (const auto& line : receiver.Receive(500ms)) {
      if (line.find(url_tag) == std::string::npos) continue;
      EXPECT_NE(line.find("it:yes"), std::string::npos) << line;
      if (wanted.count(NameOf(line))) seen.insert(NameOf(line));
      if (NameOf(line) == "go_expvar.memstats.pause_ns") {
        EXPECT_NE(line.find("|h|#"), std::string::npos) << line;
      }
    }
  }
  for (const auto& name : wanted) EXPECT_TRUE(seen.count(name)) << name << " never arrived";
}

TEST_F(DaemonTest, SendsToAUnixDatagramSocketAndScrapesEtcd) {
  Goapp goapp(dir_.path());
  int client_port = FreeLoopbackPort(), peer_port = FreeLoopbackPort();
  std::string etcd_url = "http://127.0.0.1:" + std::to_string(client_port);
  std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port);
  Process etcd(
      {"etcd", "--data-dir", (dir_.path() / "etcd").string(), "--listen-client-urls", etcd_url,
       "--advertise-client-urls", etcd_url, "--listen-peer-urls", peer_url,
       "--initial-advertise-peer-urls", peer_url, "--initial-cluster", "default=" + peer_url},
      dir_.path());
  ASSERT_TRUE(Eventually([&] { return HttpGet(etcd_url + "/debug/vars").has_value(); }, 20s));
  WriteFile(conf("goapp.yaml"), ConfFor(goapp.url()));
  WriteFile(conf("etcd.yaml"), ConfFor(etcd_url));
  std::string socket_path = (dir_.path() / "dsd.socket").string();
  DatagramReceiver receiver(socket_path);
  Daemon daemon(dir_.path(), confd().string(), "unix://" + socket_path);
  bool goapp_seen = false, etcd_seen = false;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while (!(goapp_seen && etcd_seen) && std::chrono::steady_clock::now() < deadline) {
    for (const auto& line : receiver.Receive(500ms)) {
      if (NameOf(line) != "go_expvar.memstats.heap_alloc") continue;
      goapp_seen |= line.find("expvar_url:" + goapp.vars_url()) != std::string::npos;
      etcd_seen |= line.find("expvar_url:" + etcd_url + "/debug/vars") != std::string::npos;
    }
  }
  EXPECT_TRUE(goapp_seen);
  EXPECT_TRUE(etcd_seen);
}

// /metrics is lint-clean for promtool, and a real Prometheus server scrapes it.
TEST_F(DaemonTest, PrometheusScrapesLintCleanMetrics) {
  Goapp goapp(dir_.path());
  WriteFile(conf("goapp.yaml"),
            ConfFor(goapp.url(),
                    "    metrics:\n      - path: requests\n        type: rate\n"
                    "      - path: http/.*/count\n        alias: app.http.count\n"));
  Daemon daemon(dir_.path(), confd().string(), "udp://127.0.0.1:9");
  ASSERT_TRUE(Eventually(
      [&] { return Contains(HttpGet(daemon.Url("/metrics")), "go_expvar_requests_total"); }));
  HttpGet(goapp.url() + "/gc?n=2");
  ASSERT_TRUE(Eventually([&] {
    return Contains(HttpGet(daemon.Url("/metrics")), "go_expvar_memstats_gc_pause_seconds_bucket");
  }));
  WriteFile(dir_.path() / "metrics.txt", *HttpGet(daemon.Url("/metrics")));
  CommandResult lint = RunCommand(
      {"sh", "-c", "promtool check metrics < " + (dir_.path() / "metrics.txt").string()}, 30s);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err;
  EXPECT_EQ(lint.out + lint.err, "") << "promtool found problems";

  int prometheus_port = FreeLoopbackPort();
  WriteFile(dir_.path() / "prometheus.yml",
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: expvar\n"
            "    static_configs:\n      - targets: ['" +
                daemon.Url("").substr(7) + "']\n");
  Process prometheus({"prometheus", "--config.file=" + (dir_.path() / "prometheus.yml").string(),
                      "--storage.tsdb.path=" + (dir_.path() / "tsdb").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                     dir_.path());
  std::string query = "http://127.0.0.1:" + std::to_string(prometheus_port) +
                      "/api/v1/query?query=go_expvar_memstats_alloc_bytes";
  EXPECT_TRUE(Eventually([&] { return Contains(HttpGet(query), goapp.vars_url()); }, 30s))
      << prometheus.Stderr();
}

TEST_F(DaemonTest, SighupAddsAndRemovesTargets) {
  Goapp first(dir_.path()), second(dir_.path());
  WriteFile(conf("first.yaml"), ConfFor(first.url()));
  Daemon daemon(dir_.path(), confd().string(), "udp://127.0.0.1:9");
  ASSERT_TRUE(
      Eventually([&] { return Contains(HttpGet(daemon.Url("/metrics")), first.vars_url()); }));

  WriteFile(conf("second.yaml"), ConfFor(second.url()));
  kill(daemon.process().pid(), SIGHUP);
  ASSERT_TRUE(
      Eventually([&] { return Contains(HttpGet(daemon.Url("/metrics")), second.vars_url()); }));

  std::filesystem::remove(conf("first.yaml"));
  WriteFile(conf("broken.yaml"), "instances: [unclosed");
  kill(daemon.process().pid(), SIGHUP);
  // The removed target's series vanish at once; the broken file is reported on /status.
  ASSERT_TRUE(
      Eventually([&] { return !Contains(HttpGet(daemon.Url("/metrics")), first.vars_url()); }));
  auto status = HttpGet(daemon.Url("/status"));
  EXPECT_TRUE(Contains(status, "broken.yaml")) << status.value_or("");
  EXPECT_TRUE(Contains(status, second.vars_url()));
  EXPECT_FALSE(Contains(status, first.vars_url()));
}

// How many times `needle` occurs in `text`.
std::size_t Occurrences(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// A conf.d metric item with an invalid regex and a file that does not parse: each is on /status
// with its file, logged once, and counted once in config_errors_total{source="confd"}, however
// often the configuration is reloaded while they stay.
TEST_F(DaemonTest, ConfdProblemsAreOnStatusInTheLogAndCountedOnce) {
  Goapp goapp(dir_.path());
  WriteFile(conf("regex.yaml"), ConfFor(goapp.url(),
                                        "    metrics:\n      - path: \"memstats/(unclosed\"\n"
                                        "      - path: memstats/HeapAlloc\n"));
  WriteFile(conf("broken.yaml"), "instances: [unclosed");
  Daemon daemon(dir_.path(), confd().string(), "udp://127.0.0.1:9");
  const std::string counter = "expvar_collector_config_errors_total{source=\"confd\"} 2\n";
  ASSERT_TRUE(Eventually([&] { return Contains(HttpGet(daemon.Url("/metrics")), counter); }))
      << HttpGet(daemon.Url("/metrics")).value_or("");
  auto status = HttpGet(daemon.Url("/status")).value_or("");
  EXPECT_TRUE(Contains(status, "broken.yaml")) << status;
  EXPECT_TRUE(Contains(status, "regex.yaml")) << status;
  EXPECT_TRUE(Contains(status, "(unclosed")) << status;

  for (int i = 0; i < 2; ++i) kill(daemon.process().pid(), SIGHUP);  // reloads, same problems
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(Contains(HttpGet(daemon.Url("/metrics")), counter));
  std::string log = daemon.process().Stderr();
  EXPECT_EQ(Occurrences(log, "(unclosed"), 1u) << log;
  EXPECT_EQ(Occurrences(log, "not valid YAML"), 1u) << log;
  EXPECT_TRUE(Contains(HttpGet(daemon.Url("/metrics")), "go_expvar_memstats_heap_alloc_bytes"));
}

// A killed target: /status says down, its value series leave /metrics while
// expvar_collector_target_up says 0, and go_expvar.can_connect turns CRITICAL with the error;
// all three come back when it does.
TEST_F(DaemonTest, KilledTargetIsDownEverywhereAndRecovers) {
  auto goapp = std::make_unique<Goapp>(dir_.path());
  std::string address = goapp->address();
  std::string url = goapp->vars_url();
  WriteFile(conf("goapp.yaml"), ConfFor(goapp->url()));
  DatagramReceiver receiver;
  Daemon daemon(dir_.path(), confd().string(),
                "udp://127.0.0.1:" + std::to_string(receiver.port()));
  const std::string up_series = "expvar_collector_target_up{it=\"yes\",expvar_url=\"" + url + "\"}";
  const std::string value_series =
      "go_expvar_memstats_heap_alloc_bytes{it=\"yes\",expvar_url=\"" + url;
  auto metrics = [&] { return HttpGet(daemon.Url("/metrics")).value_or(""); };
  // The last service check of the target seen within a second, or "" when none came.
  auto service_check = [&] {
    std::string last;
    for (const auto& line : receiver.Receive(1000ms)) {
      if (line.starts_with("_sc|go_expvar.can_connect|") && Contains(line, url)) last = line;
    }
    return last;
  };

  ASSERT_TRUE(Eventually([&] { return Contains(metrics(), up_series + " 1\n"); })) << metrics();
  EXPECT_TRUE(Contains(metrics(), value_series));
  ASSERT_TRUE(
      Eventually([&] { return service_check().starts_with("_sc|go_expvar.can_connect|0|"); }));

  goapp.reset();  // killed
  ASSERT_TRUE(
      Eventually([&] { return Contains(HttpGet(daemon.Url("/status")), "\"health\":\"down\""); }));
  EXPECT_TRUE(Contains(HttpGet(daemon.Url("/status")), "fetch failed"));
  ASSERT_TRUE(Eventually([&] { return Contains(metrics(), up_series + " 0\n"); })) << metrics();
  EXPECT_FALSE(Contains(metrics(), value_series)) << metrics();
  std::string critical;
  ASSERT_TRUE(Eventually([&] {
    critical = service_check();
    return critical.starts_with("_sc|go_expvar.can_connect|2|");
  }));
  EXPECT_TRUE(Contains(critical, "|m:fetch failed")) << critical;
  EXPECT_TRUE(Contains(critical, "it:yes")) << critical;

  goapp = std::make_unique<Goapp>(dir_.path(), address);  // back on the same port
  EXPECT_TRUE(
      Eventually([&] { return Contains(HttpGet(daemon.Url("/status")), "\"health\":\"up\""); }));
  EXPECT_TRUE(Eventually([&] { return Contains(metrics(), up_series + " 1\n"); }));
  EXPECT_TRUE(Contains(metrics(), value_series));
  EXPECT_TRUE(
      Eventually([&] { return service_check().starts_with("_sc|go_expvar.can_connect|0|"); }));
}

TEST_F(DaemonTest, SigtermStopsWithinTwoSeconds) {
  Goapp goapp(dir_.path());
  WriteFile(conf("goapp.yaml"), ConfFor(goapp.url()));
  Daemon daemon(dir_.path(), confd().string(), "udp://127.0.0.1:9");
  pid_t pid = daemon.process().pid();
  auto start = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  EXPECT_TRUE(Eventually([&] { return !daemon.process().Running(); }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

}  // namespace
}  // namespace expvar::testing
