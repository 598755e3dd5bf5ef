#include "sink/dogstatsd.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/generic/datagram_protocol.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <mutex>
#include <optional>
#include <utility>

#include "common/net.h"

namespace expvar::sink {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Reconnecting and re-resolving are throttled to this, so a missing agent costs one failed
// syscall a second rather than one per publish.
constexpr auto kRetryInterval = std::chrono::seconds(1);

}  // namespace

// ---- Transport ----

// Owns the socket and the counters. Shared with pending asynchronous resolves, which hold it
// weakly, so that destroying the sink never leaves a handler pointing at freed memory.
class DogStatsDSink::Transport : public std::enable_shared_from_this<Transport> {
 public:
  using Protocol = asio::generic::datagram_protocol;

  Transport(asio::any_io_executor executor, DogStatsDAddress address)
      : executor_(std::move(executor)),
        address_(std::move(address)),
        needs_resolve_(address_.kind == DogStatsDAddress::kUdp &&
                       !common::IsIpLiteral(address_.host)),
        endpoint_(FixedEndpoint(address_)),
        socket_(executor_) {}

  // Starts resolving a hostname now, so that the first publish likely finds it done.
  void Start() {
    std::lock_guard lock(mu_);
    if (needs_resolve_) StartResolve(Clock::now());
  }

  void Send(const std::vector<std::string>& datagrams) {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    for (std::size_t i = 0; i < datagrams.size();) {
      if (!EnsureConnected(now)) {
        datagrams_dropped.fetch_add(datagrams.size() - i, std::memory_order_relaxed);
        return;
      }
      i += SendSome(datagrams, i, now);
    }
  }

  // Packs lines into the shared batch; returns the full batch when it reached `max_datagrams`
  // (then the caller sends it), else nothing.
  std::vector<std::string> Batch(const std::vector<std::string>& lines, std::size_t limit,
                                 std::size_t max_datagrams) {
    std::lock_guard lock(batch_mu_);
    if (!batch_) batch_.emplace(limit);
    for (const auto& line : lines) batch_->Add(line);
    lines_dropped_too_long.fetch_add(batch_->lines_dropped() - batch_dropped_seen_,
                                     std::memory_order_relaxed);
    batch_dropped_seen_ = batch_->lines_dropped();
    if (batch_->size() < max_datagrams) return {};
    return batch_->Take();
  }

  std::vector<std::string> TakeBatch() {
    std::lock_guard lock(batch_mu_);
    return batch_ ? batch_->Take() : std::vector<std::string>{};
  }

  // Sends the batch every `interval` until the transport is destroyed.
  void StartFlushing(std::chrono::milliseconds interval) {
    flush_timer_.expires_after(interval);
    flush_timer_.async_wait(
        [weak = weak_from_this(), interval](const boost::system::error_code& ec) {
          if (ec) return;
          auto self = weak.lock();
          if (!self) return;
          self->Send(self->TakeBatch());
          self->StartFlushing(interval);
        });
  }

