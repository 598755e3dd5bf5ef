// `expvar-collector run`: the daemon that keeps every target flowing to DogStatsD and /metrics.
#pragma once

#include "cli/run_options.h"

namespace expvar::cli {

// Runs until SIGTERM or SIGINT; SIGHUP reloads the conf.d files. Returns the exit code.
int RunDaemon(const RunOptions& options, const char* version);

}  // namespace expvar::cli
