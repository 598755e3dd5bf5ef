#include "sink/dogstatsd.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dogstatsd_test_util.h"

namespace expvar::sink {

using pipeline::ScrapeSnapshot;
using pipeline::SnapshotPtr;

namespace {

namespace asio = boost::asio;
using pipeline::MetricType;
using pipeline::Reading;
using testing::Make;
using testing::Snapshot;
using testing::Split;
using testing::Udp;
using testing::Unix;
using testing::V;
using namespace std::chrono_literals;

// ---- Real sockets (loopback and a temp dir only; every wait is bounded) ----

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dsdtest.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Waits at most `timeout` for a datagram, as sent.
template <typename Socket>
std::optional<std::string> ReceiveRaw(Socket& socket, std::chrono::milliseconds timeout = 2000ms) {
  pollfd fd{socket.native_handle(), POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  std::string buffer(65536, '\0');
  boost::system::error_code ec;
  std::size_t n = socket.receive(asio::buffer(buffer), 0, ec);
  if (ec) return std::nullopt;
  buffer.resize(n);
  return buffer;
}

// `datagram` without its service check lines ("_sc|..."), which every publish adds.
std::string WithoutServiceChecks(const std::string& datagram) {
  std::string kept;
  std::istringstream lines(datagram);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("_sc|")) continue;
    kept += (kept.empty() ? "" : "\n") + line;
  }
  return kept;
}

// Waits at most `timeout` for a datagram with metric lines; returns those lines. The service
// checks have their own test (ServiceCheckFollowsEveryScrape).
template <typename Socket>
std::optional<std::string> Receive(Socket& socket, std::chrono::milliseconds timeout = 2000ms) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto datagram = ReceiveRaw(socket, left);
    if (!datagram) return std::nullopt;
    std::string lines = WithoutServiceChecks(*datagram);
    if (!lines.empty()) return lines;
  }
}

struct UdpReceiver {
  asio::io_context io;
  asio::ip::udp::socket socket{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::uint16_t port() const { return socket.local_endpoint().port(); }
};

struct UnixReceiver {
  explicit UnixReceiver(const std::string& path)
      : socket(io, asio::local::datagram_protocol::endpoint(path)) {}
  asio::io_context io;
  asio::local::datagram_protocol::socket socket;
};

SnapshotPtr Share(ScrapeSnapshot snapshot) {
  return std::make_shared<const ScrapeSnapshot>(std::move(snapshot));
}

SnapshotPtr OneLine(const std::string& name = "m") {
  return Share(Snapshot({Make(name, MetricType::kGauge, 1)}));
}

TEST(DogStatsDSink, UdpReceiverGetsTheLines) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {"env:test"});
  sink.Publish(
      Share(Snapshot({Make("a", MetricType::kGauge, 1, {"t:1"}), Make("b", MetricType::kRate, 0.5),
                      Make("c", MetricType::kMonotonicCounter, 3)},
                     {100, 200})));
  auto datagram = ReceiveRaw(receiver.socket);
  ASSERT_TRUE(datagram);
  // No default readings here, so the histogram comes first (see EncodeLines).
  EXPECT_EQ(WithoutServiceChecks(*datagram),
            "go_expvar.memstats.pause_ns:100:200|h|#expvar_url:http://10.0.0.1:8080/debug/vars,"
            "env:test\n"
            "a:1|g|#t:1,env:test\n"
            "b:0.5|g|#env:test\n"
            "c:3|c|#env:test");
  auto stats = sink.stats();
  EXPECT_EQ(stats.datagrams_sent, 1u);
  EXPECT_EQ(stats.datagrams_dropped, 0u);
  EXPECT_EQ(stats.bytes_sent, datagram->size());
}

TEST(DogStatsDSink, UdpHostnameIsResolvedOnTheExecutor) {
  UdpReceiver receiver;
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });
  {
    DogStatsDSink sink(io.get_executor(), Udp("localhost", receiver.port()), {});
    std::optional<std::string> datagram;
    for (auto deadline = std::chrono::steady_clock::now() + 5s;
         !datagram && std::chrono::steady_clock::now() < deadline;) {
      sink.Publish(OneLine("resolved"));
      datagram = Receive(receiver.socket, 100ms);
    }
    EXPECT_EQ(datagram, "resolved:1|g");
  }
  guard.reset();
  io.stop();
  runner.join();
}

