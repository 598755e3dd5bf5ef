// Builds the daemon's sinks by kind name from the operator's settings, so that adding a sink
// means one registration in lib/sink/ and no change to the wiring, the scheduler or the workers.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/exposition.h"
#include "pipeline/sink.h"

namespace expvar::sink {

// What the operator configured for the sinks (flags, --config YAML); trusted.
struct SinkSettings {
  std::vector<std::string> kinds = {"dogstatsd", "prometheus"};  // built in this order
  std::string dogstatsd_url;  // empty: from DD_DOGSTATSD_URL / DD_AGENT_HOST / ...
  std::vector<std::string>
      tags;  // --tag: global tags, after those from DD_ENV/SERVICE/VERSION and DD_TAGS
  std::chrono::milliseconds dogstatsd_flush_interval{100};  // 0: send at every publish
  // Tags that become labels on /metrics: keys, or prefixes ending in '*'; "*": all.
  std::vector<std::string> prometheus_label_tags = {"*"};
};

// What a factory may use besides the settings. The environment and file checks are injected so
// that tests never touch the process environment.
struct SinkContext {
  boost::asio::any_io_executor executor;  // the scrape threads' executor, for async work (DNS)
  SinkSettings settings;
  std::function<std::optional<std::string>(const std::string&)> env;
  std::function<bool(const std::string&)> path_exists;
};

struct BuiltSink {
  std::shared_ptr<pipeline::Sink> sink;
  // Served on /metrics next to the self-metrics: the sink's series or its own counters.
  std::vector<std::shared_ptr<const common::ExpositionSource>> exposition;
  std::string description;  // for the start-up log: "dogstatsd to udp://127.0.0.1:8125"
};

// A sink that cannot be built from its settings (an unknown kind, an invalid address); what()
// names the sink kind.
class SinkConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using SinkFactory = std::function<BuiltSink(const SinkContext&)>;

class SinkRegistry {
 public:
  void Register(const std::string& kind, SinkFactory factory);
  std::vector<std::string> Kinds() const;
  // The sinks of `context.settings.kinds`, in that order. Throws SinkConfigError.
  std::vector<BuiltSink> Build(const SinkContext& context) const;

 private:
  std::map<std::string, SinkFactory> factories_;
};

// Every sink kind of this build: "dogstatsd" and "prometheus".
SinkRegistry BuiltinSinks();

}  // namespace expvar::sink
