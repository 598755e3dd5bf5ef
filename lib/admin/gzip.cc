#include "admin/gzip.h"

#include <zlib.h>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <stdexcept>

namespace expvar::admin {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;

constexpr int kLevel = 1;
constexpr int kGzipWindowBits = 15 + 16;  // 2^15 window; +16 asks zlib for a gzip wrapper
constexpr int kMemLevel = 8;              // zlib's default

// "0", "0.0", "0.000": a weight that refuses the coding.
bool IsZeroWeight(std::string_view weight) {
  return !weight.empty() && weight[0] == '0' &&
         weight.find_first_not_of("0.") == std::string_view::npos;
}

}  // namespace

bool AcceptsGzip(std::string_view accept_encoding) {
  // Accept-Encoding has the grammar Beast's ext_list parses: codings with ";q=" parameters.
  for (const auto& [coding, parameters] : http::ext_list(accept_encoding)) {
    if (!beast::iequals(coding, "gzip") && coding != "*") continue;
    bool refused = false;
    for (const auto& [name, value] : parameters) {
      if (beast::iequals(name, "q") && IsZeroWeight(value)) refused = true;
    }
    if (!refused) return true;
  }
  return false;
}

std::string Gzip(std::string_view body) {
  z_stream stream{};
  if (deflateInit2(&stream, kLevel, Z_DEFLATED, kGzipWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    throw std::runtime_error("gzip: zlib could not start");
  }
  std::string out(deflateBound(&stream, static_cast<uLong>(body.size())), '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int status = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (status != Z_STREAM_END) throw std::runtime_error("gzip: zlib could not compress");
  return out;
}

}  // namespace expvar::admin
