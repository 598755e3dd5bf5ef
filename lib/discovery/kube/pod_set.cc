#include "discovery/kube/pod_set.h"

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>

#include "discovery/pod_json.h"

namespace expvar::discovery::kube {

using pipeline::Pod;

namespace {

namespace json = boost::json;

const json::value* FindPath(const json::value& value,
                            std::initializer_list<std::string_view> path) {
  const json::value* at = &value;
  for (auto key : path) {
    const auto* object = at->if_object();
    at = object ? object->if_contains(key) : nullptr;
    if (at == nullptr) return nullptr;
  }
  return at;
}

std::string StringAt(const json::value& value, std::initializer_list<std::string_view> path) {
  const auto* found = FindPath(value, path);
  return found && found->is_string() ? std::string(found->get_string()) : "";
}

// A pod without a uid cannot be keyed, so it is as unusable as one PodFromJson rejects.
std::optional<Pod> ToPod(const json::value& object) {
  std::string error;
  auto pod = PodFromJson(object, &error);
  if (!pod || pod->uid.empty()) {
    spdlog::warn("kube: skipping pod {}/{}: {}", StringAt(object, {"metadata", "namespace"}),
                 StringAt(object, {"metadata", "name"}), pod ? "no uid" : error);
    return std::nullopt;
  }
  return pod;
}

}  // namespace

std::string StatusText(const json::value& status) {
  const std::string reason = StringAt(status, {"reason"});
  const std::string message = StringAt(status, {"message"});
  if (reason.empty()) return message;
  return message.empty() ? reason : reason + ": " + message;
}

int StatusCode(const json::value& status) {
  const auto* code = FindPath(status, {"code"});
  return code && code->is_int64() ? static_cast<int>(code->get_int64()) : 0;
}

std::uint64_t PodListing::AddPage(const json::value& page) {
  if (resource_version_.empty()) {
    resource_version_ = StringAt(page, {"metadata", "resourceVersion"});
  }
  continue_token_ = StringAt(page, {"metadata", "continue"});
  const auto* items = FindPath(page, {"items"});
  if (items == nullptr || !items->is_array()) return 0;
  std::uint64_t bad_pods = 0;
  for (const auto& item : items->get_array()) {
    if (auto pod = ToPod(item)) {
      pods_.insert_or_assign(pod->uid, std::move(*pod));
    } else {
      ++bad_pods;
    }
  }
  return bad_pods;
}

std::uint64_t PodSet::Replace(PodListing listing) {
  std::uint64_t vanished = 0;
  for (const auto& [uid, pod] : pods_) vanished += listing.pods_.count(uid) == 0 ? 1 : 0;
  pods_ = std::move(listing.pods_);
  resource_version_ = std::move(listing.resource_version_);
  listed_ = true;
  return vanished;
}

EventEffect PodSet::Apply(const WatchEvent& event) {
  EventEffect effect;
  if (event.type == EventType::kError) return effect;
  if (auto version = StringAt(event.object, {"metadata", "resourceVersion"}); !version.empty()) {
    resource_version_ = std::move(version);
  }
  if (event.type == EventType::kBookmark) return effect;
  if (event.type == EventType::kDeleted) {
    effect.changed = pods_.erase(StringAt(event.object, {"metadata", "uid"})) > 0;
  } else if (auto pod = ToPod(event.object)) {
    pods_.insert_or_assign(pod->uid, std::move(*pod));
    effect.changed = true;
  } else {
    effect.bad_pod = true;
  }
  return effect;
}

}  // namespace expvar::discovery::kube
