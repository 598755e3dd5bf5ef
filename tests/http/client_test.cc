#include "http/client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "http/client_detail.h"
#include "test_server.h"

namespace expvar::http {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::TempDir;
using testing::TestReply;
using testing::TestRequest;
using testing::TestServer;
using testing::TlsFiles;

constexpr char kJson[] = R"({"memstats": {"Alloc": 1234}, "cmdline": ["app"]})";

Url MustParse(const std::string& text) {
  std::string error;
  auto url = ParseUrl(text, &error);
  EXPECT_TRUE(url.has_value()) << text << ": " << error;
  return url.value_or(Url{});
}

ClientOptions ShortTimeout() {
  ClientOptions options;
  options.timeout = 5s;
  return options;
}

// Runs `count` Get() calls on one Client inside a coroutine, pausing between them; every wait is
// bounded by the client timeout and by run_for().
std::vector<FetchResult> FetchSeveral(const std::string& url, ClientOptions options, int count,
                                      std::chrono::milliseconds pause = 0ms,
                                      bool close_between = false) {
  asio::io_context io;
  std::vector<FetchResult> results;
  {
    Client client(io.get_executor(), MustParse(url), std::move(options));
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < count; ++i) {
            if (i > 0 && close_between) client.Close();
            if (i > 0 && pause > 0ms) {
              asio::steady_timer timer(io, pause);
              co_await timer.async_wait(asio::use_awaitable);
            }
            results.push_back(co_await client.Get());
          }
        },
        asio::detached);
    io.run_for(20s);
  }
  return results;
}

FetchResult FetchOne(const std::string& url, ClientOptions options = ShortTimeout()) {
  auto results = FetchSeveral(url, std::move(options), 1);
  if (results.empty()) return FetchResult{};
  return std::move(results.front());
}

TestReply Ok(std::string body = kJson) {
  TestReply reply;
  reply.body = std::move(body);
  reply.headers = {{"Content-Type", "application/json"}};
  return reply;
}

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(ClientDetailTest, Base64MatchesRfc4648) {
  EXPECT_EQ(detail::Base64(""), "");
  EXPECT_EQ(detail::Base64("f"), "Zg==");
  EXPECT_EQ(detail::Base64("fo"), "Zm8=");
  EXPECT_EQ(detail::Base64("foo"), "Zm9v");
  EXPECT_EQ(detail::Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(detail::Base64("\xff\xfe"), "//4=");
}

TEST(ClientDetailTest, ResolveLocation) {
  const Url base = MustParse("http://u:p@h:8/a/b?q=1");
  struct Case {
    std::string location;
    std::string resolved;  // ToString() of the result, "" when invalid
  };
  for (const Case& c : std::vector<Case>{
           {"/x?y=2", "http://h:8/x?y=2"},
           {"c", "http://h:8/a/c"},
           {"c/d?e", "http://h:8/a/c/d?e"},
           {"?z", "http://h:8/a/b?z"},
           {"/x#frag", "http://h:8/x"},
           {"//other:9/p", "http://other:9/p"},
           {"https://h:8/s", "https://h:8/s"},
           {"HTTP://H:8/upper", "http://H:8/upper"},
           {"/has space", ""},
           {"ftp://h/", ""},
       }) {
    const auto next = detail::ResolveLocation(base, "/a/b?q=1", c.location);
    EXPECT_EQ(next ? next->ToString() : "", c.resolved) << c.location;
  }
}

TEST(ClientDetailTest, SameOriginComparesSchemeHostCaseInsensitivelyAndEffectivePort) {
  const Url base = MustParse("http://Host:80/");
  EXPECT_TRUE(detail::SameOrigin(base, MustParse("http://host/x")));
  EXPECT_FALSE(detail::SameOrigin(base, MustParse("https://host:80/")));
  EXPECT_FALSE(detail::SameOrigin(base, MustParse("http://host:81/")));
  EXPECT_FALSE(detail::SameOrigin(base, MustParse("http://host2/")));
}

TEST(ClientTest, Returns200BodyAndSendsDefaultHeaders) {
  TestServer server([](const TestRequest&) { return Ok(); });
  const auto result = FetchOne(server.Url("/debug/vars?x=1"));
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.status, 200);
  EXPECT_EQ(result.body, kJson);
  EXPECT_EQ(result.bytes_read, std::string(kJson).size());
  EXPECT_EQ(result.error, "");
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/debug/vars?x=1");
  EXPECT_EQ(requests[0].Header("host"), "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(requests[0].Header("user-agent"), "expvar-collector");
  EXPECT_EQ(requests[0].Header("accept"), "application/json");
  EXPECT_EQ(requests[0].Header("authorization"), "");
}

// Many targets serving large documents at once cannot exhaust memory: bodies are charged to a
// shared budget as they arrive, and the one that would overdraw it fails with the reason.
TEST(ClientTest, BodiesAreChargedToTheSharedBudget) {
  TestServer server([](const TestRequest&) { return Ok(std::string(200 * 1024, ' ') + "{}"); });
  ClientOptions options = ShortTimeout();
  options.body_budget = std::make_shared<BodyBudget>(64 * 1024);
  const auto refused = FetchOne(server.Url("/debug/vars"), options);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(
      Contains(refused.error, "over the budget of 65536 bytes (--max-bodies-in-flight-bytes)"))
      << refused.error;
  EXPECT_EQ(options.body_budget->in_use(), 0u);

  options.body_budget = std::make_shared<BodyBudget>(1024 * 1024);
  {
    const auto fetched = FetchOne(server.Url("/debug/vars"), options);
    ASSERT_TRUE(fetched.ok) << fetched.error;
    EXPECT_GE(fetched.reservation.bytes(), fetched.body.size());
    EXPECT_EQ(options.body_budget->in_use(), fetched.reservation.bytes());  // held with the body
  }
  EXPECT_EQ(options.body_budget->in_use(), 0u);
}

TEST(ClientTest, EmptyPathRequestsSlash) {
  TestServer server([](const TestRequest&) { return Ok(); });
  EXPECT_TRUE(FetchOne(server.Url()).ok);
  ASSERT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(server.Requests()[0].target, "/");
}

TEST(ClientTest, KeepAliveReusesTheConnection) {
  TestServer server([](const TestRequest&) { return Ok(); });
  const auto results = FetchSeveral(server.Url("/debug/vars"), ShortTimeout(), 3);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests(), 3);
}

