#include "sink/prometheus_merge.h"

#include <algorithm>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <string_view>

namespace expvar::sink {
namespace {

// One target's part of a family, and which of its series are written: all of them unless one
// duplicates a label set the family already has (then `kept` lists the rest).
struct PartRef {
  const RenderedTarget* target;
  const RenderedTarget::Part* part;
  bool whole = true;
  std::vector<std::uint32_t> kept;
};

struct Family {
  const FamilyHead* head;  // of its first series
  std::vector<PartRef> parts;
  std::uint64_t series = 0;  // series kept
  bool dropped = false;
};

class Merger {
 public:
  explicit Merger(std::size_t targets) {
    families_.reserve(64);
    keys_.reserve(targets * 24);
  }

  void Add(const RenderedTarget& target) {
    for (const auto& part : target.parts) {
      Family& family = families_[FamilyIndex(*part.head)];
      if (part.head->type != family.head->type) {
        skipped_ += part.series_end - part.first_series;
        continue;
      }
      family.parts.push_back(KeepUnique(target, part, family.series));
    }
  }

  // Drops the families a histogram's own series names would clash with; `by_name` is
  // SortedByName(), so the first of a chain of clashes is the one kept.
  void DropHistogramShadows(const std::vector<std::size_t>& by_name) {
    for (std::size_t i : by_name) {
      const Family& family = families_[i];
      if (family.dropped || family.head->type != prometheus::MetricType::Histogram) continue;
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        auto clash = index_.find(family.head->name + std::string(suffix));
        if (clash == index_.end() || families_[clash->second].dropped) continue;
        families_[clash->second].dropped = true;
        skipped_ += families_[clash->second].series;
      }
    }
  }

  void Write(const std::vector<std::size_t>& by_name, common::ExpositionWriter& out) const {
    for (std::size_t i : by_name) {
      const Family& family = families_[i];
      if (family.dropped || !out.Claim(family.head->name)) continue;
      const FamilyHead& head = *family.head;
      common::AppendFamilyHeader(head.name, head.help, head.type, out.text());
      for (const PartRef& ref : family.parts) {
        WritePart(ref, out.text());
        out.Checkpoint();
      }
    }
  }

  // The families' indexes in name order: the order they are written in.
  std::vector<std::size_t> SortedByName() const {
    std::vector<std::size_t> order(families_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return families_[a].head->name < families_[b].head->name;
    });
    return order;
  }

  std::uint64_t Skipped() const { return skipped_; }

 private:
  PartRef KeepUnique(const RenderedTarget& target, const RenderedTarget::Part& part,
                     std::uint64_t& family_series) {
    PartRef ref{&target, &part, true, {}};
    for (std::uint32_t s = part.first_series; s < part.series_end; ++s) {
      if (keys_.insert(target.series[s].key).second) {
        if (!ref.whole) ref.kept.push_back(s);
        ++family_series;
        continue;
      }
      ++skipped_;
      if (ref.whole) {
        ref.whole = false;
        for (std::uint32_t k = part.first_series; k < s; ++k) ref.kept.push_back(k);
      }
    }
    return ref;
  }

  static void WritePart(const PartRef& ref, std::string& out) {
    const std::string& text = ref.target->text;
    if (ref.whole) {
      out.append(text, ref.part->begin, ref.part->end - ref.part->begin);
      return;
    }
    for (std::uint32_t s : ref.kept) {
      const auto& series = ref.target->series[s];
      out.append(text, series.begin, series.end - series.begin);
    }
  }

  // The family of a head: by the head's address first (most targets share their heads), by
  // name when another head has the same name (another help or type).
  std::size_t FamilyIndex(const FamilyHead& head) {
    auto [by_head, new_head] = by_head_.try_emplace(&head, families_.size());
    if (!new_head) return by_head->second;
    auto [by_name, new_name] = index_.try_emplace(head.name, families_.size());
    if (new_name) families_.push_back({&head, {}, 0, false});
    by_head->second = by_name->second;
    return by_name->second;
  }

  std::vector<Family> families_;
  boost::unordered_flat_map<const FamilyHead*, std::size_t> by_head_;
  boost::unordered_flat_map<std::string_view, std::size_t> index_;  // names live in the heads
  // Family name and label set of every series kept. A 64-bit hash stands for the pair: two
  // different series share one with odds of about n^2 / 2^65, 1 in 10^7 at a million series.
  boost::unordered_flat_set<std::uint64_t> keys_;
  std::uint64_t skipped_ = 0;
};

}  // namespace

std::uint64_t AppendMergedFamilies(
    const std::vector<std::shared_ptr<const RenderedTarget>>& targets,
    common::ExpositionWriter& out) {
  Merger merger(targets.size());
  for (const auto& target : targets) merger.Add(*target);
  const std::vector<std::size_t> by_name = merger.SortedByName();
  merger.DropHistogramShadows(by_name);
  merger.Write(by_name, out);
  return merger.Skipped();
}

}  // namespace expvar::sink
