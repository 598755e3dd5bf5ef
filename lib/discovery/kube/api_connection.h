// One connection to the Kubernetes API server: resolved, connected and, for https, TLS-verified
// against the API's CA and host name, before a deadline. Shared by the watch stream and requests.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "http/url.h"

namespace expvar::discovery::kube {

// "<stage>: <error>", with Beast's timeout said as "timeout".
std::string ApiStageError(const std::string& stage, const boost::system::error_code& ec);

class ApiConnection {
 public:
  using TlsStream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

  // `tls` null: plain TCP (an http:// server, as in tests).
  ApiConnection(boost::asio::any_io_executor executor, http::Url server,
                std::shared_ptr<boost::asio::ssl::context> tls);

  // Closes any previous connection, then resolves, connects and handshakes (https) before
  // `deadline`. Returns "" or ApiStageError naming the step that failed.
  boost::asio::awaitable<std::string> Connect(std::chrono::steady_clock::time_point deadline);
  // Ends the connection and any operation on it; safe when not connected.
  void Close();

  bool IsTls() const { return tls_.has_value(); }
  TlsStream& Tls() { return *tls_; }                 // when IsTls()
  boost::beast::tcp_stream& Tcp() { return *tcp_; }  // when !IsTls()
  boost::beast::tcp_stream& Lowest();
  const http::Url& server() const { return server_; }

 private:
  boost::asio::awaitable<std::string> Handshake();

  boost::asio::any_io_executor executor_;
  http::Url server_;
  std::shared_ptr<boost::asio::ssl::context> tls_context_;
  std::optional<boost::beast::tcp_stream> tcp_;
  std::optional<TlsStream> tls_;
};

}  // namespace expvar::discovery::kube
