#include "discovery/kube/event_planner.h"

#include <openssl/evp.h>

#include <algorithm>
#include <ctime>
#include <set>

namespace expvar::discovery::kube {
namespace {

namespace json = boost::json;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr std::size_t kMaxEventNameBytes = 253;
constexpr std::size_t kHashHexDigits = 16;
constexpr std::size_t kMaxReportingInstanceBytes = 128;

// The longest prefix of text within max bytes that does not end inside a UTF-8 sequence.
std::string CutAtCodePoint(std::string text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

// metav1.Time: RFC 3339 in UTC, whole seconds.
std::string KubeTime(std::chrono::system_clock::time_point at) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(at);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace

std::vector<PodProblem> PodProblemsFrom(const std::vector<pipeline::SourceError>& errors,
                                        const std::map<std::string, std::string>& uid_by_pod,
                                        std::size_t max_message_bytes) {
  std::vector<PodProblem> problems;
  for (const auto& error : errors) {
    if (!error.source.starts_with("pod ")) continue;
    const std::string rest = error.source.substr(4);
    const auto space = rest.find(' ');
    const std::string key = rest.substr(0, space);
    const auto uid = uid_by_pod.find(key);
    const auto slash = key.find('/');
    if (uid == uid_by_pod.end() || slash == std::string::npos) continue;
    const std::string where = space == std::string::npos ? "" : rest.substr(space + 1);
    PodProblem problem{key.substr(0, slash), key.substr(slash + 1), uid->second, ""};
    // Some messages repeat the source ("pod ns/name: annotation K: ..."): say it once.
    std::string_view text = error.message;
    if (text.starts_with("pod " + key + ": ")) text.remove_prefix(key.size() + 6);
    const bool named = where.empty() || text.starts_with(where + ": ");
    problem.message = CutAtCodePoint(named ? std::string(text) : where + ": " + std::string(text),
                                     max_message_bytes);
    problems.push_back(std::move(problem));
  }
  return problems;
}

std::string EventName(const std::string& pod_name, const std::string& uid,
                      const std::string& message) {
  const std::string input = uid + "\n" + message;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (std::size_t i = 0; i < kHashHexDigits / 2; ++i) {
    hex += kDigits[digest[i] >> 4];
    hex += kDigits[digest[i] & 15];
  }
  // A pod name is a DNS subdomain already; a cut one must still end in an alphanumeric.
  std::string prefix = pod_name.substr(0, kMaxEventNameBytes - kHashHexDigits - 1);
  while (!prefix.empty() && (prefix.back() == '-' || prefix.back() == '.')) prefix.pop_back();
  return prefix + "." + hex;
}

json::object EventBody(const EventCall& call, const EventSource& source) {
  json::object event_source{{"component", source.component}};
  if (!source.host.empty()) event_source["host"] = source.host;
  return {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", json::object{{"name", call.event_name}, {"namespace", call.pod_namespace}}},
      {"involvedObject", json::object{{"kind", "Pod"},
                                      {"apiVersion", "v1"},
                                      {"namespace", call.pod_namespace},
                                      {"name", call.pod_name},
                                      {"uid", call.pod_uid}}},
      {"reason", "ExpvarConfigError"},
      {"message", call.message},
      {"type", "Warning"},
      {"source", event_source},
      {"firstTimestamp", KubeTime(call.first_timestamp)},
      {"lastTimestamp", KubeTime(call.last_timestamp)},
      {"count", call.count},
      {"reportingComponent", source.component},
      {"reportingInstance", source.instance.substr(0, kMaxReportingInstanceBytes)},
  };
}

json::object EventPatch(const EventCall& call) {
  return {{"count", call.count}, {"lastTimestamp", KubeTime(call.last_timestamp)}};
}

EventPlanner::EventPlanner(EventPolicy policy, Clock clock, WallClock wall)
    : policy_(policy),
      clock_(std::move(clock)),
      wall_(std::move(wall)),
      tokens_(policy_.events_per_minute),
      refilled_at_(clock_()) {}

bool EventPlanner::TakeToken(SteadyTime now) {
  const double per_second = policy_.events_per_minute / 60.0;
  const std::chrono::duration<double> elapsed = now - refilled_at_;
  tokens_ = std::min<double>(policy_.events_per_minute, tokens_ + elapsed.count() * per_second);
  refilled_at_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void EventPlanner::Forget(SteadyTime now) {
  std::set<std::string> uids;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!it->second.present && now - it->second.absent_since >= policy_.forget_after) {
      it = entries_.erase(it);
    } else {
      uids.insert(it->second.problem.pod_uid);
      ++it;
    }
  }
  std::erase_if(bumped_at_, [&](const auto& entry) { return !uids.count(entry.first); });
}

EventCall EventPlanner::CallFor(const Entry& entry, EventCall::Kind kind) const {
  return {kind,
          entry.problem.pod_namespace,
          entry.problem.pod_name,
          entry.problem.pod_uid,
          entry.event_name,
          entry.problem.message,
          entry.count,
          entry.first_timestamp,
          wall_()};
}

std::vector<EventCall> EventPlanner::Plan(const std::vector<PodProblem>& problems) {
  const SteadyTime now = clock_();
  for (auto& [name, entry] : entries_) {
    if (entry.present) entry.absent_since = now;
    entry.present = false;
  }
  for (const auto& problem : problems) {
    std::string name = EventName(problem.pod_name, problem.pod_uid, problem.message);
    auto it = entries_.find(name);
    if (it == entries_.end() && entries_.size() >= policy_.max_tracked) {
      // Make room by the problem gone longest; when every tracked one is present, drop this.
      auto oldest = entries_.end();
      for (auto e = entries_.begin(); e != entries_.end(); ++e) {
        if (e->second.present) continue;
        if (oldest == entries_.end() || e->second.absent_since < oldest->second.absent_since) {
          oldest = e;
        }
      }
      if (oldest == entries_.end()) {
        ++stats_.dropped;
        continue;
      }
      entries_.erase(oldest);
    }
    if (it == entries_.end()) {
      Entry entry;
      entry.problem = problem;
      entry.event_name = name;
      it = entries_.emplace(std::move(name), std::move(entry)).first;
    }
    it->second.present = true;
  }
  Forget(now);

  std::vector<EventCall> calls;
  std::set<std::string> bumped;
  const auto pod_due = [&](const std::string& uid) {
    const auto last = bumped_at_.find(uid);
    return last == bumped_at_.end() || now - last->second >= policy_.repeat_interval;
  };
  // New problems first: the bucket goes to what the pods' owners have not been told yet.
  for (const bool creates : {true, false}) {
    for (auto& [name, entry] : entries_) {
      if (!entry.present || entry.created == creates) continue;
      const bool create = !entry.created;
      if (!create &&
          (now - entry.sent_at < policy_.repeat_interval || !pod_due(entry.problem.pod_uid))) {
        continue;
      }
      if (!TakeToken(now)) {
        ++stats_.dropped;
        continue;
      }
      entry.sent_at = now;
      if (create) {
        entry.created = true;
        entry.count = 1;
        entry.first_timestamp = wall_();
        ++stats_.creates;
        calls.push_back(CallFor(entry, EventCall::Kind::kCreate));
      } else {
        ++entry.count;
        bumped.insert(entry.problem.pod_uid);
        ++stats_.bumps;
        calls.push_back(CallFor(entry, EventCall::Kind::kBump));
      }
    }
  }
  for (const auto& uid : bumped) bumped_at_[uid] = now;
  return calls;
}

void EventPlanner::Report(const EventCall& call, Result result) {
  const auto it = entries_.find(call.event_name);
  if (it == entries_.end() || result == Result::kDone) return;
  Entry& entry = it->second;
  if (result == Result::kGone || call.kind == EventCall::Kind::kCreate) {
    entry.created = false;
    entry.count = 0;
    return;
  }
  if (entry.count == call.count) entry.count = std::max(1, entry.count - 1);
}

}  // namespace expvar::discovery::kube
