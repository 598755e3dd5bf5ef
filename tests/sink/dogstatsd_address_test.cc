#include "sink/dogstatsd_address.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dogstatsd_test_util.h"

namespace expvar::sink {
namespace {

using testing::Udp;
using testing::Unix;
using testing::V;

common::EnvLookup FakeEnv(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(GlobalTags, ComeFromDdEnvServiceVersion) {
  EXPECT_EQ(GlobalTagsFromEnvironment(
                FakeEnv({{"DD_VERSION", "1.2.3"}, {"DD_ENV", "prod"}, {"DD_SERVICE", "api"}})),
            (V{"env:prod", "service:api", "version:1.2.3"}));
  EXPECT_EQ(GlobalTagsFromEnvironment(FakeEnv({{"DD_SERVICE", "api"}, {"DD_ENV", ""}})),
            V{"service:api"});
  EXPECT_TRUE(GlobalTagsFromEnvironment(FakeEnv({})).empty());
}

TEST(GlobalTags, DdTagsFollowSeparatedBySpacesCommasOrBoth) {
  EXPECT_EQ(GlobalTagsFromEnvironment(FakeEnv({{"DD_TAGS", "team:a tier:web  canary"}})),
            (V{"team:a", "tier:web", "canary"}));
  EXPECT_EQ(GlobalTagsFromEnvironment(FakeEnv({{"DD_TAGS", "team:a,tier:web,,canary,"}})),
            (V{"team:a", "tier:web", "canary"}));
  EXPECT_EQ(GlobalTagsFromEnvironment(FakeEnv({{"DD_TAGS", " team:a, tier:web ,\tcanary\n"}})),
            (V{"team:a", "tier:web", "canary"}));
  EXPECT_EQ(GlobalTagsFromEnvironment(
                FakeEnv({{"DD_TAGS", "team:a"}, {"DD_ENV", "prod"}, {"DD_VERSION", "1.2.3"}})),
            (V{"env:prod", "version:1.2.3", "team:a"}));
  EXPECT_TRUE(GlobalTagsFromEnvironment(FakeEnv({{"DD_TAGS", ""}})).empty());
  EXPECT_TRUE(GlobalTagsFromEnvironment(FakeEnv({{"DD_TAGS", " , ,, "}})).empty());
  // A value keeps its own ':'s (a URL, a time).
  EXPECT_EQ(GlobalTagsFromEnvironment(FakeEnv({{"DD_TAGS", "repo:https://x.example/y"}})),
            V{"repo:https://x.example/y"});
}

TEST(ParseDogStatsDUrl, Accepts) {
  const std::vector<std::pair<std::string, DogStatsDAddress>> cases = {
      {"udp://127.0.0.1:8125", Udp("127.0.0.1")},
      {"udp://10.1.2.3:9125", Udp("10.1.2.3", 9125)},
      {"udp://[::1]:8125", Udp("::1")},
      {"udp://[fd00::a:1]:1", Udp("fd00::a:1", 1)},
      {"udp://datadog-agent.datadog.svc.cluster.local:8125",
       Udp("datadog-agent.datadog.svc.cluster.local")},
      {"udp://localhost", Udp("localhost")},
      {"udp://[::1]", Udp("::1")},
      {"UDP://host:65535/", Udp("host", 65535)},
      {"unix:///var/run/datadog/dsd.socket", Unix("/var/run/datadog/dsd.socket")},
      {"unixgram:///tmp/dsd.sock", Unix("/tmp/dsd.sock")},
  };
  for (const auto& [url, expected] : cases) {
    std::string error;
    auto address = ParseDogStatsDUrl(url, &error);
    ASSERT_TRUE(address) << url << ": " << error;
    EXPECT_EQ(*address, expected) << url;
    EXPECT_EQ(ParseDogStatsDUrl(address->ToString(), &error), address) << address->ToString();
  }
}

TEST(ParseDogStatsDUrl, Rejects) {
  const V cases = {"",
                   "127.0.0.1:8125",
                   "tcp://127.0.0.1:8125",
                   "http://127.0.0.1:8125",
                   "unixstream:///tmp/x",
                   "udp://",
                   "udp://:8125",
                   "udp://host:",
                   "udp://host:0",
                   "udp://host:65536",
                   "udp://host:80a",
                   "udp://host:-1",
                   "udp://::1:8125",
                   "udp://[::1",
                   "udp://[::1]x",
                   "udp://[not-v6]:8125",
                   "udp://host:8125/path",
                   "udp://user@host:8125",
                   "udp://ho st:8125",
                   "unix://",
                   "unix://relative/dsd.socket",
                   "unix:///" + std::string(120, 'x')};
  for (const auto& url : cases) {
    std::string error;
    EXPECT_FALSE(ParseDogStatsDUrl(url, &error)) << url;
    EXPECT_FALSE(error.empty()) << url;
  }
}

TEST(DogStatsDAddress, ToStringAndLimit) {
  EXPECT_EQ(Udp("::1", 9).ToString(), "udp://[::1]:9");
  EXPECT_EQ(Udp("h").ToString(), "udp://h:8125");
  EXPECT_EQ(Unix("/x.sock").ToString(), "unix:///x.sock");
  EXPECT_EQ(Udp("h").DatagramLimit(), 1432u);
  EXPECT_EQ(Unix("/x").DatagramLimit(), 8192u);
}

TEST(ResolveDefaultAddress, FollowsTheDatadogOrder) {
  const std::string socket(kDefaultDogStatsDSocket);
  struct Case {
    std::map<std::string, std::string> env;
    bool socket_exists;
    DogStatsDAddress expected;
  };
  const std::vector<Case> cases = {
      {{{"DD_DOGSTATSD_URL", "unix:///tmp/d.sock"}, {"DD_AGENT_HOST", "10.0.0.9"}},
       true,
       Unix("/tmp/d.sock")},
      {{{"DD_DOGSTATSD_URL", "udp://agent:9"}}, true, Udp("agent", 9)},
      {{{"DD_AGENT_HOST", "10.0.0.9"}}, true, Udp("10.0.0.9")},
      {{{"DD_AGENT_HOST", "10.0.0.9"}, {"DD_DOGSTATSD_PORT", "9125"}},
       false,
       Udp("10.0.0.9", 9125)},
      {{{"DD_AGENT_HOST", "fd00::9"}}, false, Udp("fd00::9")},
      {{{"DD_AGENT_HOST", "[fd00::9]"}}, false, Udp("fd00::9")},
      {{{"DD_AGENT_HOST", "datadog-agent"}}, false, Udp("datadog-agent")},
      {{{"DD_AGENT_HOST", "10.0.0.9:9999"}, {"DD_DOGSTATSD_PORT", "9125"}},
       false,
       Udp("10.0.0.9", 9999)},
      {{{"DD_AGENT_HOST", "[fd00::9]:7"}}, false, Udp("fd00::9", 7)},
      {{{"DD_AGENT_HOST", "unix:///run/dsd.sock"}}, false, Unix("/run/dsd.sock")},
      {{{"DD_DOGSTATSD_URL", ""}, {"DD_AGENT_HOST", ""}}, true, Unix(socket)},
      {{}, true, Unix(socket)},
      {{}, false, Udp("127.0.0.1")},
      {{{"DD_DOGSTATSD_PORT", "9125"}}, false, Udp("127.0.0.1", 9125)},
  };
  for (const auto& c : cases) {
    std::string error;
    auto address = ResolveDefaultAddress(
        FakeEnv(c.env), [&](const std::string& path) { return c.socket_exists && path == socket; },
        &error);
    ASSERT_TRUE(address) << error;
    EXPECT_EQ(*address, c.expected) << c.expected.ToString();
  }
}

TEST(ResolveDefaultAddress, InvalidSettingsAreErrorsNotFallbacks) {
  for (const auto& env : std::vector<std::map<std::string, std::string>>{
           {{"DD_DOGSTATSD_URL", "tcp://x:1"}},
           {{"DD_AGENT_HOST", "10.0.0.1"}, {"DD_DOGSTATSD_PORT", "http"}},
           {{"DD_AGENT_HOST", "bad host"}},
           {{"DD_AGENT_HOST", "10.0.0.1:0"}},
           {{"DD_AGENT_HOST", "tcp://10.0.0.1:1"}},
       }) {
    std::string error;
    EXPECT_FALSE(ResolveDefaultAddress(
        FakeEnv(env), [](const std::string&) { return true; }, &error));
    EXPECT_TRUE(error.starts_with("DD_")) << error;
  }
}

}  // namespace
}  // namespace expvar::sink
