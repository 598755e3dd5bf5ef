#include "common/number_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <optional>

namespace expvar::common {
namespace {

// Doubles up to 2^53 hold every integer exactly, so their integer digits are their exact value.
constexpr double kExactIntegers = 9007199254740992.0;

// The decimal digits of `value` when it is a non-zero whole number below 2^53 in magnitude.
std::optional<std::to_chars_result> WholeDigits(double value, char* first, char* last) {
  if (value == 0 || !(std::fabs(value) < kExactIntegers) || std::trunc(value) != value) {
    return std::nullopt;
  }
  return std::to_chars(first, last, static_cast<std::int64_t>(value));
}

}  // namespace

void AppendShortest(double value, std::string& out) {
  char buffer[32];
  if (auto whole = WholeDigits(value, buffer, buffer + sizeof buffer)) {
    // The shortest form is %e's when it is strictly shorter (ties go to the plain digits):
    // m significant digits take m, a point when m > 1, and "e+NN" below 2^53.
    const char* digits = buffer + (buffer[0] == '-');
    const auto length = static_cast<std::size_t>(whole->ptr - digits);
    std::size_t significant = length;
    while (significant > 1 && digits[significant - 1] == '0') --significant;
    const std::size_t exponent_form = significant + (significant > 1 ? 1 : 0) + 4;
    if (length <= exponent_form) {
      out.append(buffer, whole->ptr);
      return;
    }
  }
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, result.ptr);
}

void AppendGeneral(double value, int precision, std::string& out) {
  char buffer[40];
  // %g prints a whole number's digits when it has no more of them than the precision.
  if (auto whole = WholeDigits(value, buffer, buffer + sizeof buffer)) {
    const char* digits = buffer + (buffer[0] == '-');
    if (whole->ptr - digits <= precision) {
      out.append(buffer, whole->ptr);
      return;
    }
  }
  auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, precision);
  out.append(buffer, result.ptr);
}

}  // namespace expvar::common
