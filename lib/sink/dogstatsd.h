// DogStatsD sink: encodes snapshots as DogStatsD lines and sends them, packed into datagrams,
// over UDP or a Unix datagram socket without ever blocking or failing the caller.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

// The sink's address and encoding halves, so that includers of this header keep seeing them.
#include "pipeline/sink.h"
#include "sink/dogstatsd_address.h"
#include "sink/dogstatsd_encoding.h"

namespace expvar::sink {

// Publish encodes on the caller's thread (the readings, then the `go_expvar.can_connect` service
// check of the scrape, see EncodeServiceCheck) and packs the lines into a batch shared by every
// target, so datagrams are full rather than one target's few lines each. Every
// `flush_interval` (and whenever the batch reaches kMaxBatchedDatagrams) the batch is sent with
// sendmmsg, many datagrams a syscall, non-blocking on a connected socket under a mutex; with a
// zero interval each publish sends its own datagrams at once. Lines wait at most one interval:
// DogStatsD aggregates over 10 s, so 100 ms changes nothing the Agent reports. A full socket
// buffer, a missing agent or socket, or an unresolvable host drops the datagrams and counts
// them. After a connection failure the socket is reopened at most once a
// second, on a later publish, so the sink recovers when the agent comes back. A UDP hostname is
// resolved asynchronously on `executor` (at construction and after failures): the executor must
// run for it to complete, and until then datagrams are dropped.
class DogStatsDSink : public pipeline::Sink {
 public:
  struct Stats {
    std::uint64_t datagrams_sent = 0;
    std::uint64_t datagrams_dropped = 0;
    std::uint64_t lines_dropped_too_long = 0;
    std::uint64_t bytes_sent = 0;
    std::uint64_t values_skipped = 0;  // NaN/Inf values, empty names
  };

  // The batch is sent once it holds this many datagrams, whatever the interval.
  static constexpr std::size_t kMaxBatchedDatagrams = 256;

  DogStatsDSink(boost::asio::any_io_executor executor, DogStatsDAddress address,
                std::vector<std::string> global_tags,
                std::chrono::milliseconds flush_interval = std::chrono::milliseconds(0));
  ~DogStatsDSink() override;

  DogStatsDSink(const DogStatsDSink&) = delete;
  DogStatsDSink& operator=(const DogStatsDSink&) = delete;

  // Never throws and never blocks; safe to call from several threads at once.
  void Publish(const pipeline::SnapshotPtr& snapshot) override;
  // StatsD has no series to delete: the Agent forgets a series that stops arriving, so there is
  // nothing to do.
  void Forget(const std::string& target_id) override;
  // Sends the batch now (shutdown calls it, so nothing published is lost).
  void Flush() override;

  Stats stats() const;
  const DogStatsDAddress& address() const { return address_; }

 private:
  class Transport;

  DogStatsDAddress address_;
  std::vector<std::string> global_tags_;
  std::chrono::milliseconds flush_interval_;
  std::shared_ptr<Transport> transport_;  // shared with pending resolves
};

}  // namespace expvar::sink
