#include "http/url.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace expvar::http {
namespace {

struct GoodCase {
  std::string text;
  std::string scheme;
  std::string userinfo;
  std::string host;
  std::string port;
  bool explicit_port;
  std::string path;
  std::string query;
  std::string fragment;
};

class ParseUrlGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseUrlGoodTest, SplitsParts) {
  const GoodCase& c = GetParam();
  std::string error;
  const auto url = ParseUrl(c.text, &error);
  ASSERT_TRUE(url.has_value()) << c.text << ": " << error;
  EXPECT_EQ(url->scheme, c.scheme);
  EXPECT_EQ(url->userinfo, c.userinfo);
  EXPECT_EQ(url->host, c.host);
  EXPECT_EQ(url->port, c.port);
  EXPECT_EQ(url->explicit_port, c.explicit_port);
  EXPECT_EQ(url->path, c.path);
  EXPECT_EQ(url->query, c.query);
  EXPECT_EQ(url->fragment, c.fragment);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseUrlGoodTest,
    ::testing::Values(
        GoodCase{"http://h:1", "http", "", "h", "1", true, "", "", ""},
        GoodCase{"http://h:1/", "http", "", "h", "1", true, "/", "", ""},
        GoodCase{"http://h:1?x", "http", "", "h", "1", true, "", "x", ""},
        GoodCase{"http://h#top", "http", "", "h", "80", false, "", "", "top"},
        GoodCase{"https://h", "https", "", "h", "443", false, "", "", ""},
        GoodCase{"HTTPS://Example.COM/Debug/Vars", "https", "", "Example.COM", "443", false,
                 "/Debug/Vars", "", ""},
        GoodCase{"http://10.0.0.7:6060/debug/vars?a=1&b=2#f", "http", "", "10.0.0.7", "6060", true,
                 "/debug/vars", "a=1&b=2", "f"},
        GoodCase{"http://[::1]:8080/x", "http", "", "::1", "8080", true, "/x", "", ""},
        GoodCase{"http://[fd00::a:1]/", "http", "", "fd00::a:1", "80", false, "/", "", ""},
        GoodCase{"http://[::ffff:10.1.2.3]:9/", "http", "", "::ffff:10.1.2.3", "9", true, "/", "",
                 ""},
        GoodCase{"http://user:pass@h:99/p", "http", "user:pass", "h", "99", true, "/p", "", ""},
        GoodCase{"http://user@h/", "http", "user", "h", "80", false, "/", "", ""},
        // Kept percent-encoded: the client decodes user and password for basic auth.
        GoodCase{"http://u%40x:p%2Fw@h/", "http", "u%40x:p%2Fw", "h", "80", false, "/", "", ""},
        GoodCase{"http://my-svc.ns.svc.cluster.local:1/", "http", "", "my-svc.ns.svc.cluster.local",
                 "1", true, "/", "", ""},
        GoodCase{"http://h:65535/", "http", "", "h", "65535", true, "/", "", ""},
        GoodCase{"http://h:0080/", "http", "", "h", "80", true, "/", "", ""},
        // RFC 3986 allows an empty port; it means the default.
        GoodCase{"http://h:/", "http", "", "h", "80", false, "/", "", ""},
        GoodCase{"  http://h/x \n", "http", "", "h", "80", false, "/x", "", ""}));

struct BadCase {
  std::string text;
  std::string error_part;
};

class ParseUrlBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseUrlBadTest, Rejects) {
  const BadCase& c = GetParam();
  std::string error;
  EXPECT_FALSE(ParseUrl(c.text, &error).has_value()) << c.text;
  EXPECT_NE(error.find(c.error_part), std::string::npos) << c.text << " -> " << error;
}

