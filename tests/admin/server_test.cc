#include "admin/server.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "admin/self_metrics.h"
#include "sink/prometheus.h"
#include "support/gunzip.h"

namespace expvar::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);
constexpr auto kClientTimeout = 5s;

struct Reply {
  int status = 0;
  std::string content_type;
  std::string allow;
  std::string retry_after;
  std::string content_encoding;
  std::string vary;
  std::string body;
  bool keep_alive = false;
  std::string error;  // set when the exchange failed at the transport level
};

http::request<http::string_body> Get(const std::string& target,
                                     http::verb method = http::verb::get) {
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "127.0.0.1");
  request.prepare_payload();
  return request;
}

Reply Failure(std::string error) {
  Reply reply;
  reply.error = std::move(error);
  return reply;
}

Reply ToReply(const http::response<http::string_body>& response) {
  Reply reply;
  reply.status = static_cast<int>(response.result_int());
  reply.content_type = std::string(response[http::field::content_type]);
  reply.allow = std::string(response[http::field::allow]);
  reply.retry_after = std::string(response[http::field::retry_after]);
  reply.content_encoding = std::string(response[http::field::content_encoding]);
  reply.vary = std::string(response[http::field::vary]);
  reply.body = response.body();
  reply.keep_alive = response.keep_alive();
  return reply;
}

// Sends the requests one after the other on one connection and reads each response.
asio::awaitable<void> Exchange(std::uint16_t port,
                               std::vector<http::request<http::string_body>> requests,
                               std::vector<Reply>& replies) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(kClientTimeout);
  auto [connect_ec] = co_await stream.async_connect(
      tcp::endpoint(asio::ip::address_v4::loopback(), port), kAwaitTuple);
  if (connect_ec) {
    replies.push_back(Failure(connect_ec.message()));
    co_return;
  }
  beast::flat_buffer buffer;
  for (auto& request : requests) {
    stream.expires_after(kClientTimeout);
    auto [write_ec, written] = co_await http::async_write(stream, request, kAwaitTuple);
    http::response<http::string_body> response;
    auto [read_ec, read] = co_await http::async_read(stream, buffer, response, kAwaitTuple);
    if (write_ec || read_ec) {
      replies.push_back(Failure((write_ec ? write_ec : read_ec).message()));
      co_return;
    }
    replies.push_back(ToReply(response));
  }
}

std::vector<Reply> Send(std::uint16_t port,
                        std::vector<http::request<http::string_body>> requests) {
  asio::io_context io;
  std::vector<Reply> replies;
  asio::co_spawn(io, Exchange(port, std::move(requests), replies), asio::detached);
  io.run_for(2 * kClientTimeout);
  return replies;
}

Reply Send(std::uint16_t port, http::request<http::string_body> request) {
  auto replies = Send(port, std::vector{std::move(request)});
  return replies.empty() ? Failure("no reply") : replies.front();
}

// GET over TLS, trusting only ca_file; Failure() when the handshake or exchange fails.
asio::awaitable<void> TlsExchange(std::uint16_t port, std::string target, std::string ca_file,
                                  Reply& reply) {
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(ca_file);
  context.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(co_await asio::this_coro::executor, context);
  beast::get_lowest_layer(stream).expires_after(kClientTimeout);
  auto [connect_ec] = co_await beast::get_lowest_layer(stream).async_connect(
      tcp::endpoint(asio::ip::address_v4::loopback(), port), kAwaitTuple);
  if (connect_ec) {
    reply = Failure(connect_ec.message());
    co_return;
  }
  auto [handshake_ec] =
      co_await stream.async_handshake(asio::ssl::stream_base::client, kAwaitTuple);
  if (handshake_ec) {
    reply = Failure("handshake: " + handshake_ec.message());
    co_return;
  }
  auto request = Get(target);
  auto [write_ec, written] = co_await http::async_write(stream, request, kAwaitTuple);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  auto [read_ec, read] = co_await http::async_read(stream, buffer, response, kAwaitTuple);
  reply =
      write_ec || read_ec ? Failure((write_ec ? write_ec : read_ec).message()) : ToReply(response);
}

Reply TlsGet(std::uint16_t port, const std::string& target, const std::string& ca_file) {
  asio::io_context io;
  Reply reply = Failure("no reply");
  asio::co_spawn(io, TlsExchange(port, target, ca_file, reply), asio::detached);
  io.run_for(2 * kClientTimeout);
  return reply;
}

