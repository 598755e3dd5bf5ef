// A Sink that records what it is handed, in order, for tests of the stages that feed sinks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/sink.h"

namespace expvar::testing {

class RecordingSink : public pipeline::Sink {
 public:
  enum class Kind { kPublish, kForget, kFlush };
  struct Event {
    Kind kind;
    std::string target_id;           // empty for kFlush
    pipeline::SnapshotPtr snapshot;  // kPublish only
    bool forget() const { return kind == Kind::kForget; }
  };

  void Publish(const pipeline::SnapshotPtr& snapshot) override {
    Add({Kind::kPublish, snapshot->target_id, snapshot});
  }
  void Forget(const std::string& target_id) override { Add({Kind::kForget, target_id, nullptr}); }
  void Flush() override { Add({Kind::kFlush, "", nullptr}); }

  std::vector<Event> Events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::size_t Publishes(const std::string& id) const { return Count(Kind::kPublish, id); }
  bool Forgot(const std::string& id) const { return Count(Kind::kForget, id) > 0; }
  std::size_t Flushes() const { return Count(Kind::kFlush, ""); }

  // Waits, at most `timeout`, until pred() holds; false when it never did.
  template <typename Pred>
  bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      lock.unlock();
      bool ok = pred();
      lock.lock();
      return ok;
    });
  }

 private:
  std::size_t Count(Kind kind, const std::string& id) const {
    std::size_t n = 0;
    for (const auto& e : Events()) n += e.kind == kind && e.target_id == id;
    return n;
  }
  void Add(Event e) {
    {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(e));
    }
    changed_.notify_all();
  }

  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<Event> events_;
};

}  // namespace expvar::testing
