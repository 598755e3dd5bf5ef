// Prometheus sink: renders each target's series to text when it is scraped, and merges the
// targets' text when /metrics is read.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "common/exposition.h"
#include "pipeline/sink.h"
#include "sink/prometheus_render.h"
#include "sink/prometheus_series.h"

namespace expvar::sink {

class PrometheusSink final : public pipeline::Sink, public common::ExpositionSource {
 public:
  // `label_tags` chooses which tags become labels (cardinality: every label is on every series
  // of the target); empty: all.
  explicit PrometheusSink(TagKeyFilter label_tags = {}) : label_tags_(std::move(label_tags)) {}

  // Adds the snapshot's GC pauses to the target's cumulative histogram and renders its series
  // as the target's current text. Runs on the worker that scraped it, so the cost of writing a
  // target's text is paid once per scrape, in parallel, and not by every GET.
  void Publish(const pipeline::SnapshotPtr& snapshot) override;

  // Drops the target: every series of it is gone from the next exposition.
  void Forget(const std::string& target_id) override;

  // Nothing is buffered: the text of every target is current once Publish returns.
  void Flush() override {}

  // Every current target's families, sorted by name, in the text format. A series whose family
  // already has another type, or whose label set is already present, is skipped and counted.
  void AppendExposition(common::ExpositionWriter& out) const override;

  std::size_t TargetCount() const;

  // Series skipped by AppendExposition() because of a type or label-set clash, summed over
  // all calls.
  std::uint64_t Conflicts() const { return conflicts_.load(std::memory_order_relaxed); }

 private:
  struct Target {
    std::shared_ptr<const RenderedTarget> rendered;
    std::string pause_identity;  // namespace and labels the pause counts were accumulated under
    PauseCounts pauses;
    std::uint64_t generation = 0;  // of the latest Publish, so an older rendering never wins
  };

  TagKeyFilter label_tags_;
  mutable FamilyHeads heads_;
  mutable std::mutex mutex_;
  std::map<std::string, Target> targets_;  // by target_id; ordered for stable output
  std::uint64_t next_generation_ = 0;
  mutable std::atomic<std::uint64_t> conflicts_{0};
};

}  // namespace expvar::sink
