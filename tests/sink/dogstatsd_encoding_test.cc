#include "sink/dogstatsd_encoding.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dogstatsd_test_util.h"

namespace expvar::sink {
namespace {

using pipeline::MetricType;
using pipeline::Reading;
using testing::Make;
using testing::Snapshot;
using testing::Split;
using testing::V;

V Lines(const std::vector<Reading>& readings, const V& global_tags = {}) {
  return EncodeLines(Snapshot(readings), global_tags);
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

}  // namespace
}  // namespace expvar::sink
