// Keeps a live map of the pods discovery cares about with the Kubernetes LIST+WATCH protocol.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "discovery/kube/config.h"
#include "pipeline/pod.h"

namespace expvar::discovery::kube {

enum class WatchMode {
  kNode,  // every pod on one node (DaemonSet)
  kPod,   // the collector's own pod (sidecar)
};

struct WatcherOptions {
  WatchMode mode = WatchMode::kNode;
  std::string node_name;      // kNode
  std::string pod_namespace;  // kPod
  std::string pod_name;       // kPod
  int page_size = 500;        // LIST limit
  // Each watch asks the server to end it after a random time in [min, max], so that a fleet of
  // collectors does not re-watch in lockstep after an API server restart.
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::seconds max_watch_timeout{600};
  // A watch that sends nothing for timeoutSeconds plus this is considered dead.
  std::chrono::seconds watch_grace{30};
  std::chrono::milliseconds request_timeout{30'000};  // a whole LIST page; a watch's head
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30'000};
  std::chrono::seconds max_retry_after{300};  // a larger Retry-After is clamped to this
  std::size_t max_list_page_bytes = 256 * 1024 * 1024;
  std::size_t max_event_bytes = 16 * 1024 * 1024;
  std::uint64_t seed = 0;  // randomness of timeouts and jitter; 0 = from std::random_device
};

// Counters for self-metrics and tests.
struct WatcherStats {
  std::uint64_t lists = 0;       // LISTs completed (all pages)
  std::uint64_t list_pages = 0;  // LIST requests answered with 2xx
  std::uint64_t watches = 0;     // watch streams opened with 2xx
  std::uint64_t events = 0;      // ADDED/MODIFIED/DELETED applied
  std::uint64_t bookmarks = 0;
  std::uint64_t relists_410 = 0;          // 410 Gone, as HTTP status or in-stream ERROR
  std::uint64_t synthesized_deletes = 0;  // pods that vanished across a re-LIST
  std::uint64_t errors = 0;               // failed requests and broken streams of any kind
  std::uint64_t unauthorized = 0;         // 401 responses
  std::uint64_t throttled = 0;            // 429 responses
  std::uint64_t backoffs = 0;             // waits before a retry (backoff or Retry-After)
  std::uint64_t bad_pods = 0;             // objects PodFromJson rejected
};

// The full set of pods, keyed by uid. Called on the watcher's strand after every LIST and after
// every network read that changed the set: events that arrive together (a burst written in one
// TCP segment or chunk) are applied together and emitted once, with no extra delay. Never called
// because of an error, so consumers keep running targets while the API is unreachable. `synced`
// says the map comes from a completed LIST plus the watch events since; this watcher only emits
// synced maps, the flag exists for consumers that merge it with unsynced sources.
using PodsCallback =
    std::function<void(const std::map<std::string, pipeline::Pod>& pods, bool synced)>;

// The LIST+WATCH loop as one coroutine on a strand of the given executor:
//   LIST (paged) → WATCH from its resourceVersion → on stream end WATCH again from the last
//   version seen (events and bookmarks) → on 410 Gone LIST again and replace the map.
// Failures back off exponentially with jitter (429 honours Retry-After; the first 401 in a row
// re-reads the token and retries at once).
class PodWatcher {
 public:
  PodWatcher(boost::asio::any_io_executor executor, ApiConfig api, WatcherOptions options,
             PodsCallback on_pods);
  ~PodWatcher();
  PodWatcher(const PodWatcher&) = delete;
  PodWatcher& operator=(const PodWatcher&) = delete;

  // Starts the loop. Returns false (with *error) for an unusable configuration.
  bool Start(std::string* error);
  // Ends the loop soon; thread-safe. The object must outlive the loop: wait for done(), or stop
  // the io_context, before destroying it.
  void Stop();
  bool done() const { return done_.load(); }

  WatcherStats stats() const;

 private:
  struct Outcome;
  class Loop;

  std::unique_ptr<Loop> loop_;
  std::atomic<bool> done_{false};
};

}  // namespace expvar::discovery::kube
