#include "discovery/kube/api_request.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <tuple>
#include <vector>

#include "common/net.h"

namespace expvar::discovery::kube {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

struct ApiRequest::Impl {
  Impl(asio::any_io_executor executor, http::Url server, std::shared_ptr<ssl::context> tls,
       std::size_t max_body_bytes)
      : executor_(std::move(executor)),
        server_(std::move(server)),
        tls_context_(std::move(tls)),
        max_body_bytes_(max_body_bytes) {}

  asio::awaitable<ApiReply> Send(ApiRequestSpec spec,
                                 std::chrono::steady_clock::time_point deadline) {
    ApiReply reply;
    Cancel();  // a previous request's connection, if any
    tls_.reset();
    tcp_.reset();
    buffer_.clear();
    reply.error = co_await Connect(deadline);
    if (!reply.error.empty()) co_return reply;
    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(spec.method), spec.target, 11};
    request.set(bhttp::field::host, server_.Authority());
    request.set(bhttp::field::user_agent, "expvar-collector");
    request.set(bhttp::field::accept, "application/json");
    request.set(bhttp::field::content_type, spec.content_type);
    if (!spec.token.empty()) request.set(bhttp::field::authorization, "Bearer " + spec.token);
    request.keep_alive(false);
    request.body() = std::move(spec.body);
    request.prepare_payload();
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(max_body_bytes_);
    // No co_await inside ?: (GCC 12 miscompiles it when the result has a destructor).
    if (tls_) {
      reply.error = co_await Exchange(*tls_, request, parser);
    } else {
      reply.error = co_await Exchange(*tcp_, request, parser);
    }
    if (parser.is_header_done()) reply.status = parser.get().result_int();
    if (reply.error.empty()) reply.body = std::move(parser.get().body());
    Cancel();
    co_return reply;
  }

  void Cancel() {
    error_code ignored;
    if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
    if (tcp_) tcp_->socket().close(ignored);
  }

 private:
  static constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

  static std::string Failure(const std::string& stage, const error_code& ec) {
    if (ec == beast::error::timeout) return stage + ": timeout";
    return stage + ": " + ec.message();
  }

  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }

  asio::awaitable<std::string> Connect(std::chrono::steady_clock::time_point deadline) {
    std::vector<tcp::endpoint> endpoints;
    if (common::IsIpLiteral(server_.host)) {
      endpoints.emplace_back(asio::ip::make_address(server_.host), http::PortNumber(server_));
    } else {
      tcp::resolver resolver(executor_);
      auto [ec, results] = co_await resolver.async_resolve(
          server_.host, std::to_string(http::PortNumber(server_)), kNoThrow);
      if (ec) co_return Failure("resolving " + server_.host, ec);
      for (const auto& entry : results) endpoints.push_back(entry.endpoint());
    }
    if (tls_context_) {
      tls_.emplace(executor_, *tls_context_);
    } else {
      tcp_.emplace(executor_);
    }
    Lowest().expires_at(deadline);
    auto [ec, endpoint] = co_await Lowest().async_connect(endpoints, kNoThrow);
    if (ec) co_return Failure("connecting", ec);
    if (!tls_) co_return "";
    // SNI carries host names only (RFC 6066); the in-cluster server is usually an IP.
    if (!common::IsIpLiteral(server_.host)) {
      SSL_set_tlsext_host_name(tls_->native_handle(), server_.host.c_str());
    }
    if (SSL_CTX_get_verify_mode(tls_context_->native_handle()) != SSL_VERIFY_NONE) {
      tls_->set_verify_callback(ssl::host_name_verification(server_.host));
    }
    auto [handshake_ec] = co_await tls_->async_handshake(ssl::stream_base::client, kNoThrow);
    if (handshake_ec) co_return Failure("TLS handshake", handshake_ec);
    co_return "";
  }

  template <class Stream>
  asio::awaitable<std::string> Exchange(Stream& stream, bhttp::request<bhttp::string_body>& request,
                                        bhttp::response_parser<bhttp::string_body>& parser) {
    auto [write_ec, written] = co_await bhttp::async_write(stream, request, kNoThrow);
    if (write_ec) co_return Failure("sending request", write_ec);
    auto [read_ec, read] = co_await bhttp::async_read(stream, buffer_, parser, kNoThrow);
    if (read_ec) co_return Failure("reading response", read_ec);
    co_return "";
  }

  asio::any_io_executor executor_;
  http::Url server_;
  std::shared_ptr<ssl::context> tls_context_;
  std::size_t max_body_bytes_;
  std::optional<beast::tcp_stream> tcp_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

ApiRequest::ApiRequest(boost::asio::any_io_executor executor, http::Url server,
                       std::shared_ptr<boost::asio::ssl::context> tls, std::size_t max_body_bytes)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(server), std::move(tls),
                                   max_body_bytes)) {}

ApiRequest::~ApiRequest() = default;

boost::asio::awaitable<ApiReply> ApiRequest::Send(ApiRequestSpec spec,
                                                  std::chrono::steady_clock::time_point deadline) {
  return impl_->Send(std::move(spec), deadline);
}

void ApiRequest::Cancel() { impl_->Cancel(); }

}  // namespace expvar::discovery::kube
