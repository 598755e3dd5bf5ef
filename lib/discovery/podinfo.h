// Reads the own pod's annotations from a downward-API volume file (sidecar mode without API).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/pod.h"

namespace expvar::discovery {

// The kubelet writes one `key="value"` line per annotation, the value quoted like Go's
// strconv.Quote. Returns nullopt with *error (naming the line) on a malformed line.
std::optional<std::map<std::string, std::string>> ParseDownwardApiAnnotations(std::string_view text,
                                                                              std::string* error);

// The own pod as far as the file tells: its annotations, the given identity and IP, Running and
// Ready (it runs this very process), and one running container per container name the
// annotations mention (the file says nothing about ports, so %%port%% cannot resolve).
pipeline::Pod PodFromAnnotations(std::map<std::string, std::string> annotations,
                                 const std::string& name, const std::string& namespace_name,
                                 const std::string& pod_ip);

}  // namespace expvar::discovery
