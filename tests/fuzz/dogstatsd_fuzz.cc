// Fuzzes the DogStatsD encoder and datagram packer with snapshots whose metric names, tags and
// values come from the input. Whatever a name, tag or value holds, every line must keep the exact
// shape `name:value[:value...]|type[|#tag,tag...]`, and no datagram may exceed its limit.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/sink.h"
#include "sink/dogstatsd.h"

namespace {

namespace pipeline = expvar::pipeline;
namespace sink = expvar::sink;

[[noreturn]] void Fail(const char* what, std::string_view line) {
  std::fprintf(stderr, "dogstatsd_fuzz invariant violated: %s\nline: %.*s\n", what,
               static_cast<int>(line.size()), line.data());
  std::abort();
}

bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

double Value(FuzzedDataProvider& in) {
  switch (in.ConsumeIntegralInRange<int>(0, 6)) {
    case 0:
      return std::numeric_limits<double>::quiet_NaN();
    case 1:
      return in.ConsumeBool() ? HUGE_VAL : -HUGE_VAL;
    case 2:
      return -0.0;
    case 3:
      return static_cast<double>(in.ConsumeIntegral<std::int64_t>());
    default:
      return in.ConsumeFloatingPoint<double>();
  }
}

std::vector<std::string> Tags(FuzzedDataProvider& in) {
  std::vector<std::string> tags(in.ConsumeIntegralInRange<std::size_t>(0, 4));
  for (auto& tag : tags) tag = in.ConsumeRandomLengthString(48);
  return tags;
}

// Parses a number as the encoder writes it; it must read back completely and be finite.
void CheckNumber(std::string_view text, std::string_view line) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    Fail("a value that is not a number", line);
  }
  if (!std::isfinite(value)) Fail("a non-finite value", line);
}

// `name:value|g`, `name:value|c`, `name:v1:v2...|h`, each optionally followed by `|#t1,t2`.
void CheckLine(std::string_view line, std::size_t max_line_bytes) {
  std::vector<std::string> sections = Split(line, '|');
  if (sections.size() != 2 && sections.size() != 3) Fail("not 2 or 3 '|' sections", line);
  const std::string& type = sections[1];
  if (type != "g" && type != "c" && type != "h") Fail("unknown type", line);
  std::vector<std::string> fields = Split(sections[0], ':');
  const std::string& name = fields[0];
  if (name.empty()) Fail("empty name", line);
  for (char c : name) {
    if (c == '|' || c == ',' || c == ':' || c == '#' || c == '@' || c == ' ' || IsControl(c)) {
      Fail("a reserved character in a name", line);
    }
  }
  if (fields.size() < 2) Fail("no value", line);
  if (type != "h" && fields.size() != 2) Fail("several values in a gauge or count", line);
  for (std::size_t i = 1; i < fields.size(); ++i) CheckNumber(fields[i], line);
  if (type == "h" && fields.size() > 2 && line.size() > max_line_bytes) {
    Fail("a split histogram line over the line limit", line);
  }
  if (sections.size() == 3) {
    const std::string& tag_section = sections[2];
    if (tag_section.size() < 2 || tag_section[0] != '#') Fail("a bad tag section", line);
    std::vector<std::string> tags = Split(std::string_view(tag_section).substr(1), ',');
    for (std::size_t i = 0; i < tags.size(); ++i) {
      if (tags[i].empty()) Fail("an empty tag", line);
      if (std::any_of(tags[i].begin(), tags[i].end(), IsControl)) {
        Fail("a control character in a tag", line);
      }
      for (std::size_t j = 0; j < i; ++j) {
        if (tags[i] == tags[j]) Fail("a duplicate tag", line);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  static constexpr std::size_t kLimits[] = {sink::kUdpDatagramLimit, sink::kUnixDatagramLimit, 32,
                                            64, 200};
  const std::size_t line_limit = kLimits[in.ConsumeIntegralInRange<std::size_t>(0, 4)];
  const std::size_t datagram_limit = kLimits[in.ConsumeIntegralInRange<std::size_t>(0, 4)];
  std::vector<std::string> global_tags = Tags(in);

  pipeline::ScrapeSnapshot snapshot;
  snapshot.url = "http://127.0.0.1:8080/debug/vars";
  snapshot.metric_namespace = "go_expvar";
  snapshot.pause_metric_name = in.ConsumeRandomLengthString(48);
  snapshot.pause_tags = Tags(in);
  snapshot.pauses_ns.resize(in.ConsumeIntegralInRange<std::size_t>(0, 300));
  for (double& pause : snapshot.pauses_ns) pause = Value(in);
  std::size_t expected_lines = 0;
  const std::size_t readings = in.ConsumeIntegralInRange<std::size_t>(0, 32);
  for (std::size_t i = 0; i < readings && in.remaining_bytes() > 0; ++i) {
    pipeline::Reading reading;
    std::string name = in.ConsumeRandomLengthString(64);
    reading.type = static_cast<pipeline::MetricType>(in.ConsumeIntegralInRange<int>(0, 4));
    if (in.ConsumeBool()) reading.report = Value(in);
    reading.raw = reading.report.value_or(0);
    reading.key = pipeline::MakeSeriesKey(std::move(name), Tags(in), "fuzz");
    reading.is_default = in.ConsumeBool();
    if (reading.report && std::isfinite(*reading.report) && !reading.name().empty()) {
      ++expected_lines;
    }
    snapshot.readings.push_back(std::move(reading));
  }

  std::size_t skipped = 0;
  std::vector<std::string> lines = sink::EncodeLines(snapshot, global_tags, line_limit, &skipped);
  std::size_t reading_lines = 0;
  for (const std::string& line : lines) {
    CheckLine(line, line_limit);
    if (line.find("|h") == std::string::npos) ++reading_lines;
  }
  if (reading_lines != expected_lines) Fail("readings lost or invented", "");

  sink::DatagramPacker packer(datagram_limit);
  std::vector<std::string> sendable;
  for (const std::string& line : lines) {
    packer.Add(line);
    if (line.size() <= datagram_limit) sendable.push_back(line);
  }
  if (packer.lines_dropped() != lines.size() - sendable.size()) Fail("lines dropped silently", "");
  std::vector<std::string> unpacked;
  for (const std::string& datagram : packer.Take()) {
    if (datagram.size() > datagram_limit) Fail("a datagram over its limit", datagram);
    for (std::string& line : Split(datagram, '\n')) unpacked.push_back(std::move(line));
  }
  if (unpacked != sendable) Fail("the datagrams do not hold exactly the sendable lines", "");
  return 0;
}
