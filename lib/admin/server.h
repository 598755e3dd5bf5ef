// Admin HTTP server: serves /metrics, /healthz, /readyz and /status on the collector's io_context.
#pragma once


#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/basic_auth.h"
#include "admin/web_config.h"
#include "common/exposition.h"

namespace expvar::admin {

struct ServerOptions {
  std::string listen = "0.0.0.0:9145";
  // Bounds both an idle keep-alive connection and a slow request (headers included), so clients
  // cannot pin sockets.
  std::chrono::milliseconds read_timeout{5'000};
  // Bounds sending one answer: /metrics for thousands of targets is megabytes.
  std::chrono::milliseconds write_timeout{30'000};
  std::size_t max_body_bytes = 8 * 1024;  // only GETs are served; bodies are never needed
  // At the limit a new connection closes the one that has waited longest for a request; when
  // every connection is busy answering, the new one is closed at once.
  std::size_t max_connections = 64;
  // TLS for every route, and basic auth for /metrics and /status (not the kubelet's probes,
  // which carry no credentials and reveal nothing).
  WebConfig web;
  BcryptBudget bcrypt_budget;  // beyond it, credentials that need a bcrypt check get 429
};

// Returns the JSON document served on /status; called on the server's thread for each request.
using StatusProvider = std::function<std::string()>;

// "host:port" with an IPv4 address, "[v6]:port", "localhost:port" or ":port" (all IPv4
// interfaces); port 0 asks the kernel for a free one. Throws std::invalid_argument.
boost::asio::ip::tcp::endpoint ParseListenAddress(std::string_view address);

// Routes: GET /metrics (Prometheus text 0.0.4 from the sources, in order; a family name
// that an earlier source already wrote is skipped), /healthz, /readyz (503 until
// SetReady(true)), /status; 404 for other paths, 405 for other methods on these paths,
// 400/413/431 for requests that cannot be parsed, 401 for /metrics and /status without valid
// credentials when basic auth is configured, 429 (Retry-After: 1) when checking new credentials
// would exceed the bcrypt budget. All network work runs on one strand of the given io_context.
class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options,
         common::ExpositionSources sources, StatusProvider status);
  ~Server();  // Stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Throws std::invalid_argument for a malformed address,
  // WebConfigError when the TLS certificate or key cannot be used, and
  // boost::system::system_error when it cannot be bound.
  void Start();

  // Closes the listening socket and every open connection. Idempotent. From a thread that does
  // not run the io_context it waits (briefly) until that is done, so the port refuses
  // connections once it returns.
  void Stop();

  void SetReady(bool ready);
  bool Ready() const;

  // The port actually bound (useful with port 0); 0 before Start().
  std::uint16_t BoundPort() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;  // shared with the connection coroutines that outlive a Stop()
};

}  // namespace expvar::admin
