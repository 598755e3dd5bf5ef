// Text Prometheus accepts in label values and HELP lines: valid UTF-8, HELP escaped.
#pragma once

#include <string>
#include <string_view>

namespace expvar::sink {

// `in` with every byte that does not start a well-formed UTF-8 sequence (overlongs, surrogates
// and code points past U+10FFFF included, as Prometheus' parser demands) replaced by U+FFFD.
std::string ValidUtf8(std::string_view in);

// ValidUtf8(in) with '\\' and newline escaped, as the text format requires of HELP (which
// prometheus-cpp writes verbatim).
std::string EscapeHelp(std::string_view in);

}  // namespace expvar::sink
