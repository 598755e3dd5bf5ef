// `expvar-collector run` against targets that misbehave on real loopback sockets (hang, cut the
// body, trickle, flood, send pathological JSON), a DogStatsD socket that appears late, a conf.d
// file that breaks on SIGHUP, and SIGTERM while scrapes hang. Every wait is bounded; intervals
// and timeouts are short so the whole file runs in well under a minute.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include "fake_api_server.h"
#include "fault_server.h"
#include "process.h"
#include "support/datagram_receiver.h"

namespace expvar::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kHealthyBody[] = R"({"requests": 42})";
constexpr char kRequestsItem[] = "    metrics:\n      - path: requests\n";

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// One conf.d instance entry; `extra` is more YAML at the instance's indentation.
std::string Instance(const std::string& url, const std::string& extra = "") {
  return "  - expvar_url: " + url + "\n" + extra;
}

std::string Conf(const std::vector<std::string>& instances) {
  std::string text = "init_config:\ninstances:\n";
  for (const auto& instance : instances) text += instance;
  return text;
}

// The daemon on a free admin port with --interval 1, reading `confd`. `extra` flags are appended;
// with kube flags /readyz may never turn 200, so then only /healthz is awaited.
class Collector {
 public:
  Collector(const std::filesystem::path& dir, const std::filesystem::path& confd,
            const std::string& dogstatsd = "udp://127.0.0.1:9", std::vector<std::string> extra = {})
      : port_(FreeLoopbackPort()), process_(Args(confd, dogstatsd, extra), dir) {
    const std::string probe = extra.empty() ? "/readyz" : "/healthz";
    bool ready = Eventually([&] { return HttpGet(Url(probe)).has_value(); }, 10s);
    if (!ready) throw std::runtime_error("collector not ready: " + process_.Stderr());
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  Process& process() { return process_; }

  // The /status entry of the target scraping `url`; null when absent or /status is unusable.
  boost::json::value Target(const std::string& url) {
    auto status = HttpGet(Url("/status"));
    if (!status) return nullptr;
    boost::system::error_code ec;
    auto root = boost::json::parse(*status, ec);
    if (ec || !root.is_object()) return nullptr;
    for (const auto& target : root.at("targets").as_array()) {
      if (target.at("url").as_string() == url) return target;
    }
    return nullptr;
  }
  // Waits until the target is down with an error containing `needle`; returns the entry.
  boost::json::value WaitDown(const std::string& url, const std::string& needle,
                              std::chrono::milliseconds timeout = 10s) {
    boost::json::value found = nullptr;
    Eventually(
        [&] {
          found = Target(url);
          return found.is_object() && found.at("health").as_string() == "down" &&
                 std::string(found.at("last_error").as_string()).find(needle) != std::string::npos;
        },
        timeout);
    return found;
  }
  bool WaitUp(const std::string& url, std::chrono::milliseconds timeout = 10s) {
    return Eventually(
        [&] {
          auto target = Target(url);
          return target.is_object() && target.at("health").as_string() == "up";
        },
        timeout);
  }

 private:
  std::vector<std::string> Args(const std::filesystem::path& confd, const std::string& dogstatsd,
                                const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {
        EXPVAR_BINARY,     "run",     "--confd",  confd.string(),
        "--dogstatsd-url", dogstatsd, "--listen", "127.0.0.1:" + std::to_string(port_),
        "--interval",      "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  int port_;
  Process process_;
};

// The value of the first sample line of /metrics that starts with `prefix`; -1 when none.
double SampleValue(const std::string& metrics, const std::string& prefix) {
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix, 0) == 0) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

// A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM"); -1 when unreadable.
long ProcStatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

bool IsValidUtf8(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : 3;
    if (c >= 0x80 && (c < 0xc2 || c > 0xf4)) return false;  // stray continuation, overlong
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
    }
    if (c == 0xed && static_cast<unsigned char>(text[i + 1]) >= 0xa0) return false;  // surrogate
    i += extra + 1;
  }
  return true;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(confd() / "go_expvar.d"); }
  std::filesystem::path confd() const { return dir_.path() / "conf.d"; }
  std::filesystem::path conf(const std::string& name) const {
    return confd() / "go_expvar.d" / name;
  }
  TempDir dir_;
  FaultServer healthy_{Fault::kServe, kHealthyBody};
};

