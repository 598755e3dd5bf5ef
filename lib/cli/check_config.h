// `run --check-config`: validates every piece of the daemon's configuration without starting it.
#pragma once

#include <ostream>

#include "cli/run_options.h"

namespace expvar::cli {

// Checks what `run` would load with `options` (already parsed and validated: a bad flag or
// config file never gets here): the web config file, the DogStatsD address, every conf.d file
// and instance (each compiled as a worker would, so a bad regex shows), and the downward-API
// annotations file. Prints each problem with the file it is in, then a summary, to `out`.
// Returns 0 when there is none, 1 otherwise. Reads only the operator's files: no network, no
// Kubernetes API.
int CheckConfig(const RunOptions& options, std::ostream& out);

}  // namespace expvar::cli
