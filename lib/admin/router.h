// Decides the admin server's answer to one parsed HTTP request: route, credentials, response.
#pragma once

#include <atomic>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/basic_auth.h"
#include "admin/server.h"
#include "common/exposition.h"

namespace expvar::admin {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// The answer to a request that could not be read, when the client should hear why (400, 413,
// 431); nullopt when the connection should just close (transport errors, timeouts, hang-ups).
std::optional<Response> RefusalForReadError(const boost::beast::error_code& ec);

// Knows nothing of sockets, so every answer can be produced (and tested) from a Request alone.
// Handle() is const and may run while SetReady() is called from another thread.
class Router {
 public:
  Router(common::ExpositionSources sources, StatusProvider status);

  // From now on /metrics and /status need credentials that `auth` accepts; null asks for none.
  // Call before the first Handle(): the router does not guard `auth` against concurrent use.
  void RequireCredentials(std::unique_ptr<BasicAuth> auth);
  bool RequiresCredentials() const { return auth_ != nullptr; }

  void SetReady(bool ready) { ready_ = ready; }
  bool Ready() const { return ready_; }

  // The routes documented on Server; the response's keep-alive is left to the caller.
  Response Handle(const Request& request) const;

 private:
  enum class Route { kMetrics, kHealthz, kReadyz, kStatus };

  static std::optional<Route> FindRoute(std::string_view target);
  static bool NeedsCredentials(Route route);
  AuthVerdict Authorize(Route route, const Request& request) const;
  Response Answer(Route route, const Request& request) const;
  // /metrics, gzip-encoded when the request's Accept-Encoding allows it (Prometheus asks).
  Response MetricsResponse(const Request& request) const;
  std::string Metrics() const;
  std::string GzippedMetrics() const;
  void WriteMetrics(common::ExpositionWriter& writer) const;

  common::ExpositionSources sources_;
  StatusProvider status_;
  std::unique_ptr<BasicAuth> auth_;  // null: no credentials asked
  std::atomic<bool> ready_{false};
  mutable std::atomic<std::size_t> last_metrics_size_{0};
};

}  // namespace expvar::admin
