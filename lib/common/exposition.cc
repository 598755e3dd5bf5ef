#include "common/exposition.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "common/number_text.h"

namespace expvar::common {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

// TextSerializer sets the stream's precision to max_digits10 - 1 in the default float format,
// which is printf's %g with that precision.
constexpr int kValuePrecision = 16;

}  // namespace

void AppendSampleValue(double value, std::string& out) {
  if (std::isnan(value)) {
    out.append("Nan");
    return;
  }
  if (std::isinf(value)) {
    out.append(value < 0 ? "-Inf" : "+Inf");
    return;
  }
  AppendGeneral(value, kValuePrecision, out);
}

void AppendCount(std::uint64_t value, std::string& out) {
  char buffer[24];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void AppendEscapedLabelValue(std::string_view value, std::string& out) {
  for (char c : value) {
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
}

void AppendLabels(const std::vector<ClientMetric::Label>& labels, std::string& out) {
  const char* separator = "";
  for (const auto& label : labels) {
    out.append(separator).append(label.name).append("=\"");
    AppendEscapedLabelValue(label.value, out);
    out.push_back('"');
    separator = ",";
  }
}

void AppendSampleHead(std::string_view name, std::string_view suffix, std::string_view labels,
                      std::string_view extra, std::string& out) {
  out.append(name).append(suffix);
  if (!labels.empty() || !extra.empty()) {
    out.push_back('{');
    out.append(labels);
    if (!labels.empty() && !extra.empty()) out.push_back(',');
    out.append(extra);
    out.push_back('}');
  }
  out.push_back(' ');
}

std::string_view ExpositionTypeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

void AppendFamilyHeader(std::string_view name, std::string_view help, MetricType type,
                        std::string& out) {
  if (!help.empty()) {
    out.append("# HELP ").append(name).push_back(' ');
    out.append(help).push_back('\n');
  }
  out.append("# TYPE ").append(name).push_back(' ');
  out.append(ExpositionTypeName(type)).push_back('\n');
}

namespace {

// The label a histogram bucket (`le`) or summary quantile (`quantile`) adds after the series'
// own; none when `name` is empty.
struct ExtraLabel {
  std::string_view name;
  double value = 0;
  std::string_view text;  // written instead of `value` when not empty ("+Inf")
};

// "name<suffix>{labels} " as TextSerializer's WriteHead writes it.
void AppendHead(const MetricFamily& family, const ClientMetric& metric, std::string_view suffix,
                const ExtraLabel& extra, std::string& out) {
  std::string labels;
  AppendLabels(metric.label, labels);
  std::string extra_label;
  if (!extra.name.empty()) {
    extra_label.append(extra.name).append("=\"");
    if (extra.text.empty()) {
      AppendSampleValue(extra.value, extra_label);
    } else {
      extra_label.append(extra.text);
    }
    extra_label.push_back('"');
  }
  AppendSampleHead(family.name, suffix, labels, extra_label, out);
}

void AppendTail(const ClientMetric& metric, std::string& out) {
  if (metric.timestamp_ms != 0) {
    out.push_back(' ');
    char buffer[24];
    auto result = std::to_chars(buffer, buffer + sizeof buffer, metric.timestamp_ms);
    out.append(buffer, result.ptr);
  }
  out.push_back('\n');
}

void AppendValueLine(const MetricFamily& family, const ClientMetric& metric, double value,
                     std::string& out, const ExtraLabel& extra = {}) {
  AppendHead(family, metric, "", extra, out);
  AppendSampleValue(value, out);
  AppendTail(metric, out);
}

// The `_count` and `_sum` lines histograms and summaries start with.
void AppendCountAndSum(const MetricFamily& family, const ClientMetric& metric, std::uint64_t count,
                       double sum, std::string& out) {
  AppendHead(family, metric, "_count", {}, out);
  AppendCount(count, out);
  AppendTail(metric, out);
  AppendHead(family, metric, "_sum", {}, out);
  AppendSampleValue(sum, out);
  AppendTail(metric, out);
}

void AppendHistogram(const MetricFamily& family, const ClientMetric& metric, std::string& out) {
  const auto& histogram = metric.histogram;
  AppendCountAndSum(family, metric, histogram.sample_count, histogram.sample_sum, out);
  double last = -INFINITY;
  for (const auto& bucket : histogram.bucket) {
    AppendHead(family, metric, "_bucket", {"le", bucket.upper_bound, {}}, out);
    AppendCount(bucket.cumulative_count, out);
    AppendTail(metric, out);
    last = bucket.upper_bound;
  }
  if (last != INFINITY) {
    AppendHead(family, metric, "_bucket", {"le", 0, "+Inf"}, out);
    AppendCount(histogram.sample_count, out);
    AppendTail(metric, out);
  }
}

void AppendSummary(const MetricFamily& family, const ClientMetric& metric, std::string& out) {
  const auto& summary = metric.summary;
  AppendCountAndSum(family, metric, summary.sample_count, summary.sample_sum, out);
  for (const auto& quantile : summary.quantile) {
    AppendValueLine(family, metric, quantile.value, out, {"quantile", quantile.quantile, {}});
  }
}

void AppendFamily(const MetricFamily& family, std::string& out) {
  AppendFamilyHeader(family.name, family.help, family.type, out);
  for (const auto& metric : family.metric) {
    switch (family.type) {
      case MetricType::Counter:
        AppendValueLine(family, metric, metric.counter.value, out);
        break;
      case MetricType::Gauge:
        AppendValueLine(family, metric, metric.gauge.value, out);
        break;
      case MetricType::Untyped:
        AppendValueLine(family, metric, metric.untyped.value, out);
        break;
      case MetricType::Histogram:
        AppendHistogram(family, metric, out);
        break;
      case MetricType::Summary:
        AppendSummary(family, metric, out);
        break;
    }
  }
}

}  // namespace

void AppendText(const std::vector<MetricFamily>& families, std::string& out) {
  for (const auto& family : families) AppendFamily(family, out);
}

ExpositionWriter::ExpositionWriter(Drain drain, std::size_t reserve) : drain_(std::move(drain)) {
  text_.reserve(drain_ ? kChunkBytes + kChunkBytes / 4 : reserve);
}

bool ExpositionWriter::Claim(std::string_view family_name) {
  return claimed_.emplace(family_name).second;
}

void ExpositionWriter::DrainText() {
  drained_bytes_ += text_.size();
  drain_(text_);
  text_.clear();
}

std::string ExpositionWriter::Finish() {
  if (!drain_) return std::move(text_);
  if (!text_.empty()) DrainText();
  return {};
}

CollectableSource::CollectableSource(std::shared_ptr<prometheus::Collectable> collectable)
    : collectable_(std::move(collectable)) {}

void CollectableSource::AppendExposition(ExpositionWriter& out) const {
  for (const auto& family : collectable_->Collect()) {
    if (!out.Claim(family.name)) continue;
    AppendFamily(family, out.text());
    out.Checkpoint();
  }
}

}  // namespace expvar::common
