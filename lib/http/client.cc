#include "http/client.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "common/net.h"
#include "http/client_detail.h"
#include "http/read_buffers.h"

namespace expvar::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Request = bhttp::request<bhttp::empty_body>;
using Response = bhttp::response<bhttp::string_body>;
using Parser = bhttp::response_parser<bhttp::string_body>;
using detail::BasicAuthorization;
using detail::HeadersAreValid;
using detail::IsRedirect;
using detail::ResolveLocation;
using detail::SameOrigin;

// Completion token that reports errors as values: network failures are expected, not exceptional.
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// A failed step and the stage it failed in; Impl::Describe() turns it into FetchResult::error.
struct StepError {
  error_code ec;
  const char* stage = "";
  explicit operator bool() const { return static_cast<bool>(ec); }
};

FetchResult FailedFetch(std::string error, int status = 0) {
  FetchResult result;
  result.status = status;
  result.error = std::move(error);
  return result;
}

std::shared_ptr<ssl::context> MakeClientTlsContext(const ClientOptions& o, std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  ctx->set_verify_mode(o.tls_verify ? ssl::verify_peer : ssl::verify_none, ec);
  if (o.tls_verify) {
    if (o.tls_ca_cert.empty()) {
      ctx->set_default_verify_paths(ec);
    } else {
      ctx->load_verify_file(o.tls_ca_cert, ec);
    }
    if (ec) *error = "cannot load tls_ca_cert " + o.tls_ca_cert + ": " + ec.message();
  }
  if (!ec && !o.tls_cert.empty()) {
    ctx->use_certificate_chain_file(o.tls_cert, ec);
    if (ec) *error = "cannot load tls_cert " + o.tls_cert + ": " + ec.message();
  }
  // Without tls_private_key the key is expected in the certificate file (as requests allows).
  const std::string& key = o.tls_private_key.empty() ? o.tls_cert : o.tls_private_key;
  if (!ec && !key.empty()) {
    ctx->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) *error = "cannot load tls_private_key " + key + ": " + ec.message();
  }
  return ec ? nullptr : ctx;
}

// Clients with the same TLS settings share one SSL_CTX: each context holds its own copy of the CA
// bundle (hundreds of KB), which thousands of targets cannot afford. A context is rebuilt (files
// re-read) once no client uses it any more.
std::shared_ptr<ssl::context> SharedTlsContext(const ClientOptions& o, std::string* error) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<ssl::context>> cache;
  std::string key = o.tls_verify ? "v" : "n";
  for (const auto* part : {&o.tls_ca_cert, &o.tls_cert, &o.tls_private_key}) key += '\n' + *part;
  std::lock_guard lock(mu);
  if (auto ctx = cache[key].lock()) return ctx;
  auto ctx = MakeClientTlsContext(o, error);
  if (ctx) cache[key] = ctx;
  return ctx;
}

}  // namespace

struct Client::Impl {
  Impl(asio::any_io_executor executor, Url url, ClientOptions options)
      : executor_(std::move(executor)), url_(std::move(url)), options_(std::move(options)) {
    if (url_.scheme == "https") tls_context_ = SharedTlsContext(options_, &setup_error_);
    if (!HeadersAreValid(options_)) setup_error_ = "invalid header name or value in headers";
    request_.set(bhttp::field::host, url_.Authority());
    request_.set(bhttp::field::user_agent, "expvar-collector");
    request_.set(bhttp::field::accept, "application/json");
    if (auto auth = BasicAuthorization(url_, options_); !auth.empty()) {
      request_.set(bhttp::field::authorization, auth);
    }
    if (setup_error_.empty()) {
      for (const auto& [name, value] : options_.headers) request_.set(name, value);
    }
  }

  asio::awaitable<FetchResult> Get() {
    if (!setup_error_.empty()) co_return FailedFetch(setup_error_);
    deadline_ = Clock::now() + options_.timeout;
    std::string target = url_.Target();
    for (int redirects = 0;; ++redirects) {
      Response response;
      if (auto err = co_await RoundTrip(target, &response)) co_return FailedFetch(Describe(err));
      const int status = response.result_int();
      const auto location = response.find(bhttp::field::location);
      if (!IsRedirect(status) || location == response.end()) co_return Finish(std::move(response));
      std::string error;
      if (!FollowRedirect(location->value(), redirects, &target, &error)) {
        co_return FailedFetch(std::move(error), status);
      }
    }
  }

  // Closes the socket but keeps the stream objects: a Get() in flight then fails cleanly with
  // operation_aborted instead of touching a destroyed stream. Connect() replaces them.
  void Close() {
    error_code ignored;
    if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
    if (tcp_) tcp_->socket().close(ignored);
  }

