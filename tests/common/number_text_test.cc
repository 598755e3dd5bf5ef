#include "common/number_text.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace expvar::common {
namespace {

std::string Reference(double value) {
  char buffer[64];
  return std::string(buffer, std::to_chars(buffer, buffer + sizeof buffer, value).ptr);
}

std::string ReferenceGeneral(double value, int precision) {
  char buffer[64];
  auto end =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, precision);
  return std::string(buffer, end.ptr);
}

// Whole numbers of every length, with and without trailing zeros (where %e can be shorter),
// both signs, the 2^53 edge, fractions, and the special values.
std::vector<double> Values() {
  std::vector<double> values = {0.0,
                                -0.0,
                                0.5,
                                -2.25,
                                1e-7,
                                1e21,
                                9007199254740991.0,
                                9007199254740992.0,
                                9007199254740993.0,
                                1e15,
                                1e16,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity(),
                                std::numeric_limits<double>::quiet_NaN(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::denorm_min()};
  for (double base : {1.0, 12.0, 123.0, 1234.0, 105.0, 7.0}) {
    for (double scaled = base; scaled < 1e17; scaled *= 10) {
      values.push_back(scaled);
      values.push_back(-scaled);
      values.push_back(scaled + 1);
    }
  }
  std::mt19937_64 random(42);
  for (int i = 0; i < 20000; ++i) {
    const auto bits = random();
    values.push_back(static_cast<double>(bits >> (bits % 64)));
    values.push_back(static_cast<double>(bits % 100000) * 1000);
    double any;
    static_assert(sizeof any == sizeof bits);
    std::memcpy(&any, &bits, sizeof any);
    values.push_back(any);
  }
  return values;
}

TEST(NumberText, ShortestIsByteForByteStdToChars) {
  for (double value : Values()) {
    std::string text = "x";
    AppendShortest(value, text);
    ASSERT_EQ(text, "x" + Reference(value)) << value;
  }
}

TEST(NumberText, GeneralIsByteForByteStdToCharsAtEveryPrecisionWeUse) {
  for (int precision : {6, 16, 17}) {
    for (double value : Values()) {
      std::string text;
      AppendGeneral(value, precision, text);
      ASSERT_EQ(text, ReferenceGeneral(value, precision)) << value << " at " << precision;
    }
  }
}

TEST(NumberText, WholeNumbersWithManyZerosTakeTheExponentForm) {
  std::string text;
  AppendShortest(1e6, text);
  EXPECT_EQ(text, "1e+06");
  text.clear();
  AppendShortest(120000, text);
  EXPECT_EQ(text, "120000");
}

}  // namespace
}  // namespace expvar::common
