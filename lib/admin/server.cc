#include "admin/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <exception>
#include <future>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "admin/router.h"
#include "common/net.h"

namespace expvar::admin {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Errors come back as values: a failed read or write is normal for a server, not exceptional.
constexpr auto kAwaitTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds kStopWait{2};
constexpr std::chrono::milliseconds kAcceptErrorBackoff{100};
constexpr std::chrono::seconds kLingerTime{1};
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;

// The TLS settings of a web.config; throws WebConfigError naming the file that cannot be used.
std::shared_ptr<asio::ssl::context> MakeServerTlsContext(const WebConfig::Tls& tls) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
  SSL_CTX_set_min_proto_version(context->native_handle(),
                                tls.min_version == "TLS13" ? TLS1_3_VERSION : TLS1_2_VERSION);
  auto use = [](const std::string& key, const std::string& file, auto&& load) {
    beast::error_code ec;
    load(ec);
    if (ec) throw WebConfigError(key + " \"" + file + "\": " + ec.message());
  };
  use("tls_server_config.cert_file", tls.cert_file,
      [&](auto& ec) { context->use_certificate_chain_file(tls.cert_file, ec); });
  use("tls_server_config.key_file", tls.key_file,
      [&](auto& ec) { context->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec); });
  if (tls.client_auth_type != "NoClientCert") {
    use("tls_server_config.client_ca_file", tls.client_ca_file,
        [&](auto& ec) { context->load_verify_file(tls.client_ca_file, ec); });
    auto mode = asio::ssl::verify_peer;
    if (tls.client_auth_type == "RequireAndVerifyClientCert") {
      mode |= asio::ssl::verify_fail_if_no_peer_cert;
    }
    context->set_verify_mode(mode);
  }
  return context;
}

// Exceptions must not escape a detached coroutine: they would be rethrown from io_context::run.
auto LogFailure(const char* what) {
  return [what](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("admin: {} failed: {}", what, e.what());
    } catch (...) {
      spdlog::error("admin: {} failed", what);
    }
  };
}

[[noreturn]] void InvalidAddress(std::string_view address, const char* why) {
  throw std::invalid_argument("invalid listen address \"" + std::string(address) + "\": " + why);
}

// Port 0 is allowed here: the kernel picks a free one (tests use it).
std::uint16_t ListenPort(std::string_view address, std::string_view text) {
  std::optional<std::uint16_t> port = common::ParsePort(text);
  if (!port) InvalidAddress(address, "port must be a number from 0 to 65535");
  return *port;
}

asio::ip::address ParseHost(std::string_view address, std::string_view host, bool bracketed) {
  if (!bracketed && host.empty()) return asio::ip::address_v4::any();
  if (!bracketed && host == "localhost") return asio::ip::address_v4::loopback();
  if (!bracketed && host.find(':') != std::string_view::npos) {
    InvalidAddress(address, "an IPv6 address must be written in brackets, as [::1]:9145");
  }
  boost::system::error_code ec;
  auto ip = bracketed ? asio::ip::address(asio::ip::make_address_v6(std::string(host), ec))
                      : asio::ip::address(asio::ip::make_address_v4(std::string(host), ec));
  if (ec) InvalidAddress(address, bracketed ? "not an IPv6 address" : "not an IPv4 address");
  return ip;
}

}  // namespace

