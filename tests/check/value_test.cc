#include "check/value.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace expvar::check {
namespace {

std::optional<double> FromJson(const char* text) {
  return ReportableNumber(boost::json::parse(text));
}

TEST(ReportableNumber, NumbersBooleansAndNumericStrings) {
  EXPECT_EQ(FromJson("42"), 42.0);
  EXPECT_EQ(FromJson("-7"), -7.0);
  EXPECT_EQ(FromJson("0.25"), 0.25);
  EXPECT_EQ(FromJson("true"), 1.0);
  EXPECT_EQ(FromJson("false"), 0.0);
  EXPECT_EQ(FromJson("\" 42 \""), 42.0);
  EXPECT_EQ(FromJson("\"1.5e3\""), 1500.0);
  EXPECT_EQ(FromJson("\"-2\""), -2.0);
  EXPECT_EQ(FromJson("\"+3.5\""), 3.5);
  EXPECT_EQ(FromJson("\"1_000\""), 1000.0);
  EXPECT_EQ(FromJson("\".5\""), 0.5);
}

TEST(ReportableNumber, IntegersAbove2To53Parse) {
  // LastGC and PauseEnd are nanosecond timestamps near 1.7e18 (int64) and may exceed int64.
  EXPECT_EQ(FromJson("1732700000123456789"), 1732700000123456789.0);
  EXPECT_EQ(FromJson("18446744073709551615"), 18446744073709551615.0);
  EXPECT_EQ(FromJson("184467440737095516150"), 184467440737095516150.0);
}

TEST(ReportableNumber, SkipsWhatPythonFloatRejectsAndNonFinite) {
  for (const char* text :
       {"{}", "[]", "null", "\"abc\"", "\"\"", "\"1 2\"", "\"0x10\"", "\"1__0\"", "\"_1\"",
        "\"--1\"", "\"nan\"", "\"inf\"", "\"-Infinity\"", "\"1e999\""}) {
    EXPECT_FALSE(FromJson(text).has_value()) << text;
  }
}

}  // namespace
}  // namespace expvar::check
