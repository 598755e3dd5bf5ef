// Reads the Autodiscovery tag annotations (`ad.datadoghq.com/tags`, `ad.datadoghq.com/<C>.tags`)
// into `k:v` tags, printed as the Datadog tagger prints them. Private to lib/discovery.
#pragma once

#include <string>
#include <vector>

#include "discovery/annotation_reporter.h"

namespace expvar::discovery::detail {

// The tags of the annotation `key`, a JSON object of tags: each value a scalar (one tag) or a list
// of them (one tag each). None when the annotation is absent. A broken annotation is reported and
// gives none; a bad value is reported and skipped, and the other tags are kept.
std::vector<std::string> ReadTags(Reporter& reporter, const std::string& key);

}  // namespace expvar::discovery::detail
