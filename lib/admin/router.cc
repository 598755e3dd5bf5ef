#include "admin/router.h"

#include <prometheus/metric_family.h>
#include <spdlog/spdlog.h>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <exception>
#include <unordered_set>
#include <utility>

#include "admin/exposition.h"
#include "admin/gzip.h"

namespace expvar::admin {
namespace {

namespace http = boost::beast::http;

constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";
constexpr std::string_view kJsonContentType = "application/json";

Response MakeResponse(http::status status, unsigned version, std::string_view content_type,
                      std::string body) {
  Response response{status, version};
  response.set(http::field::content_type, content_type);
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

// Requests the client should hear were refused; transport errors and timeouts just close.
std::optional<http::status> StatusForReadError(const boost::beast::error_code& ec) {
  if (ec == http::error::body_limit) return http::status::payload_too_large;
  if (ec == http::error::header_limit) return http::status::request_header_fields_too_large;
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
    return http::status::bad_request;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Response> RefusalForReadError(const boost::beast::error_code& ec) {
  auto status = StatusForReadError(ec);
  if (!status) return std::nullopt;
  // The request could not be parsed, so its HTTP version is unknown: answer in 1.1.
  return MakeResponse(*status, 11, kTextContentType, ec.message() + "\n");
}

Router::Router(std::vector<std::weak_ptr<prometheus::Collectable>> collectables,
               StatusProvider status)
    : collectables_(std::move(collectables)), status_(std::move(status)) {}

void Router::RequireCredentials(std::unique_ptr<BasicAuth> auth) { auth_ = std::move(auth); }

Response Router::Handle(const Request& request) const {
  unsigned version = request.version();
  std::string_view target(request.target().data(), request.target().size());
  auto route = FindRoute(target);
  if (!route) {
    return MakeResponse(http::status::not_found, version, kTextContentType, "not found\n");
  }
  if (request.method() != http::verb::get) {
    Response response = MakeResponse(http::status::method_not_allowed, version, kTextContentType,
                                     "only GET is supported\n");
    response.set(http::field::allow, "GET");
    return response;
  }
  switch (Authorize(*route, request)) {
    case AuthVerdict::kAllowed:
      break;
    case AuthVerdict::kDenied: {
      Response response =
          MakeResponse(http::status::unauthorized, version, kTextContentType, "unauthorized\n");
      response.set(http::field::www_authenticate, "Basic realm=\"expvar-collector\"");
      return response;
    }
    case AuthVerdict::kThrottled: {
      Response response = MakeResponse(http::status::too_many_requests, version, kTextContentType,
                                       "too many authentication attempts\n");
      response.set(http::field::retry_after, "1");
      return response;
    }
  }
  try {
    return Answer(*route, request);
  } catch (const std::exception& e) {
    spdlog::warn("admin: {} failed: {}", target.substr(0, target.find('?')), e.what());
    return MakeResponse(http::status::internal_server_error, version, kTextContentType,
                        "internal error\n");
  }
}

std::optional<Router::Route> Router::FindRoute(std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/metrics") return Route::kMetrics;
  if (path == "/healthz") return Route::kHealthz;
  if (path == "/readyz") return Route::kReadyz;
  if (path == "/status") return Route::kStatus;
  return std::nullopt;
}

bool Router::NeedsCredentials(Route route) {
  return route == Route::kMetrics || route == Route::kStatus;
}

AuthVerdict Router::Authorize(Route route, const Request& request) const {
  if (!auth_ || !NeedsCredentials(route)) return AuthVerdict::kAllowed;
  auto header = request[http::field::authorization];
  return auth_->Check(std::string_view(header.data(), header.size()));
}

Response Router::Answer(Route route, const Request& request) const {
  unsigned version = request.version();
  switch (route) {
    case Route::kMetrics:
      return MetricsResponse(request);
    case Route::kHealthz:
      return MakeResponse(http::status::ok, version, kTextContentType, "ok");
    case Route::kReadyz:
      if (ready_) return MakeResponse(http::status::ok, version, kTextContentType, "ready");
      return MakeResponse(http::status::service_unavailable, version, kTextContentType,
                          "not ready");
    case Route::kStatus:
      return MakeResponse(http::status::ok, version, kJsonContentType, status_ ? status_() : "{}");
  }
  return MakeResponse(http::status::not_found, version, kTextContentType, "not found\n");
}

Response Router::MetricsResponse(const Request& request) const {
  std::string text = Metrics();
  auto accept_encoding = request[http::field::accept_encoding];
  bool gzip = AcceptsGzip(std::string_view(accept_encoding.data(), accept_encoding.size()));
  Response response = MakeResponse(http::status::ok, request.version(), kMetricsContentType,
                                   gzip ? Gzip(text) : std::move(text));
  if (gzip) response.set(http::field::content_encoding, "gzip");
  response.set(http::field::vary, "Accept-Encoding");
  return response;
}

std::string Router::Metrics() const {
  std::vector<prometheus::MetricFamily> families;
  std::unordered_set<std::string> names;
  for (const auto& weak : collectables_) {
    auto collectable = weak.lock();
    if (!collectable) continue;  // its owner is gone, e.g. during shutdown
    for (auto& family : collectable->Collect()) {
      // A repeated family name would make the whole exposition invalid.
      if (names.insert(family.name).second) families.push_back(std::move(family));
    }
  }
  std::string text;
  // The exposition is about as long as the last one: one allocation instead of a dozen doublings.
  text.reserve(last_metrics_size_.load(std::memory_order_relaxed) * 9 / 8);
  AppendText(families, text);
  last_metrics_size_.store(text.size(), std::memory_order_relaxed);
  return text;
}

}  // namespace expvar::admin
