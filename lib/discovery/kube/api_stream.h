// One GET against the Kubernetes API whose body is read piece by piece, for LISTs and watches.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "discovery/kube/config.h"
#include "http/url.h"

namespace expvar::discovery::kube {

struct ApiResponseHead {
  int status = 0;
  std::optional<std::chrono::seconds> retry_after;  // from a Retry-After given in seconds
};

// The TLS settings of the API server connection; nullptr (and no error) for an http:// server.
std::shared_ptr<boost::asio::ssl::context> MakeApiTlsContext(const http::Url& server,
                                                             const ApiConfig& config,
                                                             std::string* error);

// Why a separate client from http::Client: a watch body never ends by itself, so it must be
// consumed as it arrives, and the caller needs the status and Retry-After before the body.
// One request per object, one connection per request; not thread-safe.
class ApiStream {
 public:
  ApiStream(boost::asio::any_io_executor executor, http::Url server,
            std::shared_ptr<boost::asio::ssl::context> tls);
  ~ApiStream();
  ApiStream(const ApiStream&) = delete;
  ApiStream& operator=(const ApiStream&) = delete;

  // Connects, sends `GET target` (with "Authorization: Bearer token" unless token is empty) and
  // reads the response head. deadline also bounds every later read. Returns "" or the error.
  boost::asio::awaitable<std::string> Open(const std::string& target, const std::string& token,
                                           std::chrono::steady_clock::time_point deadline,
                                           ApiResponseHead* head);

  // Replaces *piece with the next body bytes (chunked framing removed); *done at the body's end.
  boost::asio::awaitable<std::string> ReadSome(std::string* piece, bool* done);

  // Reads the rest of the body, failing once it exceeds max_bytes.
  boost::asio::awaitable<std::string> ReadAll(std::string* body, std::size_t max_bytes);

  // Closes the connection; a pending Open/Read then fails promptly.
  void Cancel();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace expvar::discovery::kube