tcp::endpoint ParseListenAddress(std::string_view address) {
  bool bracketed = address.starts_with('[');
  std::size_t colon;
  std::string_view host;
  if (bracketed) {
    std::size_t close = address.find(']');
    if (close == std::string_view::npos || address.substr(close + 1, 1) != ":") {
      InvalidAddress(address, "expected [address]:port");
    }
    host = address.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = address.rfind(':');
    if (colon == std::string_view::npos) InvalidAddress(address, "expected host:port");
    host = address.substr(0, colon);
  }
  std::uint16_t port = ListenPort(address, address.substr(colon + 1));
  return tcp::endpoint(ParseHost(address, host, bracketed), port);
}

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(asio::io_context& io, ServerOptions options,
       common::ExpositionSources sources, StatusProvider status)
      : io_(io),
        strand_(asio::make_strand(io)),
        acceptor_(strand_),
        options_(std::move(options)),
        router_(std::move(sources), std::move(status)) {}

  void Start();
  void Stop();

  void SetReady(bool ready) { router_.SetReady(ready); }
  bool Ready() const { return router_.Ready(); }

  std::atomic<std::uint16_t> port{0};

 private:
  // Coroutines take the Impl by shared_ptr so that it outlives the Server while they finish.
  static asio::awaitable<void> Accept(std::shared_ptr<Impl> self);
  static asio::awaitable<void> Serve(std::shared_ptr<Impl> self, tcp::socket socket);
  template <typename Stream>
  asio::awaitable<void> Converse(Stream& stream);
  template <typename Stream>
  asio::awaitable<bool> ServeOne(Stream& stream, beast::flat_buffer& buffer, std::uint64_t id);
  template <typename Stream>
  asio::awaitable<bool> Write(Stream& stream, Response& response);
  template <typename Stream>
  static asio::awaitable<void> Linger(Stream& stream);
  void CloseAll();

  asio::io_context& io_;
  asio::strand<asio::io_context::executor_type> strand_;  // every socket operation runs here
  tcp::acceptor acceptor_;
  ServerOptions options_;
  Router router_;  // decides every answer, and holds the readiness /readyz reports
  std::shared_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  std::atomic<bool> started_{false};
  std::atomic<bool> accepting_{false};  // Start() succeeded
  std::atomic<bool> stopped_{false};
  // Where each open connection stands; a connection waiting for a request (idle keep-alive, or
  // a client still sending headers) can be evicted to admit a new one.
  struct Connection {
    beast::tcp_stream* stream;
    bool waiting = true;
    std::chrono::steady_clock::time_point waiting_since = std::chrono::steady_clock::now();
  };
  bool MakeRoom();
  std::unordered_map<std::uint64_t, Connection> connections_;  // strand only
  std::uint64_t next_connection_id_ = 0;                       // strand only
};

void Server::Impl::Start() {
  if (started_.exchange(true) || stopped_) {
    throw std::logic_error("admin server can be started only once");
  }
  tcp::endpoint endpoint = ParseListenAddress(options_.listen);
  if (options_.web.tls) tls_ = MakeServerTlsContext(*options_.web.tls);
  if (!options_.web.basic_auth_users.empty()) {
    router_.RequireCredentials(
        std::make_unique<BasicAuth>(options_.web.basic_auth_users, options_.bcrypt_budget));
    if (!tls_) spdlog::warn("admin: basic auth without TLS: passwords cross the network in clear");
  }
  try {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
  } catch (const boost::system::system_error&) {
    beast::error_code ignored;
    acceptor_.close(ignored);  // nothing runs on the strand yet
    throw;
  }
  port = acceptor_.local_endpoint().port();
  spdlog::info("admin: listening on {}:{} ({}{})", endpoint.address().to_string(), port.load(),
               tls_ ? "https" : "http",
               router_.RequiresCredentials() ? ", basic auth on /metrics and /status" : "");
  accepting_ = true;
  asio::co_spawn(strand_, Accept(shared_from_this()), LogFailure("accept loop"));
}

void Server::Impl::Stop() {
  if (stopped_.exchange(true) || !accepting_) return;
  // The acceptor and the connections belong to the strand; when the io_context is not running,
  // nothing else can touch them.
  if (strand_.running_in_this_thread() || io_.stopped()) {
    CloseAll();
    return;
  }
  auto done = std::make_shared<std::promise<void>>();
  auto closed = done->get_future();
  asio::post(strand_, [self = shared_from_this(), done] {
    self->CloseAll();
    done->set_value();
  });
  // Blocking a thread of the io_context could delay the very handler we wait for.
  if (!io_.get_executor().running_in_this_thread()) closed.wait_for(kStopWait);
}

void Server::Impl::CloseAll() {
  beast::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [id, connection] : connections_) connection.stream->close();
  spdlog::info("admin: stopped");
}

asio::awaitable<void> Server::Impl::Accept(std::shared_ptr<Impl> self) {
  while (!self->stopped_) {
    auto [ec, socket] = co_await self->acceptor_.async_accept(kAwaitTuple);
    if (self->stopped_ || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Typically out of file descriptors: retrying at once would spin.
      spdlog::warn("admin: accept failed: {}", ec.message());
      asio::steady_timer backoff(self->strand_, kAcceptErrorBackoff);
      co_await backoff.async_wait(kAwaitTuple);
      continue;
    }
    if (self->connections_.size() >= self->options_.max_connections && !self->MakeRoom()) {
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(self->strand_, Serve(self, std::move(socket)), LogFailure("connection"));
  }
}

// At the connection limit, the connection that has waited longest for a request is closed, so
// that clients holding idle connections cannot lock out the kubelet's probes. False when every
// connection is busy answering.
bool Server::Impl::MakeRoom() {
  Connection* oldest = nullptr;
  for (auto& [id, connection] : connections_) {
    if (connection.waiting && (!oldest || connection.waiting_since < oldest->waiting_since)) {
      oldest = &connection;
    }
  }
  if (oldest == nullptr) return false;
  oldest->stream->close();  // its coroutine ends and leaves connections_
  oldest->waiting = false;  // not chosen again while it winds down
  return true;
}

asio::awaitable<void> Server::Impl::Serve(std::shared_ptr<Impl> self, tcp::socket socket) {
  if (self->tls_) {
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *self->tls_);
    co_await self->Converse(stream);
  } else {
    beast::tcp_stream stream(std::move(socket));
    co_await self->Converse(stream);
  }
}

