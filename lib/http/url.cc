#include "http/url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/algorithm/string/case_conv.hpp>
#include <boost/algorithm/string/trim.hpp>
#include <boost/url/authority_view.hpp>
#include <boost/url/host_type.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include "common/net.h"

namespace expvar::http {
namespace {

// Boost.URL (RFC 3986) decides what is a URL; this file adds what RFC 3986 leaves open for a
// scraper fed by untrusted annotations (http/https only, a host we can connect to, a port in
// 1..65535) and picks error messages. Error messages never quote anything after "://": with a
// password containing '/', the "host" or "port" we would quote is really a piece of the userinfo.
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

// Narrower than RFC 3986's reg-name (no sub-delims, no percent-encoding): a host name we pass to
// DNS or compare with pod IPs should be spelled one way only.
bool IsRegNameChar(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// RFC 3986 userinfo characters (pct-encoded checked loosely: this only picks a message).
bool IsUserinfoChar(unsigned char c) {
  return std::isalnum(c) || std::string_view("-._~!$&'()*+,;=:%").find(c) != std::string_view::npos;
}

// RFC 3986 reads "010.1.2.3" or "2130706433" as names, but resolvers and other parsers read them
// as addresses: refuse anything made of digits and dots that is not a plain dotted quad.
bool LooksLikeIpv4(std::string_view host) {
  return std::all_of(host.begin(), host.end(),
                     [](unsigned char c) { return std::isdigit(c) || c == '.'; });
}

// inet_pton for one family: what the client will connect to must be a literal the OS agrees on.
bool IsLiteralOfFamily(int family, std::string_view text) {
  unsigned char buf[16];
  const std::string copy(text);
  return inet_pton(family, copy.c_str(), buf) == 1;
}

// Accepts "1".."65535" and stores it in canonical form ("0080" -> "80"). RFC 3986 allows any
// number of digits.
bool ParseUrlPort(std::string_view text, std::string* port) {
  std::optional<std::uint16_t> value = common::ParsePort(text);
  if (!value || *value == 0) return false;
  *port = std::to_string(*value);
  return true;
}

constexpr char kBadPort[] = "invalid port (want a number in 1..65535)";
constexpr char kNotAbsolute[] = "not an absolute URL (want http://host... or https://host...)";

// Boost.URL only says that the text is not an RFC 3986 URI; this says which part is wrong, so
// that an annotation's author can fix it. It never decides acceptance.
std::string DescribeRefusal(std::string_view text) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return kNotAbsolute;
  const auto scheme = text.substr(0, sep);
  if (!IsSchemeToken(scheme)) return "invalid URL scheme";
  const std::string lower = boost::algorithm::to_lower_copy(std::string(scheme));
  if (lower != "http" && lower != "https") {
    return "unsupported scheme \"" + lower + "\" (want http or https)";
  }
  const auto rest = text.substr(sep + 3);
  auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (boost::urls::parse_authority(authority)) {
    return "invalid character or percent-encoding in the path, query or fragment (RFC 3986)";
  }
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    const auto userinfo = authority.substr(0, at);
    if (userinfo.find('@') != std::string_view::npos) {
      return "unencoded '@' in the userinfo: percent-encode it (%40)";
    }
    if (!std::all_of(userinfo.begin(), userinfo.end(), IsUserinfoChar)) {
      return "invalid character in the userinfo: percent-encode it";
    }
    authority.remove_prefix(at + 1);
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return "unterminated IPv6 address (missing ']')";
    const auto literal = authority.substr(1, close - 1);
    if (!literal.empty() && (literal.front() == 'v' || literal.front() == 'V')) {
      return "IPvFuture addresses are not supported";
    }
    if (!boost::urls::parse_ipv6_address(literal)) return "invalid IPv6 address";
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') {
      return "unexpected characters after IPv6 address";
    }
    port_text = after.empty() ? after : after.substr(1);
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      return "IPv6 address must be enclosed in brackets";
    }
    const auto host = authority.substr(0, colon);
    if (!std::all_of(host.begin(), host.end(), IsRegNameChar)) return "invalid character in host";
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (!std::all_of(port_text.begin(), port_text.end(),
                   [](unsigned char c) { return std::isdigit(c); })) {
    return kBadPort;
  }
  return "not a valid URL (RFC 3986)";
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
  // An '@' after the host is almost always credentials with an unencoded '/', '?' or '#': the
  // host would then be a piece of the user name (looked up in DNS) and the rest of the password
  // would be shown as the path. RFC 3986 allows '@' in paths, queries and fragments, so this is
  // checked before it, and refused without quoting any of it.
  if (const auto sep = text.find("://"); sep != std::string_view::npos) {
    const auto rest = text.substr(sep + 3);
    const auto authority_end = rest.find_first_of("/?#");
    if (authority_end != std::string_view::npos &&
        rest.find('@', authority_end) != std::string_view::npos) {
      return Fail(error,
                  "'@' after the host: percent-encode '/', '?' and '#' in credentials (%2F, %3F, "
                  "%23)");
    }
  }
  const auto parsed = boost::urls::parse_uri(boost::urls::string_view(text.data(), text.size()));
  if (!parsed) return Fail(error, DescribeRefusal(text));
  const boost::urls::url_view& u = *parsed;
  // "h:80/x" is a valid RFC 3986 URI (scheme "h"); we need scheme://authority.
  if (!u.has_authority()) return Fail(error, kNotAbsolute);
  // RFC 3986 §3.3: after an authority the path is empty or starts with '/'. Boost.URL 1.81 does
  // not enforce it: it ends the authority at the first character it cannot take and returns the
  // rest as the path, so "http://u:p@ss@h/" would be host "ss" and "http://h:8o/" port "".
  if (!u.encoded_path().empty() && u.encoded_path().front() != '/') {
    return Fail(error, DescribeRefusal(text));
  }