// (1) A target that accepts and never answers fails at its timeout, every time, while a healthy
// target on the same daemon keeps being scraped every second.
TEST_F(FaultTest, HangingTargetTimesOutAndAHealthyOneKeepsItsSchedule) {
  FaultServer hang(Fault::kHang);
  WriteFile(conf("app.yaml"), Conf({Instance(hang.Url(), "    timeout: 0.5\n"),
                                    Instance(healthy_.Url(), kRequestsItem)}));
  Collector collector(dir_.path(), confd());
  auto down = collector.WaitDown(hang.Url(), "timeout after 500 ms");
  ASSERT_TRUE(down.is_object()) << collector.Target(hang.Url()) << collector.process().Stderr();
  EXPECT_LT(down.at("last_duration_seconds").to_number<double>(), 1.0) << down;

  // The healthy target's scrapes stay on its one-second grid while the other one hangs.
  ASSERT_TRUE(collector.WaitUp(healthy_.Url()));
  const auto window_start = Clock::now();
  std::this_thread::sleep_for(4s);
  std::vector<Clock::time_point> in_window;
  for (auto t : healthy_.RequestTimes()) {
    if (t >= window_start) in_window.push_back(t);
  }
  EXPECT_GE(in_window.size(), 3u);
  for (std::size_t i = 1; i < in_window.size(); ++i) {
    EXPECT_LT(in_window[i] - in_window[i - 1], 1500ms) << "scrape " << i << " was late";
  }
  // The hanging target is retried on its own schedule (a fresh connection each time).
  EXPECT_GE(hang.requests(), 3);
  EXPECT_LT(down.at("late_ticks").to_number<int>(), 2) << down;
}

// (2) The connection closes halfway through the announced body.
TEST_F(FaultTest, BodyCutShortIsAFetchError) {
  FaultServer cut(Fault::kCloseMidBody,
                  std::string(R"({"requests": 1, "pad": ")") + std::string(4000, 'x') + "\"}");
  WriteFile(conf("app.yaml"),
            Conf({Instance(cut.Url(), kRequestsItem), Instance(healthy_.Url(), kRequestsItem)}));
  Collector collector(dir_.path(), confd());
  auto down = collector.WaitDown(cut.Url(), "reading response");
  ASSERT_TRUE(down.is_object()) << collector.Target(cut.Url());
  EXPECT_TRUE(collector.WaitUp(healthy_.Url()));
  // Retried on schedule, never wedged.
  EXPECT_TRUE(Eventually([&] { return cut.requests() >= 3; }, 5s)) << cut.requests();
}

// (3) One byte a second: the whole-request timeout ends it, not the per-read progress.
TEST_F(FaultTest, TricklingTargetIsBoundedByTheTimeout) {
  FaultServer trickle(Fault::kTrickle, kHealthyBody);
  WriteFile(conf("app.yaml"), Conf({Instance(trickle.Url(), "    timeout: 0.8\n")}));
  Collector collector(dir_.path(), confd());
  auto down = collector.WaitDown(trickle.Url(), "timeout after 800 ms");
  ASSERT_TRUE(down.is_object()) << collector.Target(trickle.Url());
  EXPECT_LT(down.at("last_duration_seconds").to_number<double>(), 1.2) << down;
  // Each request got a byte or two (the second lands after the hang-up) before it ended.
  std::this_thread::sleep_for(1500ms);
  EXPECT_LE(trickle.bytes_sent(), static_cast<std::size_t>(3 * trickle.requests()));
}

