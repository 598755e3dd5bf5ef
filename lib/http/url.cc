#include "http/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/algorithm/string/case_conv.hpp>
#include <boost/algorithm/string/trim.hpp>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.h"

namespace expvar::http {
namespace {

// Error messages never quote anything after "://": with a password containing '/', the
// "host" or "port" we would quote is really a piece of the userinfo.
std::nullopt_t Fail(std::string* error, std::string message) {
  if (error != nullptr) *error = std::move(message);
  return std::nullopt;
}

bool IsSpaceOrControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f;
}

bool IsSchemeToken(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  });
}

bool IsRegNameChar(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

bool LooksLikeIpv4(std::string_view host) {
  return std::all_of(host.begin(), host.end(),
                     [](unsigned char c) { return std::isdigit(c) || c == '.'; });
}

// inet_pton for one family: stricter than asio's make_address, which accepts either.
bool IsLiteralOfFamily(int family, std::string_view text) {
  unsigned char buf[16];
  const std::string copy(text);
  return inet_pton(family, copy.c_str(), buf) == 1;
}

// Accepts "1".."65535" and stores it in canonical form ("0080" -> "80").
bool ParseUrlPort(std::string_view text, std::string* port) {
  std::optional<std::uint16_t> value = common::ParsePort(text);
  if (!value || *value == 0) return false;
  *port = std::to_string(*value);
  return true;
}

// Splits "host[:port]" / "[v6][:port]" into url->host and the port text (if any).
bool SplitHostPort(std::string_view hostport, Url* url, std::string_view* port_text, bool* has_port,
                   std::string* error) {
  *has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) {
      Fail(error, "unterminated IPv6 address (missing ']')");
      return false;
    }
    url->host = std::string(hostport.substr(1, close - 1));
    if (!IsLiteralOfFamily(AF_INET6, url->host)) {
      Fail(error, "invalid IPv6 address");
      return false;
    }
    const auto rest = hostport.substr(close + 1);
    if (rest.empty()) return true;
    if (rest.front() != ':') {
      Fail(error, "unexpected characters after IPv6 address");
      return false;
    }
    *has_port = true;
    *port_text = rest.substr(1);
    return true;
  }
  const auto colon = hostport.find(':');
  if (colon != std::string_view::npos && hostport.find(':', colon + 1) != std::string_view::npos) {
    Fail(error, "IPv6 address must be enclosed in brackets");
    return false;
  }
  url->host = std::string(hostport.substr(0, colon));
  if (colon != std::string_view::npos) {
    *has_port = true;
    *port_text = hostport.substr(colon + 1);
  }
  if (url->host.empty()) {
    Fail(error, "missing host");
    return false;
  }
  if (!std::all_of(url->host.begin(), url->host.end(),
                   [](unsigned char c) { return IsRegNameChar(c); })) {
    Fail(error, "invalid character in host");
    return false;
  }
  if (LooksLikeIpv4(url->host) && !IsLiteralOfFamily(AF_INET, url->host)) {
    Fail(error, "invalid IPv4 address");
    return false;
  }
  return true;
}

bool ParseAuthority(std::string_view authority, Url* url, std::string* error) {
  // The last '@' ends the userinfo, so an unescaped '@' in a password still parses.
  const auto at = authority.rfind('@');
  if (at != std::string_view::npos) {
    url->userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) {
    Fail(error, "missing host");
    return false;
  }
  std::string_view port_text;
  bool has_port = false;
  if (!SplitHostPort(authority, url, &port_text, &has_port, error)) return false;
  // "http://h:/" is legal (RFC 3986 allows an empty port) and means the default port.
  if (has_port && !port_text.empty()) {
    if (!ParseUrlPort(port_text, &url->port)) {
      Fail(error, "invalid port (want a number in 1..65535)");
      return false;
    }
    url->explicit_port = true;
  } else {
    url->port = url->scheme == "https" ? "443" : "80";
  }
  return true;
}

}  // namespace

std::string Url::Target() const {
  std::string target = path.empty() ? "/" : path;
  if (!query.empty()) target += "?" + query;
  return target;
}

std::string Url::Authority() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (explicit_port) out += ":" + port;
  return out;
}

std::string Url::ToString() const {
  std::string out = scheme + "://" + Authority() + path;
  if (!query.empty()) out += "?" + query;
  return out;
}

std::optional<Url> ParseUrl(std::string_view text, std::string* error) {
  text = boost::algorithm::trim_copy(text);
  if (text.empty()) return Fail(error, "empty URL");
  // Control characters (CR/LF above all) would end up in the request line.
  if (std::any_of(text.begin(), text.end(), IsSpaceOrControl)) {
    return Fail(error, "URL contains whitespace or control characters");
  }
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    return Fail(error, "not an absolute URL (want http://host... or https://host...)");
  }
  const auto scheme = text.substr(0, sep);
  if (!IsSchemeToken(scheme)) return Fail(error, "invalid URL scheme");
  Url url;
  url.scheme = boost::algorithm::to_lower_copy(std::string(scheme));
  if (url.scheme != "http" && url.scheme != "https") {
    return Fail(error, "unsupported scheme \"" + url.scheme + "\" (want http or https)");
  }
  auto rest = text.substr(sep + 3);
  const auto authority_end = rest.find_first_of("/?#");
  // An '@' after the host is almost always credentials with an unencoded '/', '?' or '#': the
  // host would then be a piece of the user name (looked up in DNS) and the rest of the password
  // would be shown as the path. Refused, without quoting any of it.
  if (authority_end != std::string_view::npos &&
      rest.find('@', authority_end) != std::string_view::npos) {
    return Fail(error,
                "'@' after the host: percent-encode '/', '?' and '#' in credentials (%2F, %3F, "
                "%23)");
  }
  if (!ParseAuthority(rest.substr(0, authority_end), &url, error)) return std::nullopt;
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    url.fragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  if (const auto question = rest.find('?'); question != std::string_view::npos) {
    url.query = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  url.path = std::string(rest);
  return url;
}

}  // namespace expvar::http
