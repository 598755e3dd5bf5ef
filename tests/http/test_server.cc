#include "test_server.h"

#include <openssl/ssl.h>
#include <stdlib.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace expvar::http::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

TestRequest ToTestRequest(const bhttp::request<bhttp::string_body>& req) {
  TestRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  for (const auto& field : req)
    out.headers[Lower(std::string(field.name_string()))] = field.value();
  return out;
}

// Writes the response by hand so that tests control framing exactly (several chunks, no
// Content-Length, ...), which Beast's serializer would normalise away.
std::string Render(const TestReply& reply) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                    std::string(bhttp::obsolete_reason(bhttp::int_to_status(reply.status))) +
                    "\r\n";
  for (const auto& [name, value] : reply.headers) out += name + ": " + value + "\r\n";
  if (reply.close) out += "Connection: close\r\n";
  if (!reply.chunked) {
    out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" + reply.body;
    return out;
  }
  out += "Transfer-Encoding: chunked\r\n\r\n";
  constexpr std::size_t kChunk = 7;
  for (std::size_t i = 0; i < reply.body.size(); i += kChunk) {
    const auto piece = reply.body.substr(i, kChunk);
    char size[32];
    std::snprintf(size, sizeof(size), "%zx\r\n", piece.size());
    out += size + piece + "\r\n";
  }
  out += "0\r\n\r\n";
  return out;
}

}  // namespace

std::string TestRequest::Header(const std::string& lower_name) const {
  const auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

class TestServer::Impl {
 public:
  Impl(TestServer* owner, Handler handler, const std::optional<TlsFiles>& tls)
      : owner_(owner), handler_(std::move(handler)) {
    if (tls) ConfigureTls(*tls);
    tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    owner_->port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(io_, Accept(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  ~Impl() {
    io_.stop();
    thread_.join();
  }

 private:
  void ConfigureTls(const TlsFiles& tls) {
    tls_context_.emplace(ssl::context::tls_server);
    tls_context_->use_certificate_chain_file(tls.cert);
    tls_context_->use_private_key_file(tls.key, ssl::context::pem);
    if (!tls.client_ca.empty()) {
      tls_context_->load_verify_file(tls.client_ca);
      tls_context_->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
  }

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      ++owner_->connections_;
      asio::co_spawn(io_, Session(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> Session(tcp::socket socket) {
    if (!tls_context_) {
      beast::tcp_stream stream(std::move(socket));
      co_await Serve(stream, "");
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_context_);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
    if (ec) co_return;
    const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name);
    co_await Serve(stream, sni == nullptr ? "" : sni);
  }

  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream, std::string sni) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> request;
      auto [read_ec, read] = co_await bhttp::async_read(stream, buffer, request, kNoThrow);
      if (read_ec) co_return;
      TestRequest recorded = ToTestRequest(request);
      recorded.sni = sni;
      {
        std::lock_guard lock(owner_->mu_);
        owner_->received_.push_back(recorded);
      }
      ++owner_->requests_;
      const TestReply reply = handler_(recorded);
      if (reply.hang) {
        asio::steady_timer timer(io_, std::chrono::seconds(60));
        co_await timer.async_wait(kNoThrow);
        co_return;
      }
      const std::string text = Render(reply);
      auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(text), kNoThrow);
      if (write_ec || reply.close || reply.drop_after) co_return;  // the stream closes on return
    }
  }

  TestServer* owner_;
  Handler handler_;
  asio::io_context io_;
  tcp::acceptor acceptor_{io_};
  std::optional<ssl::context> tls_context_;
  std::thread thread_;
};

TestServer::TestServer(Handler handler, std::optional<TlsFiles> tls) : tls_(tls.has_value()) {
  impl_ = std::make_unique<Impl>(this, std::move(handler), tls);
}

TestServer::~TestServer() { impl_.reset(); }

std::string TestServer::Url(const std::string& path) const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<TestRequest> TestServer::Requests() const {
  std::lock_guard lock(mu_);
  return received_;
}

std::optional<TlsFiles> MakeSelfSignedCert(const std::string& dir, const std::string& name) {
  TlsFiles files;
  files.cert = dir + "/" + name + ".crt";
  files.key = dir + "/" + name + ".key";
  const std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
      " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
      " -keyout '" +
      files.key + "' -out '" + files.cert + "' >/dev/null 2>&1";
  if (std::system(command.c_str()) != 0) return std::nullopt;
  return files;
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "expvar-http-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace expvar::http::testing
