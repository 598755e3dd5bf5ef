#include "admin/router.h"

#include <spdlog/spdlog.h>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <exception>
#include <utility>

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

Router::Router(common::ExpositionSources sources, StatusProvider status)
    : sources_(std::move(sources)), status_(std::move(status)) {}

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
  auto accept_encoding = request[http::field::accept_encoding];
  bool gzip = AcceptsGzip(std::string_view(accept_encoding.data(), accept_encoding.size()));
  Response response = MakeResponse(http::status::ok, request.version(), kMetricsContentType,
                                   gzip ? GzippedMetrics() : Metrics());
  if (gzip) response.set(http::field::content_encoding, "gzip");
  response.set(http::field::vary, "Accept-Encoding");
  return response;
}

std::string Router::Metrics() const {
  // The exposition is about as long as the last one: one allocation instead of a dozen doublings.
  common::ExpositionWriter writer({}, last_metrics_size_.load(std::memory_order_relaxed) * 9 / 8);
  WriteMetrics(writer);
  last_metrics_size_.store(writer.Size(), std::memory_order_relaxed);
  return writer.Finish();
}

// Compressed chunk by chunk as it is written: at 10,000 targets the plain text is ~40 MB that
// would otherwise be held whole next to its compressed copy.
std::string Router::GzippedMetrics() const {
  GzipStream gzip;
  common::ExpositionWriter writer([&gzip](std::string_view chunk) { gzip.Append(chunk); });
  WriteMetrics(writer);
  writer.Finish();
  return gzip.Finish();
}

void Router::WriteMetrics(common::ExpositionWriter& writer) const {
  for (const auto& weak : sources_) {
    auto source = weak.lock();
    if (!source) continue;  // its owner is gone, e.g. during shutdown
    source->AppendExposition(writer);
  }
}

}  // namespace expvar::admin
