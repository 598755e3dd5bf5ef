#include "discovery/kube/watch_decoder.h"

#include <array>
#include <boost/json/parse.hpp>
#include <utility>

namespace expvar::discovery::kube {
namespace {

constexpr std::array<std::pair<std::string_view, EventType>, 5> kTypes = {{
    {"ADDED", EventType::kAdded},
    {"MODIFIED", EventType::kModified},
    {"DELETED", EventType::kDeleted},
    {"BOOKMARK", EventType::kBookmark},
    {"ERROR", EventType::kError},
}};

std::optional<EventType> TypeFromName(std::string_view name) {
  for (const auto& [text, type] : kTypes) {
    if (text == name) return type;
  }
  return std::nullopt;
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

std::string_view EventTypeName(EventType type) {
  for (const auto& [text, value] : kTypes) {
    if (value == type) return text;
  }
  return "UNKNOWN";
}

std::optional<WatchEvent> ParseWatchEvent(std::string_view line, std::string* error) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(line, ec);
  if (ec) {
    *error = "watch event is not JSON: " + ec.message();
    return std::nullopt;
  }
  const auto* obj = doc.if_object();
  const auto* type = obj ? obj->if_contains("type") : nullptr;
  const auto* object = obj ? obj->if_contains("object") : nullptr;
  if (type == nullptr || !type->is_string() || object == nullptr || !object->is_object()) {
    *error = "watch event lacks a string \"type\" or an object \"object\"";
    return std::nullopt;
  }
  const auto event_type = TypeFromName(type->get_string());
  if (!event_type) {
    *error = "unknown watch event type " + std::string(type->get_string());
    return std::nullopt;
  }
  return WatchEvent{*event_type, std::move(*object)};
}

WatchDecoder::WatchDecoder(std::size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

bool WatchDecoder::Feed(std::string_view bytes, std::vector<WatchEvent>* out) {
  if (failed()) return false;
  // Lines that end inside this chunk are decoded straight from it; only the tail is copied.
  for (auto newline = bytes.find('\n'); newline != std::string_view::npos;
       newline = bytes.find('\n')) {
    bool ok = true;
    if (pending_.empty()) {
      ok = TakeLine(bytes.substr(0, newline), out);
    } else {
      pending_.append(bytes.substr(0, newline));
      ok = TakeLine(pending_, out);
      pending_.clear();
    }
    if (!ok) return false;
    bytes.remove_prefix(newline + 1);
  }
  if (pending_.size() + bytes.size() > max_line_bytes_) {
    error_ = "watch event longer than " + std::to_string(max_line_bytes_) + " bytes";
    pending_.clear();
    return false;
  }
  pending_.append(bytes);
  return true;
}

bool WatchDecoder::Finish(std::vector<WatchEvent>* out) {
  if (failed()) return false;
  std::string tail = std::move(pending_);
  pending_.clear();
  return TakeLine(tail, out);
}

bool WatchDecoder::TakeLine(std::string_view line, std::vector<WatchEvent>* out) {
  if (line.size() > max_line_bytes_) {
    error_ = "watch event longer than " + std::to_string(max_line_bytes_) + " bytes";
    return false;
  }
  if (IsBlank(line)) return true;
  auto event = ParseWatchEvent(line, &error_);
  if (!event) return false;
  out->push_back(std::move(*event));
  return true;
}

}  // namespace expvar::discovery::kube
