// Posts pod annotation problems as Kubernetes Events on the pods, in the background.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "discovery/kube/config.h"
#include "discovery/kube/event_planner.h"

namespace expvar::discovery::kube {

struct EventRecorderOptions {
  EventPolicy policy;
  EventSource source;
  std::chrono::milliseconds request_timeout{10'000};
  // The last problems are planned again this often: retries after a failure or the rate limit,
  // and the count bumps of problems that are still there.
  std::chrono::milliseconds replan_interval{30'000};
  EventPlanner::Clock clock = std::chrono::steady_clock::now;
  EventPlanner::WallClock wall = std::chrono::system_clock::now;
};

struct EventRecorderStats {
  std::uint64_t created = 0;    // POSTs answered 201
  std::uint64_t existed = 0;    // POSTs answered 409: the Event was there (an earlier run)
  std::uint64_t patched = 0;    // PATCHes answered 200
  std::uint64_t failed = 0;     // requests that failed in any way (403 included)
  std::uint64_t forbidden = 0;  // 403: the service account may not create or patch events
  std::uint64_t dropped = 0;    // calls the rate limit or the tracking cap dropped
};

// Runs on a strand of the given executor; Update() only hands the problems over, so neither
// discovery nor scrapes ever wait for the API server. One request at a time, each bounded by
// request_timeout; failures are logged at debug, the first 403 and the first drop at warn.
class EventRecorder {
 public:
  EventRecorder(boost::asio::any_io_executor executor, ApiConfig api, EventRecorderOptions options);
  ~EventRecorder();
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  // Returns false (with *error) for an unusable API configuration.
  bool Start(std::string* error);
  // The pods' current problems (all of them: one missing is gone). Thread-safe, never blocks.
  void Update(std::vector<PodProblem> problems);
  // Ends the timer and any request in flight soon; thread-safe.
  void Stop();

  EventRecorderStats stats() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace expvar::discovery::kube
