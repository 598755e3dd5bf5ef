#include "sink/prometheus_render.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <utility>

#include "common/exposition.h"
#include "sink/prometheus_text.h"

namespace expvar::sink {
namespace {

using prometheus::MetricType;

// A tag list's labels as text (`name="value",...`, no braces) and the hash of the label set.
struct LabelText {
  std::string inner;
  std::uint64_t hash = 0;
};

// splitmix64's finaliser: spreads a value's bits over all 64.
std::uint64_t Mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A sum of one mixed hash per label: the same set in another order sums the same, and a value
// moved to another label name does not.
std::uint64_t LabelSetHash(const std::vector<prometheus::ClientMetric::Label>& labels) {
  std::hash<std::string> hash;
  std::uint64_t sum = 0;
  for (const auto& label : labels) {
    sum += Mix(hash(label.name) * 0x9E3779B97F4A7C15ULL + hash(label.value));
  }
  return sum;
}

// Labels converted once per distinct tag list: a target's readings mostly share one.
class LabelTextCache {
 public:
  explicit LabelTextCache(const TagKeyFilter& keep) : keep_(keep) {}

  const LabelText& For(const std::vector<std::string>& tags) {
    if (tags_ == &tags || (tags_ && *tags_ == tags)) return text_;
    tags_ = &tags;
    auto labels = TagsToLabels(tags, keep_);
    text_.inner.clear();
    common::AppendLabels(labels, text_.inner);
    text_.hash = LabelSetHash(labels);
    return text_;
  }

 private:
  const TagKeyFilter& keep_;
  const std::vector<std::string>* tags_ = nullptr;
  LabelText text_;
};

void AppendPauseHistogram(std::string_view name, const std::string& labels,
                          const PauseCounts& counts, std::string& out) {
  common::AppendSampleHead(name, "_count", labels, {}, out);
  common::AppendCount(counts.count, out);
  out.push_back('\n');
  common::AppendSampleHead(name, "_sum", labels, {}, out);
  common::AppendSampleValue(counts.sum_seconds, out);
  out.push_back('\n');
  std::uint64_t cumulative = 0;
  std::string le;
  for (std::size_t i = 0; i < counts.buckets.size(); ++i) {
    cumulative += counts.buckets[i];
    double bound =
        i < kGcPauseBuckets.size() ? kGcPauseBuckets[i] : std::numeric_limits<double>::infinity();
    le.assign("le=\"");
    common::AppendSampleValue(bound, le);
    le.push_back('"');
    common::AppendSampleHead(name, "_bucket", labels, le, out);
    common::AppendCount(cumulative, out);
    out.push_back('\n');
  }
}

void AppendSeries(const SeriesSpec& spec, const std::string& labels, const PauseCounts& pauses,
                  std::string& out) {
  if (spec.type == MetricType::Histogram) {
    AppendPauseHistogram(spec.name, labels, pauses, out);
    return;
  }
  common::AppendSampleHead(spec.name, {}, labels, {}, out);
  common::AppendSampleValue(spec.value, out);
  out.push_back('\n');
}

// Groups by family name and type, ordered by name; one name's groups stay in the order their
// types first appeared (the first is the type the family gets). Sorting an index keeps this to
// two allocations however many series there are.
std::vector<const SeriesSpec*> OrderByFamily(const std::vector<SeriesSpec>& specs) {
  std::vector<const SeriesSpec*> order(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) order[i] = &specs[i];
  std::stable_sort(order.begin(), order.end(),
                   [](const SeriesSpec* a, const SeriesSpec* b) { return a->name < b->name; });
  // Within one name (rarely more than one type): types in order of first appearance.
  for (auto run = order.begin(); run != order.end();) {
    auto end = std::find_if(run, order.end(),
                            [&](const SeriesSpec* s) { return s->name != (*run)->name; });
    for (auto typed = run; typed != end;) {
      typed = std::stable_partition(
          typed, end, [type = (*typed)->type](const SeriesSpec* s) { return s->type == type; });
    }
    run = end;
  }
  return order;
}

// How many (name, type) runs `order` has: the parts a rendering will hold.
std::size_t PartCount(const std::vector<const SeriesSpec*>& order) {
  std::size_t parts = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    parts += i == 0 || order[i]->name != order[i - 1]->name || order[i]->type != order[i - 1]->type;
  }
  return parts;
}

// The head `previous` used for this family, when it is still the same.
std::shared_ptr<const FamilyHead> PreviousHead(const RenderedTarget* previous,
                                               const SeriesSpec& spec) {
  if (!previous) return nullptr;
  auto it = std::lower_bound(previous->parts.begin(), previous->parts.end(), spec.name,
                             [](const RenderedTarget::Part& part, std::string_view name) {
                               return part.head->name < name;
                             });
  for (; it != previous->parts.end() && it->head->name == spec.name; ++it) {
    if (it->head->type == spec.type && it->head->raw_help == spec.help) return it->head;
  }
  return nullptr;
}

std::uint32_t Offset(std::size_t n) { return static_cast<std::uint32_t>(n); }

}  // namespace