// (4) 100 MB bodies, chunked and with a Content-Length: the default 8 MiB body cap stops both,
// the collector hangs up early, and its memory stays bounded.
TEST_F(FaultTest, HundredMegabyteBodiesAreCappedAndMemoryStaysBounded) {
  FaultServer chunked(Fault::kHugeChunked);
  FaultServer sized(Fault::kHugeLength);
  WriteFile(conf("app.yaml"),
            Conf({Instance(chunked.Url(), kRequestsItem), Instance(sized.Url(), kRequestsItem),
                  Instance(healthy_.Url(), kRequestsItem)}));
  Collector collector(dir_.path(), confd());
  for (const auto* server : {&chunked, &sized}) {
    auto down = collector.WaitDown(server->Url(), "response body exceeds 8388608 bytes");
    ASSERT_TRUE(down.is_object()) << collector.Target(server->Url());
  }
  // A few more rounds, so that a leak per scrape would show.
  ASSERT_TRUE(Eventually([&] { return chunked.requests() >= 4 && sized.requests() >= 4; }, 10s));
  EXPECT_TRUE(collector.WaitUp(healthy_.Url()));
  const pid_t pid = collector.process().pid();
  const long rss_kb = ProcStatusKb(pid, "VmRSS"), peak_kb = ProcStatusKb(pid, "VmHWM");
#if defined(__SANITIZE_ADDRESS__) || defined(EXPVAR_SANITIZED)
  // ASan's shadow memory and its quarantine of freed blocks inflate the RSS; bound it loosely.
  constexpr long kBoundKb = 400 * 1024;
#else
  constexpr long kBoundKb = 150 * 1024;
#endif
  EXPECT_GT(rss_kb, 0);
  EXPECT_LT(rss_kb, kBoundKb);
  EXPECT_LT(peak_kb, kBoundKb);
  // The collector stopped reading long before 100 MB (the rest sits in socket buffers at most).
  EXPECT_LT(chunked.bytes_sent() / chunked.requests(), 32u << 20) << chunked.bytes_sent();
  EXPECT_LT(sized.bytes_sent() / sized.requests(), 32u << 20) << sized.bytes_sent();
}

