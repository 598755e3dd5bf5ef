// `expvar-collector discover`: shows what the annotations of pods resolve to, without scraping.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace expvar::cli {

// Args: `--pods FILE.json` (a PodList, a JSON array of pods or one pod) or the kube flags of
// `run`. Prints {"targets": [...], "errors": [...]} to `out`. Returns the exit code: 0 when the
// pods could be read (errors in annotations are part of the output), 1 when not, 2 on usage.
int RunDiscoverCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace expvar::cli
