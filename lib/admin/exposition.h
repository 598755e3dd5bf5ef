// Writes metric families in the Prometheus text format (0.0.4) into one string, byte for byte
// what prometheus-cpp's TextSerializer writes, without its per-value ostream work.
#pragma once

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace expvar::admin {

// Appends `families` to `out` in order. Numbers are written as TextSerializer writes them
// (printf "%.16g", NaN as "Nan", infinities as "+Inf"/"-Inf"), label values with backslash, quote
// and newline escaped, HELP verbatim (the sink escapes it), and no timestamps unless set.
void AppendText(const std::vector<prometheus::MetricFamily>& families, std::string& out);

}  // namespace expvar::admin
