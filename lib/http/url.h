// Splits an http(s) URL into the parts a client needs, and rebuilds it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace expvar::http {

struct Url {
  std::string scheme;    // "http" or "https", lower-cased
  std::string userinfo;  // "user:pass" if present (never logged)
  std::string host;      // without IPv6 brackets
  std::string port;      // explicit or the scheme default ("80"/"443")
  bool explicit_port = false;
  std::string path;      // "" when the URL has none
  std::string query;     // without '?', "" when none
  std::string fragment;  // without '#'

  // The request target: path (or "/") plus "?query".
  std::string Target() const;
  // host[:port] as written in URLs (IPv6 bracketed), port only when explicit.
  std::string Authority() const;
  // The URL without userinfo and fragment.
  std::string ToString() const;
};

// The port to connect to: the explicit or default one (443 for https, 80 otherwise).
inline unsigned short PortNumber(const Url& url) {
  if (url.port.empty()) return url.scheme == "https" ? 443 : 80;
  return static_cast<unsigned short>(std::stoi(url.port));
}

// Parses an absolute http/https URL. On failure returns nullopt and sets *error.
std::optional<Url> ParseUrl(std::string_view text, std::string* error);

}  // namespace expvar::http
