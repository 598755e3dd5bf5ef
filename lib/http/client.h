// Fetches one URL over HTTP/1.1 or HTTPS with a reusable keep-alive connection.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/body_budget.h"
#include "http/url.h"

namespace expvar::http {

struct ClientOptions {
  std::chrono::milliseconds timeout{10'000};  // whole request: resolve+connect+TLS+write+read
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::string username;  // basic auth when non-empty; never logged
  std::string password;
  std::vector<std::pair<std::string, std::string>> headers;
  bool tls_verify = true;
  std::string tls_ca_cert;      // PEM file; empty = system default paths
  std::string tls_cert;         // client certificate PEM file
  std::string tls_private_key;  // client key PEM file
  int max_redirects = 5;        // only to the same scheme, host and port
  // Shared by every target's client: a body stops being read (the fetch fails) when its memory
  // would take the bodies held at once over the budget. Null: no global bound.
  std::shared_ptr<BodyBudget> body_budget;
};

struct FetchResult {
  bool ok = false;  // a 2xx response whose body was read completely
  int status = 0;   // HTTP status, 0 when no response
  std::string body;
  std::string error;  // why !ok; never contains credentials
  std::size_t bytes_read = 0;
  BodyBudget::Reservation reservation;  // holds the body's bytes against the budget until dropped
};

// One client per target. Not thread-safe: one Get() at a time (the worker guarantees it).
class Client {
 public:
  Client(boost::asio::any_io_executor executor, Url url, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // GET the URL, reusing the previous connection when the server kept it open.
  boost::asio::awaitable<FetchResult> Get();

  // Drops the connection (the next Get() reconnects).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Blocking convenience for one-shot use (the `check` subcommand, tests): runs its own io_context.
FetchResult FetchOnce(const Url& url, const ClientOptions& options);

}  // namespace expvar::http