// The read room follows the last response's size: bodies that shrink and grow (past the room
// and past Beast's 64 KiB read size) on one connection must all arrive whole.
TEST(ClientTest, BodiesOfChangingSizesOnOneConnectionArriveWhole) {
  const std::vector<std::size_t> sizes = {10, 200 * 1024, 30, 9000, 70 * 1024, 1};
  std::vector<std::string> bodies;
  for (std::size_t i = 0; i < sizes.size(); ++i) bodies.emplace_back(sizes[i], char('a' + i));
  std::atomic<std::size_t> next{0};
  TestServer server([&](const TestRequest&) { return Ok(bodies[next++ % bodies.size()]); });
  const auto results =
      FetchSeveral(server.Url("/debug/vars"), ShortTimeout(), static_cast<int>(sizes.size()));
  ASSERT_EQ(results.size(), sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_TRUE(results[i].ok) << i << ": " << results[i].error;
    EXPECT_EQ(results[i].body, bodies[i]) << i;
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(ClientTest, ConnectionCloseMakesTheNextGetReconnect) {
  TestServer server([](const TestRequest&) {
    auto reply = Ok();
    reply.close = true;
    return reply;
  });
  const auto results = FetchSeveral(server.Url("/debug/vars"), ShortTimeout(), 2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok) << results[0].error;
  EXPECT_TRUE(results[1].ok) << results[1].error;
  EXPECT_EQ(server.connections(), 2);
}

TEST(ClientTest, IdleConnectionClosedByServerIsRetriedTransparently) {
  TestServer server([](const TestRequest&) {
    auto reply = Ok();
    reply.drop_after = true;  // looks keep-alive, but the server closes it right after
    return reply;
  });
  const auto results = FetchSeveral(server.Url("/debug/vars"), ShortTimeout(), 3, 50ms);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(server.connections(), 3);
  EXPECT_EQ(server.requests(), 3);
}

TEST(ClientTest, CloseDropsTheConnection) {
  TestServer server([](const TestRequest&) { return Ok(); });
  const auto results = FetchSeveral(server.Url("/"), ShortTimeout(), 2, 0ms, true);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[1].ok) << results[1].error;
  EXPECT_EQ(server.connections(), 2);
}

TEST(ClientTest, NotFoundIsAnError) {
  TestServer server([](const TestRequest&) {
    TestReply reply;
    reply.status = 404;
    reply.body = "404 page not found\n";
    return reply;
  });
  const auto results = FetchSeveral(server.Url("/debug/vars"), ShortTimeout(), 2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].status, 404);
  EXPECT_EQ(results[0].error, "HTTP 404");
  EXPECT_EQ(server.connections(), 1);  // an error status does not cost the connection
}

