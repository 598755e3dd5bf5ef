#include "sink/registry.h"

#include <boost/algorithm/string/join.hpp>

namespace expvar::sink {

void SinkRegistry::Register(const std::string& kind, SinkFactory factory) {
  factories_[kind] = std::move(factory);
}

std::vector<std::string> SinkRegistry::Kinds() const {
  std::vector<std::string> kinds;
  for (const auto& [kind, factory] : factories_) kinds.push_back(kind);
  return kinds;
}

std::vector<BuiltSink> SinkRegistry::Build(const SinkContext& context) const {
  std::vector<BuiltSink> sinks;
  for (const std::string& kind : context.settings.kinds) {
    auto factory = factories_.find(kind);
    if (factory == factories_.end()) {
      throw SinkConfigError("unknown sink \"" + kind +
                            "\" (known: " + boost::algorithm::join(Kinds(), ", ") + ")");
    }
    sinks.push_back(factory->second(context));
  }
  return sinks;
}

}  // namespace expvar::sink