TEST(DogStatsDSink, UnixReceiverGetsTheLinesInDatagramsOfAtMost8192Bytes) {
  TempDir dir;
  UnixReceiver receiver(dir.File("dsd.sock"));
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(dir.File("dsd.sock")), {"env:test"});
  std::vector<Reading> readings;
  for (int i = 0; i < 400; ++i) {
    readings.push_back(Make("go_expvar.custom.metric_" + std::to_string(i), MetricType::kGauge, i,
                            {"expvar_url:http://10.0.0.1:8080/debug/vars"}));
  }
  auto snapshot = Snapshot(readings);
  V expected = EncodeLines(snapshot, {"env:test"}, kUnixDatagramLimit);
  sink.Publish(Share(snapshot));
  V received;
  V datagrams;
  while (received.size() < expected.size()) {
    auto datagram = Receive(receiver.socket);
    ASSERT_TRUE(datagram) << "after " << received.size() << " lines";
    for (auto& line : Split(*datagram, '\n')) received.push_back(line);
    datagrams.push_back(*std::move(datagram));
  }
  EXPECT_EQ(datagrams.size(), sink.stats().datagrams_sent);
  for (std::size_t i = 0; i < datagrams.size(); ++i) {
    EXPECT_LE(datagrams[i].size(), kUnixDatagramLimit);
    // Packed: each datagram but the last is full up to the next line.
    if (i + 1 < datagrams.size()) {
      EXPECT_GT(datagrams[i].size(), kUnixDatagramLimit - 200);
    }
  }
  EXPECT_EQ(received, expected);
  EXPECT_EQ(sink.stats().datagrams_dropped, 0u);
}

TEST(DogStatsDSink, MissingUnixSocketDropsThenReconnectsWhenItAppears) {
  TempDir dir;
  const std::string path = dir.File("dsd.sock");
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(path), {});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NO_THROW(sink.Publish(OneLine()));
  EXPECT_EQ(sink.stats().datagrams_dropped, 1u);
  EXPECT_EQ(sink.stats().datagrams_sent, 0u);

  UnixReceiver receiver(path);
  sink.Publish(OneLine());
  if (std::chrono::steady_clock::now() - start < 500ms) {
    // Within the second after a failure the connection is not retried.
    EXPECT_EQ(sink.stats().datagrams_dropped, 2u);
  }
  std::this_thread::sleep_until(start + 1100ms);
  sink.Publish(OneLine("back"));
  EXPECT_EQ(Receive(receiver.socket), "back:1|g");
  EXPECT_EQ(sink.stats().datagrams_sent, 1u);
}

TEST(DogStatsDSink, ReconnectsAfterTheAgentRecreatesItsSocket) {
  TempDir dir;
  const std::string path = dir.File("dsd.sock");
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(path), {});
  auto first = std::make_unique<UnixReceiver>(path);
  sink.Publish(OneLine("before"));
  EXPECT_EQ(Receive(first->socket), "before:1|g");

  first.reset();  // the agent goes away...
  std::filesystem::remove(path);
  EXPECT_NO_THROW(sink.Publish(OneLine("lost")));
  EXPECT_EQ(sink.stats().datagrams_dropped, 1u);
  const auto failed_at = std::chrono::steady_clock::now();

  UnixReceiver second(path);  // ...and comes back at the same path
  std::this_thread::sleep_until(failed_at + 1100ms);
  sink.Publish(OneLine("after"));
  EXPECT_EQ(Receive(second.socket), "after:1|g");
  EXPECT_EQ(sink.stats().datagrams_sent, 2u);
}

TEST(DogStatsDSink, AFullUnixReceiverDropsWithoutBlocking) {
  TempDir dir;
  UnixReceiver receiver(dir.File("dsd.sock"));  // never reads
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(dir.File("dsd.sock")), {});
  const int kPublishes = 5000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPublishes; ++i) sink.Publish(OneLine());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto stats = sink.stats();
  EXPECT_GT(stats.datagrams_dropped, 0u);
  EXPECT_GT(stats.datagrams_sent, 0u);
  EXPECT_EQ(stats.datagrams_sent + stats.datagrams_dropped, static_cast<std::uint64_t>(kPublishes));
}

TEST(DogStatsDSink, UdpWithoutAListenerNeverThrowsAndCountsEverything) {
  std::uint16_t port;
  {
    UdpReceiver closed;  // take a free port, then free it
    port = closed.port();
  }
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", port), {});
  for (int i = 0; i < 50; ++i) EXPECT_NO_THROW(sink.Publish(OneLine()));
  auto stats = sink.stats();
  EXPECT_EQ(stats.datagrams_sent + stats.datagrams_dropped, 50u);
}

TEST(DogStatsDSink, ConcurrentPublishesAreAllAccounted) {
  TempDir dir;
  UnixReceiver receiver(dir.File("dsd.sock"));
  std::atomic<bool> done{false};
  std::size_t received = 0;
  std::thread reader([&] {
    while (!done) {
      if (Receive(receiver.socket, 20ms)) ++received;
    }
    while (Receive(receiver.socket, 50ms)) ++received;
  });
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(dir.File("dsd.sock")), {"env:test"});
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&sink, t] {
      for (int i = 0; i < 200; ++i) sink.Publish(OneLine("w" + std::to_string(t)));
    });
  }
  for (auto& worker : workers) worker.join();
  done = true;
  reader.join();
  auto stats = sink.stats();
  EXPECT_EQ(stats.datagrams_sent + stats.datagrams_dropped, 1600u);
  EXPECT_EQ(received, stats.datagrams_sent);
}

