// Discovery latency: how long from a pod event written by the API server until the collector
// acts on it, with 1,000 annotated pods on the node and pods created and deleted at a steady
// rate.
//
// Everything runs on loopback: the in-test Kubernetes API server (tests/discovery/kube), a
// target server in this process that serves tests/fixtures/goapp_gc300.json on
// /pod/<name> and timestamps the first request of every path and the moment a connection
// closes, and the real `expvar-collector run --kube-mode node` pointed at both. Measured per pod:
// - added:    event -> the target is on /status (the pod set re-resolved and applied);
// - scraped:  event -> its first request reaches the target server (includes the collector's
//             deliberate first-scrape delay, uniform in [0, 1 s));
// - stopped:  delete event -> its keep-alive connection closes (the worker's stop, which
//             forgets its series in the same step);
// - removed:  delete event -> the target is gone from /status.
// /status is polled every --poll-ms, so those two carry that resolution. Writes JSON.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fake_api_server.h"
#include "process.h"

namespace expvar::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using discovery::kube::testing::FakeApiServer;
using namespace std::chrono_literals;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Serves one document on any path and remembers when each path was first requested and when
// connections that served it closed.
class TargetServer {
 public:
  explicit TargetServer(std::string document) : document_(std::move(document)) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TargetServer() {
    io_.stop();
    thread_.join();
  }

  unsigned short port() const { return port_; }
  std::optional<Clock::time_point> FirstRequest(const std::string& path) const {
    std::lock_guard lock(mutex_);
    auto it = first_request_.find(path);
    if (it == first_request_.end()) return std::nullopt;
    return it->second;
  }
  // The first close of a connection that served `path`, at or after `after`.
  std::optional<Clock::time_point> CloseAfter(const std::string& path,
                                              Clock::time_point after) const {
    std::lock_guard lock(mutex_);
    auto it = closes_.find(path);
    if (it == closes_.end()) return std::nullopt;
    for (auto t : it->second) {
      if (t >= after) return t;
    }
    return std::nullopt;
  }
  std::size_t Requests() const { return requests_.load(); }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      tcp::socket socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(io_, Serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    beast::flat_buffer buffer;
    std::string path;
    try {
      for (;;) {
        http::request<http::empty_body> request;
        co_await http::async_read(socket, buffer, request, asio::use_awaitable);
        path = std::string(request.target());
        auto now = Clock::now();
        ++requests_;
        {
          std::lock_guard lock(mutex_);
          first_request_.emplace(path, now);
        }
        http::response<http::string_body> response{http::status::ok, request.version()};
        response.set(http::field::content_type, "application/json");
        response.keep_alive(request.keep_alive());
        response.body() = document_;
        response.prepare_payload();
        co_await http::async_write(socket, response, asio::use_awaitable);
        if (!request.keep_alive()) break;
      }
    } catch (const std::exception&) {
    }
    if (!path.empty()) {
      std::lock_guard lock(mutex_);
      closes_[path].push_back(Clock::now());
    }
  }

  std::string document_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  unsigned short port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, Clock::time_point> first_request_;
  std::map<std::string, std::vector<Clock::time_point>> closes_;
  std::atomic<std::size_t> requests_{0};
};

// A blocking GET on loopback; "" on any error.
std::string Get(unsigned short port, const std::string& target) {
  try {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> request{http::verb::get, target, 11};
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 30);
    http::read(socket, buffer, parser);
    if (parser.get().result() != http::status::ok) return "";
    return std::move(parser.get().body());
  } catch (const std::exception&) {
    return "";
  }
}

// The URLs on /status.
std::set<std::string> StatusUrls(unsigned short admin_port) {
  std::set<std::string> urls;
  std::string body = Get(admin_port, "/status");
  if (body.empty()) return urls;
  boost::system::error_code ec;
  json::value status = json::parse(body, ec);
  if (ec || !status.is_object()) return urls;
  for (const auto& target : status.at("targets").as_array()) {
    urls.emplace(target.at("url").as_string());
  }
  return urls;
}

double CpuSeconds(pid_t pid) {
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long ticks = 0;
  for (int i = 0; i < 13 && fields >> field; ++i) {
    if (i == 11 || i == 12) ticks += std::stol(field);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Options {
  std::string binary;
  std::string document;
  std::string out;
  int pods = 1000;
  double rate = 10;  // pod events (creations + deletions) per second
  double seconds = 60;
  int poll_ms = 100;
};

// Percentiles in milliseconds of a list of durations.
json::object Summary(std::vector<double> ms) {
  json::object o;
  o["count"] = ms.size();
  if (ms.empty()) return o;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * (ms.size() - 1) + 0.5))];
  };
  o["p50_ms"] = at(0.5);
  o["p90_ms"] = at(0.9);
  o["p99_ms"] = at(0.99);
  o["max_ms"] = ms.back();
  o["min_ms"] = ms.front();
  return o;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

