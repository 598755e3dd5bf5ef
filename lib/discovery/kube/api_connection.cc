#include "discovery/kube/api_connection.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <vector>

#include "common/net.h"

namespace expvar::discovery::kube {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
}  // namespace

std::string ApiStageError(const std::string& stage, const error_code& ec) {
  if (ec == beast::error::timeout) return stage + ": timeout";
  return stage + ": " + ec.message();
}

ApiConnection::ApiConnection(asio::any_io_executor executor, http::Url server,
                             std::shared_ptr<ssl::context> tls)
    : executor_(std::move(executor)), server_(std::move(server)), tls_context_(std::move(tls)) {}

beast::tcp_stream& ApiConnection::Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }

void ApiConnection::Close() {
  error_code ignored;
  if (tls_) beast::get_lowest_layer(*tls_).socket().close(ignored);
  if (tcp_) tcp_->socket().close(ignored);
}

asio::awaitable<std::string> ApiConnection::Connect(
    std::chrono::steady_clock::time_point deadline) {
  Close();
  tls_.reset();
  tcp_.reset();
  std::vector<tcp::endpoint> endpoints;
  if (common::IsIpLiteral(server_.host)) {
    endpoints.emplace_back(asio::ip::make_address(server_.host), http::PortNumber(server_));
  } else {
    tcp::resolver resolver(executor_);
    auto [ec, results] = co_await resolver.async_resolve(
        server_.host, std::to_string(http::PortNumber(server_)), kNoThrow);
    if (ec) co_return ApiStageError("resolving " + server_.host, ec);
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }
  if (tls_context_) {
    tls_.emplace(executor_, *tls_context_);
  } else {
    tcp_.emplace(executor_);
  }
  Lowest().expires_at(deadline);
  auto [ec, endpoint] = co_await Lowest().async_connect(endpoints, kNoThrow);
  if (ec) co_return ApiStageError("connecting", ec);
  if (tls_) co_return co_await Handshake();
  co_return "";
}

asio::awaitable<std::string> ApiConnection::Handshake() {
  // SNI carries host names only (RFC 6066); the in-cluster server is usually an IP.
  if (!common::IsIpLiteral(server_.host)) {
    SSL_set_tlsext_host_name(tls_->native_handle(), server_.host.c_str());
  }
  if (SSL_CTX_get_verify_mode(tls_context_->native_handle()) != SSL_VERIFY_NONE) {
    tls_->set_verify_callback(ssl::host_name_verification(server_.host));
  }
  auto [ec] = co_await tls_->async_handshake(ssl::stream_base::client, kNoThrow);
  if (ec) co_return ApiStageError("TLS handshake", ec);
  co_return "";
}

}  // namespace expvar::discovery::kube