TEST(DogStatsDSink, TooLongLinesAreDroppedAndCounted) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {});
  sink.Publish(
      Share(Snapshot({Make(std::string(2000, 'n'), MetricType::kGauge, 1),
                      Make("ok", MetricType::kGauge, 2), Make("nan", MetricType::kGauge, NAN)})));
  EXPECT_EQ(Receive(receiver.socket), "ok:2|g");
  auto stats = sink.stats();
  EXPECT_EQ(stats.lines_dropped_too_long, 1u);
  EXPECT_EQ(stats.values_skipped, 1u);
}

TEST(DogStatsDSink, NullSnapshotForgetAndFlushAreHarmless) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {});
  sink.Publish(nullptr);
  sink.Forget("pod/c");
  sink.Flush();
  EXPECT_FALSE(Receive(receiver.socket, 100ms));
  EXPECT_EQ(sink.stats().datagrams_sent, 0u);
}

// Every publish ends with the target's service check: OK after a good scrape, CRITICAL with the
// error as one-line message after a failed one, under the target's tags then the global tags.
TEST(DogStatsDSink, ServiceCheckFollowsEveryScrape) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {"env:test"});
  ScrapeSnapshot good = Snapshot({Make("a", MetricType::kGauge, 1)});
  good.pause_tags = {"expvar_url:http://10.0.0.1:8080/debug/vars", "team:x"};
  sink.Publish(Share(good));
  EXPECT_EQ(ReceiveRaw(receiver.socket),
            "a:1|g|#env:test\n"
            "_sc|go_expvar.can_connect|0|#expvar_url:http://10.0.0.1:8080/debug/vars,team:x,"
            "env:test");
  ScrapeSnapshot failed = good;
  failed.readings.clear();
  failed.health = {false, "fetch failed: refused|reset\nFORGED:1|c", 0.1, std::nullopt};
  sink.Publish(Share(failed));
  EXPECT_EQ(ReceiveRaw(receiver.socket),
            "_sc|go_expvar.can_connect|2|#expvar_url:http://10.0.0.1:8080/debug/vars,team:x,"
            "env:test|m:fetch failed: refused/reset\\nFORGED:1/c");
}

// With a flush interval, the lines of several targets share datagrams, sent by the timer.
TEST(DogStatsDSink, BatchedLinesOfManyTargetsShareFullDatagrams) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {}, 50ms);
  for (int i = 0; i < 3; ++i) sink.Publish(OneLine("t" + std::to_string(i)));
  EXPECT_EQ(sink.stats().datagrams_sent, 0u);  // nothing before the interval ends
  std::thread runner([&io] { io.run_for(300ms); });
  auto datagram = Receive(receiver.socket, 2000ms);
  runner.join();
  EXPECT_EQ(datagram, "t0:1|g\nt1:1|g\nt2:1|g");
  EXPECT_EQ(sink.stats().datagrams_sent, 1u);
}

TEST(DogStatsDSink, FlushSendsTheBatchAtOnce) {
  UdpReceiver receiver;
  asio::io_context io;  // never run: only Flush can send
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {}, 1000ms);
  sink.Publish(OneLine("a"));
  sink.Publish(OneLine("b"));
  EXPECT_FALSE(Receive(receiver.socket, 50ms));
  sink.Flush();
  EXPECT_EQ(Receive(receiver.socket), "a:1|g\nb:1|g");
}

// A batch that reaches its bound is sent by the publisher, with sendmmsg, not held in memory.
TEST(DogStatsDSink, AFullBatchIsSentWithoutWaitingForTheTimer) {
  TempDir dir;
  UnixReceiver receiver(dir.File("dsd.sock"));
  asio::io_context io;  // never run
  DogStatsDSink sink(io.get_executor(), Unix(dir.File("dsd.sock")), {}, 1000ms);
  const std::string name(5000, 'n');  // a line fills an 8192-byte datagram
  for (std::size_t i = 0; i < DogStatsDSink::kMaxBatchedDatagrams; ++i) {
    sink.Publish(OneLine(name + std::to_string(i % 10)));
  }
  auto stats = sink.stats();
  EXPECT_GE(stats.datagrams_sent + stats.datagrams_dropped, DogStatsDSink::kMaxBatchedDatagrams);
  auto first = Receive(receiver.socket);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->substr(0, 10), "nnnnnnnnnn");
}

}  // namespace
}  // namespace expvar::sink
