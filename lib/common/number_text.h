// Writes doubles as text exactly as std::to_chars does, with a fast path for whole numbers: most
// expvar values are integers (bytes, counts, nanoseconds), and libstdc++'s shortest-form
// to_chars is the largest cost of encoding a scrape's DogStatsD lines.
#pragma once

#include <string>

namespace expvar::common {

// As std::to_chars(value): the shortest text that reads back to `value`.
void AppendShortest(double value, std::string& out);

// As std::to_chars(value, std::chars_format::general, precision): printf's %.<precision>g.
void AppendGeneral(double value, int precision, std::string& out);

}  // namespace expvar::common
