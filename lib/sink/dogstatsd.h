// DogStatsD sink: encodes snapshots as DogStatsD lines and sends them, packed into datagrams,
// over UDP or a Unix datagram socket without ever blocking or failing the caller.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sink/snapshot.h"

namespace expvar::sink {

// Largest datagram per transport: 1432 bytes keeps a UDP datagram inside a 1500-byte MTU with
// headers to spare (the Datadog clients' default); 8192 is the Agent's default UDS buffer.
inline constexpr std::size_t kUdpDatagramLimit = 1432;
inline constexpr std::size_t kUnixDatagramLimit = 8192;

inline constexpr std::uint16_t kDefaultDogStatsDPort = 8125;
inline constexpr std::string_view kDefaultDogStatsDSocket = "/var/run/datadog/dsd.socket";

// ---- Encoding (pure) -------------------------------------------------------------------------
//
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
std::vector<std::string> EncodeLines(const ScrapeSnapshot& snapshot,
                                     const std::vector<std::string>& global_tags,
                                     std::size_t max_line_bytes = kUdpDatagramLimit,
                                     std::size_t* skipped = nullptr);

// Packs lines into datagrams of at most `max_bytes`, separated by '\n' (no trailing newline).
// A line is never split: one longer than `max_bytes` cannot be sent intact and is dropped.
class DatagramPacker {
 public:
  explicit DatagramPacker(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  void Add(std::string_view line);
  // The datagrams packed so far; the packer starts empty again.
  std::vector<std::string> Take();
  std::size_t lines_dropped() const { return lines_dropped_; }

 private:
  std::size_t max_bytes_;
  std::vector<std::string> datagrams_;
  std::size_t lines_dropped_ = 0;
};

// ---- Configuration (pure, environment injected) ---------------------------------------------

// Looks up an environment variable (nullopt when unset); injected so that tests never touch the
// process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
using FileExists = std::function<bool(const std::string& path)>;

std::optional<std::string> ProcessEnvironment(const std::string& name);
bool PathExists(const std::string& path);

// `env:`, `service:`, `version:` from DD_ENV, DD_SERVICE, DD_VERSION (unset or empty: no tag),
// as the Datadog clients add them. The caller appends the repeated `--tag` values.
std::vector<std::string> GlobalTagsFromEnvironment(const EnvLookup& env);

struct DogStatsDAddress {
  enum Kind { kUdp, kUnix };
  Kind kind = kUdp;
  std::string host;  // kUdp: IPv4, IPv6 (no brackets) or a hostname
  std::uint16_t port = kDefaultDogStatsDPort;
  std::string path;  // kUnix: absolute socket path

  // `udp://host:port` (IPv6 bracketed) or `unix:///path`.
  std::string ToString() const;
  // kUdpDatagramLimit or kUnixDatagramLimit.
  std::size_t DatagramLimit() const;

  bool operator==(const DogStatsDAddress&) const = default;
};

// Parses `udp://host[:port]` (IPv4, [IPv6] or hostname; port 8125 when omitted) and
// `unix:///abs/path` (`unixgram://` is accepted as a synonym, as in the Datadog clients). On
// failure returns nullopt and sets *error.
std::optional<DogStatsDAddress> ParseDogStatsDUrl(std::string_view url, std::string* error);

// The default destination (design §4): DD_DOGSTATSD_URL; else DD_AGENT_HOST with
// DD_DOGSTATSD_PORT (8125 when unset); else kDefaultDogStatsDSocket when it exists; else
// udp://127.0.0.1 on DD_DOGSTATSD_PORT (8125). As in the Datadog clients, DD_AGENT_HOST may carry
// its own `:port` (IPv6 then bracketed) or be a whole `unix://` URL. An invalid DD_DOGSTATSD_URL,
// DD_AGENT_HOST or DD_DOGSTATSD_PORT is an error (nullopt and *error), not a silent fallback.
std::optional<DogStatsDAddress> ResolveDefaultAddress(const EnvLookup& env,
                                                      const FileExists& exists, std::string* error);

// ---- The sink --------------------------------------------------------------------------------

// Publish encodes and packs on the caller's thread, then sends each datagram with a
// non-blocking send on a connected socket, under a mutex (the critical section is a few
// syscalls). A full socket buffer, a missing agent or socket, or an unresolvable host drops the
// datagrams and counts them. After a connection failure the socket is reopened at most once a
// second, on a later publish, so the sink recovers when the agent comes back. A UDP hostname is
// resolved asynchronously on `executor` (at construction and after failures): the executor must
// run for it to complete, and until then datagrams are dropped.
class DogStatsDSink : public Sink {
 public:
  struct Stats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_dropped = 0;
    std::uint64_t lines_dropped_too_long = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t values_skipped = 0;  // NaN/Inf values, empty names
  };

  DogStatsDSink(boost::asio::any_io_executor executor, DogStatsDAddress address,
                std::vector<std::string> global_tags);
  ~DogStatsDSink() override;

  DogStatsDSink(const DogStatsDSink&) = delete;
  DogStatsDSink& operator=(const DogStatsDSink&) = delete;

  // Never throws and never blocks; safe to call from several threads at once.
  void Publish(const SnapshotPtr& snapshot) override;
  // StatsD has no series to delete: the Agent forgets a series that stops arriving, so there is
  // nothing to do.
  void Forget(const std::string& target_id) override;
  // Datagrams are sent during Publish and nothing is buffered, so there is nothing to flush; kept
  // so that shutdown (SIGTERM) treats every sink alike.
  void Flush();

  Stats stats() const;
  const DogStatsDAddress& address() const { return address_; }

 private:
  class Transport;

  DogStatsDAddress address_;
  std::vector<std::string> global_tags_;
  std::shared_ptr<Transport> transport_;  // shared with pending resolves
};

}  // namespace expvar::sink
