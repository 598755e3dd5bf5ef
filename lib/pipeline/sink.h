// Where snapshots go: the one interface every sink implements (snapshot in, nothing back).
#pragma once

#include <string>

#include "pipeline/snapshot.h"

namespace expvar::pipeline {

// Publish is called from worker coroutines on any scrape thread and must neither block nor
// throw. Forget is called when a target is removed: its series must disappear at once. Flush
// hands on whatever the sink still buffers; the daemon calls it at shutdown.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Publish(const SnapshotPtr& snapshot) = 0;
  virtual void Forget(const std::string& target_id) = 0;
  virtual void Flush() = 0;
};

}  // namespace expvar::pipeline
