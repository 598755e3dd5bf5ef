#include "sink/prometheus.h"

#include <vector>

#include "sink/prometheus_merge.h"

namespace expvar::sink {

void PrometheusSink::Publish(const pipeline::SnapshotPtr& snapshot) {
  if (!snapshot) return;
  PauseCounts delta = Bucketize(snapshot->pauses_ns);
  std::string identity = PauseIdentity(*snapshot);
  PauseCounts pauses;
  std::shared_ptr<const RenderedTarget> previous;
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    Target& target = targets_[snapshot->target_id];
    if (target.pause_identity != identity) {
      target.pause_identity = std::move(identity);
      target.pauses = PauseCounts{};
    }
    Accumulate(target.pauses, delta);
    pauses = target.pauses;
    previous = target.rendered;
    generation = target.generation = ++next_generation_;
  }
  // Rendered outside the lock: other workers publish and GETs merge meanwhile.
  auto rendered = RenderTarget(*snapshot, pauses, label_tags_, heads_, previous.get());
  std::lock_guard lock(mutex_);
  auto it = targets_.find(snapshot->target_id);
  if (it != targets_.end() && it->second.generation == generation) {
    it->second.rendered = std::move(rendered);
  }
}

void PrometheusSink::Forget(const std::string& target_id) {
  std::lock_guard lock(mutex_);
  targets_.erase(target_id);
}

void PrometheusSink::AppendExposition(common::ExpositionWriter& out) const {
  // Renderings are immutable, so the lock is held only to copy pointers; merging never delays
  // a worker's Publish().
  std::vector<std::shared_ptr<const RenderedTarget>> view;
  {
    std::lock_guard lock(mutex_);
    view.reserve(targets_.size());
    for (const auto& [id, target] : targets_) {
      if (target.rendered) view.push_back(target.rendered);
    }
  }
  conflicts_.fetch_add(AppendMergedFamilies(view, out), std::memory_order_relaxed);
}

std::size_t PrometheusSink::TargetCount() const {
  std::lock_guard lock(mutex_);
  return targets_.size();
}

}  // namespace expvar::sink