TEST(ClientTest, TimeoutCoversAServerThatNeverAnswers) {
  TestServer server([](const TestRequest&) {
    TestReply reply;
    reply.hang = true;
    return reply;
  });
  ClientOptions options;
  options.timeout = 300ms;
  const auto start = std::chrono::steady_clock::now();
  const auto result = FetchOne(server.Url("/debug/vars"), options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.status, 0);
  EXPECT_EQ(result.error, "timeout after 300 ms (reading response)");
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(ClientTest, BodyOverTheCapIsAnError) {
  for (bool chunked : {false, true}) {
    TestServer server([chunked](const TestRequest&) {
      auto reply = Ok(std::string(2000, 'x'));
      reply.chunked = chunked;
      return reply;
    });
    ClientOptions options = ShortTimeout();
    options.max_body_bytes = 1000;
    const auto result = FetchOne(server.Url("/debug/vars"), options);
    EXPECT_FALSE(result.ok) << "chunked=" << chunked;
    EXPECT_EQ(result.error, "response body exceeds 1000 bytes") << "chunked=" << chunked;
  }
}

TEST(ClientTest, BodyAtTheCapIsAccepted) {
  TestServer server([](const TestRequest&) { return Ok(std::string(1000, 'x')); });
  ClientOptions options = ShortTimeout();
  options.max_body_bytes = 1000;
  const auto result = FetchOne(server.Url("/"), options);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.bytes_read, 1000u);
}

TEST(ClientTest, ZeroBodyCapMeansUnlimited) {
  TestServer server([](const TestRequest&) { return Ok(std::string(10 * 1024 * 1024, 'x')); });
  ClientOptions options = ShortTimeout();
  options.max_body_bytes = 0;
  const auto result = FetchOne(server.Url("/"), options);
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.bytes_read, 10u * 1024 * 1024);
}

TEST(ClientTest, ChunkedBodyIsDecoded) {
  TestServer server([](const TestRequest&) {
    auto reply = Ok();
    reply.chunked = true;
    return reply;
  });
  const auto results = FetchSeveral(server.Url("/debug/vars"), ShortTimeout(), 2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[1].ok) << results[1].error;
  EXPECT_EQ(results[1].body, kJson);
  EXPECT_EQ(results[1].bytes_read, std::string(kJson).size());
  EXPECT_EQ(server.connections(), 1);
}

TEST(ClientTest, SameOriginRedirectsAreFollowed) {
  unsigned short port = 0;
  TestServer server([&port](const TestRequest& request) {
    const std::string self = "http://127.0.0.1:" + std::to_string(port);
    TestReply reply;
    reply.status = 302;
    if (request.target == "/a/start") {
      reply.headers = {{"Location", "relative"}};  // -> /a/relative
    } else if (request.target == "/a/relative") {
      reply.status = 301;
      reply.headers = {{"Location", "/absolute-path?q=1"}};
    } else if (request.target == "/absolute-path?q=1") {
      reply.status = 307;
      reply.headers = {{"Location", self + "/full-url"}};
    } else if (request.target == "/full-url") {
      reply.status = 308;
      reply.headers = {{"Location", "//127.0.0.1:" + std::to_string(port) + "/debug/vars"}};
    } else {
      reply = Ok();
    }
    return reply;
  });
  port = server.port();
  const auto result = FetchOne(server.Url("/a/start"));
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.body, kJson);
  EXPECT_EQ(server.requests(), 5);
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.Requests().back().target, "/debug/vars");
}