  std::atomic<std::uint64_t> datagrams_sent{0};
  std::atomic<std::uint64_t> datagrams_dropped{0};
  std::atomic<std::uint64_t> lines_dropped_too_long{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> values_skipped{0};

 private:
  enum class Link { kUnknown, kUp, kDown };

  static std::optional<Protocol::endpoint> FixedEndpoint(const DogStatsDAddress& address) {
    if (address.kind == DogStatsDAddress::kUnix) {
      return Protocol::endpoint(asio::local::datagram_protocol::endpoint(address.path));
    }
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(address.host, ec);
    if (ec) return std::nullopt;  // a hostname: resolved later
    return Protocol::endpoint(asio::ip::udp::endpoint(ip, address.port));
  }

  // Requires mu_. True when the socket is open and connected.
  bool EnsureConnected(Clock::time_point now) {
    if (socket_.is_open()) return true;
    if (resolving_ || now < next_attempt_) return false;
    if (!endpoint_) {
      StartResolve(now);
      return false;
    }
    boost::system::error_code ec;
    socket_.open(endpoint_->protocol(), ec);
    // Non-blocking: a full buffer must drop the datagram rather than stall a worker.
    if (!ec) socket_.non_blocking(true, ec);
    if (!ec) socket_.connect(*endpoint_, ec);
    if (ec) {
      Disconnect(ec, now);
      return false;
    }
    MarkUp();
    return true;
  }

  // Requires mu_ and a connected socket. Sends datagrams[first...] with one sendmmsg (up to
  // kPerCall of them); returns how many it dealt with: sent, or one dropped on an error.
  std::size_t SendSome(const std::vector<std::string>& datagrams, std::size_t first,
                       Clock::time_point now) {
    constexpr std::size_t kPerCall = 64;
    const std::size_t count = std::min(kPerCall, datagrams.size() - first);
    iovec parts[kPerCall];
    mmsghdr messages[kPerCall] = {};
    for (std::size_t i = 0; i < count; ++i) {
      const std::string& datagram = datagrams[first + i];
      parts[i] = {const_cast<char*>(datagram.data()), datagram.size()};
      messages[i].msg_hdr.msg_iov = &parts[i];
      messages[i].msg_hdr.msg_iovlen = 1;
    }
    const int sent = ::sendmmsg(socket_.native_handle(), messages, static_cast<unsigned>(count),
                                MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent > 0) {
      std::uint64_t bytes = 0;
      for (int i = 0; i < sent; ++i) bytes += messages[i].msg_len;
      datagrams_sent.fetch_add(static_cast<std::uint64_t>(sent), std::memory_order_relaxed);
      bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
      return static_cast<std::size_t>(sent);
    }
    OnSendError(boost::system::error_code(errno, boost::system::system_category()), now);
    return 1;
  }

  // Requires mu_. The datagram that failed is dropped.
  void OnSendError(const boost::system::error_code& ec, Clock::time_point now) {
    datagrams_dropped.fetch_add(1, std::memory_order_relaxed);
    if (ec == asio::error::would_block || ec == asio::error::try_again ||
        ec == asio::error::no_buffer_space) {
      return;  // the agent is behind: drop, the socket is fine
    }
    if (ec == asio::error::connection_refused && address_.kind == DogStatsDAddress::kUdp) {
      OnUdpRefused(now);  // an ICMP from an earlier datagram; the socket stays usable
      return;
    }
    Disconnect(ec, now);
  }

  // Requires mu_. Nobody listens on the UDP port (yet): keep sending, warn once, and look the
  // host up again in case the agent moved.
  void OnUdpRefused(Clock::time_point now) {
    if (!refusal_logged_) {
      spdlog::warn("dogstatsd: {} refused datagrams (is the agent listening?), dropping them",
                   address_.ToString());
      refusal_logged_ = true;
    }
    if (needs_resolve_ && !resolving_ && now >= next_attempt_) StartResolve(now);
  }

  // Requires mu_. Closes the socket; the next attempt is a second away.
  void Disconnect(const boost::system::error_code& ec, Clock::time_point now) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    next_attempt_ = now + kRetryInterval;
    if (needs_resolve_) endpoint_.reset();  // look the host up again on the next attempt
    MarkDown(ec.message());
  }

  // Requires mu_.
  void StartResolve(Clock::time_point now) {
    resolving_ = true;
    next_attempt_ = now + kRetryInterval;
    auto resolver = std::make_shared<asio::ip::udp::resolver>(executor_);
    resolver->async_resolve(
        address_.host, std::to_string(address_.port), asio::ip::udp::resolver::numeric_service,
        [weak = weak_from_this(), resolver](const boost::system::error_code& ec,
                                            asio::ip::udp::resolver::results_type results) {
          if (auto self = weak.lock()) self->OnResolved(ec, results);
        });
  }

  void OnResolved(const boost::system::error_code& ec,
                  const asio::ip::udp::resolver::results_type& results) {
    std::lock_guard lock(mu_);
    resolving_ = false;
    if (ec || results.empty()) {
      next_attempt_ = Clock::now() + kRetryInterval;
      MarkDown("cannot resolve host: " + (ec ? ec.message() : std::string("no address")));
      return;
    }
    Protocol::endpoint endpoint(PreferIpv4(results));
    if (endpoint_ == endpoint) return;
    endpoint_ = endpoint;
    boost::system::error_code ignored;
    socket_.close(ignored);  // connected to an old address, if any
    next_attempt_ = Clock::time_point{};
  }

  // The Agent listens on IPv4 by default, and Go's resolver (which it uses) prefers IPv4 too.
  static asio::ip::udp::endpoint PreferIpv4(const asio::ip::udp::resolver::results_type& results) {
    for (const auto& entry : results) {
      if (entry.endpoint().address().is_v4()) return entry.endpoint();
    }
    return results.begin()->endpoint();
  }