namespace {

// Completes the TLS handshake; a plain stream has none.
asio::awaitable<bool> Handshake(beast::tcp_stream&, std::chrono::milliseconds) { co_return true; }

asio::awaitable<bool> Handshake(beast::ssl_stream<beast::tcp_stream>& stream,
                                std::chrono::milliseconds timeout) {
  beast::get_lowest_layer(stream).expires_after(timeout);
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kAwaitTuple);
  // Port scanners and plain-HTTP clients end here all the time: not worth a warning.
  if (ec) spdlog::debug("admin: TLS handshake failed: {}", ec.message());
  co_return !ec;
}

}  // namespace

template <typename Stream>
asio::awaitable<void> Server::Impl::Converse(Stream& stream) {
  beast::tcp_stream& tcp = beast::get_lowest_layer(stream);
  std::uint64_t id = next_connection_id_++;
  connections_.emplace(id, Connection{&tcp});
  if (co_await Handshake(stream, options_.read_timeout)) {
    beast::flat_buffer buffer;
    for (bool more = true; more && !stopped_;) more = co_await ServeOne(stream, buffer, id);
  }
  connections_.erase(id);
  beast::error_code ignored;
  tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// Reads one request and answers it; false when the connection should end.
template <typename Stream>
asio::awaitable<bool> Server::Impl::ServeOne(Stream& stream, beast::flat_buffer& buffer,
                                             std::uint64_t id) {
  http::request_parser<http::string_body> parser;
  parser.body_limit(options_.max_body_bytes);
  beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
  if (auto it = connections_.find(id); it != connections_.end()) {
    it->second.waiting_since = std::chrono::steady_clock::now();
  }
  [[maybe_unused]] auto [ec, bytes] =
      co_await http::async_read(stream, buffer, parser, kAwaitTuple);
  if (auto it = connections_.find(id); it != connections_.end()) it->second.waiting = false;
  if (ec) {
    if (auto refusal = RefusalForReadError(ec)) {
      refusal->keep_alive(false);
      if (co_await Write(stream, *refusal)) co_await Linger(stream);
    }
    co_return false;
  }
  Response response = router_.Handle(parser.get());
  bool keep_alive = parser.get().keep_alive() && !stopped_;
  response.keep_alive(keep_alive);
  if (!co_await Write(stream, response)) co_return false;
  if (auto it = connections_.find(id); it != connections_.end()) it->second.waiting = keep_alive;
  co_return keep_alive;
}

template <typename Stream>
asio::awaitable<bool> Server::Impl::Write(Stream& stream, Response& response) {
  beast::get_lowest_layer(stream).expires_after(options_.write_timeout);
  [[maybe_unused]] auto [ec, bytes] = co_await http::async_write(stream, response, kAwaitTuple);
  co_return !ec;
}

// A refused client may still be sending its request. Closing with unread input would reset the
// connection, and the reset can discard our answer before the client reads it.
template <typename Stream>
asio::awaitable<void> Server::Impl::Linger(Stream& stream) {
  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ignored);
  beast::get_lowest_layer(stream).expires_after(kLingerTime);
  std::array<char, 4096> discard;
  for (std::size_t total = 0; total < kMaxLingerBytes;) {
    auto [ec, bytes] = co_await stream.async_read_some(asio::buffer(discard), kAwaitTuple);
    if (ec) break;
    total += bytes;
  }
}

Server::Server(asio::io_context& io, ServerOptions options,
               common::ExpositionSources sources,
               StatusProvider status)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(sources),
                                   std::move(status))) {}

Server::~Server() { impl_->Stop(); }

void Server::Start() { impl_->Start(); }
void Server::Stop() { impl_->Stop(); }
void Server::SetReady(bool ready) { impl_->SetReady(ready); }
bool Server::Ready() const { return impl_->Ready(); }
std::uint16_t Server::BoundPort() const { return impl_->port; }

}  // namespace expvar::admin