TEST(ClientTest, RedirectLoopStopsAtMaxRedirects) {
  TestServer server([](const TestRequest&) {
    TestReply reply;
    reply.status = 302;
    reply.headers = {{"Location", "/again"}};
    return reply;
  });
  ClientOptions options = ShortTimeout();
  options.max_redirects = 3;
  const auto result = FetchOne(server.Url("/"), options);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.status, 302);
  EXPECT_TRUE(Contains(result.error, "too many redirects")) << result.error;
  EXPECT_EQ(server.requests(), 4);
}

TEST(ClientTest, RedirectsToAnotherOriginAreRefused) {
  TestServer other([](const TestRequest&) { return Ok(); });
  const std::string other_port = std::to_string(other.port());
  struct Case {
    std::string location;
    std::string refused;
  };
  for (const Case& c : std::vector<Case>{
           {"http://127.0.0.2:" + other_port + "/", "http://127.0.0.2:" + other_port},
           {"http://127.0.0.1:" + other_port + "/x", "http://127.0.0.1:" + other_port},
           {"//localhost:" + other_port + "/", "http://localhost:" + other_port},
           {"http://evil.example/", "http://evil.example"}}) {
    TestServer server([&c](const TestRequest&) {
      TestReply reply;
      reply.status = 302;
      reply.headers = {{"Location", c.location}};
      return reply;
    });
    ClientOptions options = ShortTimeout();
    options.password = "s3cr3t-pw";
    options.username = "scraper";
    const auto result = FetchOne(
        "http://admin:hunter2@127.0.0.1:" + std::to_string(server.port()) + "/debug/vars", options);
    EXPECT_FALSE(result.ok) << c.location;
    EXPECT_EQ(result.status, 302);
    EXPECT_EQ(result.error, "redirect to another host refused: " + c.refused);
    EXPECT_FALSE(Contains(result.error, "hunter2"));
    EXPECT_FALSE(Contains(result.error, "s3cr3t"));
    EXPECT_EQ(server.requests(), 1);
  }
  EXPECT_EQ(other.requests(), 0);
}

TEST(ClientTest, RedirectFromHttpToHttpsIsRefused) {
  TestServer server([](const TestRequest& request) {
    TestReply reply;
    reply.status = 301;
    reply.headers = {{"Location", "https://127.0.0.1:" + request.Header("host").substr(10) + "/"}};
    return reply;
  });
  const auto result = FetchOne(server.Url("/"));
  EXPECT_EQ(result.error,
            "redirect to another host refused: https://127.0.0.1:" + std::to_string(server.port()));
}

TEST(ClientTest, BasicAuthFromOptions) {
  TestServer server([](const TestRequest& request) {
    if (request.Header("authorization") != "Basic dXNlcjpwYXNz") {
      TestReply reply;
      reply.status = 401;
      return reply;
    }
    return Ok();
  });
  ClientOptions options = ShortTimeout();
  options.username = "user";
  options.password = "pass";
  const auto result = FetchOne(server.Url("/"), options);
  EXPECT_TRUE(result.ok) << result.error;
}

TEST(ClientTest, BasicAuthFromUrlUserinfoIsPercentDecoded) {
  TestServer server([](const TestRequest&) { return Ok(); });
  const auto result = FetchOne("http://user:p%40ss@127.0.0.1:" + std::to_string(server.port()));
  EXPECT_TRUE(result.ok) << result.error;
  ASSERT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(server.Requests()[0].Header("authorization"), "Basic dXNlcjpwQHNz");  // user:p@ss
}

TEST(ClientTest, OptionsCredentialsWinOverUserinfo) {
  TestServer server([](const TestRequest&) { return Ok(); });
  ClientOptions options = ShortTimeout();
  options.username = "user";
  options.password = "pass";
  FetchOne("http://other:x@127.0.0.1:" + std::to_string(server.port()), options);
  ASSERT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(server.Requests()[0].Header("authorization"), "Basic dXNlcjpwYXNz");
}

