#include "admin/gzip.h"

#include <zlib.h>

#include <algorithm>
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

struct GzipStream::Zlib {
  z_stream stream{};
};

GzipStream::GzipStream() : zlib_(std::make_unique<Zlib>()) {
  if (deflateInit2(&zlib_->stream, kLevel, Z_DEFLATED, kGzipWindowBits, kMemLevel,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: zlib could not start");
  }
}

GzipStream::~GzipStream() { deflateEnd(&zlib_->stream); }

void GzipStream::Append(std::string_view piece) { Deflate(piece, Z_NO_FLUSH); }

std::string GzipStream::Finish() {
  Deflate({}, Z_FINISH);
  return std::move(out_);
}

void GzipStream::Deflate(std::string_view piece, int flush) {
  z_stream& stream = zlib_->stream;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
  stream.avail_in = static_cast<uInt>(piece.size());
  // deflateBound of the piece is room enough for it and whatever zlib still holds back.
  out_.reserve(out_.size() + deflateBound(&stream, static_cast<uLong>(piece.size())));
  int status = Z_OK;
  do {
    std::size_t used = out_.size();
    std::size_t room = std::max<std::size_t>(out_.capacity() - used, 4096);
    out_.resize(used + room);
    stream.next_out = reinterpret_cast<Bytef*>(out_.data() + used);
    stream.avail_out = static_cast<uInt>(room);
    status = deflate(&stream, flush);
    out_.resize(used + room - stream.avail_out);
    if (status == Z_STREAM_ERROR) throw std::runtime_error("gzip: zlib could not compress");
  } while (stream.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END));
}

std::string Gzip(std::string_view body) {
  GzipStream stream;
  stream.Append(body);
  return stream.Finish();
}

}  // namespace expvar::admin
