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

#include "discovery/kube/api_connection.h"

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
      : connection_(std::move(executor), std::move(server), std::move(tls)),
        max_body_bytes_(max_body_bytes) {}

  asio::awaitable<ApiReply> Send(ApiRequestSpec spec,
                                 std::chrono::steady_clock::time_point deadline) {
    ApiReply reply;
    buffer_.clear();
    reply.error = co_await connection_.Connect(deadline);  // closes the previous one
    if (!reply.error.empty()) co_return reply;
    bhttp::request<bhttp::string_body> request{bhttp::string_to_verb(spec.method), spec.target, 11};
    request.set(bhttp::field::host, connection_.server().Authority());
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
    if (connection_.IsTls()) {
      reply.error = co_await Exchange(connection_.Tls(), request, parser);
    } else {
      reply.error = co_await Exchange(connection_.Tcp(), request, parser);
    }
    if (parser.is_header_done()) reply.status = parser.get().result_int();
    if (reply.error.empty()) reply.body = std::move(parser.get().body());
    Cancel();
    co_return reply;
  }

  void Cancel() { connection_.Close(); }

 private:
  static constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

  template <class Stream>
  asio::awaitable<std::string> Exchange(Stream& stream, bhttp::request<bhttp::string_body>& request,
                                        bhttp::response_parser<bhttp::string_body>& parser) {
    auto [write_ec, written] = co_await bhttp::async_write(stream, request, kNoThrow);
    if (write_ec) co_return ApiStageError("sending request", write_ec);
    auto [read_ec, read] = co_await bhttp::async_read(stream, buffer_, parser, kNoThrow);
    if (read_ec) co_return ApiStageError("reading response", read_ec);
    co_return "";
  }

  ApiConnection connection_;
  std::size_t max_body_bytes_;
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