TEST(ClientTest, ExtraHeadersAreSentAndOverrideDefaults) {
  TestServer server([](const TestRequest&) { return Ok(); });
  ClientOptions options = ShortTimeout();
  options.headers = {{"X-Scope", "tenant-1"}, {"User-Agent", "custom/1.0"}};
  EXPECT_TRUE(FetchOne(server.Url("/"), options).ok);
  ASSERT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(server.Requests()[0].Header("x-scope"), "tenant-1");
  EXPECT_EQ(server.Requests()[0].Header("user-agent"), "custom/1.0");
}

TEST(ClientTest, HeaderWithNewlineIsRefusedWithoutARequest) {
  TestServer server([](const TestRequest&) { return Ok(); });
  ClientOptions options = ShortTimeout();
  options.headers = {{"X-Token", "abc\r\nX-Injected: 1"}};
  const auto result = FetchOne(server.Url("/"), options);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(Contains(result.error, "invalid header")) << result.error;
  EXPECT_FALSE(Contains(result.error, "abc"));
  EXPECT_EQ(server.requests(), 0);
}

TEST(ClientTest, ErrorsNeverContainCredentials) {
  unsigned short closed_port = 0;
  {
    closed_port = TestServer([](const TestRequest&) { return Ok(); }).port();
  }
  TestServer unauthorized([](const TestRequest&) {
    TestReply reply;
    reply.status = 401;
    reply.body = "bad credentials";
    return reply;
  });
  ClientOptions options = ShortTimeout();
  options.username = "scraper";
  options.password = "s3cr3t-pw";
  for (const unsigned short port : {closed_port, unauthorized.port()}) {
    const auto result =
        FetchOne("http://admin:hunter2@127.0.0.1:" + std::to_string(port) + "/x", options);
    EXPECT_FALSE(result.ok);
    EXPECT_FALSE(result.error.empty());
    for (const char* secret : {"hunter2", "admin", "s3cr3t", "scraper", "Basic"}) {
      EXPECT_FALSE(Contains(result.error, secret)) << result.error;
    }
  }
}

TEST(ClientTest, ConnectionRefusedSaysSo) {
  unsigned short closed_port = 0;
  {
    closed_port = TestServer([](const TestRequest&) { return Ok(); }).port();
  }
  const auto result = FetchOne("http://127.0.0.1:" + std::to_string(closed_port) + "/");
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.status, 0);
  EXPECT_TRUE(result.error.starts_with("connecting: ")) << result.error;
}

TEST(ClientTest, HostNamesAreResolved) {
  TestServer server([](const TestRequest&) { return Ok(); });
  const auto result = FetchOne("http://localhost:" + std::to_string(server.port()) + "/");
  EXPECT_TRUE(result.ok) << result.error;
  ASSERT_EQ(server.Requests().size(), 1u);
  EXPECT_EQ(server.Requests()[0].Header("host"), "localhost:" + std::to_string(server.port()));
}

TEST(ClientTest, FetchOnceRunsItsOwnIoContext) {
  TestServer server([](const TestRequest&) { return Ok(); });
  const auto result = FetchOnce(MustParse(server.Url("/debug/vars")), ShortTimeout());
  EXPECT_TRUE(result.ok) << result.error;
  EXPECT_EQ(result.body, kJson);
}

class ClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server_files = testing::MakeSelfSignedCert(dir_.path(), "server");
    auto client_files = testing::MakeSelfSignedCert(dir_.path(), "client");
    if (!server_files || !client_files) GTEST_SKIP() << "openssl CLI not available";
    server_files_ = *server_files;
    client_files_ = *client_files;
  }

  TempDir dir_;
  TlsFiles server_files_;
  TlsFiles client_files_;
};

TEST_F(ClientTlsTest, VerifiesAgainstTheGivenCa) {
  TestServer server([](const TestRequest&) { return Ok(); }, server_files_);
  ClientOptions options = ShortTimeout();
  options.tls_ca_cert = server_files_.cert;
  const auto results = FetchSeveral(server.Url("/debug/vars"), options, 2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].ok) << results[0].error;
  EXPECT_TRUE(results[1].ok) << results[1].error;
  EXPECT_EQ(results[1].body, kJson);
  EXPECT_EQ(server.connections(), 1);  // keep-alive over TLS too
}

