// `expvar-collector check`: runs a go_expvar conf file against live targets and prints series.
#pragma once

#include <chrono>
#include <iosfwd>
#include <string>

namespace expvar::cli {

struct CheckOptions {
  std::string conf_path;
  int runs = 1;
  std::chrono::milliseconds interval{1000};  // between runs, so rates have two points
};

// Prints one JSON object per emitted series to `out`, problems to `err`. Returns the process
// exit code: 0 when every instance was fetched and parsed on every run, 1 otherwise.
int RunCheckCommand(const CheckOptions& options, std::ostream& out, std::ostream& err);

}  // namespace expvar::cli