 private:
  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }
  bool IsOpen() { return (tls_ || tcp_) && Lowest().socket().is_open(); }
  bool IsTimeout(const StepError& err) const {
    return err.ec == beast::error::timeout || Clock::now() >= deadline_;
  }

  std::string Describe(const StepError& err) const {
    if (err.ec == asio::error::no_buffer_space) {
      return "response body at " + std::to_string(refused_bytes_) +
             " bytes would take the bodies in flight over the budget of " +
             std::to_string(options_.body_budget->capacity()) +
             " bytes (--max-bodies-in-flight-bytes); try again later";
    }
    if (err.ec == bhttp::error::body_limit) {
      return "response body exceeds " + std::to_string(options_.max_body_bytes) + " bytes";
    }
    if (IsTimeout(err)) {
      return "timeout after " + std::to_string(options_.timeout.count()) + " ms (" + err.stage +
             ")";
    }
    return std::string(err.stage) + ": " + err.ec.message();
  }

  // One request on the open connection, or on a fresh one. A reused connection that fails before
  // any response byte arrived was most likely closed by the server while idle; GET is idempotent,
  // so it is retried once on a new connection.
  asio::awaitable<StepError> RoundTrip(const std::string& target, Response* out) {
    const bool reused = IsOpen();
    if (!reused) {
      if (auto err = co_await Connect()) co_return err;
    }
    bool got_bytes = false;
    auto err = co_await Exchange(target, out, &got_bytes);
    if (err && reused && !got_bytes && !IsTimeout(err)) {
      spdlog::debug("http: keep-alive connection to {} was closed ({}), reconnecting",
                    url_.Authority(), err.ec.message());
      if (auto connect_err = co_await Connect()) co_return connect_err;
      err = co_await Exchange(target, out, &got_bytes);
    }
    co_return err;
  }

  asio::awaitable<StepError> Connect() {
    tls_.reset();
    tcp_.reset();
    buffer_.clear();
    std::vector<tcp::endpoint> endpoints;
    if (auto err = co_await Resolve(&endpoints)) co_return err;
    if (tls_context_) {
      tls_.emplace(executor_, *tls_context_);
    } else {
      tcp_.emplace(executor_);
    }
    Lowest().expires_at(deadline_);
    auto [ec, endpoint] = co_await Lowest().async_connect(endpoints, kNoThrow);
    StepError err{ec, "connecting"};
    if (!err && tls_) err = co_await Handshake();
    // A half-set-up connection must not look reusable to the next Get().
    if (err) Close();
    co_return err;
  }

  asio::awaitable<StepError> Resolve(std::vector<tcp::endpoint>* out) {
    if (common::IsIpLiteral(url_.host)) {  // pod IPs: no resolver round trip
      out->emplace_back(asio::ip::make_address(url_.host), PortNumber(url_));
      co_return StepError{};
    }
    // getaddrinfo cannot be interrupted, so the resolver and the deadline timer both report into
    // a channel and the first one wins; a late resolver result lands in the orphaned channel.
    using Results = tcp::resolver::results_type;
    using Channel = asio::experimental::concurrent_channel<void(error_code, Results)>;
    auto channel = std::make_shared<Channel>(executor_, 1);
    tcp::resolver resolver(executor_);
    resolver.async_resolve(
        url_.host, std::to_string(PortNumber(url_)),
        [channel](error_code ec, Results results) { channel->try_send(ec, std::move(results)); });
    asio::steady_timer timer(executor_, deadline_);
    timer.async_wait([channel](error_code ec) {
      if (!ec) channel->try_send(error_code(beast::error::timeout), Results());
    });
    auto [ec, results] = co_await channel->async_receive(kNoThrow);
    if (ec) co_return StepError{ec, "resolving host"};
    for (const auto& entry : results) out->push_back(entry.endpoint());
    co_return StepError{};
  }

  asio::awaitable<StepError> Handshake() {
    // SNI carries host names only (RFC 6066), never IP literals.
    if (!common::IsIpLiteral(url_.host))
      SSL_set_tlsext_host_name(tls_->native_handle(), url_.host.c_str());
    if (options_.tls_verify) tls_->set_verify_callback(ssl::host_name_verification(url_.host));
    auto [ec] = co_await tls_->async_handshake(ssl::stream_base::client, kNoThrow);
    if (ec) co_return StepError{ec, "TLS handshake"};
    co_return StepError{};
  }

  asio::awaitable<StepError> Exchange(const std::string& target, Response* out, bool* got_bytes) {
    request_.target(target);
    Parser parser;
    // 0 means no cap; boost::none is Beast's spelling of that.
    if (options_.max_body_bytes > 0) {
      parser.body_limit(options_.max_body_bytes);
    } else {
      parser.body_limit(boost::none);
    }
    Lowest().expires_at(deadline_);
    // Beast reads at most what the buffer has room for (512 bytes when it is empty): room for a
    // response like the last one turns ~22 recv calls per 11 KB document into one or two. The
    // room is lent by this thread's spares and given back afterwards, so an idle target holds
    // no read buffer and a steady scrape allocates none.
    if (buffer_.size() == 0) {
      buffer_ = TakeReadBuffer(ReadRoom());
    } else {
      buffer_.reserve(ReadRoom());  // bytes the server sent early belong to the next response
    }
    auto err = tls_ ? co_await WriteRead(*tls_, parser) : co_await WriteRead(*tcp_, parser);
    last_response_bytes_ = parser.get().body().size() + kHeaderAllowance;
    if (buffer_.size() == 0) {
      GiveBackReadBuffer(std::move(buffer_));
    } else {
      buffer_.shrink_to_fit();
    }
    *got_bytes = parser.got_some();
    if (err || !parser.keep_alive()) {
      Close();
    } else {
      Lowest().expires_never();  // an idle keep-alive connection must not time out by itself
    }
    if (!err) *out = parser.release();
    co_return err;
  }

  template <class Stream>
  asio::awaitable<StepError> WriteRead(Stream& stream, Parser& parser) {
    auto [write_ec, written] = co_await bhttp::async_write(stream, request_, kNoThrow);
    if (write_ec) co_return StepError{write_ec, "sending request"};
    // Read piece by piece so that the body's memory is charged to the shared budget as it
    // grows: a target trickling a large body holds only what it has sent so far.
    reservation_ =
        options_.body_budget ? options_.body_budget->Reserve() : BodyBudget::Reservation();
    while (!parser.is_done()) {
      auto [read_ec, read] = co_await bhttp::async_read_some(stream, buffer_, parser, kNoThrow);
      if (read_ec) co_return StepError{read_ec, "reading response"};
      const std::size_t held = parser.get().body().capacity();
      if (!reservation_.GrowTo(held)) {
        refused_bytes_ = held;
        co_return StepError{asio::error::no_buffer_space, "reserving memory"};
      }
    }
    co_return StepError{};
  }

  bool FollowRedirect(std::string_view location, int redirects, std::string* target,
                      std::string* error) const {
    if (redirects >= options_.max_redirects) {
      *error = "too many redirects (max " + std::to_string(options_.max_redirects) + ")";
      return false;
    }
    const auto next = ResolveLocation(url_, *target, location);
    if (!next) {
      *error = "invalid redirect Location";
      return false;
    }
    if (!SameOrigin(*next, url_)) {
      // scheme://host[:port] of the refused target: identifies it without any userinfo.
      *error = "redirect to another host refused: " + next->scheme + "://" + next->Authority();
      return false;
    }
    *target = next->Target();
    return true;
  }

  FetchResult Finish(Response response) {
    FetchResult result;
    result.reservation = std::move(reservation_);
    result.status = response.result_int();
    result.body = std::move(response.body());
    result.bytes_read = result.body.size();
    result.ok = result.status >= 200 && result.status < 300;
    if (!result.ok) result.error = "HTTP " + std::to_string(result.status);
    return result;
  }

  // Read room for the next response: the last one's size and a quarter for growth, within
  // [4 KiB, 64 KiB] (Beast never reads more than 64 KiB at once).
  std::size_t ReadRoom() const {
    return std::clamp<std::size_t>(last_response_bytes_ * 5 / 4, 4 * 1024, 64 * 1024);
  }

  static constexpr std::size_t kHeaderAllowance = 512;  // a typical response header
  asio::any_io_executor executor_;
  Url url_;
  ClientOptions options_;
  std::string setup_error_;  // bad TLS files or headers: every Get() fails with it
  std::shared_ptr<ssl::context> tls_context_;
  Request request_{bhttp::verb::get, "/", 11};  // built once; only the target changes
  std::optional<beast::tcp_stream> tcp_;        // http
  std::optional<TlsStream> tls_;                // https
  beast::flat_buffer buffer_;
  Clock::time_point deadline_;
  BodyBudget::Reservation reservation_;          // the body being read; handed to the FetchResult
  std::size_t refused_bytes_ = 0;                // for the message when the budget refused a body
  std::size_t last_response_bytes_ = 16 * 1024;  // sizes the read room; a guess before the first
};

Client::Client(boost::asio::any_io_executor executor, Url url, ClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(url), std::move(options))) {}

Client::~Client() = default;

boost::asio::awaitable<FetchResult> Client::Get() {
  // Errors are values everywhere below; this only catches the unexpected (allocation, Beast
  // invariants) so that a worker coroutine never dies from one bad target.
  try {
    co_return co_await impl_->Get();
  } catch (const std::exception& e) {
    impl_->Close();
    co_return FailedFetch(std::string("internal error: ") + e.what());
  }
}

void Client::Close() { impl_->Close(); }

FetchResult FetchOnce(const Url& url, const ClientOptions& options) {
  boost::asio::io_context io;
  FetchResult result = FailedFetch("request did not complete");
  Client client(io.get_executor(), url, options);
  boost::asio::co_spawn(io, client.Get(), [&](std::exception_ptr error, FetchResult fetched) {
    if (!error) result = std::move(fetched);
    // A resolver thread stuck in getaddrinfo past the timeout must not keep run() going.
    io.stop();
  });
  io.run();
  return result;
}

}  // namespace expvar::http