// A self-signed certificate for 127.0.0.1, made by the openssl command line in a fresh dir.
struct Certificate {
  std::filesystem::path dir;
  std::string cert;
  std::string key;
};

Certificate MakeCertificate() {
  Certificate c;
  c.dir = std::filesystem::temp_directory_path() /
          ("admin_tls_" + std::to_string(::getpid()) + "_" +
           std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(c.dir);
  c.cert = (c.dir / "tls.crt").string();
  c.key = (c.dir / "tls.key").string();
  std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      c.key + " -out " + c.cert + " >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("openssl req failed");
  return c;
}

struct RawResult {
  std::string data;      // everything the server sent until it closed the connection
  beast::error_code ec;  // eof when the server closed it
  std::chrono::milliseconds elapsed{0};
};

asio::awaitable<void> RawExchange(std::uint16_t port, std::string bytes, bool hang_up,
                                  RawResult& result) {
  beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(kClientTimeout);
  auto [connect_ec] = co_await stream.async_connect(
      tcp::endpoint(asio::ip::address_v4::loopback(), port), kAwaitTuple);
  if (connect_ec) {
    result.ec = connect_ec;
    co_return;
  }
  if (!bytes.empty()) {
    auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(bytes), kAwaitTuple);
    if (write_ec) {
      result.ec = write_ec;
      co_return;
    }
  }
  beast::error_code ignored;
  if (hang_up) stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> chunk;
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(chunk), kAwaitTuple);
    result.data.append(chunk.data(), n);
    if (ec) {
      result.ec = ec;
      co_return;
    }
  }
}

// Writes raw bytes (then half-closes when `hang_up`) and reads until the server closes the
// connection or the client times out.
RawResult SendRaw(std::uint16_t port, std::string bytes, bool hang_up = false) {
  asio::io_context io;
  RawResult result;
  auto start = std::chrono::steady_clock::now();
  asio::co_spawn(io, RawExchange(port, std::move(bytes), hang_up, result), asio::detached);
  io.run_for(2 * kClientTimeout);
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return result;
}

pipeline::SnapshotPtr SampleSnapshot() {
  auto snapshot = std::make_shared<pipeline::ScrapeSnapshot>();
  snapshot->target_id = "default/goapp/app";
  snapshot->url = "http://10.0.0.7:8080/debug/vars";
  snapshot->metric_namespace = "go_expvar";
  const std::vector<std::string> tags = {"kube_namespace:default", "expvar_url:" + snapshot->url};
  pipeline::Reading heap;
  heap.key = pipeline::MakeSeriesKey("go_expvar.memstats.heap_alloc", tags, "memstats.HeapAlloc");
  heap.type = pipeline::MetricType::kGauge;
  heap.raw = 4096;
  heap.report = 4096;
  heap.is_default = true;
  pipeline::Reading requests = heap;
  requests.key = pipeline::MakeSeriesKey("go_expvar.requests", tags, "requests");
  requests.type = pipeline::MetricType::kRate;
  requests.raw = 51;
  requests.report.reset();
  requests.is_default = false;
  snapshot->readings = {heap, requests};
  snapshot->pause_tags = tags;
  snapshot->pauses_ns = {30000, 120000};
  return snapshot;
}

bool Contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<Server>(
        io_, options, common::ExpositionSources{metrics_.Exposition(), sink_}, [this] {
          if (status_json_.empty()) throw std::runtime_error("status unavailable");
          return status_json_;
        });
    server_->Start();
    port_ = server_->BoundPort();
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (server_) server_->Stop();
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
  SelfMetrics metrics_{"1.2.3-test"};
  std::shared_ptr<sink::PrometheusSink> sink_ = std::make_shared<sink::PrometheusSink>();
  std::string status_json_ = R"({"targets":[{"url":"http://10.0.0.7:8080/debug/vars"}]})";
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(ParseListenAddressTest, AcceptsIpv4Ipv6AndBarePort) {
  auto v4 = ParseListenAddress("127.0.0.1:8080");
  EXPECT_EQ(v4.address().to_string(), "127.0.0.1");
  EXPECT_EQ(v4.port(), 8080);
  auto v6 = ParseListenAddress("[::1]:9145");
  EXPECT_TRUE(v6.address().is_v6());
  EXPECT_EQ(v6.address().to_string(), "::1");
  EXPECT_EQ(ParseListenAddress("[::]:0").port(), 0);
  EXPECT_EQ(ParseListenAddress(":9145").address().to_string(), "0.0.0.0");
  EXPECT_EQ(ParseListenAddress("0.0.0.0:9145").port(), 9145);
  EXPECT_EQ(ParseListenAddress("localhost:65535").address().to_string(), "127.0.0.1");
}

