// The Prometheus text format (0.0.4): writes families and single lines byte for byte as
// prometheus-cpp's TextSerializer does, and is the interface of everything /metrics shows.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace expvar::common {

// A sample value as TextSerializer writes it: printf "%.16g", NaN as "Nan", infinities as
// "+Inf"/"-Inf".
void AppendSampleValue(double value, std::string& out);
void AppendCount(std::uint64_t value, std::string& out);
// A label value with backslash, double quote and newline escaped.
void AppendEscapedLabelValue(std::string_view value, std::string& out);
// `name="value",...` with the values escaped and no braces: a sample's labels.
void AppendLabels(const std::vector<prometheus::ClientMetric::Label>& labels, std::string& out);
// "<name><suffix>{<labels>,<extra>} ": a sample line up to its value, braces only when there are
// labels. `labels` as AppendLabels writes them; `extra` one more label already written
// (`le="0.5"`), or empty.
void AppendSampleHead(std::string_view name, std::string_view suffix, std::string_view labels,
                      std::string_view extra, std::string& out);
std::string_view ExpositionTypeName(prometheus::MetricType type);
// "# HELP <name> <help>" (left out when help is empty; written verbatim, so escape it first) and
// "# TYPE <name> <type>".
void AppendFamilyHeader(std::string_view name, std::string_view help, prometheus::MetricType type,
                        std::string& out);

// Appends `families` to `out` in order, with no timestamps unless set.
void AppendText(const std::vector<prometheus::MetricFamily>& families, std::string& out);

// One exposition being written. A family name may be written once (a repeat makes the whole
// exposition invalid), so the first source to Claim it keeps it. With a drain, the text is
// handed on in chunks (to gzip, say), so a large exposition is never held whole.
class ExpositionWriter {
 public:
  using Drain = std::function<void(std::string_view chunk)>;
  static constexpr std::size_t kChunkBytes = 256 * 1024;

  // No drain: the text is kept and Finish() returns it; `reserve` is its expected size.
  explicit ExpositionWriter(Drain drain = {}, std::size_t reserve = 0);

  // True the first time `family_name` is claimed: the caller writes that family now.
  bool Claim(std::string_view family_name);
  // Where to append the text.
  std::string& text() { return text_; }
  // Call between series: hands the text on once a chunk has accumulated.
  void Checkpoint() {
    if (drain_ && text_.size() >= kChunkBytes) DrainText();
  }
  // Bytes written so far, drained or not.
  std::size_t Size() const { return drained_bytes_ + text_.size(); }
  // Drains what is left; returns the text when there is no drain (empty otherwise).
  std::string Finish();

 private:
  void DrainText();

  Drain drain_;
  std::string text_;
  std::size_t drained_bytes_ = 0;
  std::set<std::string, std::less<>> claimed_;
};

// Something /metrics shows. Called on the admin thread, concurrently with the pipeline.
class ExpositionSource {
 public:
  virtual ~ExpositionSource() = default;
  // Writes the families whose names `out` lets it claim.
  virtual void AppendExposition(ExpositionWriter& out) const = 0;
};

// What /metrics shows, in order; held weakly, so a source whose owner is gone is skipped.
using ExpositionSources = std::vector<std::weak_ptr<const ExpositionSource>>;

// A prometheus-cpp Collectable (a Registry, say) as a source: its families, through
// AppendText's writer.
class CollectableSource final : public ExpositionSource {
 public:
  explicit CollectableSource(std::shared_ptr<prometheus::Collectable> collectable);
  void AppendExposition(ExpositionWriter& out) const override;

 private:
  std::shared_ptr<prometheus::Collectable> collectable_;
};

}  // namespace expvar::common
