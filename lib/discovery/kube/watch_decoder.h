// Turns the byte stream of a Kubernetes watch response into complete watch events, incrementally.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace expvar::discovery::kube {

enum class EventType { kAdded, kModified, kDeleted, kBookmark, kError };

// "ADDED", "MODIFIED", ... as the API server spells them.
std::string_view EventTypeName(EventType type);

struct WatchEvent {
  EventType type = EventType::kAdded;
  boost::json::value object;  // the Pod, or a Status for ERROR, or a bare object for BOOKMARK
};

// Parses one `{"type": ..., "object": {...}}` document. On failure returns nullopt and sets
// *error.
std::optional<WatchEvent> ParseWatchEvent(std::string_view line, std::string* error);

// The API server writes one JSON event per line, but the network cuts the stream anywhere: a
// chunk may hold half a line or several lines. The decoder keeps the unfinished tail.
class WatchDecoder {
 public:
  static constexpr std::size_t kDefaultMaxLineBytes = 16 * 1024 * 1024;

  explicit WatchDecoder(std::size_t max_line_bytes = kDefaultMaxLineBytes);

  // Appends the complete events found in bytes to *out. Returns false once the stream is
  // malformed (bad JSON, unknown type, a line over the limit); the decoder then stays failed,
  // because after a bad line the stream position is no longer trustworthy.
  bool Feed(std::string_view bytes, std::vector<WatchEvent>* out);

  // The stream ended: a non-blank unterminated tail is decoded as a last event (a server may
  // omit the final newline). Returns false when that tail is malformed.
  bool Finish(std::vector<WatchEvent>* out);

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  std::size_t buffered_bytes() const { return pending_.size(); }

 private:
  bool TakeLine(std::string_view line, std::vector<WatchEvent>* out);

  std::size_t max_line_bytes_;
  std::string pending_;  // bytes after the last newline
  std::string error_;
};

}  // namespace expvar::discovery::kube
