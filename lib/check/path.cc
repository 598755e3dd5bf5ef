#include "check/path.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <stdexcept>
#include <string>

#include "common/ascii.h"

namespace expvar::check {

using common::IsAsciiDigit;
namespace {

bool IsLiteralSegment(std::string_view s) {
  if (s.empty()) return false;  // "" is the regex ^$, which matches only the empty key
  for (char c : s) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Limits on a regex segment, which anyone who can annotate a pod may write. libstdc++'s
// std::regex compiles by recursing over the pattern (100 KB overflows the stack) and reads the
// numbers of "{n,m}" and "\\n" into a long without overflow checks (undefined behaviour, found
// by conf_fuzz). Datadog users' patterns are a few dozen bytes and count to a handful.
constexpr std::size_t kMaxRegexBytes = 1024;
constexpr std::size_t kMaxRegexNumber = 1000;

// The pattern as quoted in errors: bounded, so a huge one does not flood the log.
std::string QuotedPattern(std::string_view pattern) {
  constexpr std::size_t kShown = 64;
  if (pattern.size() <= kShown) return "\"" + std::string(pattern) + "\"";
  return "\"" + std::string(pattern.substr(0, kShown)) + "...\" (" +
         std::to_string(pattern.size()) + " bytes)";
}

// Throws when a repetition count ("{n}", "{n,}", "{n,m}") or a back-reference number ("\\n")
// exceeds kMaxRegexNumber; stops reading at the first digit beyond it, so nothing overflows.
void CheckRegexNumbers(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const bool escape = pattern[i] == '\\';
    if (!escape && pattern[i] != '{') continue;
    for (std::size_t j = i + 1; j < pattern.size();) {
      std::size_t value = 0, digits = 0;
      for (; j < pattern.size() && IsAsciiDigit(pattern[j]); ++j, ++digits) {
        value = value * 10 + static_cast<std::size_t>(pattern[j] - '0');
        if (value > kMaxRegexNumber) {
          throw std::invalid_argument("regex " + QuotedPattern(pattern) + ": a count above " +
                                      std::to_string(kMaxRegexNumber));
        }
      }
      if (escape || digits == 0 || j >= pattern.size() || pattern[j] != ',') break;
      ++j;  // on to the m of {n,m}
    }
    if (escape) ++i;  // the escaped character is not a '{' or a '\\'
  }
}

// Compiles one regex segment, or throws std::invalid_argument saying why not. __polynomial (a
// libstdc++ extension) selects the automaton executor: time linear in the key's length and no
// recursion per character, where the default backtracking one takes exponential time on
// "(a+)+b" against a row of a's and overflows the stack on a 100 KB key. It refuses
// back-references, which cannot be matched in linear time.
std::shared_ptr<const std::regex> CompileSegment(const std::string& pattern) {
  if (pattern.size() > kMaxRegexBytes) {
    throw std::invalid_argument("regex " + QuotedPattern(pattern) + ": longer than " +
                                std::to_string(kMaxRegexBytes) + " bytes");
  }
  CheckRegexNumbers(pattern);
  try {
    return std::make_shared<const std::regex>(
        pattern, std::regex::ECMAScript | std::regex_constants::__polynomial);
  } catch (const std::regex_error& e) {
    throw std::invalid_argument("cannot compile regex " + QuotedPattern(pattern) + ": " + e.what());
  }
}

// Array indices are matched as their decimal text, like Python's str(index). A deque keeps
// earlier names in place while later ones are added, so views into it stay valid.
std::string_view IndexName(std::size_t index, std::deque<std::string>& names) {
  while (names.size() <= index) names.push_back(std::to_string(names.size()));
  return names[index];
}

}  // namespace

bool PathSegment::Matches(std::string_view key) const {
  if (is_literal) return key == text;
  return std::regex_match(key.begin(), key.end(), *pattern);
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts(1);
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\' && i + 1 < path.size() && path[i + 1] == '/') {
      parts.back() += "\\/";  // kept escaped: the segment becomes a regex matching '/'
      ++i;
    } else if (path[i] == '/') {
      parts.emplace_back();
    } else {
      parts.back().push_back(path[i]);
    }
  }
  return parts;
}

CompiledPath::CompiledPath(std::string_view path) : text_(path) {
  for (std::string& part : SplitPath(path)) {
    PathSegment segment;
    segment.is_literal = IsLiteralSegment(part);
    if (!segment.is_literal) {
      segment.pattern = CompileSegment(part);
      literal_ = false;
    }
    segment.text = std::move(part);
    segments_.push_back(std::move(segment));
  }
}

void CompiledPath::ForEachMatch(const boost::json::value& root, const Visitor& visit,
                                MatchMemo* memo) const {
  WalkContext context{{}, {}, visit, memo};
  context.keys.reserve(segments_.size());
  Walk(root, 0, context);
}

void CompiledPath::Walk(const boost::json::value& node, std::size_t depth,
                        WalkContext& context) const {
  if (depth == segments_.size()) {
    context.visit(context.keys, node);
    return;
  }
  const PathSegment& segment = segments_[depth];
  auto descend = [&](std::string_view key, const boost::json::value& child) {
    context.keys.push_back(key);
    Walk(child, depth + 1, context);
    context.keys.pop_back();
  };
  auto matches = [&](std::string_view key) {
    return context.memo ? context.memo->Matches(segment, key) : segment.Matches(key);
  };
  if (const auto* object = node.if_object()) {
    if (segment.is_literal) {
      // A literal can only match its own key; skip the scan over every member.
      if (auto it = object->find(segment.text); it != object->end())
        descend(it->key(), it->value());
      return;
    }
    for (const auto& member : *object) {
      if (matches(member.key())) descend(member.key(), member.value());
    }
  } else if (const auto* array = node.if_array()) {
    for (std::size_t i = 0; i < array->size(); ++i) {
      std::string_view name = IndexName(i, context.index_names);
      if (matches(name)) descend(name, (*array)[i]);
    }
  }
}

bool MatchMemo::Matches(const PathSegment& segment, std::string_view key) {
  if (segment.is_literal) return segment.Matches(key);
  // Enough for every key of a large document; a target whose keys keep changing (a timestamp in
  // a key) must not grow it for ever.
  constexpr std::size_t kMaxVerdicts = 16384;
  auto pattern = by_pattern_.find(std::string_view(segment.text));
  if (pattern != by_pattern_.end()) {
    if (auto known = pattern->second.find(key); known != pattern->second.end()) {
      return known->second;
    }
  }
  const bool verdict = segment.Matches(key);
  if (size_ >= kMaxVerdicts) {
    by_pattern_.clear();
    size_ = 0;
    pattern = by_pattern_.end();
  }
  if (pattern == by_pattern_.end()) pattern = by_pattern_.try_emplace(segment.text).first;
  pattern->second.emplace(std::string(key), verdict);
  ++size_;
  return verdict;
}

}  // namespace expvar::check
