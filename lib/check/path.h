// A compiled go_expvar `path`: '/'-separated segments, each an exact key or an anchored regex.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace re2 {
class RE2;  // <re2/re2.h> stays out of every file that includes this one
}  // namespace re2

namespace expvar::check {

// One segment. Alphanumeric (and '_') segments match a key exactly, anything else is an RE2
// regex (the syntax of Go's regexp) that must match the whole key. "\/" inside a segment stands
// for a '/' that is part of the key (Datadog has no way to address such keys).
struct PathSegment {
  std::string text;
  bool is_literal = true;
  std::shared_ptr<const re2::RE2> pattern;  // set when !is_literal; shared so plans copy cheaply
  std::uint64_t cost_per_byte = 0;          // the compiled program's size: see MatchMemo

  bool Matches(std::string_view key) const;
};

// Remembers which keys regex segments matched: a target reports the same keys scrape after
// scrape, and a lookup (~50 ns) costs less than RE2's match of a short key (~100 ns). It also
// pays a costly pattern's price once per key rather than per scrape: RE2's time grows with the
// key's length times the pattern's compiled size (see path.cc).
// Keyed by pattern text, so it stays right when the target's conf is recompiled; bounded.
//
// It also bounds the regex work of one run. A match costs up to the key's length times the
// program's size (when RE2 falls back to its NFA), so an annotated pattern near the size limit
// against a document of long keys could otherwise hold a worker thread for minutes. Within a run
// keys past the budget are answered "no match" and not remembered: the next run tries them
// again, so a large but ordinary document is matched in full after a few scrapes.
class MatchMemo {
 public:
  bool Matches(const PathSegment& segment, std::string_view key);

  // Starts a run with `budget` units of work (key bytes times program size).
  void StartRun(std::uint64_t budget) {
    budget_left_ = budget;
    exhausted_ = false;
  }
  // True when this run refused a key for want of budget.
  bool Exhausted() const { return exhausted_; }

 private:
  // Lets find() take a string_view: no allocation per lookup.
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  using Verdicts = std::unordered_map<std::string, bool, Hash, std::equal_to<>>;
  std::unordered_map<std::string, Verdicts, Hash, std::equal_to<>> by_pattern_;
  std::size_t size_ = 0;
  std::uint64_t budget_left_ = UINT64_MAX;  // unbounded until StartRun
  bool exhausted_ = false;
};

class CompiledPath {
 public:
  // Splits and compiles `path`. Throws std::invalid_argument naming the bad segment.
  explicit CompiledPath(std::string_view path);

  // True when no segment is a regex: the path can match at most one value.
  bool IsLiteral() const { return literal_; }
  const std::string& Text() const { return text_; }
  std::size_t Depth() const { return segments_.size(); }
  const PathSegment& Segment(std::size_t depth) const { return segments_[depth]; }

  // Calls visit(keys, value) for every match, in document order. Arrays are indexed "0", "1"...
  using Visitor =
      std::function<void(const std::vector<std::string_view>& keys, const boost::json::value&)>;
  // `memo`, when given, answers regex segments for keys it has seen.
  void ForEachMatch(const boost::json::value& root, const Visitor& visit,
                    MatchMemo* memo = nullptr) const;

 private:
  struct WalkContext {
    std::vector<std::string_view> keys;
    std::deque<std::string> index_names;
    const Visitor& visit;
    MatchMemo* memo;
  };
  void Walk(const boost::json::value& node, std::size_t depth, WalkContext& context) const;

  std::string text_;
  std::vector<PathSegment> segments_;
  bool literal_ = true;
};

// Splits on '/' except where escaped as "\/". Exposed for tests.
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace expvar::check
