// Reads the pod facts (pipeline::Pod) out of the v1.Pod JSON the API server returns.
#pragma once

#include <boost/json/value.hpp>
#include <optional>
#include <string>

#include "pipeline/pod.h"

namespace expvar::discovery {

// Reads a v1.Pod object (as the API server returns it). Missing optional fields take their
// zero values; a value of the wrong JSON type is an error naming the field.
std::optional<pipeline::Pod> PodFromJson(const boost::json::value& json, std::string* error);

}  // namespace expvar::discovery
