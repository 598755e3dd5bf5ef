#include "sink/dogstatsd.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

namespace expvar::sink {
namespace {

namespace asio = boost::asio;
using check::MetricType;
using check::Reading;
using V = std::vector<std::string>;
using namespace std::chrono_literals;

Reading Make(std::string name, MetricType type, std::optional<double> report, V tags = {},
             bool is_default = false) {
  Reading reading;
  reading.name = std::move(name);
  reading.type = type;
  reading.raw = report.value_or(0);
  reading.report = report;
  reading.tags = std::move(tags);
  reading.is_default = is_default;
  return reading;
}

ScrapeSnapshot Snapshot(std::vector<Reading> readings, std::vector<double> pauses = {}) {
  ScrapeSnapshot snapshot;
  snapshot.target_id = "pod/c";
  snapshot.url = "http://10.0.0.1:8080/debug/vars";
  snapshot.metric_namespace = "go_expvar";
  snapshot.readings = std::move(readings);
  snapshot.pause_metric_name = "go_expvar.memstats.pause_ns";
  snapshot.pause_tags = {"expvar_url:http://10.0.0.1:8080/debug/vars"};
  snapshot.pauses_ns = std::move(pauses);
  return snapshot;
}

V Lines(const std::vector<Reading>& readings, const V& global_tags = {}) {
  return EncodeLines(Snapshot(readings), global_tags);
}

// Every field, empty ones included.
V Split(std::string_view text, char separator) {
  V parts;
  for (std::size_t start = 0;;) {
    std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

bool IsNumber(const std::string& text) {
  double value;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// name:value|type[|#tags], or name:v1:v2...|h: exactly one type section, nothing injected.
// (Not a std::regex: libstdc++'s recursive matcher overflows the stack on 8 KB lines.)
bool IsWellFormed(const std::string& line) {
  if (line.find_first_of("\n\r") != std::string::npos) return false;
  V sections = Split(line, '|');
  if (sections.size() < 2 || sections.size() > 3) return false;
  const std::string& type = sections[1];
  if (type != "g" && type != "c" && type != "h") return false;
  V parts = Split(sections[0], ':');
  if (parts.size() < 2 || (type != "h" && parts.size() != 2)) return false;
  if (parts[0].empty() || parts[0].find_first_of(",#@ \t") != std::string::npos) return false;
  if (!std::all_of(parts.begin() + 1, parts.end(), IsNumber)) return false;
  if (sections.size() == 2) return true;
  if (!sections[2].starts_with('#')) return false;
  V tags = Split(std::string_view(sections[2]).substr(1), ',');
  return std::none_of(tags.begin(), tags.end(), [](const std::string& t) { return t.empty(); });
}

// ---- Encoding ----

TEST(EncodeLines, GaugeIsSentAsG) {
  EXPECT_EQ(Lines({Make("go_expvar.memstats.alloc", MetricType::kGauge, 1024)}),
            V{"go_expvar.memstats.alloc:1024|g"});
}

TEST(EncodeLines, RateIsSentAsAGaugeOfThePerSecondValue) {
  // The check computed 2.5/s from the last two scrapes; DogStatsD has no rate type.
  auto reading = Make("go_expvar.memstats.mallocs", MetricType::kRate, 2.5);
  reading.raw = 123456;
  EXPECT_EQ(Lines({reading}), V{"go_expvar.memstats.mallocs:2.5|g"});
}

TEST(EncodeLines, CountAndCounterAreSentAsC) {
  EXPECT_EQ(
      Lines({Make("a.count", MetricType::kCount, 7), Make("a.counter", MetricType::kCounter, 3)}),
      (V{"a.count:7|c", "a.counter:3|c"}));
}

TEST(EncodeLines, MonotonicCounterSendsTheDeltaAsC) {
  auto reading = Make("go_expvar.memstats.total_alloc.count", MetricType::kMonotonicCounter, 4096);
  reading.raw = 1'000'000;  // the cumulative value is not what is sent
  EXPECT_EQ(Lines({reading}), V{"go_expvar.memstats.total_alloc.count:4096|c"});
}

TEST(EncodeLines, ReadingsWithoutReportAreNotSent) {
  EXPECT_TRUE(Lines({Make("first.rate", MetricType::kRate, std::nullopt),
                     Make("reset.counter", MetricType::kMonotonicCounter, std::nullopt)})
                  .empty());
}

TEST(EncodeLines, NonFiniteValuesAndEmptyNamesAreSkippedAndCounted) {
  std::size_t skipped = 0;
  auto lines =
      EncodeLines(Snapshot({Make("nan", MetricType::kGauge, std::nan("")),
                            Make("inf", MetricType::kGauge, INFINITY),
                            Make("", MetricType::kGauge, 1), Make("ok", MetricType::kGauge, 1)},
                           {5, NAN, 6}),
                  {}, kUdpDatagramLimit, &skipped);
  EXPECT_EQ(lines,
            (V{"go_expvar.memstats.pause_ns:5:6|h|#expvar_url:http://10.0.0.1:8080/debug/vars",
               "ok:1|g"}));
  EXPECT_EQ(skipped, 4u);
}

TEST(EncodeLines, NumbersUseTheShortestRoundTripText) {
  auto line = [](double v) { return Lines({Make("m", MetricType::kGauge, v)}).at(0); };
  EXPECT_EQ(line(0.1), "m:0.1|g");
  EXPECT_EQ(line(-3.25), "m:-3.25|g");
  EXPECT_EQ(line(-0.0), "m:0|g");
  EXPECT_EQ(line(18446744073709551615.0), "m:18446744073709551616|g");  // 2^64, exactly
  EXPECT_EQ(line(9007199254740993.0), "m:9007199254740992|g");
  EXPECT_EQ(line(1e300), "m:1e+300|g");
  EXPECT_EQ(line(1.0 / 3), "m:0.3333333333333333|g");
}

TEST(EncodeLines, HistogramCarriesEveryPauseRightAfterTheDefaults) {
  auto snapshot = Snapshot({Make("go_expvar.memstats.alloc", MetricType::kGauge, 1, {}, true),
                            Make("go_expvar.custom", MetricType::kGauge, 2)},
                           {1200, 350000, 98});
  EXPECT_EQ(EncodeLines(snapshot, {"env:prod"}),
            (V{"go_expvar.memstats.alloc:1|g|#env:prod",
               "go_expvar.memstats.pause_ns:1200:350000:98|h|#expvar_url:http://10.0.0.1:8080/"
               "debug/vars,env:prod",
               "go_expvar.custom:2|g|#env:prod"}));
}

TEST(EncodeLines, NoHistogramWithoutPauses) {
  for (const auto& line : EncodeLines(Snapshot({Make("m", MetricType::kGauge, 1)}), {})) {
    EXPECT_EQ(line.find("|h"), std::string::npos) << line;
  }
}

TEST(EncodeLines, LongHistogramIsSplitIntoLinesThatFit) {
  std::vector<double> pauses;
  for (int i = 0; i < 1000; ++i) pauses.push_back(100'000'000 + i);  // 9 digits each
  for (std::size_t limit : {kUdpDatagramLimit, kUnixDatagramLimit}) {
    auto lines = EncodeLines(Snapshot({}, pauses), {"env:prod"}, limit);
    ASSERT_GT(lines.size(), 1u);
    std::vector<double> values;
    for (const auto& line : lines) {
      EXPECT_LE(line.size(), limit);
      EXPECT_TRUE(IsWellFormed(line)) << line;
      const std::string suffix = "|h|#expvar_url:http://10.0.0.1:8080/debug/vars,env:prod";
      ASSERT_TRUE(line.ends_with(suffix)) << line;
      V parts = Split(line.substr(0, line.size() - suffix.size()), ':');
      EXPECT_EQ(parts.at(0), "go_expvar.memstats.pause_ns");
      for (std::size_t i = 1; i < parts.size(); ++i) values.push_back(std::stod(parts[i]));
    }
    EXPECT_EQ(values, pauses) << "limit " << limit;
  }
  // A line is only started when the previous one is full.
  auto lines = EncodeLines(Snapshot({}, pauses), {}, kUdpDatagramLimit);
  for (std::size_t i = 0; i + 1 < lines.size(); ++i)
    EXPECT_GT(lines[i].size() + 10, kUdpDatagramLimit);
}

TEST(EncodeLines, TagsAreTheReadingsThenTheGlobalOnesDeduplicated) {
  auto lines = Lines({Make("m", MetricType::kGauge, 1, {"kube_namespace:a", "env:prod", "team:x"})},
                     {"env:prod", "service:api", "team:x", "service:api", "version:1"});
  EXPECT_EQ(lines, V{"m:1|g|#kube_namespace:a,env:prod,team:x,service:api,version:1"});
}

TEST(EncodeLines, DeduplicatesAfterSanitising) {
  EXPECT_EQ(Lines({Make("m", MetricType::kGauge, 1, {"a|b", "a,b", ""})}, {"a_b"}),
            V{"m:1|g|#a_b"});
}

TEST(EncodeLines, NoTagSectionWithoutTags) {
  EXPECT_EQ(Lines({Make("m", MetricType::kCount, 1)}), V{"m:1|c"});
}

TEST(EncodeLines, TagValuesKeepTheirColons) {
  EXPECT_EQ(Lines({Make("m", MetricType::kGauge, 1, {"expvar_url:http://[::1]:8080/debug/vars"})}),
            V{"m:1|g|#expvar_url:http://[::1]:8080/debug/vars"});
}

TEST(EncodeLines, HostileNamesAndTagsCannotInjectAnything) {
  const V hostile_tags = {"a,b:c", "x|#y:z", "line\nbreak:v|c", "cr\rtag", "evil:1|c\nfake:2|g"};
  auto lines = EncodeLines(
      Snapshot({Make("bad|name,with:colon\nand:1|c", MetricType::kGauge, 1, hostile_tags),
                Make("sp ace#hash@at\ttab", MetricType::kCount, 2, hostile_tags),
                Make("mono\r\n:9|g", MetricType::kMonotonicCounter, 3, hostile_tags)},
               {10, 20}),
      {"global,tag|x", "nl:\nv"});
  ASSERT_EQ(lines.size(), 4u);
  for (const auto& line : lines) {
    EXPECT_TRUE(IsWellFormed(line)) << line;
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    // Exactly one type section.
    int types = 0;
    for (const char* type : {"|g", "|c", "|h"}) {
      for (auto at = line.find(type); at != std::string::npos; at = line.find(type, at + 1))
        ++types;
    }
    EXPECT_EQ(types, 1) << line;
    // Every tag survived as one tag: 5 own + 2 global (7), pause line has 1 + 2.
    auto tags_at = line.find("|#");
    ASSERT_NE(tags_at, std::string::npos);
    auto tags = Split(line.substr(tags_at + 2), ',');
    EXPECT_EQ(tags.size(), line.find("|h") != std::string::npos ? 3u : 7u) << line;
  }
  // No default readings: the histogram comes first.
  EXPECT_TRUE(lines[0].starts_with("go_expvar.memstats.pause_ns:10:20|h|#")) << lines[0];
  EXPECT_TRUE(lines[1].starts_with("bad_name_with_colon_and_1_c:1|g|#a_b:c,x_#y:z,line_break:v_c,"))
      << lines[1];
  EXPECT_TRUE(lines[1].ends_with(",global_tag_x,nl:_v")) << lines[1];
  EXPECT_TRUE(lines[2].starts_with("sp_ace_hash_at_tab:2|c|#")) << lines[2];
  EXPECT_TRUE(lines[3].starts_with("mono___9_g:3|c|#")) << lines[3];
}

TEST(IsWellFormed, RejectsWhatAnInjectionWouldProduce) {
  EXPECT_TRUE(IsWellFormed("a.b:1|g"));
  EXPECT_TRUE(IsWellFormed("a:1:2:3|h|#k:v,url:http://h:1/x"));
  for (const char* bad : {"a:1|c\nb:2|g", "a:1|g|c", "a:1|g|#x|c", "a:1:2|g", "a|b:1|g",
                          "a:1|g|#x,", "a:1|g|#", "a:x|g", "a:1", ":1|g", "a b:1|g"}) {
    EXPECT_FALSE(IsWellFormed(bad)) << bad;
  }
}

TEST(Sanitize, MetricNames) {
  const std::map<std::string, std::string> cases = {
      {"go_expvar.memstats.alloc", "go_expvar.memstats.alloc"},
      {"a|b", "a_b"},
      {"a,b", "a_b"},
      {"a:b", "a_b"},
      {"a#b@c", "a_b_c"},
      {"a b\tc\nd\re\vf\fg", "a_b_c_d_e_f_g"},
      {std::string("nul\0x", 5), "nul_x"},
      {"ünïcode.ok-1_2", "ünïcode.ok-1_2"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(SanitizeStatsdName(in), out) << in;
}

TEST(Sanitize, Tags) {
  const std::map<std::string, std::string> cases = {
      {"env:prod", "env:prod"}, {"url:http://h:1/x?a=b#f", "url:http://h:1/x?a=b#f"},
      {"a,b", "a_b"},           {"a|b", "a_b"},
      {"a\nb\rc", "a_b_c"},     {"with space", "with space"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(SanitizeStatsdTag(in), out) << in;
}

// ---- Packing ----

TEST(DatagramPacker, LinesFillingExactlyTheLimitShareOneDatagram) {
  DatagramPacker packer(kUdpDatagramLimit);
  std::string a(715, 'a'), b(716, 'b');  // 715 + '\n' + 716 = 1432
  packer.Add(a);
  packer.Add(b);
  auto datagrams = packer.Take();
  ASSERT_EQ(datagrams.size(), 1u);
  EXPECT_EQ(datagrams[0].size(), kUdpDatagramLimit);
  EXPECT_EQ(datagrams[0], a + "\n" + b);
  EXPECT_EQ(packer.lines_dropped(), 0u);
}

TEST(DatagramPacker, OneByteMoreStartsASecondDatagram) {
  DatagramPacker packer(kUdpDatagramLimit);
  std::string a(715, 'a'), b(717, 'b');
  packer.Add(a);
  packer.Add(b);
  EXPECT_EQ(packer.Take(), (V{a, b}));
}

TEST(DatagramPacker, ALineOfExactlyTheLimitIsSentAndALongerOneDroppedAndCounted) {
  DatagramPacker packer(kUdpDatagramLimit);
  packer.Add("small:1|g");
  packer.Add(std::string(kUdpDatagramLimit + 1, 'x'));
  packer.Add(std::string(kUdpDatagramLimit, 'y'));
  packer.Add("after:1|g");
  EXPECT_EQ(packer.Take(), (V{"small:1|g", std::string(kUdpDatagramLimit, 'y'), "after:1|g"}));
  EXPECT_EQ(packer.lines_dropped(), 1u);
  EXPECT_TRUE(packer.Take().empty());
}

TEST(DatagramPacker, UnixLimitIs8192) {
  DatagramPacker packer(kUnixDatagramLimit);
  std::string a(4095, 'a'), b(4096, 'b');  // 8192 exactly
  packer.Add(a);
  packer.Add(b);
  packer.Add("c");
  packer.Add(std::string(8193, 'd'));
  auto datagrams = packer.Take();
  ASSERT_EQ(datagrams.size(), 2u);
  EXPECT_EQ(datagrams[0].size(), 8192u);
  EXPECT_EQ(datagrams[1], "c");
  EXPECT_EQ(packer.lines_dropped(), 1u);
}

TEST(DatagramPacker, NeverSplitsALine) {
  DatagramPacker packer(100);
  V lines;
  for (int i = 0; i < 500; ++i) lines.push_back(std::string(1 + (i * 37) % 99, 'a' + i % 26));
  for (const auto& line : lines) packer.Add(line);
  V rebuilt;
  for (const auto& datagram : packer.Take()) {
    EXPECT_LE(datagram.size(), 100u);
    EXPECT_NE(datagram.back(), '\n');
    for (auto& line : Split(datagram, '\n')) rebuilt.push_back(line);
  }
  EXPECT_EQ(rebuilt, lines);
}

// ---- Configuration ----

EnvLookup FakeEnv(std::map<std::string, std::string> values) {
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

DogStatsDAddress Udp(std::string host, std::uint16_t port = 8125) {
  DogStatsDAddress address;
  address.kind = DogStatsDAddress::kUdp;
  address.host = std::move(host);
  address.port = port;
  return address;
}

DogStatsDAddress Unix(std::string path) {
  DogStatsDAddress address;
  address.kind = DogStatsDAddress::kUnix;
  address.path = std::move(path);
  return address;
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

// ---- Real sockets (loopback and a temp dir only; every wait is bounded) ----

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dsdtest.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Waits at most `timeout` for a datagram.
template <typename Socket>
std::optional<std::string> Receive(Socket& socket, std::chrono::milliseconds timeout = 2000ms) {
  pollfd fd{socket.native_handle(), POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  std::string buffer(65536, '\0');
  boost::system::error_code ec;
  std::size_t n = socket.receive(asio::buffer(buffer), 0, ec);
  if (ec) return std::nullopt;
  buffer.resize(n);
  return buffer;
}

struct UdpReceiver {
  asio::io_context io;
  asio::ip::udp::socket socket{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::uint16_t port() const { return socket.local_endpoint().port(); }
};

struct UnixReceiver {
  explicit UnixReceiver(const std::string& path)
      : socket(io, asio::local::datagram_protocol::endpoint(path)) {}
  asio::io_context io;
  asio::local::datagram_protocol::socket socket;
};

SnapshotPtr Share(ScrapeSnapshot snapshot) {
  return std::make_shared<const ScrapeSnapshot>(std::move(snapshot));
}

SnapshotPtr OneLine(const std::string& name = "m") {
  return Share(Snapshot({Make(name, MetricType::kGauge, 1)}));
}

TEST(DogStatsDSink, UdpReceiverGetsTheLines) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {"env:test"});
  sink.Publish(
      Share(Snapshot({Make("a", MetricType::kGauge, 1, {"t:1"}), Make("b", MetricType::kRate, 0.5),
                      Make("c", MetricType::kMonotonicCounter, 3)},
                     {100, 200})));
  auto datagram = Receive(receiver.socket);
  ASSERT_TRUE(datagram);
  // No default readings here, so the histogram comes first (see EncodeLines).
  EXPECT_EQ(*datagram,
            "go_expvar.memstats.pause_ns:100:200|h|#expvar_url:http://10.0.0.1:8080/debug/vars,"
            "env:test\n"
            "a:1|g|#t:1,env:test\n"
            "b:0.5|g|#env:test\n"
            "c:3|c|#env:test");
  auto stats = sink.stats();
  EXPECT_EQ(stats.datagrams_sent, 1u);
  EXPECT_EQ(stats.datagrams_dropped, 0u);
  EXPECT_EQ(stats.bytes_sent, datagram->size());
}

TEST(DogStatsDSink, UdpHostnameIsResolvedOnTheExecutor) {
  UdpReceiver receiver;
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread runner([&io] { io.run(); });
  {
    DogStatsDSink sink(io.get_executor(), Udp("localhost", receiver.port()), {});
    std::optional<std::string> datagram;
    for (auto deadline = std::chrono::steady_clock::now() + 5s;
         !datagram && std::chrono::steady_clock::now() < deadline;) {
      sink.Publish(OneLine("resolved"));
      datagram = Receive(receiver.socket, 100ms);
    }
    EXPECT_EQ(datagram, "resolved:1|g");
  }
  guard.reset();
  io.stop();
  runner.join();
}

TEST(DogStatsDSink, UnixReceiverGetsTheLinesInDatagramsOfAtMost8192Bytes) {
  TempDir dir;
  UnixReceiver receiver(dir.File("dsd.sock"));
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(dir.File("dsd.sock")), {"env:test"});
  std::vector<Reading> readings;
  for (int i = 0; i < 400; ++i) {
    readings.push_back(Make("go_expvar.custom.metric_" + std::to_string(i), MetricType::kGauge, i,
                            {"expvar_url:http://10.0.0.1:8080/debug/vars"}));
  }
  auto snapshot = Snapshot(readings);
  V expected = EncodeLines(snapshot, {"env:test"}, kUnixDatagramLimit);
  sink.Publish(Share(snapshot));
  V received;
  V datagrams;
  while (received.size() < expected.size()) {
    auto datagram = Receive(receiver.socket);
    ASSERT_TRUE(datagram) << "after " << received.size() << " lines";
    for (auto& line : Split(*datagram, '\n')) received.push_back(line);
    datagrams.push_back(*std::move(datagram));
  }
  EXPECT_EQ(datagrams.size(), sink.stats().datagrams_sent);
  for (std::size_t i = 0; i < datagrams.size(); ++i) {
    EXPECT_LE(datagrams[i].size(), kUnixDatagramLimit);
    // Packed: each datagram but the last is full up to the next line.
    if (i + 1 < datagrams.size()) {
      EXPECT_GT(datagrams[i].size(), kUnixDatagramLimit - 200);
    }
  }
  EXPECT_EQ(received, expected);
  EXPECT_EQ(sink.stats().datagrams_dropped, 0u);
}

TEST(DogStatsDSink, MissingUnixSocketDropsThenReconnectsWhenItAppears) {
  TempDir dir;
  const std::string path = dir.File("dsd.sock");
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(path), {});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_NO_THROW(sink.Publish(OneLine()));
  EXPECT_EQ(sink.stats().datagrams_dropped, 1u);
  EXPECT_EQ(sink.stats().datagrams_sent, 0u);

  UnixReceiver receiver(path);
  sink.Publish(OneLine());
  if (std::chrono::steady_clock::now() - start < 500ms) {
    // Within the second after a failure the connection is not retried.
    EXPECT_EQ(sink.stats().datagrams_dropped, 2u);
  }
  std::this_thread::sleep_until(start + 1100ms);
  sink.Publish(OneLine("back"));
  EXPECT_EQ(Receive(receiver.socket), "back:1|g");
  EXPECT_EQ(sink.stats().datagrams_sent, 1u);
}

TEST(DogStatsDSink, ReconnectsAfterTheAgentRecreatesItsSocket) {
  TempDir dir;
  const std::string path = dir.File("dsd.sock");
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(path), {});
  auto first = std::make_unique<UnixReceiver>(path);
  sink.Publish(OneLine("before"));
  EXPECT_EQ(Receive(first->socket), "before:1|g");

  first.reset();  // the agent goes away...
  std::filesystem::remove(path);
  EXPECT_NO_THROW(sink.Publish(OneLine("lost")));
  EXPECT_EQ(sink.stats().datagrams_dropped, 1u);
  const auto failed_at = std::chrono::steady_clock::now();

  UnixReceiver second(path);  // ...and comes back at the same path
  std::this_thread::sleep_until(failed_at + 1100ms);
  sink.Publish(OneLine("after"));
  EXPECT_EQ(Receive(second.socket), "after:1|g");
  EXPECT_EQ(sink.stats().datagrams_sent, 2u);
}

TEST(DogStatsDSink, AFullUnixReceiverDropsWithoutBlocking) {
  TempDir dir;
  UnixReceiver receiver(dir.File("dsd.sock"));  // never reads
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(dir.File("dsd.sock")), {});
  const int kPublishes = 5000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPublishes; ++i) sink.Publish(OneLine());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto stats = sink.stats();
  EXPECT_GT(stats.datagrams_dropped, 0u);
  EXPECT_GT(stats.datagrams_sent, 0u);
  EXPECT_EQ(stats.datagrams_sent + stats.datagrams_dropped, static_cast<std::uint64_t>(kPublishes));
}

TEST(DogStatsDSink, UdpWithoutAListenerNeverThrowsAndCountsEverything) {
  std::uint16_t port;
  {
    UdpReceiver closed;  // take a free port, then free it
    port = closed.port();
  }
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", port), {});
  for (int i = 0; i < 50; ++i) EXPECT_NO_THROW(sink.Publish(OneLine()));
  auto stats = sink.stats();
  EXPECT_EQ(stats.datagrams_sent + stats.datagrams_dropped, 50u);
}

TEST(DogStatsDSink, ConcurrentPublishesAreAllAccounted) {
  TempDir dir;
  UnixReceiver receiver(dir.File("dsd.sock"));
  std::atomic<bool> done{false};
  std::size_t received = 0;
  std::thread reader([&] {
    while (!done) {
      if (Receive(receiver.socket, 20ms)) ++received;
    }
    while (Receive(receiver.socket, 50ms)) ++received;
  });
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Unix(dir.File("dsd.sock")), {"env:test"});
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&sink, t] {
      for (int i = 0; i < 200; ++i) sink.Publish(OneLine("w" + std::to_string(t)));
    });
  }
  for (auto& worker : workers) worker.join();
  done = true;
  reader.join();
  auto stats = sink.stats();
  EXPECT_EQ(stats.datagrams_sent + stats.datagrams_dropped, 1600u);
  EXPECT_EQ(received, stats.datagrams_sent);
}

TEST(DogStatsDSink, TooLongLinesAreDroppedAndCounted) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {});
  sink.Publish(
      Share(Snapshot({Make(std::string(2000, 'n'), MetricType::kGauge, 1),
                      Make("ok", MetricType::kGauge, 2), Make("nan", MetricType::kGauge, NAN)})));
  EXPECT_EQ(Receive(receiver.socket), "ok:2|g");
  auto stats = sink.stats();
  EXPECT_EQ(stats.lines_dropped_too_long, 1u);
  EXPECT_EQ(stats.values_skipped, 1u);
}

TEST(DogStatsDSink, NullSnapshotForgetAndFlushAreHarmless) {
  UdpReceiver receiver;
  asio::io_context io;
  DogStatsDSink sink(io.get_executor(), Udp("127.0.0.1", receiver.port()), {});
  sink.Publish(nullptr);
  sink.Forget("pod/c");
  sink.Flush();
  EXPECT_FALSE(Receive(receiver.socket, 100ms));
  EXPECT_EQ(sink.stats().datagrams_sent, 0u);
}

}  // namespace
}  // namespace expvar::sink
