// Checks that every Autodiscovery annotation this collector reads names a container (or a check
// identifier) of the pod, so a typo is reported instead of silently ignored. Private to
// lib/discovery.
#pragma once

#include "discovery/annotation_reporter.h"

namespace expvar::discovery::detail {

// Reports each check, check.id and tags annotation whose <X> in `<prefix><X>.<suffix>` names
// no container of the pod (check.id, tags) or no check identifier of it (the check annotations).
// Other annotations are not ours and are not looked at.
void ValidateNamedKeys(Reporter& reporter);

}  // namespace expvar::discovery::detail