// (5) 10,000-deep nesting, inside one value and as the whole document: no stack overflow; the
// deep value is skipped and the rest kept, a deep array document is a clear error.
TEST_F(FaultTest, TenThousandDeepJsonIsRejectedWithoutCrashing) {
  const std::string deep_array = std::string(10000, '[') + std::string(10000, ']');
  std::string deep_object;
  for (int i = 0; i < 10000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(10000, '}');
  FaultServer in_value(Fault::kServe, R"({"requests": 7, "deep": )" + deep_array + R"(, "obj": )" +
                                          deep_object + "}");
  FaultServer whole(Fault::kServe, deep_array);
  WriteFile(conf("app.yaml"), Conf({Instance(in_value.Url(),
                                             "    metrics:\n      - path: requests\n"
                                             "      - path: deep/.*\n      - path: obj/a/a\n"),
                                    Instance(whole.Url(), kRequestsItem)}));
  Collector collector(dir_.path(), confd());
  auto down = collector.WaitDown(whole.Url(), "not a JSON object");
  ASSERT_TRUE(down.is_object()) << collector.Target(whole.Url()) << collector.process().Stderr();
  ASSERT_TRUE(collector.WaitUp(in_value.Url())) << collector.Target(in_value.Url());
  EXPECT_EQ(SampleValue(HttpGet(collector.Url("/metrics")).value_or(""), "go_expvar_requests{"), 7);
  EXPECT_TRUE(Eventually([&] { return in_value.requests() >= 3; }, 5s));
  EXPECT_TRUE(collector.process().Running());
}

// (6) Invalid UTF-8 in keys and values: the target is up, its good values are reported, and
// /status and /metrics stay valid UTF-8 (JSON and the Prometheus text format require it).
TEST_F(FaultTest, InvalidUtf8IsHandled) {
  const std::string body =
      "{\"requests\": 3, \"bad\xff\xfekey\": 1, \"str\": \"\xc3\x28\", \"caf\xc3\xa9\": 2, "
      "\"\xed\xa0\x80x\": 4, \"n\": {\"\xc0\xaf\": 5}}";
  FaultServer target(Fault::kServe, body);
  WriteFile(conf("app.yaml"),
            Conf({Instance(target.Url(),
                           "    tags: [\"site:x\"]\n    metrics:\n      - path: requests\n"
                           "      - path: \".*\"\n      - path: n/.*\n        alias: nested\n")}));
  Collector collector(dir_.path(), confd());
  ASSERT_TRUE(collector.WaitUp(target.Url())) << collector.Target(target.Url());
  ASSERT_TRUE(Eventually([&] { return target.requests() >= 2; }, 5s));
  auto metrics = HttpGet(collector.Url("/metrics"));
  ASSERT_TRUE(metrics);
  EXPECT_EQ(SampleValue(*metrics, "go_expvar_requests{"), 3);
  EXPECT_TRUE(IsValidUtf8(*metrics));
  auto status = HttpGet(collector.Url("/status"));
  ASSERT_TRUE(status);
  EXPECT_TRUE(IsValidUtf8(*status));
  boost::system::error_code ec;
  boost::json::parse(*status, ec);
  EXPECT_FALSE(ec) << *status;
  EXPECT_TRUE(collector.process().Running());
}

// (7) 200,000 keys all matching one item: max_returned_metrics holds and the overflow is counted.
TEST_F(FaultTest, TwoHundredThousandKeysAreCappedByMaxReturnedMetrics) {
  std::string body = "{";
  for (int i = 0; i < 200000; ++i) body += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  body += "}";
  FaultServer target(Fault::kServe, body);
  WriteFile(conf("app.yaml"), Conf({Instance(target.Url(),
                                             "    max_returned_metrics: 100\n    timeout: 5\n"
                                             "    min_collection_interval: 2\n"
                                             "    metrics:\n      - path: k[0-9]+\n")}));
  Collector collector(dir_.path(), confd());
  // Generous: matching 200,000 keys takes seconds in the sanitized build on a busy machine, and
  // the wait ends as soon as the target is up.
  ASSERT_TRUE(collector.WaitUp(target.Url(), 60s)) << collector.Target(target.Url());
  auto entry = collector.Target(target.Url());
  EXPECT_LE(entry.at("series").to_number<int>(), 100) << entry;
  auto metrics = HttpGet(collector.Url("/metrics")).value_or("");
  int samples = 0;
  std::istringstream lines(metrics);
  for (std::string line; std::getline(lines, line);) samples += line.rfind("go_expvar_k", 0) == 0;
  EXPECT_GT(samples, 0);
  EXPECT_LE(samples, 100);
  EXPECT_GE(SampleValue(metrics, "expvar_collector_series_dropped_total{reason=\"max_returned_"),
            199000);
}

// The DogStatsD Unix socket does not exist at start; once the Agent creates it, datagrams arrive
// without a restart.
TEST_F(FaultTest, DogstatsdSocketAppearingLaterStartsReceiving) {
  WriteFile(conf("app.yaml"), Conf({Instance(healthy_.Url(), kRequestsItem)}));
  const std::string socket_path = (dir_.path() / "dsd.socket").string();
  Collector collector(dir_.path(), confd(), "unix://" + socket_path);
  ASSERT_TRUE(Eventually([&] {
    return SampleValue(HttpGet(collector.Url("/metrics")).value_or(""),
                       "expvar_collector_dogstatsd_datagrams_total{result=\"dropped\"}") > 0;
  })) << HttpGet(collector.Url("/metrics")).value_or("");
  DatagramReceiver receiver(socket_path);
  bool arrived = false;
  for (auto deadline = Clock::now() + 6s; !arrived && Clock::now() < deadline;) {
    for (const auto& line : receiver.Receive(500ms)) {
      arrived |= line.rfind("go_expvar.requests:42|g", 0) == 0;
    }
  }
  EXPECT_TRUE(arrived) << collector.process().Stderr();
  EXPECT_TRUE(collector.process().Running());
}

// A file that was good turns invalid and SIGHUP arrives: its targets keep running with the old
// configuration, the error names the file on /status and in the log.
TEST_F(FaultTest, SighupWithABrokenFileKeepsTheOldConfiguration) {
  WriteFile(conf("app.yaml"), Conf({Instance(healthy_.Url(), kRequestsItem)}));
  Collector collector(dir_.path(), confd());
  ASSERT_TRUE(collector.WaitUp(healthy_.Url()));
  WriteFile(conf("app.yaml"), "init_config:\ninstances: [unclosed\n");
  kill(collector.process().pid(), SIGHUP);
  ASSERT_TRUE(Eventually([&] {
    auto status = HttpGet(collector.Url("/status"));
    return Contains(status, "\"errors\":[{\"source\":") && Contains(status, "app.yaml");
  }));
  const int before = healthy_.requests();
  EXPECT_TRUE(Eventually([&] { return healthy_.requests() >= before + 2; }, 5s));
  EXPECT_TRUE(collector.Target(healthy_.Url()).is_object());
  EXPECT_TRUE(Contains(HttpGet(collector.Url("/metrics")), "go_expvar_requests{"));
  const std::string log = collector.process().Stderr();
  bool named = false;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    named |= line.find("app.yaml") != std::string::npos &&
             line.find("keeping its previous configuration") != std::string::npos;
  }
  EXPECT_TRUE(named) << log;
  EXPECT_TRUE(collector.process().Running());
}

