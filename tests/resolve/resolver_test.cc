#include "resolve/resolver.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>

#include "support/pod_builder.h"

namespace expvar::resolve {
namespace {

// Ports declared out of order on purpose: %%port%% must be the highest (9000), not the last
// declared (6060), and %%port_<n>%% indexes the ascending list 6060, 8080, 9000.
pipeline::Pod MakePod() {
  return testing::PodBuilder("shop", "web-7d9f", "6f1c9a52-0d3e-4b7a-9c1e-2f5d8e7a4b10")
      .Ips({"10.1.2.3", "fd00::3"})
      .AddContainer("app", {{"admin", 9000, "TCP"}, {"http", 8080, "TCP"}, {"", 6060, "TCP"}})
      .AddContainer("sidecar")
      .Build();
}

const std::map<std::string, std::string>& Environment() {
  static const auto* env = new std::map<std::string, std::string>{
      {"EXPVAR_PATH", "/debug/vars"},
      {"TIMEOUT", "5"},
      {"NEGATIVE", "-42"},
      {"ZERO", "0"},
      {"ZERO_PADDED", "007"},
      {"HEX", "0x1f"},
      {"HUGE", "99999999999999999999"},
      {"FLOAT", "1.5"},
      {"SPACED", " 5"},
      {"PLUS", "+5"},
      {"EMPTY", ""},
      {"TOKEN", "s3cr3t-t0ken"},
      {"LOOP", "%%env_UNSET%%"},
  };
  return *env;
}

std::optional<std::string> LookupEnv(const std::string& name) {
  const auto it = Environment().find(name);
  if (it == Environment().end()) return std::nullopt;
  return it->second;
}

ResolveContext MakeContext(const pipeline::Pod* pod, std::string host = "10.1.2.3",
                           std::string container = "app") {
  ResolveContext ctx;
  ctx.pod = pod;
  ctx.container = std::move(container);
  ctx.host = std::move(host);
  ctx.env = LookupEnv;
  return ctx;
}

ResolveResult Resolve(std::string_view tmpl_json, const ResolveContext& ctx) {
  return ResolveTemplate(boost::json::parse(tmpl_json), ctx);
}

// ---- Templates that resolve -------------------------------------------------------------------

struct GoodCase {
  std::string label;
  std::string tmpl;  // JSON
  std::string want;  // JSON
  std::string host = "10.1.2.3";
  std::string container = "app";
  std::map<std::string, std::string> extras = {};
};

void PrintTo(const GoodCase& c, std::ostream* os) { *os << c.tmpl; }

class ResolveGoodTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ResolveGoodTest, Substitutes) {
  const GoodCase& c = GetParam();
  const pipeline::Pod pod = MakePod();
  ResolveContext ctx = MakeContext(&pod, c.host, c.container);
  ctx.extras = c.extras;
  const ResolveResult result = Resolve(c.tmpl, ctx);
  ASSERT_TRUE(std::holds_alternative<boost::json::value>(result))
      << c.tmpl << ": " << std::get<ResolveError>(result).ToString();
  EXPECT_EQ(boost::json::serialize(std::get<boost::json::value>(result)),
            boost::json::serialize(boost::json::parse(c.want)))
      << c.tmpl;
}

INSTANTIATE_TEST_SUITE_P(
    Variables, ResolveGoodTest,
    ::testing::Values(GoodCase{"Host", R"("%%host%%")", R"("10.1.2.3")"},
                      GoodCase{"HostInUrl", R"("http://%%host%%:%%port%%/debug/vars")",
                               R"("http://10.1.2.3:9000/debug/vars")"},
                      GoodCase{"HostNetworkIsHost", R"("http://%%host_pod%%:1/")",
                               R"("http://10.1.2.3:1/")"},
                      GoodCase{"HostUnknownNetworkIsHost", R"("%%host_bridge%%")", R"("10.1.2.3")"},
                      GoodCase{"HostPodModeLoopback", R"("http://%%host%%:%%port_http%%")",
                               R"("http://127.0.0.1:8080")", "127.0.0.1"},
                      GoodCase{"PortIsHighestNotLastDeclared", R"("%%port%%")", "9000"},
                      GoodCase{"PortIndex0IsLowest", R"("%%port_0%%")", "6060"},
                      GoodCase{"PortIndex1", R"("%%port_1%%")", "8080"},
                      GoodCase{"PortIndex2", R"("%%port_2%%")", "9000"},
                      GoodCase{"PortIndexLeadingZero", R"("%%port_01%%")", "8080"},
                      GoodCase{"PortByName", R"("%%port_http%%")", "8080"},
                      GoodCase{"PortByOtherName", R"("%%port_admin%%")", "9000"},
                      GoodCase{"Env", R"("%%env_EXPVAR_PATH%%")", R"("/debug/vars")"},
                      GoodCase{"EnvEmptyValue", R"("x%%env_EMPTY%%y")", R"("xy")"},
                      GoodCase{"KubeNamespace", R"("%%kube_namespace%%")", R"("shop")"},
                      GoodCase{"KubePodName", R"("%%kube_pod_name%%")", R"("web-7d9f")"},
                      GoodCase{"KubePodUid", R"("%%kube_pod_uid%%")",
                               R"("6f1c9a52-0d3e-4b7a-9c1e-2f5d8e7a4b10")"},
                      GoodCase{"ExtraSharesKubeLookup", R"("%%extra_namespace%%")", R"("shop")"},
                      GoodCase{"ExtraInjected",
                               R"("%%extra_region%%")",
                               R"("eu-west-1")",
                               "10.1.2.3",
                               "app",
                               {{"region", "eu-west-1"}}},
                      GoodCase{"KubeReadsInjectedExtra",
                               R"("%%kube_region%%")",
                               R"("eu-west-1")",
                               "10.1.2.3",
                               "app",
                               {{"region", "eu-west-1"}}},
                      GoodCase{"PodFactsWinOverExtras",
                               R"("%%kube_namespace%%")",
                               R"("shop")",
                               "10.1.2.3",
                               "app",
                               {{"namespace", "spoofed"}}}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Integers, ResolveGoodTest,
    ::testing::Values(
        GoodCase{"WholePortIsInteger", R"("%%port%%")", "9000"},
        GoodCase{"WholeEnvIsInteger", R"("%%env_TIMEOUT%%")", "5"},
        GoodCase{"Negative", R"("%%env_NEGATIVE%%")", "-42"},
        GoodCase{"Zero", R"("%%env_ZERO%%")", "0"},
        GoodCase{"ZeroPaddedStaysString", R"("%%env_ZERO_PADDED%%")", R"("007")"},
        GoodCase{"HexStaysString", R"("%%env_HEX%%")", R"("0x1f")"},
        GoodCase{"Int64OverflowStaysString", R"("%%env_HUGE%%")", R"("99999999999999999999")"},
        GoodCase{"FloatStaysString", R"("%%env_FLOAT%%")", R"("1.5")"},
        GoodCase{"SpacedStaysString", R"("%%env_SPACED%%")", R"(" 5")"},
        GoodCase{"PlusStaysString", R"("%%env_PLUS%%")", R"("+5")"},
        GoodCase{"UrlStaysString", R"("http://%%host%%:%%port%%")", R"("http://10.1.2.3:9000")"},
        GoodCase{"TextAroundStaysString", R"("%%port%% ")", R"("9000 ")"},
        GoodCase{"TwoVariablesStayString", R"("%%port_0%%%%port_1%%")", R"("60608080")"},
        GoodCase{"IpIsNotInteger", R"("%%host%%")", R"("10.1.2.3")"}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Ipv6, ResolveGoodTest,
    ::testing::Values(
        GoodCase{"BracketedInUrl", R"("http://%%host%%:%%port%%/debug/vars")",
                 R"("http://[fd00::3]:9000/debug/vars")", "fd00::3"},
        GoodCase{"HostNetworkBracketedInUrl", R"("https://%%host_pod%%/")",
                 R"("https://[fd00::3]/")", "fd00::3"},
        GoodCase{"AlreadyBracketedByAuthor", R"("http://[%%host%%]:%%port%%")",
                 R"("http://[fd00::3]:9000")", "fd00::3"},
        GoodCase{"WholeStringBare", R"("%%host%%")", R"("fd00::3")", "fd00::3"},
        GoodCase{"NoSchemeBare", R"("%%host%%:%%port%%")", R"("fd00::3:9000")", "fd00::3"},
        GoodCase{"TagBare", R"("host:%%host%%")", R"("host:fd00::3")", "fd00::3"},
        GoodCase{"LoopbackBracketed", R"("http://%%host%%:8080")", R"("http://[::1]:8080")", "::1"},
        GoodCase{"Ipv4NotBracketed", R"("http://%%host%%:8080")", R"("http://10.1.2.3:8080")"}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Structure, ResolveGoodTest,
    ::testing::Values(
        GoodCase{"NestedInstance", R"({
                   "expvar_url": "http://%%host%%:%%port_http%%",
                   "namespace": "shop_app",
                   "tags": ["pod:%%kube_pod_name%%", "ns:%%kube_namespace%%"],
                   "metrics": [{"path": "memstats/Alloc", "tags": ["port:%%port%%"]},
                               {"path": "requests", "type": "rate"}],
                   "max_returned_metrics": "%%env_TIMEOUT%%",
                   "timeout": 5, "tls_verify": false, "headers": null})",
                 R"({
                   "expvar_url": "http://10.1.2.3:8080",
                   "namespace": "shop_app",
                   "tags": ["pod:web-7d9f", "ns:shop"],
                   "metrics": [{"path": "memstats/Alloc", "tags": ["port:9000"]},
                               {"path": "requests", "type": "rate"}],
                   "max_returned_metrics": 5,
                   "timeout": 5, "tls_verify": false, "headers": null})"},
        GoodCase{"KeysUntouched", R"({"%%port%%": "%%port%%"})", R"({"%%port%%": 9000})"},
        GoodCase{"DeepArrays", R"([[["%%port_0%%"]], {"a": [{"b": "%%kube_namespace%%"}]}])",
                 R"([[[6060]], {"a": [{"b": "shop"}]}])"},
        GoodCase{"NonStringsUntouched", R"([1, -2.5, true, null, {}, []])",
                 R"([1, -2.5, true, null, {}, []])"},
        GoodCase{"NoVariables", R"({"expvar_url": "http://10.1.2.3:6060/debug/vars"})",
                 R"({"expvar_url": "http://10.1.2.3:6060/debug/vars"})"},
        GoodCase{"NumericStringWithoutVariableStaysString", R"("8080")", R"("8080")"}),
    [](const auto& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    Markers, ResolveGoodTest,
    ::testing::Values(GoodCase{"UnclosedLeftAsIs", R"("a %%port")", R"("a %%port")"},
                      GoodCase{"PercentTextLeftAsIs", R"("100%% done")", R"("100%% done")"},
                      GoodCase{"LoneMarker", R"("%%")", R"("%%")"},
                      GoodCase{"DoubleMarker", R"("%%%%")", R"("%%%%")"},
                      GoodCase{"SpaceInsideIsNotAVariable", R"("%%foo bar%%")", R"("%%foo bar%%")"},
                      GoodCase{"ExtraPercentBefore", R"("%%%port%%")", R"("%9000")"},
                      GoodCase{"StrayMarkerThenVariable", R"("50%% of %%port%%")",
                               R"("50%% of 9000")"},
                      GoodCase{"ValuesAreNotRescanned", R"("%%env_LOOP%%")", R"("%%env_UNSET%%")"}),
    [](const auto& info) { return info.param.label; });

// ---- Templates that fail ----------------------------------------------------------------------

struct BadCase {
  std::string label;
  std::string tmpl;  // JSON
  std::string variable;
  std::string path;
  std::string why;  // expected to appear in the message
  std::string host = "10.1.2.3";
  std::string container = "app";
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.tmpl; }

class ResolveBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ResolveBadTest, ReportsVariableAndReason) {
  const BadCase& c = GetParam();
  const pipeline::Pod pod = MakePod();
  const ResolveResult result = Resolve(c.tmpl, MakeContext(&pod, c.host, c.container));
  ASSERT_TRUE(std::holds_alternative<ResolveError>(result)) << c.tmpl;
  const ResolveError& error = std::get<ResolveError>(result);
  EXPECT_EQ(error.variable, c.variable);
  EXPECT_EQ(error.path, c.path);
  EXPECT_EQ(error.message.rfind(c.variable + ": ", 0), 0u) << error.message;
  EXPECT_NE(error.message.find(c.why), std::string::npos) << error.message;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ResolveBadTest,
    ::testing::Values(
        BadCase{"UnknownVariable", R"("%%foo%%")", "%%foo%%", "",
                "unknown template variable (known: %%host%%"},
        BadCase{"CaseSensitiveHost", R"("http://%%HOST%%/")", "%%HOST%%", "",
                "unknown template variable"},
        BadCase{"CaseSensitivePort", R"("%%Port%%")", "%%Port%%", "", "unknown template variable"},
        BadCase{"PortEmptyKey", R"("%%port_%%")", "%%port_%%", "", "unknown template variable"},
        BadCase{"UnknownWithKey", R"("%%ip_address%%")", "%%ip_address%%", "",
                "unknown template variable"},
        BadCase{"PortIndexOutOfRange", R"("%%port_3%%")", "%%port_3%%", "",
                "container \"app\" declares 3 port(s) (ascending: 6060, 8080, 9000); index 3 is "
                "out of range"},
        BadCase{"PortIndexHuge", R"("%%port_99999999999999999999999%%")",
                "%%port_99999999999999999999999%%", "", "is out of range"},
        BadCase{"PortNameMissing", R"("http://%%host%%:%%port_metrics%%")", "%%port_metrics%%", "",
                "container \"app\" has no port named \"metrics\" (ports: admin=9000, http=8080, "
                "6060)"},
        BadCase{"PortNameCaseSensitive", R"("%%port_HTTP%%")", "%%port_HTTP%%", "",
                "no port named \"HTTP\""},
        BadCase{"ContainerWithoutPorts", R"("%%port%%")", "%%port%%", "",
                "container \"sidecar\" declares no ports", "10.1.2.3", "sidecar"},
        BadCase{"ContainerNotInPod", R"("%%port_0%%")", "%%port_0%%", "",
                "pod has no container \"ghost\"", "10.1.2.3", "ghost"},
        BadCase{"EnvNotSet", R"("%%env_NOT_SET%%")", "%%env_NOT_SET%%", "",
                "NOT_SET is not set in the collector's environment"},
        BadCase{"EnvCaseSensitive", R"("%%env_timeout%%")", "%%env_timeout%%", "",
                "timeout is not set"},
        BadCase{"EnvWithoutName", R"("%%env%%")", "%%env%%", "", "needs a variable name"},
        BadCase{"ExtraNotProvided", R"("%%extra_region%%")", "%%extra_region%%", "",
                "no value named \"region\" (available: namespace, pod_name, pod_uid)"},
        BadCase{"KubeUnknownKey", R"("%%kube_node_name%%")", "%%kube_node_name%%", "",
                "no value named \"node_name\""},
        BadCase{"KubeWithoutKey", R"("%%kube%%")", "%%kube%%", "", "needs a key"},
        BadCase{"Pid", R"("%%pid%%")", "%%pid%%", "", "not available on Kubernetes"},
        BadCase{"Hostname", R"("%%hostname%%")", "%%hostname%%", "", "not available on Kubernetes"},
        BadCase{"HostWithoutAddress", R"("http://%%host%%/")", "%%host%%", "",
                "the pod has no IP yet", ""},
        BadCase{"PathInObject", R"({"expvar_url": "http://%%host%%:%%port_nope%%"})",
                "%%port_nope%%", "expvar_url", "no port named \"nope\""},
        BadCase{"PathInNestedArray",
                R"({"metrics": [{"path": "a"}, {"path": "b", "tags": ["x", "y:%%nope%%"]}]})",
                "%%nope%%", "metrics[1].tags[1]", "unknown template variable"},
        BadCase{"PathAtTopLevelArray", R"(["ok", "%%nope%%"])", "%%nope%%", "[1]",
                "unknown template variable"},
        BadCase{"FirstErrorInDocumentOrderWins", R"({"b": "%%first%%", "a": "%%second%%"})",
                "%%first%%", "b", "unknown template variable"},
        BadCase{"KnownVariableNamedUnderSecretKey", R"({"password": "%%env_DB_PASSWORD%%"})",
                "%%env_DB_PASSWORD%%", "password", "DB_PASSWORD is not set"}),
    [](const auto& info) { return info.param.label; });

// ---- Secrets stay out of errors ---------------------------------------------------------------

struct SecretCase {
  std::string label;
  std::string tmpl;
  std::string path;
  std::string secret;  // must appear nowhere in the error
};

void PrintTo(const SecretCase& c, std::ostream* os) { *os << c.tmpl; }

class ResolveSecretTest : public ::testing::TestWithParam<SecretCase> {};

TEST_P(ResolveSecretTest, WithholdsUnknownNamesUnderSecretKeys) {
  const SecretCase& c = GetParam();
  const pipeline::Pod pod = MakePod();
  const ResolveResult result = Resolve(c.tmpl, MakeContext(&pod));
  ASSERT_TRUE(std::holds_alternative<ResolveError>(result));
  const ResolveError& error = std::get<ResolveError>(result);
  EXPECT_EQ(error.variable, "%%...%%");
  EXPECT_EQ(error.path, c.path);
  EXPECT_EQ(error.ToString().find(c.secret), std::string::npos) << error.ToString();
  EXPECT_NE(error.message.find("name withheld"), std::string::npos) << error.message;
}

INSTANTIATE_TEST_SUITE_P(
    Secrets, ResolveSecretTest,
    ::testing::Values(
        SecretCase{"Password", R"({"password": "hunter%%2secret%%"})", "password", "2secret"},
        SecretCase{"HeaderValue", R"({"headers": {"X-Custom": "abc%%xyz-1%%"}})",
                   "headers.X-Custom", "xyz-1"},
        SecretCase{"TokenKeyCaseInsensitive", R"({"API_TOKEN": "%%t0k3n%%"})", "API_TOKEN",
                   "t0k3n"},
        SecretCase{"ArrayUnderSecretKey", R"({"auth": ["%%p4ss%%"]})", "auth[0]", "p4ss"}),
    [](const auto& info) { return info.param.label; });

TEST(ResolveSecretValueTest, ResolvedValuesNeverReachTheError) {
  const pipeline::Pod pod = MakePod();
  const ResolveResult result =
      Resolve(R"({"headers": {"Authorization": "Bearer %%env_TOKEN%%"}, "expvar_url": "%%nope%%"})",
              MakeContext(&pod));
  ASSERT_TRUE(std::holds_alternative<ResolveError>(result));
  const std::string text = std::get<ResolveError>(result).ToString();
  EXPECT_EQ(text.find("s3cr3t"), std::string::npos) << text;
  EXPECT_EQ(text.find("Bearer"), std::string::npos) << text;
  EXPECT_EQ(text,
            "expvar_url: %%nope%%: unknown template variable (known: %%host%%, "
            "%%host_<network>%%, %%port%%, %%port_<index>%%, %%port_<name>%%, "
            "%%env_<VAR>%%, %%kube_namespace%%, %%kube_pod_name%%, %%kube_pod_uid%%, "
            "%%extra_<key>%%)");
}

// ---- Context edge cases -----------------------------------------------------------------------

TEST(ResolveContextTest, WithoutPodOnlyEnvAndExtrasResolve) {
  ResolveContext ctx = MakeContext(nullptr, "");
  ctx.extras = {{"region", "eu"}};
  const ResolveResult ok = Resolve(R"(["%%env_TIMEOUT%%", "%%extra_region%%"])", ctx);
  ASSERT_TRUE(std::holds_alternative<boost::json::value>(ok));
  EXPECT_EQ(boost::json::serialize(std::get<boost::json::value>(ok)), R"([5,"eu"])");

  const ResolveResult port = Resolve(R"("%%port%%")", ctx);
  ASSERT_TRUE(std::holds_alternative<ResolveError>(port));
  EXPECT_EQ(std::get<ResolveError>(port).message,
            "%%port%%: not available without a pod (static configuration)");

  const ResolveResult kube = Resolve(R"("%%kube_namespace%%")", ctx);
  ASSERT_TRUE(std::holds_alternative<ResolveError>(kube));
  EXPECT_EQ(std::get<ResolveError>(kube).message,
            "%%kube_namespace%%: no value named \"namespace\" (available: region)");
}

TEST(ResolveContextTest, MissingEnvFunctionMeansNothingIsSet) {
  const pipeline::Pod pod = MakePod();
  ResolveContext ctx = MakeContext(&pod);
  ctx.env = nullptr;
  const ResolveResult result = Resolve(R"("%%env_TIMEOUT%%")", ctx);
  ASSERT_TRUE(std::holds_alternative<ResolveError>(result));
  EXPECT_EQ(std::get<ResolveError>(result).message,
            "%%env_TIMEOUT%%: TIMEOUT is not set in the collector's environment (or not "
            "allowed by --template-env-allow)");
}

TEST(ResolveContextTest, DuplicatePortNumbersKeepTheirSlots) {
  pipeline::Pod pod = MakePod();
  pod.containers[0].ports = {{"tcp", 53, "TCP"}, {"udp", 53, "UDP"}, {"metrics", 9153, "TCP"}};
  const ResolveResult result =
      Resolve(R"(["%%port%%", "%%port_0%%", "%%port_1%%", "%%port_2%%", "%%port_udp%%"])",
              MakeContext(&pod));
  ASSERT_TRUE(std::holds_alternative<boost::json::value>(result));
  EXPECT_EQ(boost::json::serialize(std::get<boost::json::value>(result)), "[9153,53,53,9153,53]");
}

TEST(ResolveContextTest, TemplateIsNotModified) {
  const pipeline::Pod pod = MakePod();
  const boost::json::value tmpl = boost::json::parse(R"({"u": "%%port%%"})");
  const ResolveResult result = ResolveTemplate(tmpl, MakeContext(&pod));
  ASSERT_TRUE(std::holds_alternative<boost::json::value>(result));
  EXPECT_EQ(boost::json::serialize(tmpl), R"({"u":"%%port%%"})");
}

TEST(ResolveErrorTest, ToStringPrefixesPath) {
  EXPECT_EQ((ResolveError{"%%x%%", "a.b", "%%x%%: why"}).ToString(), "a.b: %%x%%: why");
  EXPECT_EQ((ResolveError{"%%x%%", "", "%%x%%: why"}).ToString(), "%%x%%: why");
}

}  // namespace
}  // namespace expvar::resolve
