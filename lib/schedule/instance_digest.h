// The identity of a target: a digest of everything that affects how its instance is scraped.
#pragma once

#include <string>

#include "pipeline/instance.h"

namespace expvar::schedule {

// Two specs with the same digest are the same target: an edit that changes nothing here
// restarts nothing.
std::string InstanceDigest(const pipeline::Instance& instance);

}  // namespace expvar::schedule