TEST_F(ClientTlsTest, IdleConnectionClosedByServerIsRetriedTransparently) {
  TestServer server(
      [](const TestRequest&) {
        auto reply = Ok();
        reply.drop_after = true;
        return reply;
      },
      server_files_);
  ClientOptions options = ShortTimeout();
  options.tls_ca_cert = server_files_.cert;
  const auto results = FetchSeveral(server.Url("/debug/vars"), options, 2, 50ms);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[1].ok) << results[1].error;
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(ClientTlsTest, SendsSniForHostNamesOnly) {
  TestServer server([](const TestRequest&) { return Ok(); }, server_files_);
  ClientOptions options = ShortTimeout();
  options.tls_verify = false;
  EXPECT_TRUE(FetchOne(server.Url("/"), options).ok);
  EXPECT_TRUE(FetchOne("https://localhost:" + std::to_string(server.port()), options).ok);
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].sni, "");  // RFC 6066: no IP literals in SNI
  EXPECT_EQ(requests[1].sni, "localhost");
}

TEST_F(ClientTlsTest, TimeoutCoversTheHandshake) {
  // A listener that never accepts: the kernel completes the TCP handshake, nobody speaks TLS.
  asio::io_context io;
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  ClientOptions options;
  options.timeout = 300ms;
  options.tls_verify = false;
  const auto start = std::chrono::steady_clock::now();
  const auto result =
      FetchOne("https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()), options);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.error, "timeout after 300 ms (TLS handshake)");
  EXPECT_GE(elapsed, 250ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(ClientTlsTest, UnknownIssuerFailsVerification) {
  TestServer server([](const TestRequest&) { return Ok(); }, server_files_);
  // System CAs only. The second Get() must not treat the failed connection as reusable.
  const auto results = FetchSeveral(server.Url("/"), ShortTimeout(), 2);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& result : results) {
    EXPECT_FALSE(result.ok);
    EXPECT_TRUE(result.error.starts_with("TLS handshake: ")) << result.error;
  }
  EXPECT_EQ(server.requests(), 0);
  EXPECT_EQ(server.connections(), 2);
}

TEST_F(ClientTlsTest, HostNameMismatchFailsVerification) {
  TestServer server([](const TestRequest&) { return Ok(); }, server_files_);
  ClientOptions options = ShortTimeout();
  options.tls_ca_cert = server_files_.cert;  // trusted, but issued for IP 127.0.0.1 only
  const auto result = FetchOne("https://localhost:" + std::to_string(server.port()), options);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.error.starts_with("TLS handshake: ")) << result.error;
}

TEST_F(ClientTlsTest, VerificationCanBeDisabled) {
  TestServer server([](const TestRequest&) { return Ok(); }, server_files_);
  ClientOptions options = ShortTimeout();
  options.tls_verify = false;
  const auto result = FetchOne("https://localhost:" + std::to_string(server.port()), options);
  EXPECT_TRUE(result.ok) << result.error;
}

TEST_F(ClientTlsTest, PresentsTheClientCertificate) {
  TlsFiles files = server_files_;
  files.client_ca = client_files_.cert;
  TestServer server([](const TestRequest&) { return Ok(); }, files);
  ClientOptions options = ShortTimeout();
  options.tls_ca_cert = server_files_.cert;
  EXPECT_FALSE(FetchOne(server.Url("/"), options).ok);
  options.tls_cert = client_files_.cert;
  options.tls_private_key = client_files_.key;
  const auto result = FetchOne(server.Url("/"), options);
  EXPECT_TRUE(result.ok) << result.error;
}

TEST_F(ClientTlsTest, MissingCaFileIsReported) {
  ClientOptions options = ShortTimeout();
  options.tls_ca_cert = dir_.path() + "/missing.pem";
  const auto result = FetchOne("https://127.0.0.1:1/", options);
  EXPECT_FALSE(result.ok);
  EXPECT_TRUE(result.error.starts_with("cannot load tls_ca_cert ")) << result.error;
}

}  // namespace
}  // namespace expvar::http
