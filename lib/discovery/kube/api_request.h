// One Kubernetes API request with a small JSON body (POST, PATCH), its reply read whole, capped.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "http/url.h"

namespace expvar::discovery::kube {

struct ApiRequestSpec {
  std::string method;        // "POST", "PATCH", ...
  std::string target;        // "/api/v1/namespaces/ns/events"
  std::string token;         // "" = no Authorization header
  std::string content_type;  // of body
  std::string body;
};

struct ApiReply {
  int status = 0;     // 0 when no response arrived
  std::string body;   // at most max_body_bytes
  std::string error;  // transport failure; "" when a response was read
};

// ApiStream reads a GET's body as it streams; writes are small and answered at once, so this
// sends a body and reads the whole reply. One connection per request, closed afterwards (the
// callers send a few requests a minute). Not thread-safe; use from one strand.
class ApiRequest {
 public:
  ApiRequest(boost::asio::any_io_executor executor, http::Url server,
             std::shared_ptr<boost::asio::ssl::context> tls,
             std::size_t max_body_bytes = 64 * 1024);
  ~ApiRequest();
  ApiRequest(const ApiRequest&) = delete;
  ApiRequest& operator=(const ApiRequest&) = delete;

  // Connects (TLS when the server is https), sends the request and reads the reply; the deadline
  // bounds all of it.
  boost::asio::awaitable<ApiReply> Send(ApiRequestSpec spec,
                                        std::chrono::steady_clock::time_point deadline);

  // Closes the connection; a pending Send then fails promptly.
  void Cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace expvar::discovery::kube
