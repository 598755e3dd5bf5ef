// Decides which Kubernetes Events to post for pod annotation problems: dedup and rate limits.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "pipeline/target.h"

namespace expvar::discovery::kube {

// One problem of one pod, as its Event will say it.
struct PodProblem {
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string message;  // at most EventPolicy::max_message_bytes
};

struct EventPolicy {
  std::size_t max_message_bytes = 1024;  // the API's limit on an Event's note
  int events_per_minute = 30;            // token bucket over all pods: burst and refill
  // A problem still present is re-announced (count bumped) at most this often, per pod.
  std::chrono::seconds repeat_interval{300};
  // A problem gone this long is forgotten (the API server's default Event TTL is 1 h).
  std::chrono::seconds forget_after{3600};
  std::size_t max_tracked = 4096;  // problems remembered at once; beyond it new ones are dropped
};

// One request the recorder should send.
struct EventCall {
  enum class Kind { kCreate, kBump };
  Kind kind = Kind::kCreate;
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string event_name;  // "<pod name>.<16 hex>"
  std::string message;
  int count = 1;
  std::chrono::system_clock::time_point first_timestamp;
  std::chrono::system_clock::time_point last_timestamp;
};

struct PlannerStats {
  std::uint64_t creates = 0;  // POSTs planned
  std::uint64_t bumps = 0;    // PATCHes planned
  std::uint64_t dropped = 0;  // calls refused by the rate limit or the tracking cap
};

// The problems of pods the uid map knows, from the sources "pod <ns>/<name>[ ...]": the rest of
// the source (say "annotation ad.datadoghq.com/app.checks") prefixes the message, which is cut to
// max_message_bytes on a UTF-8 boundary. uid_by_pod maps "<ns>/<name>" to the pod's uid.
std::vector<PodProblem> PodProblemsFrom(const std::vector<pipeline::SourceError>& errors,
                                        const std::map<std::string, std::string>& uid_by_pod,
                                        std::size_t max_message_bytes = 1024);

// "<pod name>.<16 hex of SHA-256(uid + message)>", at most 253 bytes (a DNS subdomain).
std::string EventName(const std::string& pod_name, const std::string& uid,
                      const std::string& message);

// The v1 Event a kCreate posts, and the strategic-merge patch a kBump sends.
struct EventSource {
  std::string component = "expvar-collector";
  std::string instance;  // reportingInstance: the node name, or the pod name in pod mode
  std::string host;      // source.host: the node name when known
};
boost::json::object EventBody(const EventCall& call, const EventSource& source);
boost::json::object EventPatch(const EventCall& call);

// Not thread-safe. Plan() is called with the full list of current problems (after every change
// and periodically): a new (uid, message) is created once; one still present is bumped when its
// pod's last bump is repeat_interval old; every call takes a token of the bucket, and a call
// without a token is dropped (counted) and tried again at a later Plan().
class EventPlanner {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using WallClock = std::function<std::chrono::system_clock::time_point()>;

  explicit EventPlanner(EventPolicy policy, Clock clock = std::chrono::steady_clock::now,
                        WallClock wall = std::chrono::system_clock::now);

  std::vector<EventCall> Plan(const std::vector<PodProblem>& problems);

  // What became of a planned call. A create that failed is planned again later; a bump that
  // failed gives its count back; a bump answered 404 (the Event expired) re-creates it.
  enum class Result { kDone, kRetry, kGone };
  void Report(const EventCall& call, Result result);

  const PlannerStats& stats() const { return stats_; }
  std::size_t tracked() const { return entries_.size(); }

 private:
  struct Entry {
    PodProblem problem;
    std::string event_name;
    bool present = false;
    bool created = false;  // a create was planned and not reported failed
    int count = 0;
    std::chrono::system_clock::time_point first_timestamp;
    std::chrono::steady_clock::time_point sent_at;
    std::chrono::steady_clock::time_point absent_since;
  };

  bool TakeToken(std::chrono::steady_clock::time_point now);
  void Forget(std::chrono::steady_clock::time_point now);
  EventCall CallFor(const Entry& entry, EventCall::Kind kind) const;

  EventPolicy policy_;
  Clock clock_;
  WallClock wall_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_at_;
  std::map<std::string, Entry> entries_;                                    // by event name
  std::map<std::string, std::chrono::steady_clock::time_point> bumped_at_;  // by pod uid
  PlannerStats stats_;
};

}  // namespace expvar::discovery::kube
