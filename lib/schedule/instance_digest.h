// The identity of a target: a digest of everything that affects how its instance is scraped.
#pragma once

#include <string>

#include "pipeline/instance.h"

namespace expvar::schedule {

// Two specs with the same digest are the same target: an edit that changes nothing here
// restarts nothing. The digest is the target's id on /status, and the instance includes its
// password and headers, so it is keyed (HMAC-SHA256 with a random key drawn once per process):
// an unkeyed hash would let anyone reading /status test guesses of a password offline. Ids are
// therefore stable within a process only; 16 lowercase hex characters.
std::string InstanceDigest(const pipeline::Instance& instance);

}  // namespace expvar::schedule
