// Merges the targets' rendered text into one exposition: each family once, its series from
// every target, under the rules a valid exposition needs.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/exposition.h"
#include "sink/prometheus_render.h"

namespace expvar::sink {

// Writes the families of `targets` (in the order given) in name order into `out`, skipping the
// names `out` will not let it claim. A family's type and help are those of its first series;
// a series of another type, or with a label set the family already has, is skipped, and so is
// a family named like a histogram's own series (`<h>_bucket`, `<h>_sum`, `<h>_count`), which
// parsers would merge into it. Returns how many series were skipped.
std::uint64_t AppendMergedFamilies(
    const std::vector<std::shared_ptr<const RenderedTarget>>& targets,
    common::ExpositionWriter& out);

}  // namespace expvar::sink