json::object AnnotatedPod(const std::string& name, unsigned short port) {
  auto pod = FakeApiServer::MakePod("bench", name, "node-a", "127.0.0.1");
  pod["spec"].as_object()["containers"].as_array()[0].as_object()["ports"] =
      json::array{json::object{{"name", "metrics"}, {"containerPort", port}}};
  pod["metadata"].as_object()["annotations"] = json::object{
      {"ad.datadoghq.com/app.checks",
       R"({"go_expvar": {"instances": [{"expvar_url": "http://%%host%%:%%port_metrics%%/pod/)" +
           name + R"("}]}})"},
      {"ad.datadoghq.com/tags", R"({"team": "bench"})"}};
  return pod;
}

int Run(const Options& options) {
  testing::TempDir dir;
  TargetServer targets(ReadFile(options.document));
  FakeApiServer api;
  std::ofstream(dir.path() / "token") << "test-token";
  auto url_of = [&](const std::string& name) {
    return "http://127.0.0.1:" + std::to_string(targets.port()) + "/pod/" + name;
  };

  std::vector<std::string> live;  // oldest first
  for (int i = 0; i < options.pods; ++i) {
    std::string name = "p-" + std::to_string(i);
    api.AddPod(AnnotatedPod(name, targets.port()));
    live.push_back(name);
  }

  int admin_port = testing::FreeLoopbackPort();
  testing::Process collector(
      {options.binary, "run", "--kube-mode", "node", "--node-name", "node-a", "--kube-api",
       api.Url(), "--kube-token-file", (dir.path() / "token").string(), "--listen",
       "127.0.0.1:" + std::to_string(admin_port), "--dogstatsd-url", "udp://127.0.0.1:9",
       "--interval", "15", "--log-level", "warn"},
      dir.path());
  auto deadline = Clock::now() + 60s;
  while (Clock::now() < deadline) {
    bool all = true;
    for (const auto& name : live) all = all && targets.FirstRequest("/pod/" + name).has_value();
    if (all) break;
    std::this_thread::sleep_for(200ms);
  }
  for (const auto& name : live) {
    if (!targets.FirstRequest("/pod/" + name)) {
      std::cerr << "discovery_latency: " << name << " was never scraped\n"
                << collector.Stderr() << "\n";
      return 1;
    }
  }
  std::cerr << "discovery_latency: " << live.size() << " pods scraped; churning at "
            << options.rate << " events/s for " << options.seconds << " s\n";

  // Poll /status in the background: when each URL appeared and disappeared.
  std::mutex seen_mutex;
  std::map<std::string, Clock::time_point> appeared, disappeared;
  std::set<std::string> watched_removals;
  std::atomic<bool> polling{true};
  std::atomic<int> polls{0};
  std::set<std::string> previous = StatusUrls(admin_port);
  std::thread poller([&] {
    while (polling) {
      auto started = Clock::now();
      std::set<std::string> now_urls = StatusUrls(admin_port);
      auto at = Clock::now();
      ++polls;
      {
        std::lock_guard lock(seen_mutex);
        for (const auto& url : now_urls) {
          if (!previous.count(url)) appeared.emplace(url, at);
        }
        for (const auto& url : previous) {
          if (!now_urls.count(url)) disappeared.emplace(url, at);
        }
      }
      previous = std::move(now_urls);
      std::this_thread::sleep_until(started + std::chrono::milliseconds(options.poll_ms));
    }
  });

  struct Event {
    std::string name;
    Clock::time_point at;
  };
  std::vector<Event> creates, deletes;
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / options.rate));
  const int events = static_cast<int>(options.rate * options.seconds);
  double cpu_before = CpuSeconds(collector.pid());
  auto churn_start = Clock::now();
  auto next = churn_start;
  for (int i = 0; i < events; ++i) {
    std::this_thread::sleep_until(next);
    next += period;
    if (i % 2 == 0) {
      std::string name = "n-" + std::to_string(i / 2);
      auto pod = AnnotatedPod(name, targets.port());
      auto at = Clock::now();
      api.AddPod(std::move(pod));
      creates.push_back({name, at});
      live.push_back(name);
    } else {
      std::string name = live.front();
      live.erase(live.begin());
      auto at = Clock::now();
      api.DeletePod("bench", name);
      deletes.push_back({name, at});
    }
  }
  auto churn_seconds = std::chrono::duration<double>(Clock::now() - churn_start).count();
  double cpu_churn = CpuSeconds(collector.pid()) - cpu_before;
  std::this_thread::sleep_for(3s);  // the last events' first scrapes and removals
  polling = false;
  poller.join();

  std::vector<double> added, scraped, stopped, removed;
  int never_scraped = 0, never_stopped = 0, never_added = 0, never_removed = 0;
  {
    std::lock_guard lock(seen_mutex);
    for (const auto& e : creates) {
      if (auto t = targets.FirstRequest("/pod/" + e.name)) {
        scraped.push_back(Ms(*t - e.at));
      } else {
        ++never_scraped;
      }
      if (auto it = appeared.find(url_of(e.name)); it != appeared.end()) {
        added.push_back(Ms(it->second - e.at));
      } else {
        ++never_added;
      }
    }
    for (const auto& e : deletes) {
      if (auto t = targets.CloseAfter("/pod/" + e.name, e.at)) {
        stopped.push_back(Ms(*t - e.at));
      } else {
        ++never_stopped;
      }
      if (auto it = disappeared.find(url_of(e.name)); it != disappeared.end()) {
        removed.push_back(Ms(it->second - e.at));
      } else {
        ++never_removed;
      }
    }
  }
  // Every deleted pod's series must be gone from /metrics.
  std::string metrics = Get(static_cast<unsigned short>(admin_port), "/metrics");
  int left_on_metrics = 0;
  for (const auto& e : deletes) {
    left_on_metrics += metrics.find("pod_name=\"" + e.name + "\"") != std::string::npos;
  }
  int live_on_metrics = 0;
  for (const auto& name : live) {
    live_on_metrics += metrics.find("pod_name=\"" + name + "\"") != std::string::npos;
  }

  json::object out;
  out["pods"] = options.pods;
  out["events_per_second"] = options.rate;
  out["churn_seconds"] = churn_seconds;
  out["creates"] = creates.size();
  out["deletes"] = deletes.size();
  out["status_poll_ms"] = options.poll_ms;
  out["status_polls"] = polls.load();
  out["collector_cpu_seconds_during_churn"] = cpu_churn;
  out["collector_cpu_ms_per_event"] = 1e3 * cpu_churn / std::max(1, events);
  out["collector_core_fraction_during_churn"] = cpu_churn / churn_seconds;
  out["added"] = Summary(added);
  out["first_scrape"] = Summary(scraped);
  out["stopped"] = Summary(stopped);
  out["removed"] = Summary(removed);
  out["never_added"] = never_added;
  out["never_scraped"] = never_scraped;
  out["never_stopped"] = never_stopped;
  out["never_removed"] = never_removed;
  out["deleted_pods_left_on_metrics"] = left_on_metrics;
  out["live_pods_on_metrics"] = live_on_metrics;
  out["live_pods"] = live.size();
  out["target_requests"] = targets.Requests();
  std::string text = json::serialize(out);
  if (options.out.empty()) {
    std::cout << text << "\n";
  } else {
    std::ofstream(options.out) << text << "\n";
  }
  std::cerr << "discovery_latency: first scrape p50 " << out["first_scrape"].as_object()["p50_ms"]
            << " ms p99 " << out["first_scrape"].as_object()["p99_ms"] << " ms; stopped p99 "
            << out["stopped"].as_object()["p99_ms"] << " ms\n";
  collector.Stop();
  return 0;
}

}  // namespace
}  // namespace expvar::bench

int main(int argc, char** argv) {
  expvar::bench::Options options;
  options.document = std::string(EXPVAR_SOURCE_DIR) + "/tests/fixtures/goapp_gc300.json";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--binary") {
      options.binary = value();
    } else if (arg == "--pods") {
      options.pods = std::stoi(value());
    } else if (arg == "--rate") {
      options.rate = std::stod(value());
    } else if (arg == "--seconds") {
      options.seconds = std::stod(value());
    } else if (arg == "--poll-ms") {
      options.poll_ms = std::stoi(value());
    } else if (arg == "--out") {
      options.out = value();
    } else {
      std::cerr << "usage: discovery_latency --binary PATH [--pods 1000] [--rate EVENTS_PER_S]"
                   " [--seconds 60] [--poll-ms 100] [--out FILE.json]\n";
      return 2;
    }
  }
  if (options.binary.empty()) {
    std::cerr << "discovery_latency: --binary is required\n";
    return 2;
  }
  return expvar::bench::Run(options);
}