TEST(ParseListenAddressTest, RejectsMalformedAddresses) {
  for (const char* bad :
       {"9145", "", "::1:9145", "[::1]9145", "[::1:9145", "127.0.0.1:", "127.0.0.1:65536",
        "127.0.0.1:-1", "127.0.0.1:80x", "example.com:80", "[127.0.0.1]:80", "300.0.0.1:80"}) {
    EXPECT_THROW(ParseListenAddress(bad), std::invalid_argument) << bad;
  }
}

TEST_F(ServerTest, HealthzIsOk) {
  StartServer();
  Reply reply = Send(port_, Get("/healthz"));
  EXPECT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.body, "ok");
  EXPECT_EQ(reply.content_type, "text/plain; charset=utf-8");
}

TEST_F(ServerTest, ReadyzIs503UntilSetReady) {
  StartServer();
  Reply before = Send(port_, Get("/readyz"));
  EXPECT_EQ(before.status, 503) << before.error;
  EXPECT_EQ(before.body, "not ready");
  server_->SetReady(true);
  EXPECT_TRUE(server_->Ready());
  Reply after = Send(port_, Get("/readyz"));
  EXPECT_EQ(after.status, 200) << after.error;
  EXPECT_EQ(after.body, "ready");
  server_->SetReady(false);
  EXPECT_EQ(Send(port_, Get("/readyz")).status, 503);
}

TEST_F(ServerTest, StatusServesTheProvidersJson) {
  StartServer();
  Reply reply = Send(port_, Get("/status"));
  EXPECT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.content_type, "application/json");
  EXPECT_EQ(reply.body, status_json_);
}

TEST_F(ServerTest, StatusProviderFailureIs500AndServerKeepsServing) {
  status_json_.clear();  // makes the provider throw
  StartServer();
  EXPECT_EQ(Send(port_, Get("/status")).status, 500);
  EXPECT_EQ(Send(port_, Get("/healthz")).status, 200);
}

TEST_F(ServerTest, MetricsHasSelfMetricsAndPublishedSeries) {
  metrics_.Targets().Set(1);
  metrics_.Scrapes(ScrapeResult::kFetchError).Increment();
  metrics_.ScrapeDuration().Observe(0.003);
  sink_->Publish(SampleSnapshot());
  StartServer();
  Reply reply = Send(port_, Get("/metrics"));
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = reply.body;
  EXPECT_TRUE(Contains(text, "\nexpvar_collector_targets 1\n")) << text;
  EXPECT_TRUE(Contains(text, "expvar_collector_scrapes_total{result=\"ok\"} 0\n"));
  EXPECT_TRUE(Contains(text, "expvar_collector_scrapes_total{result=\"fetch_error\"} 1\n"));
  EXPECT_TRUE(Contains(text, "expvar_collector_scrapes_total{result=\"parse_error\"} 0\n"));
  EXPECT_TRUE(Contains(text, "expvar_collector_scrape_duration_seconds_count 1\n"));
  EXPECT_TRUE(
      Contains(text, "expvar_collector_series_dropped_total{reason=\"max_returned_metrics\"} 0\n"));
  EXPECT_TRUE(Contains(text, "expvar_collector_build_info{version=\"1.2.3-test\"} 1\n"));
  for (const char* name :
       {"expvar_collector_scraped_bytes_total", "expvar_collector_series_emitted_total",
        "expvar_collector_late_ticks_total"}) {
    EXPECT_TRUE(Contains(text, "\n" + std::string(name) + " 0\n")) << name;
  }
  const std::string labels =
      R"({kube_namespace="default",expvar_url="http://10.0.0.7:8080/debug/vars")";
  EXPECT_TRUE(Contains(text, "go_expvar_memstats_heap_alloc_bytes" + labels + "} 4096\n"));
  EXPECT_TRUE(Contains(text, "go_expvar_requests_total" + labels + "} 51\n"));
  EXPECT_TRUE(Contains(text, "go_expvar_memstats_gc_pause_seconds_count" + labels + "} 2\n"));

  // A forgotten target is gone from the next scrape.
  sink_->Forget("default/goapp/app");
  Reply after = Send(port_, Get("/metrics"));
  EXPECT_FALSE(Contains(after.body, "go_expvar_")) << after.body;
  EXPECT_TRUE(Contains(after.body, "expvar_collector_targets"));
}

