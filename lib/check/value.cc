#include "check/value.h"

#include <charconv>
#include <cmath>
#include <string>

#include "common/ascii.h"

namespace expvar::check {

using common::IsAsciiDigit;
namespace {

bool IsPythonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Python allows one '_' between two digits ("1_000.5"); anything else with '_' is invalid.
std::optional<std::string> RemoveDigitSeparators(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '_') {
      out.push_back(s[i]);
      continue;
    }
    if (i == 0 || i + 1 == s.size() || !IsAsciiDigit(s[i - 1]) || !IsAsciiDigit(s[i + 1]))
      return std::nullopt;
  }
  return out;
}

std::optional<double> Finite(double v) {
  if (std::isfinite(v)) return v;
  return std::nullopt;
}

}  // namespace

std::optional<double> ParsePythonFloat(std::string_view text) {
  while (!text.empty() && IsPythonSpace(text.front())) text.remove_prefix(1);
  while (!text.empty() && IsPythonSpace(text.back())) text.remove_suffix(1);
  auto cleaned = RemoveDigitSeparators(text);
  if (!cleaned || cleaned->empty()) return std::nullopt;
  std::string_view s = *cleaned;
  bool negative = false;
  if (s.front() == '+' || s.front() == '-') {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  // from_chars also takes "inf"/"nan" (as Python does) and rejects hex in general format, as
  // Python does; a second sign after the first one is rejected because from_chars sees it.
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) {
    // from_chars reports out-of-range for "1e999"; Python gives inf, which we do not emit anyway.
    return std::nullopt;
  }
  return negative ? -value : value;
}

std::optional<double> ReportableNumber(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::int64:
      return static_cast<double>(value.get_int64());
    case boost::json::kind::uint64:
      return static_cast<double>(value.get_uint64());
    case boost::json::kind::double_:
      return Finite(value.get_double());
    case boost::json::kind::bool_:
      return value.get_bool() ? 1.0 : 0.0;
    case boost::json::kind::string: {
      const auto& s = value.get_string();
      auto parsed = ParsePythonFloat(std::string_view(s.data(), s.size()));
      if (!parsed) return std::nullopt;
      return Finite(*parsed);
    }
    default:
      return std::nullopt;
  }
}

}  // namespace expvar::check
