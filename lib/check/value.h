// Decides whether an expvar JSON value is reportable and what number it stands for.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string_view>

namespace expvar::check {

// Numbers as they are, booleans as 1/0, strings that Python's float() accepts (surrounding
// whitespace, exponents, '_' between digits). Objects, arrays, null, other strings, NaN and
// infinities are not reportable.
std::optional<double> ReportableNumber(const boost::json::value& value);

// Python float() on a string; nullopt where float() raises. Exposed for tests.
std::optional<double> ParsePythonFloat(std::string_view text);

}  // namespace expvar::check
