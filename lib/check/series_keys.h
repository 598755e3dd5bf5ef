// Names a plan's series once: literal items when the plan is compiled (the memstats defaults'
// names shared by every plan of a namespace), regex matches when first seen by a target.
#pragma once

#include <string>

#include "check/check.h"

namespace expvar::check {

// The series `metric` yields at the keys `dotted`. Datadog names it `alias or normalized name`
// (total_alloc.count has its own), and an alias, even an empty one, adds a path: tag.
pipeline::SeriesKeyPtr KeyFor(const PlannedMetric& metric, std::string dotted,
                              const std::string& metric_namespace);

// Sets literal_key on every item whose path is literal; the keys share one allocation.
void NameLiteralSeries(Plan& plan);

}  // namespace expvar::check