INSTANTIATE_TEST_SUITE_P(
    Table, ParseUrlBadTest,
    ::testing::Values(BadCase{"", "empty"}, BadCase{"h:80/debug/vars", "absolute"},
                      BadCase{"//h/x", "absolute"}, BadCase{"ftp://h/", "unsupported scheme"},
                      BadCase{"1http://h/", "scheme"}, BadCase{"http://", "missing host"},
                      BadCase{"http:///path", "missing host"},
                      BadCase{"http://user:pw@/x", "missing host"},
                      BadCase{"http://:80/", "missing host"}, BadCase{"http://h:0/", "port"},
                      BadCase{"http://h:65536/", "port"}, BadCase{"http://h:99999999999/", "port"},
                      BadCase{"http://h:-1/", "port"}, BadCase{"http://h:8o/", "port"},
                      BadCase{"http://[::1/", "IPv6"}, BadCase{"http://[zz::1]/", "IPv6"},
                      BadCase{"http://[::1]x/", "IPv6"}, BadCase{"http://::1/", "brackets"},
                      BadCase{"http://999.1.2.3/", "IPv4"}, BadCase{"http://h!/", "host"},
                      BadCase{"http://h h/", "whitespace"},
                      BadCase{"http://h/a\r\nX: y", "control"},
                      // RFC 3986 requires these. An unencoded '@' in the userinfo used to parse
                      // (the last '@' ended it, as in Python's urlparse); now '@' must be %40.
                      BadCase{"http://u:p@ss@h/", "'@' in the userinfo"},
                      BadCase{"http://u\\@h/", "userinfo"}, BadCase{"http://[v1.x]/", "IPvFuture"},
                      BadCase{"http://h/%zz", "RFC 3986"}, BadCase{"http://h/?a=b|c", "RFC 3986"}));

// A '/' left unencoded in a password made the rest parse as host "user" (a DNS lookup off the
// node) with the password's tail as the path, shown on /status and in logs.
TEST(ParseUrlTest, AnAtSignAfterTheHostIsRefused) {
  for (const char* text : {"http://user:1/cret@127.0.0.1:9/debug/vars", "http://h/x@y",
                           "http://h/?a=b@c", "http://h/#x@y"}) {
    std::string error;
    EXPECT_FALSE(ParseUrl(text, &error).has_value()) << text;
    EXPECT_EQ(error.rfind("'@' after the host", 0), 0u) << error;
  }
  std::string error;
  EXPECT_TRUE(ParseUrl("http://user:p%2Fss@127.0.0.1:9/debug/vars", &error)) << error;
}

TEST(ParseUrlTest, ErrorsNeverContainUserinfo) {
  const std::vector<std::string> inputs = {
      "http://admin:hunter2@h:0/", "http://admin:hunter2@h:99999/", "http://admin:hunter2@[::1/",
      "http://admin:hunter2@h!/",
      // An unescaped '/' in the password splits the authority early: the "port" is now a piece
      // of the password and must not be quoted back.
      "http://admin:hun/ter2@h/", "http://admin:hunter2@/", "http://admin:1/hunter2@h/",
      "http://admin:hunter2@h/?next=admin@h", "http://admin:hunter2@ss@h/",
      "http://admin:hunter2\\@h/"};
  for (const auto& text : inputs) {
    std::string error;
    EXPECT_FALSE(ParseUrl(text, &error).has_value()) << text;
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(error.find("hun"), std::string::npos) << error;
    EXPECT_EQ(error.find("admin"), std::string::npos) << error;
  }
}

TEST(ParseUrlTest, NullErrorPointerIsAllowed) {
  EXPECT_FALSE(ParseUrl("ftp://h", nullptr).has_value());
}

struct RenderCase {
  std::string text;
  std::string target;
  std::string authority;
  std::string to_string;
};

class UrlRenderTest : public ::testing::TestWithParam<RenderCase> {};

TEST_P(UrlRenderTest, TargetAuthorityToString) {
  const RenderCase& c = GetParam();
  std::string error;
  const auto url = ParseUrl(c.text, &error);
  ASSERT_TRUE(url.has_value()) << error;
  EXPECT_EQ(url->Target(), c.target);
  EXPECT_EQ(url->Authority(), c.authority);
  EXPECT_EQ(url->ToString(), c.to_string);
}

INSTANTIATE_TEST_SUITE_P(
    Table, UrlRenderTest,
    ::testing::Values(RenderCase{"http://h:1", "/", "h:1", "http://h:1"},
                      RenderCase{"http://h:1/", "/", "h:1", "http://h:1/"},
                      RenderCase{"http://h:1?x", "/?x", "h:1", "http://h:1?x"},
                      RenderCase{"HTTP://h/a/b?c=d#frag", "/a/b?c=d", "h", "http://h/a/b?c=d"},
                      RenderCase{"http://u:secret@h:8/v", "/v", "h:8", "http://h:8/v"},
                      RenderCase{"http://[::1]:8080/x", "/x", "[::1]:8080", "http://[::1]:8080/x"},
                      RenderCase{"https://[fe80::1]/", "/", "[fe80::1]", "https://[fe80::1]/"},
                      RenderCase{"https://h:443/", "/", "h:443", "https://h:443/"}));

}  // namespace
}  // namespace expvar::http
