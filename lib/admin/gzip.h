// Compresses a response body with gzip (zlib) when the client's Accept-Encoding allows it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace expvar::admin {

// True when an Accept-Encoding header value accepts gzip: a "gzip" or "*" coding whose q is
// not zero ("gzip;q=0" refuses it). Case-insensitive, as RFC 9110 says codings are.
bool AcceptsGzip(std::string_view accept_encoding);

// One gzip member written piece by piece, so a body can be compressed while it is produced
// instead of being held whole first. Level 1: /metrics is compressed at every scrape, and on the
// label text we serve the fastest level already shrinks it about twentyfold. Throws
// std::runtime_error when zlib fails (it only does when out of memory).
class GzipStream {
 public:
  GzipStream();
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  void Append(std::string_view piece);
  // Ends the member and returns it; the stream is spent afterwards.
  std::string Finish();

 private:
  struct Zlib;
  void Deflate(std::string_view piece, int flush);

  std::unique_ptr<Zlib> zlib_;
  std::string out_;
};

// `body` as one gzip member.
std::string Gzip(std::string_view body);

}  // namespace expvar::admin
