// DogStatsD line encoding: turns a snapshot into sanitised `name:value|type|#tags` lines and
// packs them into datagrams that fit the transport's limit.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/snapshot.h"

namespace expvar::sink {

// Largest datagram per transport: 1432 bytes keeps a UDP datagram inside a 1500-byte MTU with
// headers to spare (the Datadog clients' default); 8192 is the Agent's default UDS buffer.
inline constexpr std::size_t kUdpDatagramLimit = 1432;
inline constexpr std::size_t kUnixDatagramLimit = 8192;

// Line format (DogStatsD protocol v1.1): `name:value|type|#tag1,tag2`.
//   gauge                    -> `|g`, the value read
//   rate                     -> `|g`, the per-second value the check computed (DogStatsD has no
//                               rates of its own)
//   count, counter           -> `|c`, the value read
//   monotonic_counter        -> `|c`, the positive delta the check computed
//   GC pauses                -> `pause_metric_name:v1:v2:…|h` (ns), so the Agent derives the same
//                               .avg/.median/.max/.95percentile/.count as for its own check
// Readings without `report` (a first rate, a counter reset) send nothing; non-finite values are
// skipped. Numbers use the shortest text that reads back to the same double.
//
// Sanitising, so that no value can inject a line, a type or a tag:
//   names: `|` `,` `:` `#` `@`, whitespace and control characters -> `_`
//   tags:  `|` `,` and control characters (newline, CR, ...) -> `_`; `:` is kept (`key:value`,
//          and a value such as a URL may hold more); a tag that ends up empty is dropped.
// Tags are the reading's own tags then the global tags, de-duplicated keeping the first.

std::string SanitizeStatsdName(std::string_view name);
std::string SanitizeStatsdTag(std::string_view tag);

// Encodes every reportable reading and the GC pause histogram; the histogram comes right after
// the default (memstats) readings, as in check::DatadogSeries. A histogram that would not fit in
// `max_line_bytes` is split over several `|h` lines that each fit. `skipped` (optional) receives
// the number of values left out because they were NaN/Inf or their name was empty.
std::vector<std::string> EncodeLines(const pipeline::ScrapeSnapshot& snapshot,
                                     const std::vector<std::string>& global_tags,
                                     std::size_t max_line_bytes = kUdpDatagramLimit,
                                     std::size_t* skipped = nullptr);

// Datadog's HTTP checks report reachability as `<integration>.can_connect`; ours is named for
// the check whose series we send, whatever the instance's namespace.
inline constexpr std::string_view kServiceCheckName = "go_expvar.can_connect";

// The service check of one scrape: `_sc|go_expvar.can_connect|0|#tags` after a good scrape,
// `_sc|go_expvar.can_connect|2|#tags|m:<error>` (CRITICAL) after a failed one. Tags are the
// target's own (its pause histogram's: instance tags and expvar_url) then `global_tags`,
// sanitised as on metric lines; in the message newlines become "\n" and '|' becomes '/', so it
// stays one field of one line.
std::string EncodeServiceCheck(const pipeline::ScrapeSnapshot& snapshot,
                               const std::vector<std::string>& global_tags);

// The tags by which the Agent attributes a target's lines to its pod (origin detection without
// socket credentials): `dd.internal.entity_id:<pod uid>`; none for a target of no pod. The sink
// puts them between the reading's tags and the global tags; they never become Prometheus labels.
std::vector<std::string> EntityTags(const pipeline::Entity& entity);

// Packs lines into datagrams of at most `max_bytes`, separated by '\n' (no trailing newline).
// A line is never split: one longer than `max_bytes` cannot be sent intact and is dropped.
class DatagramPacker {
 public:
  explicit DatagramPacker(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  void Add(std::string_view line);
  // The datagrams packed so far; the packer starts empty again.
  std::vector<std::string> Take();
  std::size_t lines_dropped() const { return lines_dropped_; }
  std::size_t size() const { return datagrams_.size(); }  // datagrams, the last one still open

 private:
  std::size_t max_bytes_;
  std::vector<std::string> datagrams_;
  std::size_t lines_dropped_ = 0;
};

}  // namespace expvar::sink
