#include "check/pruned_parse.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <string>
#include <utility>

namespace expvar::check {

Reach::Reach(std::vector<const CompiledPath*> paths, MatchMemo* memo)
    : paths_(std::move(paths)), memo_(memo) {}

ReachPosition Reach::Root() const {
  ReachPosition root;
  root.alive.reserve(paths_.size());
  for (std::uint32_t i = 0; i < paths_.size(); ++i) root.alive.push_back(i);
  return root;
}

bool Reach::Step(const ReachPosition& parent, std::string_view key, ReachPosition& child) const {
  child.alive.clear();
  child.depth = parent.depth + 1;
  child.whole = parent.whole;
  if (parent.whole) return true;
  for (std::uint32_t i : parent.alive) {
    const CompiledPath& path = *paths_[i];
    const PathSegment& segment = path.Segment(parent.depth);
    if (!(memo_ ? memo_->Matches(segment, key) : segment.Matches(key))) continue;
    if (path.Depth() == child.depth) {
      // A full match is visited whole, whatever other paths would keep of it.
      child.whole = true;
      child.alive.clear();
      return true;
    }
    child.alive.push_back(i);
  }
  return !child.alive.empty();
}

namespace {

// A boost::json::basic_parser handler that builds, on Boost.JSON's own value_stack (so objects
// come out exactly as boost::json::parse makes them, duplicate keys included), only the values
// the Reach keeps. A dropped container is still parsed, only counted through.
class PruningHandler {
 public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  using error_code = boost::system::error_code;
  using string_view = boost::json::string_view;

  PruningHandler(const Reach* reach, const std::vector<std::string_view>& prefix,
                 boost::json::storage_ptr storage)
      : reach_(reach) {
    stack_.reset(std::move(storage));
    if (!reach) {
      start_.whole = true;
      return;
    }
    start_ = reach->Root();
    ReachPosition next;
    for (std::string_view key : prefix) {
      if (!reach->Step(start_, key, next)) {
        start_reached_ = false;
        return;
      }
      std::swap(start_, next);
    }
  }

  // The parsed value, when it was reached.
  std::optional<boost::json::value> Release() {
    if (!start_kept_) return std::nullopt;
    return stack_.release();
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) { return Open(false); }
  bool on_object_end(std::size_t, error_code&) { return Close(); }
  bool on_array_begin(error_code&) { return Open(true); }
  bool on_array_end(std::size_t, error_code&) { return Close(); }

  // Keys arrive in parts when they hold escapes; the whole key decides, so parts are gathered.
  bool on_key_part(string_view part, std::size_t, error_code&) {
    if (skipping_ != 0) return true;
    if (!key_in_parts_) key_.clear();
    key_.append(part.data(), part.size());
    key_in_parts_ = true;
    return true;
  }
  bool on_key(string_view last, std::size_t, error_code&) {
    if (skipping_ != 0) return true;
    if (!key_in_parts_) key_.clear();
    key_.append(last.data(), last.size());
    key_in_parts_ = false;
    return true;
  }

  bool on_string_part(string_view part, std::size_t, error_code&) {
    if (skipping_ != 0) return true;
    if (!string_open_) string_kept_ = EnterScalar();
    string_open_ = true;
    if (string_kept_) stack_.push_chars(part);
    return true;
  }
  bool on_string(string_view last, std::size_t, error_code&) {
    if (skipping_ != 0) return true;
    if (!string_open_) string_kept_ = EnterScalar();
    string_open_ = false;
    if (string_kept_) stack_.push_string(last);
    return true;
  }

  bool on_number_part(string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, string_view, error_code&) {
    if (EnterScalar()) stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, string_view, error_code&) {
    if (EnterScalar()) stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, string_view, error_code&) {
    if (EnterScalar()) stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, error_code&) {
    if (EnterScalar()) stack_.push_bool(b);
    return true;
  }
  bool on_null(error_code&) {
    if (EnterScalar()) stack_.push_null();
    return true;
  }
  bool on_comment_part(string_view, error_code&) { return true; }
  bool on_comment(string_view, error_code&) { return true; }

 private:
  struct Frame {
    ReachPosition position;
    bool is_array = false;
    std::size_t next_index = 0;  // arrays: the index of the next element, kept or not
    std::size_t kept = 0;        // children pushed on the value stack (arrays: all of them)
  };

  // Decides whether the value starting now is kept (a scalar only when a path matched it
  // whole) and, if so, pushes its key. `position` receives where the value sits.
  bool Enter(ReachPosition& position, bool is_container) {
    if (open_ == 0) {
      position = start_;
      start_kept_ = start_reached_ && (is_container || start_.whole);
      return start_kept_;
    }
    Frame& parent = frames_[open_ - 1];
    char digits[24];
    std::string_view key = key_;
    if (parent.is_array) {
      auto end = std::to_chars(digits, digits + sizeof digits, parent.next_index++).ptr;
      key = std::string_view(digits, static_cast<std::size_t>(end - digits));
    }
    bool reached = reach_ ? reach_->Step(parent.position, key, position) : true;
    if (!reach_) position.whole = true;
    const bool kept = reached && (is_container || position.whole);
    if (parent.is_array) {
      // A dropped element leaves a null, so the elements after it keep their indexes.
      if (!kept) stack_.push_null();
      ++parent.kept;
      return kept;
    }
    if (!kept) return false;
    stack_.push_key(key_);
    ++parent.kept;
    return true;
  }

  bool EnterScalar() { return skipping_ == 0 && Enter(scalar_position_, false); }

  bool Open(bool is_array) {
    if (skipping_ != 0) {
      ++skipping_;
      return true;
    }
    if (frames_.size() == open_) frames_.emplace_back();
    Frame& frame = frames_[open_];
    if (!Enter(frame.position, true)) {
      skipping_ = 1;
      return true;
    }
    frame.is_array = is_array;
    frame.next_index = 0;
    frame.kept = 0;
    ++open_;
    return true;
  }

  bool Close() {
    if (skipping_ != 0) {
      --skipping_;
      return true;
    }
    const Frame& frame = frames_[--open_];
    if (frame.is_array) {
      stack_.push_array(frame.kept);
    } else {
      stack_.push_object(frame.kept);
    }
    return true;
  }

  const Reach* reach_;
  ReachPosition start_;
  bool start_reached_ = true;
  bool start_kept_ = false;
  boost::json::value_stack stack_;
  std::vector<Frame> frames_;  // reused across depths, so their vectors keep their capacity
  std::size_t open_ = 0;       // frames in use
  std::size_t skipping_ = 0;   // nesting depth inside a dropped container
  ReachPosition scalar_position_;
  std::string key_;
  bool key_in_parts_ = false;
  bool string_open_ = false;
  bool string_kept_ = false;
};

}  // namespace

std::optional<boost::json::value> ParsePruned(std::string_view text, const Reach* reach,
                                              const std::vector<std::string_view>& prefix,
                                              const boost::json::parse_options& options,
                                              boost::json::storage_ptr storage,
                                              boost::system::error_code& ec) {
  boost::json::basic_parser<PruningHandler> parser(options, reach, prefix, std::move(storage));
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && used < text.size()) ec = boost::json::error::extra_data;
  if (ec) return std::nullopt;
  return parser.handler().Release();
}

}  // namespace expvar::check