std::shared_ptr<const FamilyHead> FamilyHeads::Get(const SeriesSpec& spec) {
  std::string key;
  key.reserve(spec.name.size() + spec.help.size() + 2);
  key.push_back(static_cast<char>('0' + static_cast<int>(spec.type)));
  key.append(spec.name).push_back('\0');
  key.append(spec.help);
  std::lock_guard lock(mutex_);
  auto& slot = heads_[key];
  if (auto head = slot.lock()) return head;
  auto head = std::make_shared<const FamilyHead>(
      FamilyHead{std::string(spec.name), spec.type, EscapeHelp(spec.help), std::string(spec.help)});
  slot = head;
  if (heads_.size() >= sweep_at_) {
    std::erase_if(heads_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max<std::size_t>(256, heads_.size() * 2);
  }
  return head;
}

std::shared_ptr<const RenderedTarget> RenderTarget(const pipeline::ScrapeSnapshot& snapshot,
                                                   const PauseCounts& pauses,
                                                   const TagKeyFilter& keep, FamilyHeads& heads,
                                                   const RenderedTarget* previous) {
  SeriesList list = SnapshotSeries(snapshot, pauses);
  auto rendered = std::make_shared<RenderedTarget>();
  // About what the last rendering needed: one allocation instead of a dozen doublings.
  if (previous) rendered->text.reserve(previous->text.size());
  rendered->series.reserve(list.specs.size());
  LabelTextCache labels(keep);
  std::hash<std::string_view> hash;
  std::vector<const SeriesSpec*> order = OrderByFamily(list.specs);
  rendered->parts.reserve(PartCount(order));
  for (auto first = order.begin(); first != order.end();) {
    const SeriesSpec& head_spec = **first;
    auto end = std::find_if(first, order.end(), [&](const SeriesSpec* s) {
      return s->name != head_spec.name || s->type != head_spec.type;
    });
    RenderedTarget::Part part;
    part.head = PreviousHead(previous, head_spec);
    if (!part.head) part.head = heads.Get(head_spec);
    part.begin = Offset(rendered->text.size());
    part.first_series = Offset(rendered->series.size());
    std::uint64_t name_hash = Mix(hash(head_spec.name));
    for (auto it = first; it != end; ++it) {
      const LabelText& label_text = labels.For(*(*it)->tags);
      std::uint32_t begin = Offset(rendered->text.size());
      AppendSeries(**it, label_text.inner, pauses, rendered->text);
      rendered->series.push_back(
          {begin, Offset(rendered->text.size()), name_hash + label_text.hash});
    }
    part.end = Offset(rendered->text.size());
    part.series_end = Offset(rendered->series.size());
    rendered->parts.push_back(std::move(part));
    first = end;
  }
  rendered->text.shrink_to_fit();
  return rendered;
}

}  // namespace expvar::sink
