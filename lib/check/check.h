// The go_expvar check as a pure function: (plan, document, previous state, now) -> readings.
#pragma once

#include <boost/unordered/unordered_flat_set.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "check/path.h"
#include "pipeline/instance.h"
#include "pipeline/snapshot.h"

namespace expvar::check {

using pipeline::MetricType;
using pipeline::Reading;

using pipeline::ReportKind;
using pipeline::ReportKindName;
using pipeline::ReportKindOf;

// The URL that is fetched and tagged: "/debug/vars" is appended when the path is empty, and
// credentials in the URL never reach the tag. Throws std::invalid_argument on a bad URL.
std::string FinalUrl(std::string_view expvar_url);

// One metric item ready to run: compiled path, resolved tags, named where the path is literal.
// The defaults' paths and tags are shared (by every plan, and by a plan's defaults), so ten
// thousand targets do not hold ten thousand copies of the same compiled memstats paths.
struct PlannedMetric {
  std::shared_ptr<const CompiledPath> path;
  MetricType type;
  std::optional<std::string> alias;
  // item tags + instance tags + expvar_url, de-duplicated
  std::shared_ptr<const std::vector<std::string>> tags;
  bool is_default = false;  // one of Datadog's memstats defaults
  // A literal path can match one value only, at keys known now: its series is named once here.
  pipeline::SeriesKeyPtr literal_key;
};

// An instance compiled once per config: regexes built, names and tags prepared.
struct Plan {
  std::string url;  // final URL
  std::string metric_namespace;
  std::vector<PlannedMetric> metrics;
  std::size_t default_count = 0;       // metrics[0, default_count) are the built-in ones
  std::vector<std::string> base_tags;  // instance tags + expvar_url
  std::string pause_metric_name;       // <ns>.memstats.pause_ns
  int max_returned_metrics = pipeline::kDefaultMaxReturnedMetrics;
  std::vector<std::string> warnings;  // items dropped while compiling (bad regex)
};

Plan Compile(const pipeline::Instance& instance);

struct PauseSamples {
  std::vector<double> pauses_ns;  // GC pauses since the previous run, oldest first
  std::uint64_t missed = 0;       // GCs whose pause the 256-entry ring no longer held
};

// What carries from one run to the next for a target.
struct State {
  struct Previous {
    double value = 0;
    double time = 0;
  };
  // By SeriesKey::identity: a target's identities are long (every tag) and a hash keeps the
  // state a few bytes a series.
  std::unordered_map<std::uint64_t, Previous> last;
  std::optional<std::uint64_t> last_num_gc;
  // Series keys of regex matches by item and dotted path: naming is a large part of a run's
  // cost, and a target reports the same keys scrape after scrape.
  std::unordered_map<std::string, pipeline::SeriesKeyPtr> regex_keys;
  MatchMemo regex_matches;  // which keys the regex segments matched, for the same reason
  // One run's series identities, kept between runs only so that its buckets are reused.
  boost::unordered_flat_set<std::uint64_t> seen;
};

struct Result {
  bool ok = false;  // false: the document was unusable, `error` says why
  std::string error;
  std::vector<Reading> readings;     // defaults first, then the user's items, document order
  std::size_t default_readings = 0;  // readings[0, default_readings) came from the defaults
  PauseSamples pauses;
  std::size_t dropped_by_cap = 0;            // values past max_returned_metrics
  std::vector<std::string> document_errors;  // values skipped, limits the run hit
  std::vector<std::string> notes;            // unreportable values and empty paths (debug)
};

// Runs the check. `now` is in seconds on a clock that only moves forward. `state` is updated in
// place; when !ok it is left untouched, so the next rate spans the failed scrape.
Result Run(const Plan& plan, std::string_view document, State& state, double now);

// A series as the Datadog Agent would compute it from this run's submissions.
struct Series {
  std::string name;
  ReportKind kind;
  double value;
  std::vector<std::string> tags;
};

// Readings with something to submit, plus <ns>.memstats.pause_ns.{avg,median,max,
// 95percentile,count} placed right after the defaults.
std::vector<Series> DatadogSeries(const Plan& plan, const Result& result);

}  // namespace expvar::check
