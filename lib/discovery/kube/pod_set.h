// Decodes LIST pages, watch events and Status objects into the pod set a watcher keeps.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <string>

#include "discovery/kube/watch_decoder.h"
#include "pipeline/pod.h"

namespace expvar::discovery::kube {

// Pods keyed by uid.
using PodMap = std::map<std::string, pipeline::Pod>;

// A Status object's reason and message, for logs ("" when the body is not a Status).
std::string StatusText(const boost::json::value& status);

// A Status object's code (0 when it has none), e.g. 410 in an ERROR watch event.
int StatusCode(const boost::json::value& status);

// The pods of one LIST in progress. A LIST comes in pages; only the complete LIST may replace
// what the watcher knows, so the pages collect here first.
class PodListing {
 public:
  // Takes one page's items, its continue token and, from the first page that has one, its
  // resourceVersion. Returns how many items PodFromJson rejected (each is logged).
  std::uint64_t AddPage(const boost::json::value& page);

  // The token for the next page; "" once the last page was taken.
  const std::string& continue_token() const { return continue_token_; }

 private:
  friend class PodSet;

  PodMap pods_;
  std::string continue_token_;
  std::string resource_version_;
};

// What one watch event did.
struct EventEffect {
  bool changed = false;  // the pod map changed
  bool bad_pod = false;  // an ADDED/MODIFIED object PodFromJson rejected (logged)
};

// The pod map and the resourceVersion to watch from: a LIST replaces both, watch events update
// them.
class PodSet {
 public:
  // The completed LIST is the truth: pods missing from it were deleted while no watch was open.
  // Returns how many of the previous pods vanished (the deletes a re-LIST synthesizes).
  std::uint64_t Replace(PodListing listing);

  // Applies an ADDED, MODIFIED, DELETED or BOOKMARK event; each moves the resourceVersion when
  // it carries one. An ERROR event changes nothing: what it means is the caller's business.
  EventEffect Apply(const WatchEvent& event);

  const PodMap& pods() const { return pods_; }
  const std::string& resource_version() const { return resource_version_; }
  // Whether a LIST has completed yet.
  bool listed() const { return listed_; }

 private:
  PodMap pods_;
  std::string resource_version_;
  bool listed_ = false;
};

}  // namespace expvar::discovery::kube