  // Requires mu_. Logs only the transition.
  void MarkDown(const std::string& reason) {
    if (link_ != Link::kDown) {
      spdlog::warn("dogstatsd: {} unavailable ({}), dropping datagrams until it is back",
                   address_.ToString(), reason);
    }
    link_ = Link::kDown;
  }

  // Requires mu_.
  void MarkUp() {
    if (link_ == Link::kDown) {
      spdlog::info("dogstatsd: connected to {}", address_.ToString());
      refusal_logged_ = false;
    } else if (link_ == Link::kUnknown) {
      spdlog::info("dogstatsd: sending to {}", address_.ToString());
    }
    link_ = Link::kUp;
  }

  asio::any_io_executor executor_;
  const DogStatsDAddress address_;
  const bool needs_resolve_;  // a UDP hostname

  std::mutex mu_;
  std::optional<Protocol::endpoint> endpoint_;
  Protocol::socket socket_;
  Clock::time_point next_attempt_{};
  bool resolving_ = false;
  Link link_ = Link::kUnknown;
  bool refusal_logged_ = false;

  std::mutex batch_mu_;                  // the batch is filled by every scrape thread
  std::optional<DatagramPacker> batch_;  // created with the first lines' limit
  std::size_t batch_dropped_seen_ = 0;   // batch_->lines_dropped() already counted
  asio::steady_timer flush_timer_{executor_};
};

// ---- pipeline::Sink ----

DogStatsDSink::DogStatsDSink(boost::asio::any_io_executor executor, DogStatsDAddress address,
                             std::vector<std::string> global_tags,
                             std::chrono::milliseconds flush_interval)
    : address_(std::move(address)),
      global_tags_(std::move(global_tags)),
      flush_interval_(flush_interval),
      transport_(std::make_shared<Transport>(std::move(executor), address_)) {
  transport_->Start();
  if (flush_interval_.count() > 0) transport_->StartFlushing(flush_interval_);
}

DogStatsDSink::~DogStatsDSink() = default;

void DogStatsDSink::Publish(const pipeline::SnapshotPtr& snapshot) {
  if (!snapshot) return;
  try {
    const std::size_t limit = address_.DatagramLimit();
    std::size_t skipped = 0;
    DatagramPacker packer(limit);
    const std::vector<std::string>* tags = &global_tags_;
    std::vector<std::string> with_entity;
    if (snapshot->entity) with_entity = EntityTags(*snapshot->entity);
    if (!with_entity.empty()) {
      with_entity.insert(with_entity.end(), global_tags_.begin(), global_tags_.end());
      tags = &with_entity;
    }
    std::vector<std::string> lines = EncodeLines(*snapshot, *tags, limit, &skipped);
    lines.push_back(EncodeServiceCheck(*snapshot, *tags));
    transport_->values_skipped.fetch_add(skipped, std::memory_order_relaxed);
    if (flush_interval_.count() > 0) {
      transport_->Send(transport_->Batch(lines, limit, kMaxBatchedDatagrams));
      return;
    }
    for (const auto& line : lines) packer.Add(line);
    transport_->lines_dropped_too_long.fetch_add(packer.lines_dropped(), std::memory_order_relaxed);
    transport_->Send(packer.Take());
  } catch (const std::exception& e) {
    // Only allocation failure gets here; losing one snapshot beats taking a worker down.
    spdlog::error("dogstatsd: dropped the snapshot of {}: {}", snapshot->target_id, e.what());
  }
}

void DogStatsDSink::Forget(const std::string& /*target_id*/) {}

void DogStatsDSink::Flush() { transport_->Send(transport_->TakeBatch()); }

DogStatsDSink::Stats DogStatsDSink::stats() const {
  Stats stats;
  stats.datagrams_sent = transport_->datagrams_sent.load(std::memory_order_relaxed);
  stats.datagrams_dropped = transport_->datagrams_dropped.load(std::memory_order_relaxed);
  stats.lines_dropped_too_long = transport_->lines_dropped_too_long.load(std::memory_order_relaxed);
  stats.bytes_sent = transport_->bytes_sent.load(std::memory_order_relaxed);
  stats.values_skipped = transport_->values_skipped.load(std::memory_order_relaxed);
  return stats;
}

}  // namespace expvar::sink
