#include "check/path.h"

#include <re2/re2.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
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

// Limits on a regex segment, which anyone who can annotate a pod may write. Datadog users'
// patterns are a few dozen bytes and count to a handful. RE2 refuses counts above 1000 itself
// (nested ones multiplied), but see CheckRepeatCounts.
constexpr std::size_t kMaxRegexBytes = 1024;
constexpr std::size_t kMaxRegexCount = 1000;
// What one compiled pattern may take (RE2's default is 8 MiB). It also bounds the work per key
// character: RE2 falls back from its DFA to an NFA that steps through the whole program, so
// (.*){1,1000} (11,000 instructions) takes about 0.2 s on a 10,000-byte key. Ordinary patterns
// compile to tens of instructions; \pL, one of the largest classes, to about 1,200.
constexpr std::int64_t kMaxRegexMemory = 1 << 20;

// The pattern as quoted in errors: bounded, so a huge one does not flood the log.
std::string QuotedPattern(std::string_view pattern) {
  constexpr std::size_t kShown = 64;
  if (pattern.size() <= kShown) return "\"" + std::string(pattern) + "\"";
  return "\"" + std::string(pattern.substr(0, kShown)) + "...\" (" +
         std::to_string(pattern.size()) + " bytes)";
}

// RE2 takes a count whose number is too long for its parser (above 10^8, as in
// "a{6666666666666666666666}") as literal text, where Python and Go refuse it: a pattern meant
// as a count must not silently match a string instead. Throws when a count ("{n}", "{n,}",
// "{n,m}", outside character classes and escapes) exceeds kMaxRegexCount; stops reading digits
// past it, so nothing overflows.
void CheckRepeatCounts(std::string_view pattern) {
  auto at = [&](std::size_t i) { return i < pattern.size() ? pattern[i] : '\0'; };
  // Reads the number at `i`; false when there is none.
  auto read_number = [&](std::size_t& i, std::size_t& value) {
    const std::size_t first = i;
    value = 0;
    for (; IsAsciiDigit(at(i)); ++i) {
      if (value <= kMaxRegexCount) value = value * 10 + static_cast<std::size_t>(at(i) - '0');
    }
    return i > first;
  };
  bool in_class = false;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;  // the escaped character is literal, in a class or not
    } else if (in_class) {
      if (c == ']') {
        in_class = false;
      } else if (c == '[' && at(i + 1) == ':') {  // [:alpha:] inside a class
        if (auto close = pattern.find(":]", i + 2); close != std::string_view::npos) i = close + 1;
      }
    } else if (c == '[') {
      in_class = true;
      if (at(i + 1) == '^') ++i;
      if (at(i + 1) == ']') ++i;  // a ']' right after the '[' (or "[^") is a member
    } else if (c == '{') {
      std::size_t j = i + 1, low = 0, high = 0;
      if (!read_number(j, low)) continue;
      if (at(j) == ',') read_number(++j, high);
      if (at(j) != '}') continue;  // not a count: RE2 reads the '{' as a literal
      if (low > kMaxRegexCount || high > kMaxRegexCount) {
        throw std::invalid_argument("regex " + QuotedPattern(pattern) + ": a count above " +
                                    std::to_string(kMaxRegexCount));
      }
      i = j;
    }
  }
}

// Why RE2 refused `compiled`, for a log line: its error text quotes the offending fragment,
// which may be the whole pattern, so the fragment is bounded like the pattern itself.
std::string CompileError(const re2::RE2& compiled, std::string_view pattern) {
  constexpr const char* kWhyNoBackReferences =
      " (Python allows them; RE2, which matches in time linear in the key, cannot)";
  const std::string& arg = compiled.error_arg();
  switch (compiled.error_code()) {
    case re2::RE2::ErrorBadEscape:
      if (arg.size() == 2 && arg[1] >= '1' && arg[1] <= '9') {
        return "back-reference " + arg + " is not supported" + kWhyNoBackReferences;
      }
      break;
    case re2::RE2::ErrorBadPerlOp:
      if (pattern.find("(?P=") != std::string_view::npos) {
        return std::string("back-reference (?P=name) is not supported") + kWhyNoBackReferences;
      }
      break;
    case re2::RE2::ErrorRepeatSize:
      return "repetition " + QuotedPattern(arg) + ": counts go up to " +
             std::to_string(kMaxRegexCount) +
             ", nested ones multiplied together, and {n,m} needs n <= m";
    case re2::RE2::ErrorPatternTooLarge:
      return "compiles to more than the " + std::to_string(kMaxRegexMemory >> 20) +
             " MiB a pattern may take";
    default:
      break;
  }
  // "missing ): a/(b": RE2's text for the code, then the fragment.
  std::string what = compiled.error();
  if (arg.empty() || what.size() < arg.size() + 2) return what;
  what.resize(what.size() - arg.size() - 2);
  return arg == pattern ? what : what + ": " + QuotedPattern(arg);
}

// Compiles one regex segment, or throws std::invalid_argument saying why not. RE2 matches in
// time linear in the key's length without recursing per character, so "(a+)+b" against a row
// of a's cannot hang a worker nor a 1 MB key overflow the stack.
std::shared_ptr<const re2::RE2> CompileSegment(const std::string& pattern) {
  if (pattern.size() > kMaxRegexBytes) {
    throw std::invalid_argument("regex " + QuotedPattern(pattern) + ": longer than " +
                                std::to_string(kMaxRegexBytes) + " bytes");
  }
  CheckRepeatCounts(pattern);
  re2::RE2::Options options;
  options.set_log_errors(false);  // the error is thrown, and reported once by the caller
  options.set_max_mem(kMaxRegexMemory);
  options.set_dot_nl(false);  // '.' stops at '\n', as in Python
  auto compiled = std::make_shared<const re2::RE2>(pattern, options);
  if (!compiled->ok()) {
    throw std::invalid_argument("cannot compile regex " + QuotedPattern(pattern) + ": " +
                                CompileError(*compiled, pattern));
  }
  return compiled;
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
  return re2::RE2::FullMatch(key, *pattern);
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
      segment.cost_per_byte =
          static_cast<std::uint64_t>(std::max(1, segment.pattern->ProgramSize()));
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
  const std::uint64_t cost = (key.size() + 1) * segment.cost_per_byte;
  if (cost > budget_left_) {
    exhausted_ = true;
    return false;
  }
  budget_left_ -= cost;
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
