// A compiled go_expvar `path`: '/'-separated segments, each an exact key or an anchored regex.
#pragma once

#include <boost/json/value.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace expvar::check {

// One segment. Alphanumeric (and '_') segments match a key exactly, anything else is an
// ECMAScript regex that must match the whole key. "\/" inside a segment stands for a '/' that
// is part of the key (Datadog has no way to address such keys).
struct PathSegment {
  std::string text;
  bool is_literal = true;
  std::shared_ptr<const std::regex> pattern;  // set when !is_literal; shared so plans copy cheaply

  bool Matches(std::string_view key) const;
};

class CompiledPath {
 public:
  // Splits and compiles `path`. Throws std::invalid_argument naming the bad segment.
  explicit CompiledPath(std::string_view path);

  // True when no segment is a regex: the path can match at most one value.
  bool IsLiteral() const { return literal_; }
  const std::string& Text() const { return text_; }

  // Calls visit(keys, value) for every match, in document order. Arrays are indexed "0", "1"...
  using Visitor =
      std::function<void(const std::vector<std::string_view>& keys, const boost::json::value&)>;
  void ForEachMatch(const boost::json::value& root, const Visitor& visit) const;

 private:
  void Walk(const boost::json::value& node, std::size_t depth, std::vector<std::string_view>& keys,
            std::deque<std::string>& index_names, const Visitor& visit) const;

  std::string text_;
  std::vector<PathSegment> segments_;
  bool literal_ = true;
};

// Splits on '/' except where escaped as "\/". Exposed for tests.
std::vector<std::string> SplitPath(std::string_view path);

}  // namespace expvar::check
