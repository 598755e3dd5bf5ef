// Reads a pod's annotations as strict JSON and records errors naming the pod and the key, for the
// check and tag readers alike. Private to lib/discovery: not part of the annotations interface.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text.h"
#include "discovery/annotations.h"
#include "pipeline/pod.h"

namespace expvar::discovery::detail {

// Reads the pod's annotations and records errors, each naming the pod and the annotation.
class Reporter {
 public:
  Reporter(const pipeline::Pod& pod, std::vector<AnnotationError>& errors)
      : pod_(pod), errors_(errors) {}

  const pipeline::Pod& pod() const { return pod_; }

  const std::string* Find(const std::string& key) const {
    auto it = pod_.annotations.find(key);
    return it == pod_.annotations.end() ? nullptr : &it->second;
  }

  void Error(const std::string& key, const std::string& what) {
    errors_.push_back({key, "pod " + pod_.namespace_name + "/" + pod_.name + ": annotation " + key +
                                ": " + what});
  }

 private:
  const pipeline::Pod& pod_;
  std::vector<AnnotationError>& errors_;
};

using common::Indexed;
using common::Quoted;

// Parses one JSON value, strictly (as Go's encoding/json does). On failure, `error` says what is
// wrong and where; it never quotes the text, which may hold credentials.
std::optional<boost::json::value> ParseJson(std::string_view text, std::string* error);

}  // namespace expvar::discovery::detail
