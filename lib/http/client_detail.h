// Pure helpers of the HTTP client (auth header, redirect resolution), separate so they can be
// unit-tested without a network. Private to lib/http: not part of the client's interface.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/client.h"
#include "http/url.h"

namespace expvar::http::detail {

inline bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](unsigned char x, unsigned char y) {
    return std::tolower(x) == std::tolower(y);
  });
}

inline std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<std::uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<std::uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<std::uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// URL userinfo is percent-encoded (a ':' or '@' in a password must be); the header wants it raw.
inline std::string PercentDecode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(static_cast<unsigned char>(in[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Options win over URL userinfo, as in the Datadog check (requests' auth= beats the URL).
inline std::string BasicAuthorization(const Url& url, const ClientOptions& options) {
  if (!options.username.empty()) {
    return "Basic " + Base64(options.username + ":" + options.password);
  }
  if (url.userinfo.empty()) return "";
  const auto colon = url.userinfo.find(':');
  const std::string user = PercentDecode(std::string_view(url.userinfo).substr(0, colon));
  const std::string pass = colon == std::string::npos
                               ? ""
                               : PercentDecode(std::string_view(url.userinfo).substr(colon + 1));
  return "Basic " + Base64(user + ":" + pass);
}

// CR/LF in a configured header would let a config inject extra header lines or requests.
inline bool HeadersAreValid(const ClientOptions& options) {
  constexpr std::string_view kBadInName(":\r\n\0 \t", 6);
  constexpr std::string_view kBadInValue("\r\n\0", 3);
  for (const auto& [name, value] : options.headers) {
    if (name.empty() || name.find_first_of(kBadInName) != std::string::npos) return false;
    if (value.find_first_of(kBadInValue) != std::string::npos) return false;
  }
  return true;
}

inline bool SameOrigin(const Url& a, const Url& b) {
  return a.scheme == b.scheme && EqualsIgnoringCase(a.host, b.host) &&
         PortNumber(a) == PortNumber(b);
}

// Resolves a Location header against the current request; relative forms stay on this origin.
inline std::optional<Url> ResolveLocation(const Url& base, std::string_view current_target,
                                          std::string_view location) {
  std::string ignored;
  location = location.substr(0, location.find('#'));
  if (const auto sep = location.find("://");
      sep != std::string_view::npos &&
      location.substr(0, sep).find_first_of("/?") == std::string_view::npos) {
    return ParseUrl(location, &ignored);
  }
  if (location.starts_with("//")) {
    return ParseUrl(base.scheme + ":" + std::string(location), &ignored);
  }
  const auto path = current_target.substr(0, current_target.find('?'));
  std::string path_query(location);
  if (location.starts_with("?")) {
    path_query = std::string(path) + path_query;
  } else if (!location.starts_with("/")) {
    path_query = std::string(path.substr(0, path.rfind('/') + 1)) + path_query;
  }
  // Going through ParseUrl validates the new target (no spaces or control characters).
  auto next = ParseUrl(base.scheme + "://" + base.Authority() + path_query, &ignored);
  if (next) next->userinfo = base.userinfo;
  return next;
}

inline bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace expvar::http::detail
