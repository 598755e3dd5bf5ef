// Turns a Datadog-style conf.d directory (DIR/go_expvar.d/*.yaml) into targets.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/target.h"

namespace expvar::discovery {

struct ProviderResult {
  std::vector<pipeline::TargetSpec> targets;
  std::vector<pipeline::SourceError> errors;  // files that could not be (re)loaded, warnings
  // Pods and containers left out on purpose (not ready, not running), for `discover` to explain.
  std::vector<pipeline::SourceError> skipped;
};

class ConfdProvider {
 public:
  explicit ConfdProvider(std::string confd_dir);

  // Reads every *.yaml / *.yml file (and Datadog's conf.yaml.default) in DIR/go_expvar.d. A file
  // that fails to load keeps the instances of its last good version, and the error is reported.
  // A file that disappeared takes its instances with it.
  ProviderResult Load();

 private:
  std::string dir_;
  std::map<std::string, std::vector<pipeline::TargetSpec>> last_good_;  // by file path
};

}  // namespace expvar::discovery