std::string Promtool(const std::string& text, int* exit_code) {
  auto path = std::filesystem::temp_directory_path() /
              ("expvar_admin_test_" + std::to_string(getpid()) + ".prom");
  std::ofstream(path) << text;
  std::string command = "promtool check metrics < '" + path.string() + "' 2>&1";
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    std::array<char, 4096> chunk;
    while (std::size_t n = fread(chunk.data(), 1, chunk.size(), pipe)) {
      output.append(chunk.data(), n);
    }
    int status = pclose(pipe);
    *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::filesystem::remove(path);
  return output;
}

TEST_F(ServerTest, MetricsPassPromtool) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool is not installed";
  }
  metrics_.ScrapeDuration().Observe(0.02);
  sink_->Publish(SampleSnapshot());
  StartServer();
  Reply reply = Send(port_, Get("/metrics"));
  ASSERT_EQ(reply.status, 200) << reply.error;
  int exit_code = -1;
  std::string output = Promtool(reply.body, &exit_code);
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_EQ(output, "") << reply.body;
}

// Prometheus sends "Accept-Encoding: gzip"; the same exposition then arrives compressed.
TEST_F(ServerTest, MetricsAreGzippedWhenTheClientAsks) {
  sink_->Publish(SampleSnapshot());
  StartServer();
  Reply plain = Send(port_, Get("/metrics"));
  ASSERT_EQ(plain.status, 200) << plain.error;
  EXPECT_EQ(plain.content_encoding, "");
  EXPECT_EQ(plain.vary, "Accept-Encoding");

  auto request = Get("/metrics");
  request.set(http::field::accept_encoding, "gzip, deflate, br");
  Reply gzipped = Send(port_, request);
  ASSERT_EQ(gzipped.status, 200) << gzipped.error;
  EXPECT_EQ(gzipped.content_encoding, "gzip");
  EXPECT_EQ(gzipped.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_LT(gzipped.body.size(), plain.body.size());
  EXPECT_EQ(testing::Gunzip(gzipped.body), plain.body);

  request.set(http::field::accept_encoding, "gzip;q=0, identity");
  Reply refused = Send(port_, request);
  EXPECT_EQ(refused.content_encoding, "");
  EXPECT_EQ(refused.body, plain.body);
}

TEST_F(ServerTest, ExpiredCollectableIsSkipped) {
  StartServer();
  sink_->Publish(SampleSnapshot());
  sink_.reset();  // the server only held a weak_ptr
  Reply reply = Send(port_, Get("/metrics"));
  EXPECT_EQ(reply.status, 200) << reply.error;
  EXPECT_TRUE(Contains(reply.body, "expvar_collector_build_info"));
  EXPECT_FALSE(Contains(reply.body, "go_expvar_"));
}

TEST_F(ServerTest, UnknownPathIs404AndQueryIsIgnored) {
  StartServer();
  EXPECT_EQ(Send(port_, Get("/nope")).status, 404);
  EXPECT_EQ(Send(port_, Get("/")).status, 404);
  EXPECT_EQ(Send(port_, Get("/healthz/extra")).status, 404);
  EXPECT_EQ(Send(port_, Get("/healthz?verbose=1")).status, 200);
}

TEST_F(ServerTest, NonGetIs405) {
  StartServer();
  for (auto method : {http::verb::post, http::verb::put, http::verb::delete_, http::verb::head}) {
    Reply reply = Send(port_, Get("/metrics", method));
    EXPECT_EQ(reply.status, 405) << http::to_string(method) << " " << reply.error;
    EXPECT_EQ(reply.allow, "GET");
  }
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  StartServer();
  server_->SetReady(true);
  auto replies = Send(port_, {Get("/healthz"), Get("/nope"), Get("/readyz"), Get("/metrics")});
  ASSERT_EQ(replies.size(), 4u) << replies.back().error;
  EXPECT_EQ(replies[0].status, 200);
  EXPECT_EQ(replies[1].status, 404);
  EXPECT_EQ(replies[2].status, 200);
  EXPECT_EQ(replies[3].status, 200);
  for (const auto& reply : replies) EXPECT_TRUE(reply.keep_alive);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawResult result = SendRaw(port_,
                             "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(result.ec, asio::error::eof) << result.ec.message();
  auto first = result.data.find("HTTP/1.1 200 OK");
  auto second = result.data.find("HTTP/1.1 404 Not Found");
  ASSERT_NE(first, std::string::npos) << result.data;
  ASSERT_NE(second, std::string::npos) << result.data;
  EXPECT_LT(first, second);
}

TEST_F(ServerTest, Http10RequestIsAnsweredAndClosed) {
  StartServer();
  RawResult result = SendRaw(port_, "GET /healthz HTTP/1.0\r\n\r\n");
  EXPECT_EQ(result.ec, asio::error::eof) << result.ec.message();
  EXPECT_TRUE(result.data.starts_with("HTTP/1.0 200 OK\r\n")) << result.data;
  EXPECT_TRUE(result.data.ends_with("\r\n\r\nok")) << result.data;
}

TEST_F(ServerTest, MalformedRequestsGet400AndTheServerKeepsServing) {
  StartServer();
  for (std::string garbage : {std::string("HELLO\r\n\r\n"), std::string("GET / HTTP/9.9\r\n\r\n"),
                              std::string("GET /healthz HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
                              std::string("\x00\x01\x02\xff\r\n\r\n", 8),
                              std::string("GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n")}) {
    RawResult result = SendRaw(port_, garbage);
    EXPECT_TRUE(result.data.starts_with("HTTP/1.1 400 Bad Request\r\n")) << result.data;
    EXPECT_EQ(result.ec, asio::error::eof) << result.ec.message();
  }
  // A client that hangs up half-way through a request gets no answer, and no crash.
  RawResult partial = SendRaw(port_, "GET /metr", /*hang_up=*/true);
  EXPECT_EQ(partial.data, "");
  EXPECT_EQ(partial.ec, asio::error::eof) << partial.ec.message();
  EXPECT_LT(partial.elapsed, 3s);
  EXPECT_EQ(Send(port_, Get("/healthz")).status, 200);
}

TEST_F(ServerTest, OversizedBodyIs413) {
  StartServer();
  auto request = Get("/status", http::verb::post);
  request.body() = std::string(20 * 1024, 'x');
  request.prepare_payload();
  std::ostringstream raw;
  raw << request;
  RawResult result = SendRaw(port_, raw.str());
  EXPECT_TRUE(result.data.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << result.data;
  EXPECT_EQ(Send(port_, Get("/healthz")).status, 200);
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  StartServer();
  RawResult result =
      SendRaw(port_, "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
  EXPECT_TRUE(result.data.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
      << result.data.substr(0, 200) << " / " << result.ec.message();
  EXPECT_EQ(Send(port_, Get("/healthz")).status, 200);
}

TEST_F(ServerTest, IdleConnectionIsClosedAfterTheReadTimeout) {
  ServerOptions options;
  options.read_timeout = 200ms;
  StartServer(options);
  RawResult idle = SendRaw(port_, "");
  EXPECT_EQ(idle.data, "");
  EXPECT_EQ(idle.ec, asio::error::eof) << idle.ec.message();
  EXPECT_LT(idle.elapsed, 3s);
  // A request that never finishes is cut off the same way.
  RawResult slow = SendRaw(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  EXPECT_NE(slow.ec, beast::error::timeout) << "the client timed out first";
  EXPECT_LT(slow.elapsed, 3s);
}

// Clients holding every connection open must not lock out the kubelet's probes: a new
// connection closes the one that has waited longest for a request.
TEST_F(ServerTest, ProbesAnswerWhileEveryConnectionIsHeldIdle) {
  ServerOptions options;
  options.max_connections = 64;
  StartServer(options);
  asio::io_context io;
  std::vector<asio::ip::tcp::socket> idle;
  for (std::size_t i = 0; i < options.max_connections; ++i) {
    idle.emplace_back(io).connect({asio::ip::make_address("127.0.0.1"), port_});
  }
  std::this_thread::sleep_for(100ms);  // the server has accepted them all
  for (const char* path : {"/healthz", "/readyz"}) {
    auto start = std::chrono::steady_clock::now();
    Reply reply = Send(port_, Get(path));
    EXPECT_NE(reply.status, 0) << path << ": " << reply.error;
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << path;
  }
}

TEST_F(ServerTest, StopClosesThePortPromptly) {
  StartServer();
  ASSERT_EQ(Send(port_, Get("/healthz")).status, 200);
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  RawResult result = SendRaw(port_, "GET /healthz HTTP/1.1\r\n\r\n");
  EXPECT_EQ(result.ec, asio::error::connection_refused) << result.ec.message();
  server_->Stop();  // idempotent
}

TEST_F(ServerTest, StopClosesIdleKeepAliveConnections) {
  StartServer();
  RawResult idle;
  std::thread client([&] { idle = SendRaw(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); });
  std::this_thread::sleep_for(200ms);  // the request is answered, the connection stays open
  server_->Stop();
  client.join();
  EXPECT_TRUE(idle.data.starts_with("HTTP/1.1 200 OK")) << idle.data;
  EXPECT_EQ(idle.ec, asio::error::eof) << idle.ec.message();
  EXPECT_LT(idle.elapsed, 3s);
}

TEST_F(ServerTest, BindingAPortInUseThrows) {
  StartServer();
  ServerOptions options;
  options.listen = "127.0.0.1:" + std::to_string(port_);
  Server second(io_, options, {}, nullptr);
  EXPECT_THROW(second.Start(), boost::system::system_error);
}

TEST_F(ServerTest, MalformedListenAddressThrows) {
  ServerOptions options;
  options.listen = "nonsense";
  Server server(io_, options, {}, nullptr);
  EXPECT_THROW(server.Start(), std::invalid_argument);
}

TEST_F(ServerTest, TlsServesEveryRouteAndPlainHttpGetsNoAnswer) {
  Certificate certificate = MakeCertificate();
  ServerOptions options;
  options.web.tls.emplace();
  options.web.tls->cert_file = certificate.cert;
  options.web.tls->key_file = certificate.key;
  StartServer(options);
  for (const char* path : {"/healthz", "/metrics", "/status"}) {
    Reply reply = TlsGet(port_, path, certificate.cert);
    EXPECT_EQ(reply.status, 200) << path << ": " << reply.error;
  }
  Reply plain = Send(port_, Get("/healthz"));
  EXPECT_EQ(plain.status, 0);
  EXPECT_FALSE(plain.error.empty());
  // The server survives the failed handshake.
  EXPECT_EQ(TlsGet(port_, "/healthz", certificate.cert).status, 200);
  std::filesystem::remove_all(certificate.dir);
}

TEST_F(ServerTest, AnUnusableCertificateFailsStartNamingTheFile) {
  Certificate certificate = MakeCertificate();
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.web.tls.emplace();
  options.web.tls->cert_file = certificate.key;
  options.web.tls->key_file = certificate.key;
  Server server(io_, options, {}, nullptr);
  try {
    server.Start();
    ADD_FAILURE() << "started with a key as its certificate";
  } catch (const WebConfigError& e) {
    EXPECT_TRUE(Contains(e.what(), "tls_server_config.cert_file")) << e.what();
    EXPECT_TRUE(Contains(e.what(), certificate.key)) << e.what();
  }
  std::filesystem::remove_all(certificate.dir);
}

TEST_F(ServerTest, BasicAuthGuardsMetricsAndStatusButNotTheProbes) {
  ServerOptions options;
  // `htpasswd -nbB prometheus 's3cret:pa55'`
  options.web.basic_auth_users = {
      {"prometheus", "$2y$05$xbjvYAmiLFuv7IXgAdv0cOwySfu/wHaKhDZzGUZav1cc0JbN6HAT6"}};
  StartServer(options);
  server_->SetReady(true);
  for (const char* path : {"/metrics", "/status"}) {
    Reply anonymous = Send(port_, Get(path));
    EXPECT_EQ(anonymous.status, 401) << path;
    auto wrong = Get(path);
    wrong.set(http::field::authorization, "Basic cHJvbWV0aGV1czpzM2NyZXQ=");
    EXPECT_EQ(Send(port_, wrong).status, 401) << path;
    auto right = Get(path);
    right.set(http::field::authorization, "Basic cHJvbWV0aGV1czpzM2NyZXQ6cGE1NQ==");
    EXPECT_EQ(Send(port_, right).status, 200) << path;
  }
  EXPECT_EQ(Send(port_, Get("/healthz")).status, 200);
  EXPECT_EQ(Send(port_, Get("/readyz")).status, 200);
}

TEST_F(ServerTest, CredentialChecksBeyondTheBcryptBudgetGet429AndTheProbesStillAnswer) {
  ServerOptions options;
  options.web.basic_auth_users = {
      {"prometheus", "$2y$05$xbjvYAmiLFuv7IXgAdv0cOwySfu/wHaKhDZzGUZav1cc0JbN6HAT6"}};
  // The first bcrypt check overdraws the budget, which then takes weeks to refill.
  options.bcrypt_budget = {.per_second = 1ns, .burst = 1ns};
  StartServer(options);
  server_->SetReady(true);
  auto wrong = Get("/metrics");
  wrong.set(http::field::authorization, "Basic cHJvbWV0aGV1czpzM2NyZXQ=");
  EXPECT_EQ(Send(port_, wrong).status, 401);
  Reply throttled = Send(port_, wrong);
  EXPECT_EQ(throttled.status, 429) << throttled.body;
  EXPECT_EQ(throttled.retry_after, "1");
  EXPECT_EQ(Send(port_, Get("/metrics")).status, 401);  // no credentials: nothing to check
  EXPECT_EQ(Send(port_, Get("/healthz")).status, 200);
  EXPECT_EQ(Send(port_, Get("/readyz")).status, 200);
}

TEST(ServerIpv6Test, ListensOnIpv6Loopback) {
  asio::io_context io;
  ServerOptions options;
  options.listen = "[::1]:0";
  Server server(io, options, {}, [] { return std::string("{}"); });
  try {
    server.Start();
  } catch (const boost::system::system_error& e) {
    GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
  }
  std::thread runner([&] { io.run_for(5s); });
  RawResult result;
  {
    asio::io_context client_io;
    asio::co_spawn(
        client_io,
        [&]() -> asio::awaitable<void> {
          tcp::socket socket(client_io);
          auto [ec] = co_await socket.async_connect(
              tcp::endpoint(asio::ip::address_v6::loopback(), server.BoundPort()), kAwaitTuple);
          if (ec) {
            result.ec = ec;
            co_return;
          }
          std::string request = "GET /status HTTP/1.0\r\n\r\n";
          co_await asio::async_write(socket, asio::buffer(request), kAwaitTuple);
          std::array<char, 1024> chunk;
          for (;;) {
            auto [read_ec, n] = co_await socket.async_read_some(asio::buffer(chunk), kAwaitTuple);
            result.data.append(chunk.data(), n);
            if (read_ec) co_return;
          }
        },
        asio::detached);
    client_io.run_for(5s);
  }
  server.Stop();
  io.stop();
  runner.join();
  EXPECT_TRUE(result.data.starts_with("HTTP/1.0 200 OK")) << result.ec.message();
  EXPECT_TRUE(result.data.ends_with("{}"));
}

TEST(SelfMetricsTest, AccessorsUpdateTheRegistry) {
  SelfMetrics metrics("v9");
  metrics.Scrapes(ScrapeResult::kOk).Increment(3);
  metrics.Scrapes(ScrapeResult::kParseError).Increment();
  metrics.ScrapedBytes().Increment(1024);
  metrics.SeriesEmitted().Increment(20);
  metrics.SeriesDroppedMaxReturned().Increment(2);
  metrics.LateTicks().Increment();
  metrics.ConfigErrors("annotation").Increment();
  metrics.Targets().Set(7);
  std::string text = prometheus::TextSerializer().Serialize(metrics.Registry()->Collect());
  for (const char* line :
       {"expvar_collector_scrapes_total{result=\"ok\"} 3",
        "expvar_collector_scrapes_total{result=\"parse_error\"} 1",
        "expvar_collector_scraped_bytes_total 1024", "expvar_collector_series_emitted_total 20",
        "expvar_collector_series_dropped_total{reason=\"max_returned_metrics\"} 2",
        "expvar_collector_late_ticks_total 1",
        "expvar_collector_config_errors_total{source=\"annotation\"} 1",
        "expvar_collector_config_errors_total{source=\"confd\"} 0", "expvar_collector_targets 7",
        "expvar_collector_build_info{version=\"v9\"} 1"}) {
    EXPECT_TRUE(Contains(text, "\n" + std::string(line) + "\n")) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace expvar::admin
