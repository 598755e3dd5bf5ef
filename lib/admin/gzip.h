// Compresses a response body with gzip (zlib) when the client's Accept-Encoding allows it.
#pragma once

#include <string>
#include <string_view>

namespace expvar::admin {

// True when an Accept-Encoding header value accepts gzip: a "gzip" or "*" coding whose q is
// not zero ("gzip;q=0" refuses it). Case-insensitive, as RFC 9110 says codings are.
bool AcceptsGzip(std::string_view accept_encoding);

// `body` as one gzip member. Level 1: /metrics is compressed at every scrape, and on the label
// text we serve the fastest level already shrinks it about tenfold. Throws std::runtime_error
// when zlib fails (it only does when out of memory).
std::string Gzip(std::string_view body);

}  // namespace expvar::admin