// SIGTERM while every scrape hangs (long timeouts): exit status 0 within two seconds.
TEST_F(FaultTest, SigtermDuringHangingScrapesExitsCleanlyWithinTwoSeconds) {
  FaultServer hang_a(Fault::kHang), hang_b(Fault::kHang), trickle(Fault::kTrickle);
  const std::string slow = "    min_collection_interval: 20\n    timeout: 15\n";
  WriteFile(conf("app.yaml"),
            Conf({Instance(hang_a.Url(), slow), Instance(hang_b.Url(), slow),
                  Instance(trickle.Url(), slow), Instance(healthy_.Url(), kRequestsItem)}));
  // The Kubernetes API accepts and never answers, too.
  FaultServer hang_api(Fault::kHang);
  WriteFile(dir_.path() / "token", "t");
  Collector collector(dir_.path(), confd(), "udp://127.0.0.1:9",
                      {"--kube-mode", "node", "--node-name", "n1", "--kube-api", hang_api.Url(""),
                       "--kube-token-file", (dir_.path() / "token").string()});
  ASSERT_TRUE(Eventually(
      [&] {
        return hang_a.requests() >= 1 && hang_b.requests() >= 1 && trickle.requests() >= 1 &&
               healthy_.requests() >= 1 && hang_api.requests() >= 1;
      },
      5s));
  const auto start = Clock::now();
  kill(collector.process().pid(), SIGTERM);
  auto status = collector.process().WaitExit(3s);
  const auto took = Clock::now() - start;
  ASSERT_TRUE(status) << "still running 3 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status)) << "status " << *status << "\n" << collector.process().Stderr();
  if (WIFEXITED(*status)) {
    EXPECT_EQ(WEXITSTATUS(*status), 0) << collector.process().Stderr();
  }
  EXPECT_LT(took, 2s);
}

// --interval below a millisecond used to become a 0 ms interval and crash the daemon with SIGFPE
// (a division by zero on the scrape grid) at the first scrape.
TEST_F(FaultTest, SubMillisecondIntervalDoesNotCrash) {
  WriteFile(conf("app.yaml"), Conf({Instance(healthy_.Url(), kRequestsItem)}));
  int port = FreeLoopbackPort();
  Process collector(
      {EXPVAR_BINARY, "run", "--confd", confd().string(), "--dogstatsd-url", "udp://127.0.0.1:9",
       "--listen", "127.0.0.1:" + std::to_string(port), "--interval", "0.0001"},
      dir_.path());
  const std::string status_url = "http://127.0.0.1:" + std::to_string(port) + "/status";
  ASSERT_TRUE(Eventually([&] { return Contains(HttpGet(status_url), "\"scrapes\":"); }, 10s))
      << collector.Stderr();
  ASSERT_TRUE(Eventually([&] { return healthy_.requests() >= 2; }, 5s)) << collector.Stderr();
  std::this_thread::sleep_for(500ms);
  EXPECT_TRUE(collector.Running()) << collector.Stderr();
}

// The API server answers 500 to everything: the daemon backs off (its default 0.5 s doubling,
// not a hot loop) and keeps scraping its conf.d targets.
TEST_F(FaultTest, FailingKubeApiBacksOffAndStaticTargetsKeepFlowing) {
  discovery::kube::testing::FakeApiServer api;
  api.FailNext(1000000, 500);
  WriteFile(dir_.path() / "token", "test-token");
  WriteFile(conf("app.yaml"), Conf({Instance(healthy_.Url(), kRequestsItem)}));
  Collector collector(dir_.path(), confd(), "udp://127.0.0.1:9",
                      {"--kube-mode", "node", "--node-name", "n1", "--kube-api", api.Url(),
                       "--kube-token-file", (dir_.path() / "token").string()});
  ASSERT_TRUE(collector.WaitUp(healthy_.Url())) << collector.process().Stderr();
  const int before = api.CountRequests([](const auto&) { return true; });
  std::this_thread::sleep_for(4s);
  const int requests = api.CountRequests([](const auto&) { return true; }) - before;
  // Steps 0.5, 1, 2, 4 s with jitter (each at least half itself): at most ~6 in 4 s.
  EXPECT_GE(requests, 1);
  EXPECT_LE(requests, 7);
  EXPECT_TRUE(collector.WaitUp(healthy_.Url()));
  EXPECT_FALSE(HttpGet(collector.Url("/readyz")).has_value()) << "ready without a pod list";
  EXPECT_TRUE(Contains(collector.process().Stderr(), "500"));
}

}  // namespace
}  // namespace expvar::testing