  Url url;
  url.scheme = boost::algorithm::to_lower_copy(std::string(u.scheme()));
  if (url.scheme != "http" && url.scheme != "https") {
    return Fail(error, "unsupported scheme \"" + url.scheme + "\" (want http or https)");
  }
  // Kept percent-encoded: the client decodes user and password separately for basic auth.
  if (u.has_userinfo()) url.userinfo = std::string(u.encoded_userinfo());

  switch (u.host_type()) {
    case boost::urls::host_type::ipvfuture:
      return Fail(error, "IPvFuture addresses are not supported");
    case boost::urls::host_type::ipv6:
      url.host = std::string(u.encoded_host_address());  // without brackets
      if (!IsLiteralOfFamily(AF_INET6, url.host)) return Fail(error, "invalid IPv6 address");
      break;
    default:
      url.host = std::string(u.encoded_host());
      if (url.host.empty()) return Fail(error, "missing host");
      if (!std::all_of(url.host.begin(), url.host.end(), IsRegNameChar)) {
        return Fail(error, "invalid character in host");
      }
      if (LooksLikeIpv4(url.host) && !IsLiteralOfFamily(AF_INET, url.host)) {
        return Fail(error, "invalid IPv4 address");
      }
      break;
  }
  // "http://h:/" is legal (RFC 3986 allows an empty port) and means the default port.
  if (u.has_port() && !u.port().empty()) {
    if (!ParseUrlPort(std::string_view(u.port().data(), u.port().size()), &url.port)) {
      return Fail(error, kBadPort);
    }
    url.explicit_port = true;
  } else {
    url.port = url.scheme == "https" ? "443" : "80";
  }
  url.path = std::string(u.encoded_path());
  if (u.has_query()) url.query = std::string(u.encoded_query());
  if (u.has_fragment()) url.fragment = std::string(u.encoded_fragment());
  return url;
}

}  // namespace expvar::http
