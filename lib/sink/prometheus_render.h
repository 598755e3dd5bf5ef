// Renders one target's series into exposition text once per scrape, on the worker that scraped
// it, so that GET /metrics only merges text that is already written.
#pragma once

#include <prometheus/metric_type.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pipeline/snapshot.h"
#include "sink/prometheus_series.h"

namespace expvar::sink {

// What a family is called and says. Shared by every target with the same one, so ten thousand
// targets hold one copy of each default family's name and help.
struct FamilyHead {
  std::string name;
  prometheus::MetricType type;
  std::string help;      // escaped for the HELP line
  std::string raw_help;  // as the series gave it
};

// Hands out shared FamilyHeads; a head lives as long as some rendered target uses it.
class FamilyHeads {
 public:
  std::shared_ptr<const FamilyHead> Get(const SeriesSpec& spec);

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<const FamilyHead>> heads_;
  std::size_t sweep_at_ = 256;  // size at which expired entries are next erased
};

// One target's series as text lines, grouped by family. Immutable once rendered.
struct RenderedTarget {
  // A series' lines (one, or a histogram's count, sum and buckets) and what tells it apart in
  // its family: a hash of the family name and the label set, whatever the labels' order.
  struct Series {
    std::uint32_t begin;
    std::uint32_t end;
    std::uint64_t key;
  };
  // The target's series of one family and type, in the order they were added.
  struct Part {
    std::shared_ptr<const FamilyHead> head;
    std::uint32_t begin;  // into text
    std::uint32_t end;
    std::uint32_t first_series;  // into series
    std::uint32_t series_end;
  };
  std::string text;
  std::vector<Part> parts;  // by family name; one name's parts in the order they appeared
  std::vector<Series> series;
};

// `snapshot`'s series (SnapshotSeries) as text, with `pauses` as its histogram's counts and
// the tags `keep` accepts as labels. The heads of `previous` (the target's last rendering, or
// null) are reused where they still fit, so a steady target takes no lock on `heads`.
std::shared_ptr<const RenderedTarget> RenderTarget(const pipeline::ScrapeSnapshot& snapshot,
                                                   const PauseCounts& pauses,
                                                   const TagKeyFilter& keep, FamilyHeads& heads,
                                                   const RenderedTarget* previous);

}  // namespace expvar::sink
