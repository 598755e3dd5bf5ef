// Formats a check series as the one-line JSON object `check` prints.
#pragma once

#include <string>

#include "check/check.h"

namespace expvar::cli {

// {"name": "...", "type": "gauge", "value": 1.5, "tags": ["..."], "run": 1}
std::string SeriesJsonLine(const check::Series& series, int run);

}  // namespace expvar::cli
