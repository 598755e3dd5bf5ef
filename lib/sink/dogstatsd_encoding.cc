#include "sink/dogstatsd_encoding.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/number_text.h"

namespace expvar::sink {
namespace {

bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool IsReservedInName(char c) {
  switch (c) {
    case '|':
    case ',':
    case ':':
    case '#':
    case '@':
    case ' ':
      return true;
    default:
      return IsControl(c);  // includes \t \n \v \f \r
  }
}

bool IsReservedInTag(char c) { return c == '|' || c == ',' || IsControl(c); }

template <typename Reserved>
void AppendReplacing(std::string_view text, Reserved reserved, std::string& out) {
  const std::size_t start = out.size();
  out.append(text);
  std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(), reserved, '_');
}

template <typename Reserved>
std::string ReplaceReserved(std::string_view text, Reserved reserved) {
  std::string out;
  AppendReplacing(text, reserved, out);
  return out;
}

constexpr std::size_t kValueAllowance = 32;  // ':' + a number + a type

void AppendNumber(std::string& out, double value) {
  if (value == 0) value = 0;  // "-0" reads oddly and means the same
  common::AppendShortest(value, out);
}

// `|#a,b` from the reading's tags then the global tags, sanitised and de-duplicated; "" when
// there are none.
std::string TagSection(const std::vector<std::string>& own,
                       const std::vector<std::string>& global) {
  std::vector<std::string> tags;
  tags.reserve(own.size() + global.size());
  auto add = [&tags](const std::string& raw) {
    std::string tag = SanitizeStatsdTag(raw);
    if (tag.empty() || std::find(tags.begin(), tags.end(), tag) != tags.end()) return;
    tags.push_back(std::move(tag));
  };
  for (const auto& tag : own) add(tag);
  for (const auto& tag : global) add(tag);
  if (tags.empty()) return {};
  std::string section = "|#";
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) section += ',';
    section += tags[i];
  }
  return section;
}

std::string_view TypeSuffix(pipeline::MetricType type) {
  switch (pipeline::ReportKindOf(type)) {
    case pipeline::ReportKind::kCount:
      return "|c";
    case pipeline::ReportKind::kGauge:
    case pipeline::ReportKind::kRate:  // already per second: DogStatsD cannot compute rates
      break;
  }
  return "|g";
}

// Builds the lines of one snapshot; keeps the last tag section because consecutive readings of
// a target usually carry the same tags.
class LineEncoder {
 public:
  LineEncoder(const std::vector<std::string>& global_tags, std::size_t max_line_bytes)
      : global_tags_(global_tags), max_line_bytes_(max_line_bytes) {}

  void AddReading(const pipeline::Reading& reading) {
    if (!reading.report) return;
    const std::string_view name = reading.name();
    if (name.empty() || !std::isfinite(*reading.report)) {
      ++skipped_;
      return;
    }
    const std::string& tags = Tags(reading.tags());
    std::string line;
    line.reserve(name.size() + kValueAllowance + tags.size());
    AppendReplacing(name, IsReservedInName, line);
    line += ':';
    AppendNumber(line, *reading.report);
    line += TypeSuffix(reading.type);
    line += tags;
    lines_.push_back(std::move(line));
  }

  // One `|h` line with every sample, or several when one would exceed the datagram limit.
  void AddHistogram(std::string_view raw_name, const std::vector<double>& samples,
                    const std::vector<std::string>& tags) {
    if (samples.empty()) return;
    std::string name = SanitizeStatsdName(raw_name);
    if (name.empty()) {
      skipped_ += samples.size();
      return;
    }
    std::string suffix = "|h" + Tags(tags);
    std::string line;
    for (double sample : samples) {
      if (!std::isfinite(sample)) {
        ++skipped_;
        continue;
      }
      const std::size_t before = line.size();
      if (line.empty()) line = name;
      line += ':';
      AppendNumber(line, sample);
      if (before > 0 && line.size() + suffix.size() > max_line_bytes_) {
        // This sample does not fit: it starts the next line.
        std::string next = name;
        next.append(line, before, std::string::npos);
        line.resize(before);
        line += suffix;
        lines_.push_back(std::move(line));
        line = std::move(next);
      }
    }
    if (!line.empty()) lines_.push_back(line + suffix);
  }

  std::vector<std::string> TakeLines() { return std::move(lines_); }
  std::size_t skipped() const { return skipped_; }

 private:
  const std::string& Tags(const std::vector<std::string>& tags) {
    // Readings of one plan item share one list: the pointer usually answers.
    if (cached_tags_ != &tags && (!cached_tags_ || *cached_tags_ != tags)) {
      cached_tags_ = &tags;
      cached_section_ = TagSection(tags, global_tags_);
    }
    return cached_section_;
  }

  const std::vector<std::string>& global_tags_;
  std::size_t max_line_bytes_;
  std::vector<std::string> lines_;
  std::size_t skipped_ = 0;
  const std::vector<std::string>* cached_tags_ = nullptr;  // outlives the encoder
  std::string cached_section_;
};

}  // namespace

std::string SanitizeStatsdName(std::string_view name) {
  return ReplaceReserved(name, IsReservedInName);
}

std::string SanitizeStatsdTag(std::string_view tag) {
  return ReplaceReserved(tag, IsReservedInTag);
}

std::vector<std::string> EncodeLines(const pipeline::ScrapeSnapshot& snapshot,
                                     const std::vector<std::string>& global_tags,
                                     std::size_t max_line_bytes, std::size_t* skipped) {
  LineEncoder encoder(global_tags, max_line_bytes);
  const auto& readings = snapshot.readings;
  auto first_custom = std::find_if(readings.begin(), readings.end(),
                                   [](const pipeline::Reading& r) { return !r.is_default; });
  for (auto it = readings.begin(); it != first_custom; ++it) encoder.AddReading(*it);
  encoder.AddHistogram(snapshot.pause_metric_name, snapshot.pauses_ns, snapshot.pause_tags);
  for (auto it = first_custom; it != readings.end(); ++it) encoder.AddReading(*it);
  if (skipped) *skipped = encoder.skipped();
  return encoder.TakeLines();
}

void DatagramPacker::Add(std::string_view line) {
  if (line.empty()) return;
  if (line.size() > max_bytes_) {
    ++lines_dropped_;
    return;
  }
  if (datagrams_.empty() || datagrams_.back().size() + 1 + line.size() > max_bytes_) {
    datagrams_.emplace_back();
    datagrams_.back().reserve(max_bytes_);
  } else {
    datagrams_.back() += '\n';
  }
  datagrams_.back() += line;
}

std::vector<std::string> DatagramPacker::Take() { return std::exchange(datagrams_, {}); }

std::string EncodeServiceCheck(const pipeline::ScrapeSnapshot& snapshot,
                               const std::vector<std::string>& global_tags) {
  constexpr char kOk = '0', kCritical = '2';
  std::string line = "_sc|";
  line += kServiceCheckName;
  line += '|';
  line += snapshot.health.up ? kOk : kCritical;
  line += TagSection(snapshot.pause_tags, global_tags);
  if (snapshot.health.up || snapshot.health.error.empty()) return line;
  line += "|m:";
  for (char c : snapshot.health.error) {
    if (c == '\n') {
      line += "\\n";
    } else if (c == '|') {
      line += '/';
    } else {
      line += IsControl(c) ? ' ' : c;
    }
  }
  return line;
}

std::vector<std::string> EntityTags(const pipeline::Entity& entity) {
  if (entity.pod_uid.empty()) return {};
  return {"dd.internal.entity_id:" + entity.pod_uid};
}

}  // namespace expvar::sink
