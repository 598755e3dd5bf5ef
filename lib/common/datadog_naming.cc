#include "common/datadog_naming.h"

#include "common/ascii.h"

namespace expvar::common {
namespace {

// What a Datadog metric name keeps; everything else becomes '_'.
bool IsMetricNameChar(char c) { return IsAsciiAlnum(c) || c == '_' || c == '.'; }

// Datadog normalizes unicode with NFKD and drops what is not ASCII; we drop non-ASCII bytes,
// which gives the same result for plain ASCII names and never produces invalid UTF-8.
std::string DropNonAscii(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    if (static_cast<unsigned char>(c) < 0x80) out.push_back(c);
  }
  return out;
}

// re.sub(r'(.)([A-Z][a-z]+)', r'\1_\2'), scanning left to right without overlaps like Python.
std::string SplitBeforeCapitalizedWords(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '\n' && i + 2 < s.size() && IsAsciiUpper(s[i + 1]) && IsAsciiLower(s[i + 2])) {
      std::size_t end = i + 3;
      while (end < s.size() && IsAsciiLower(s[end])) ++end;
      out.push_back(s[i]);
      out.push_back('_');
      out.append(s.substr(i + 1, end - i - 1));
      i = end;
    } else {
      out.push_back(s[i]);
      ++i;
    }
  }
  return out;
}

// re.sub(r'([a-z0-9])([A-Z])', r'\1_\2') followed by lower().
std::string SplitLowerUpperAndLowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    if ((IsAsciiLower(s[i]) || IsAsciiDigit(s[i])) && i + 1 < s.size() && IsAsciiUpper(s[i + 1])) {
      out.push_back(s[i]);
      out.push_back('_');
      out.push_back(static_cast<char>(s[i + 1] - 'A' + 'a'));
      i += 2;
    } else {
      out.push_back(IsAsciiUpper(s[i]) ? static_cast<char>(s[i] - 'A' + 'a') : s[i]);
      ++i;
    }
  }
  return out;
}

// re.sub(r'([^a-zA-Z0-9_.]+)|(^[^a-zA-Z]+)', '_'): runs of illegal characters become one '_',
// and a leading run of non-letters too (the first alternative wins where both could match).
std::string ReplaceIllegalRuns(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  if (!s.empty() && IsMetricNameChar(s[0]) && !IsAsciiAlpha(s[0])) {
    while (i < s.size() && !IsAsciiAlpha(s[i])) ++i;
    out.push_back('_');
  }
  while (i < s.size()) {
    if (IsMetricNameChar(s[i])) {
      out.push_back(s[i++]);
      continue;
    }
    while (i < s.size() && !IsMetricNameChar(s[i])) ++i;
    out.push_back('_');
  }
  return out;
}

// re.sub(r'_*\._*', '.') then strip('_').
std::string CollapseUnderscoresAroundDots(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.') {
      while (!out.empty() && out.back() == '_') out.pop_back();
      out.push_back('.');
      while (i + 1 < s.size() && s[i + 1] == '_') ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  std::size_t first = out.find_first_not_of('_');
  if (first == std::string::npos) return "";
  std::size_t last = out.find_last_not_of('_');
  return out.substr(first, last - first + 1);
}

// The cleanups normalize() applies after fix_case: "__+" -> "_", one leading and one trailing
// '_' removed, then "._" -> "." and "_." -> ".".
std::string CleanupUnderscores(std::string_view s) {
  std::string collapsed;
  collapsed.reserve(s.size());
  for (char c : s) {
    if (c == '_' && !collapsed.empty() && collapsed.back() == '_') continue;
    collapsed.push_back(c);
  }
  if (!collapsed.empty() && collapsed.front() == '_') collapsed.erase(0, 1);
  if (!collapsed.empty() && collapsed.back() == '_') collapsed.pop_back();
  std::string out;
  out.reserve(collapsed.size());
  for (std::size_t i = 0; i < collapsed.size(); ++i) {
    char c = collapsed[i];
    if (c == '.' && i + 1 < collapsed.size() && collapsed[i + 1] == '_') {
      out.push_back('.');
      ++i;
    } else if (c == '_' && i + 1 < collapsed.size() && collapsed[i + 1] == '.') {
      // "_." -> "."; the '.' itself is emitted on the next iteration.
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string ToUnderscoreSeparated(std::string_view name) {
  std::string s = SplitBeforeCapitalizedWords(name);
  s = SplitLowerUpperAndLowercase(s);
  s = ReplaceIllegalRuns(s);
  return CollapseUnderscoresAroundDots(s);
}

std::string NormalizeMetricName(std::string_view dotted_path, std::string_view metric_namespace) {
  std::string name = CleanupUnderscores(ToUnderscoreSeparated(DropNonAscii(dotted_path)));
  if (metric_namespace.empty()) return name;
  return ToUnderscoreSeparated(DropNonAscii(metric_namespace)) + "." + name;
}

}  // namespace expvar::common
