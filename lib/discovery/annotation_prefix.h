// Reads pods' Autodiscovery annotations under an operator-chosen prefix instead of Datadog's, so
// pods can be annotated for this collector alone while a Datadog Agent runs on the same nodes.
#pragma once

#include <string>
#include <string_view>

#include "pipeline/pod.h"

namespace expvar::discovery {

// True for "" and Datadog's own "ad.datadoghq.com/": annotations are read as they are.
bool IsDatadogPrefix(std::string_view prefix);

// `pod` as Datadog's annotation reader should see it: every annotation under `prefix` renamed to
// the same key under "ad.datadoghq.com/", and the pod's own Datadog annotations (v2 and the
// legacy "service-discovery.datadoghq.com/") dropped, since the Agent runs those. Unchanged when
// IsDatadogPrefix(prefix).
pipeline::Pod WithAnnotationPrefix(const pipeline::Pod& pod, std::string_view prefix);

// `text` (a problem's source or message) with "ad.datadoghq.com/" written back as `prefix`, so
// that a problem names the annotation the pod really has.
std::string InAnnotationPrefix(std::string text, std::string_view prefix);

}  // namespace expvar::discovery
