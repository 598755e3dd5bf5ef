#include "discovery/kube/api_stream.h"

#include <openssl/ssl.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <charconv>
#include <tuple>
#include <vector>

#include "discovery/kube/api_connection.h"

namespace expvar::discovery::kube {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Parser = bhttp::response_parser<bhttp::buffer_body>;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadBufferBytes = 64 * 1024;

// Retry-After is either delta-seconds or an HTTP date; the API server sends seconds.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value) {
  long seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds < 0) return std::nullopt;
  return std::chrono::seconds(seconds);
}

}  // namespace

std::shared_ptr<ssl::context> MakeApiTlsContext(const http::Url& server, const ApiConfig& config,
                                                std::string* error) {
  if (server.scheme != "https") return nullptr;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  error_code ec;
  const bool verify = !config.insecure_skip_tls_verify;
  ctx->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none, ec);
  if (verify && config.ca_file.empty()) ctx->set_default_verify_paths(ec);
  if (verify && !config.ca_file.empty()) ctx->load_verify_file(config.ca_file, ec);
  if (ec) {
    *error = "cannot load Kubernetes CA file " + config.ca_file + ": " + ec.message();
    return nullptr;
  }
  return ctx;
}

struct ApiStream::Impl {
  Impl(asio::any_io_executor executor, http::Url server, std::shared_ptr<ssl::context> tls)
      : connection_(std::move(executor), std::move(server), std::move(tls)) {
    // A watch body is unbounded by design; LIST bodies are capped by ReadAll.
    parser_.body_limit(boost::none);
  }

  asio::awaitable<std::string> Open(const std::string& target, const std::string& token,
                                    std::chrono::steady_clock::time_point deadline,
                                    ApiResponseHead* head) {
    if (auto error = co_await connection_.Connect(deadline); !error.empty()) co_return error;
    bhttp::request<bhttp::empty_body> request{bhttp::verb::get, target, 11};
    request.set(bhttp::field::host, connection_.server().Authority());
    request.set(bhttp::field::user_agent, "expvar-collector");
    request.set(bhttp::field::accept, "application/json");
    if (!token.empty()) request.set(bhttp::field::authorization, "Bearer " + token);
    // No co_await inside ?: (GCC 12 miscompiles it when the result has a destructor).
    std::string error;
    if (connection_.IsTls()) {
      error = co_await SendAndReadHead(connection_.Tls(), request);
    } else {
      error = co_await SendAndReadHead(connection_.Tcp(), request);
    }
    if (!error.empty()) co_return error;
    head->status = parser_.get().result_int();
    if (auto it = parser_.get().find(bhttp::field::retry_after); it != parser_.get().end()) {
      head->retry_after = ParseRetryAfter(it->value());
    }
    co_return "";
  }

  asio::awaitable<std::string> ReadSome(std::string* piece, bool* done) {
    piece->clear();
    // One read_some may only complete a chunk header, so read until body bytes or the end.
    while (piece->empty() && !parser_.is_done()) {
      parser_.get().body().data = buffer_.data();
      parser_.get().body().size = buffer_.size();
      error_code ec;
      if (connection_.IsTls()) {
        std::tie(ec, std::ignore) =
            co_await bhttp::async_read_some(connection_.Tls(), read_buffer_, parser_, kNoThrow);
      } else {
        std::tie(ec, std::ignore) =
            co_await bhttp::async_read_some(connection_.Tcp(), read_buffer_, parser_, kNoThrow);
      }
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return ApiStageError("reading watch stream", ec);
      piece->assign(buffer_.data(), buffer_.size() - parser_.get().body().size);
    }
    *done = parser_.is_done();
    co_return "";
  }

  asio::awaitable<std::string> ReadAll(std::string* body, std::size_t max_bytes) {
    body->clear();
    std::string piece;
    for (bool done = false; !done;) {
      if (auto error = co_await ReadSome(&piece, &done); !error.empty()) co_return error;
      if (body->size() + piece.size() > max_bytes) {
        co_return "response body exceeds " + std::to_string(max_bytes) + " bytes";
      }
      body->append(piece);
    }
    co_return "";
  }

  void Cancel() { connection_.Close(); }

 private:
  template <class Stream>
  asio::awaitable<std::string> SendAndReadHead(Stream& stream,
                                               bhttp::request<bhttp::empty_body>& request) {
    auto [write_ec, written] = co_await bhttp::async_write(stream, request, kNoThrow);
    if (write_ec) co_return ApiStageError("sending request", write_ec);
    auto [read_ec, read] =
        co_await bhttp::async_read_header(stream, read_buffer_, parser_, kNoThrow);
    if (read_ec) co_return ApiStageError("reading response head", read_ec);
    co_return "";
  }

  ApiConnection connection_;
  beast::flat_buffer read_buffer_;
  Parser parser_;
  std::array<char, kReadBufferBytes> buffer_{};
};

ApiStream::ApiStream(boost::asio::any_io_executor executor, http::Url server,
                     std::shared_ptr<boost::asio::ssl::context> tls)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(server), std::move(tls))) {}

ApiStream::~ApiStream() = default;

boost::asio::awaitable<std::string> ApiStream::Open(const std::string& target,
                                                    const std::string& token,
                                                    std::chrono::steady_clock::time_point deadline,
                                                    ApiResponseHead* head) {
  return impl_->Open(target, token, deadline, head);
}

boost::asio::awaitable<std::string> ApiStream::ReadSome(std::string* piece, bool* done) {
  return impl_->ReadSome(piece, done);
}

boost::asio::awaitable<std::string> ApiStream::ReadAll(std::string* body, std::size_t max_bytes) {
  return impl_->ReadAll(body, max_bytes);
}

void ApiStream::Cancel() { impl_->Cancel(); }

}  // namespace expvar::discovery::kube
