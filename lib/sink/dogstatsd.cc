#include "sink/dogstatsd.h"

#include <spdlog/spdlog.h>
#include <sys/un.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/generic/datagram_protocol.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/local/datagram_protocol.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

namespace expvar::sink {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Reconnecting and re-resolving are throttled to this, so a missing agent costs one failed
// syscall a second rather than one per publish.
constexpr auto kRetryInterval = std::chrono::seconds(1);

bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool IsReservedInName(char c) {
  switch (c) {
    case '|':
    case ',':
    case ':':
    case '#':
    case '@':
    case ' ':
      return true;
    default:
      return IsControl(c);  // includes \t \n \v \f \r
  }
}

bool IsReservedInTag(char c) { return c == '|' || c == ',' || IsControl(c); }

template <typename Reserved>
std::string ReplaceReserved(std::string_view text, Reserved reserved) {
  std::string out(text);
  std::replace_if(out.begin(), out.end(), reserved, '_');
  return out;
}

void AppendNumber(std::string& out, double value) {
  if (value == 0) value = 0;  // "-0" reads oddly and means the same
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  out.append(buffer, result.ptr);
}

// `|#a,b` from the reading's tags then the global tags, sanitised and de-duplicated; "" when
// there are none.
std::string TagSection(const std::vector<std::string>& own,
                       const std::vector<std::string>& global) {
  std::vector<std::string> tags;
  tags.reserve(own.size() + global.size());
  auto add = [&tags](const std::string& raw) {
    std::string tag = SanitizeStatsdTag(raw);
    if (tag.empty() || std::find(tags.begin(), tags.end(), tag) != tags.end()) return;
    tags.push_back(std::move(tag));
  };
  for (const auto& tag : own) add(tag);
  for (const auto& tag : global) add(tag);
  if (tags.empty()) return {};
  std::string section = "|#";
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (i > 0) section += ',';
    section += tags[i];
  }
  return section;
}

std::string_view TypeSuffix(check::MetricType type) {
  switch (check::ReportKindOf(type)) {
    case check::ReportKind::kCount:
      return "|c";
    case check::ReportKind::kGauge:
    case check::ReportKind::kRate:  // already per second: DogStatsD cannot compute rates
      break;
  }
  return "|g";
}

// Builds the lines of one snapshot; keeps the last tag section because consecutive readings of
// a target usually carry the same tags.
class LineEncoder {
 public:
  LineEncoder(const std::vector<std::string>& global_tags, std::size_t max_line_bytes)
      : global_tags_(global_tags), max_line_bytes_(max_line_bytes) {}

  void AddReading(const check::Reading& reading) {
    if (!reading.report) return;
    std::string name = SanitizeStatsdName(reading.name);
    if (name.empty() || !std::isfinite(*reading.report)) {
      ++skipped_;
      return;
    }
    std::string line = std::move(name);
    line += ':';
    AppendNumber(line, *reading.report);
    line += TypeSuffix(reading.type);
    line += Tags(reading.tags);
    lines_.push_back(std::move(line));
  }

  // One `|h` line with every sample, or several when one would exceed the datagram limit.
  void AddHistogram(std::string_view raw_name, const std::vector<double>& samples,
                    const std::vector<std::string>& tags) {
    if (samples.empty()) return;
    std::string name = SanitizeStatsdName(raw_name);
    if (name.empty()) {
      skipped_ += samples.size();
      return;
    }
    std::string suffix = "|h" + Tags(tags);
    std::string line;
    for (double sample : samples) {
      if (!std::isfinite(sample)) {
        ++skipped_;
        continue;
      }
      std::string value;
      AppendNumber(value, sample);
      if (!line.empty() && line.size() + 1 + value.size() + suffix.size() > max_line_bytes_) {
        lines_.push_back(line + suffix);
        line.clear();
      }
      if (line.empty()) line = name;
      line += ':';
      line += value;
    }
    if (!line.empty()) lines_.push_back(line + suffix);
  }

  std::vector<std::string> TakeLines() { return std::move(lines_); }
  std::size_t skipped() const { return skipped_; }

 private:
  const std::string& Tags(const std::vector<std::string>& tags) {
    if (!cached_ || cached_tags_ != tags) {
      cached_tags_ = tags;
      cached_section_ = TagSection(tags, global_tags_);
      cached_ = true;
    }
    return cached_section_;
  }

  const std::vector<std::string>& global_tags_;
  std::size_t max_line_bytes_;
  std::vector<std::string> lines_;
  std::size_t skipped_ = 0;
  bool cached_ = false;
  std::vector<std::string> cached_tags_;
  std::string cached_section_;
};

// ---- URL parsing helpers ----

std::optional<DogStatsDAddress> Failure(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

std::optional<std::uint16_t> ParsePort(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(value);
}

bool IsHostname(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

bool IsIpv6(std::string_view host) {
  boost::system::error_code ec;
  asio::ip::make_address_v6(std::string(host), ec);
  return !ec;
}

// `host[:port]` or `[v6][:port]`, the part of a udp:// URL after the scheme.
std::optional<DogStatsDAddress> ParseUdp(std::string_view rest, std::uint16_t default_port,
                                         std::string* error) {
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  DogStatsDAddress address;
  address.port = default_port;
  std::string_view host;
  std::string_view after;  // what follows the host: "" or ":port"
  if (!rest.empty() && rest.front() == '[') {
    std::size_t close = rest.find(']');
    if (close == std::string_view::npos) return Failure(error, "unterminated [IPv6] host");
    host = rest.substr(1, close - 1);
    after = rest.substr(close + 1);
    if (!IsIpv6(host)) return Failure(error, "invalid IPv6 address: " + std::string(host));
  } else {
    std::size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    after = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
    if (after.find(':', 1) != std::string_view::npos) {
      return Failure(error, "an IPv6 address must be in brackets: udp://[::1]:8125");
    }
    if (!IsHostname(host)) return Failure(error, "invalid host: '" + std::string(host) + "'");
  }
  if (!after.empty()) {
    auto port = after.front() == ':' ? ParsePort(after.substr(1)) : std::nullopt;
    if (!port) return Failure(error, "invalid port in '" + std::string(rest) + "'");
    address.port = *port;
  }
  address.kind = DogStatsDAddress::kUdp;
  address.host = std::string(host);
  return address;
}

std::optional<DogStatsDAddress> ParseUnix(std::string_view path, std::string* error) {
  if (path.empty() || path.front() != '/') {
    return Failure(error,
                   "a unix socket path must be absolute: unix:///var/run/datadog/dsd.socket");
  }
  if (path.find('\0') != std::string_view::npos) return Failure(error, "NUL in socket path");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Failure(error, "socket path longer than " +
                              std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
  }
  DogStatsDAddress address;
  address.kind = DogStatsDAddress::kUnix;
  address.path = std::string(path);
  return address;
}

// DD_AGENT_HOST as the Datadog clients read it: a host (IPv4, IPv6 with or without brackets, or
// a name), optionally with its own `:port`, or a full `unix://`/`udp://` URL.
std::optional<DogStatsDAddress> AddressFromAgentHost(std::string_view value, std::uint16_t port,
                                                     std::string* error) {
  if (value.find("://") != std::string_view::npos) return ParseDogStatsDUrl(value, error);
  if (IsIpv6(value)) {
    DogStatsDAddress address;
    address.host = std::string(value);
    address.port = port;
    return address;
  }
  return ParseUdp(value, port, error);
}

}  // namespace

// ---- Encoding ----

std::string SanitizeStatsdName(std::string_view name) {
  return ReplaceReserved(name, IsReservedInName);
}

std::string SanitizeStatsdTag(std::string_view tag) {
  return ReplaceReserved(tag, IsReservedInTag);
}

std::vector<std::string> EncodeLines(const ScrapeSnapshot& snapshot,
                                     const std::vector<std::string>& global_tags,
                                     std::size_t max_line_bytes, std::size_t* skipped) {
  LineEncoder encoder(global_tags, max_line_bytes);
  const auto& readings = snapshot.readings;
  auto first_custom = std::find_if(readings.begin(), readings.end(),
                                   [](const check::Reading& r) { return !r.is_default; });
  for (auto it = readings.begin(); it != first_custom; ++it) encoder.AddReading(*it);
  encoder.AddHistogram(snapshot.pause_metric_name, snapshot.pauses_ns, snapshot.pause_tags);
  for (auto it = first_custom; it != readings.end(); ++it) encoder.AddReading(*it);
  if (skipped) *skipped = encoder.skipped();
  return encoder.TakeLines();
}

void DatagramPacker::Add(std::string_view line) {
  if (line.empty()) return;
  if (line.size() > max_bytes_) {
    ++lines_dropped_;
    return;
  }
  if (datagrams_.empty() || datagrams_.back().size() + 1 + line.size() > max_bytes_) {
    datagrams_.emplace_back();
    datagrams_.back().reserve(max_bytes_);
  } else {
    datagrams_.back() += '\n';
  }
  datagrams_.back() += line;
}

std::vector<std::string> DatagramPacker::Take() { return std::exchange(datagrams_, {}); }

// ---- Configuration ----

std::optional<std::string> ProcessEnvironment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

bool PathExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

std::vector<std::string> GlobalTagsFromEnvironment(const EnvLookup& env) {
  std::vector<std::string> tags;
  for (const auto& [variable, key] :
       {std::pair{"DD_ENV", "env:"}, std::pair{"DD_SERVICE", "service:"},
        std::pair{"DD_VERSION", "version:"}}) {
    auto value = env(variable);
    if (value && !value->empty()) tags.push_back(key + *value);
  }
  return tags;
}

std::string DogStatsDAddress::ToString() const {
  if (kind == kUnix) return "unix://" + path;
  bool bracket = host.find(':') != std::string::npos;
  return "udp://" + (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::size_t DogStatsDAddress::DatagramLimit() const {
  return kind == kUnix ? kUnixDatagramLimit : kUdpDatagramLimit;
}

std::optional<DogStatsDAddress> ParseDogStatsDUrl(std::string_view url, std::string* error) {
  for (std::string_view scheme : {"unix://", "unixgram://"}) {
    if (StartsWithNoCase(url, scheme)) return ParseUnix(url.substr(scheme.size()), error);
  }
  if (StartsWithNoCase(url, "udp://")) {
    return ParseUdp(url.substr(6), kDefaultDogStatsDPort, error);
  }
  return Failure(error, "unsupported DogStatsD URL '" + std::string(url) +
                            "' (expected udp://host:port or unix:///path)");
}

std::optional<DogStatsDAddress> ResolveDefaultAddress(const EnvLookup& env,
                                                      const FileExists& exists,
                                                      std::string* error) {
  auto get = [&env](const char* name) { return env(name).value_or(""); };
  if (std::string url = get("DD_DOGSTATSD_URL"); !url.empty()) {
    std::string why;
    auto address = ParseDogStatsDUrl(url, &why);
    if (!address) return Failure(error, "DD_DOGSTATSD_URL: " + why);
    return address;
  }
  DogStatsDAddress address;
  if (std::string port = get("DD_DOGSTATSD_PORT"); !port.empty()) {
    auto parsed = ParsePort(port);
    if (!parsed) return Failure(error, "DD_DOGSTATSD_PORT: invalid port '" + port + "'");
    address.port = *parsed;
  }
  if (std::string host = get("DD_AGENT_HOST"); !host.empty()) {
    std::string why;
    auto parsed = AddressFromAgentHost(host, address.port, &why);
    if (!parsed) return Failure(error, "DD_AGENT_HOST: " + why);
    return parsed;
  }
  std::string socket(kDefaultDogStatsDSocket);
  if (exists(socket)) {
    address.kind = DogStatsDAddress::kUnix;
    address.path = socket;
    address.port = kDefaultDogStatsDPort;
    return address;
  }
  address.host = "127.0.0.1";
  return address;
}

// ---- Transport ----

// Owns the socket and the counters. Shared with pending asynchronous resolves, which hold it
// weakly, so that destroying the sink never leaves a handler pointing at freed memory.
class DogStatsDSink::Transport : public std::enable_shared_from_this<Transport> {
 public:
  using Protocol = asio::generic::datagram_protocol;

  Transport(asio::any_io_executor executor, DogStatsDAddress address)
      : executor_(std::move(executor)),
        address_(std::move(address)),
        needs_resolve_(address_.kind == DogStatsDAddress::kUdp && !IsIpLiteral(address_.host)),
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
    for (std::size_t i = 0; i < datagrams.size(); ++i) {
      if (!EnsureConnected(now)) {
        datagrams_dropped.fetch_add(datagrams.size() - i, std::memory_order_relaxed);
        return;
      }
      SendOne(datagrams[i], now);
    }
  }

  std::atomic<std::uint64_t> datagrams_sent{0};
  std::atomic<std::uint64_t> datagrams_dropped{0};
  std::atomic<std::uint64_t> lines_dropped_too_long{0};
  std::atomic<std::uint64_t> bytes_sent{0};
  std::atomic<std::uint64_t> values_skipped{0};

 private:
  enum class Link { kUnknown, kUp, kDown };

  static bool IsIpLiteral(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
  }

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

  // Requires mu_.
  void SendOne(const std::string& datagram, Clock::time_point now) {
    boost::system::error_code ec;
    std::size_t sent = socket_.send(asio::buffer(datagram), 0, ec);
    if (!ec) {
      datagrams_sent.fetch_add(1, std::memory_order_relaxed);
      bytes_sent.fetch_add(sent, std::memory_order_relaxed);
      return;
    }
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
};

// ---- Sink ----

DogStatsDSink::DogStatsDSink(boost::asio::any_io_executor executor, DogStatsDAddress address,
                             std::vector<std::string> global_tags)
    : address_(std::move(address)),
      global_tags_(std::move(global_tags)),
      transport_(std::make_shared<Transport>(std::move(executor), address_)) {
  transport_->Start();
}

DogStatsDSink::~DogStatsDSink() = default;

void DogStatsDSink::Publish(const SnapshotPtr& snapshot) {
  if (!snapshot) return;
  try {
    const std::size_t limit = address_.DatagramLimit();
    std::size_t skipped = 0;
    DatagramPacker packer(limit);
    const std::vector<std::string>* tags = &global_tags_;
    std::vector<std::string> with_entity;
    if (!snapshot->statsd_tags.empty()) {
      with_entity = snapshot->statsd_tags;
      with_entity.insert(with_entity.end(), global_tags_.begin(), global_tags_.end());
      tags = &with_entity;
    }
    for (const auto& line : EncodeLines(*snapshot, *tags, limit, &skipped)) {
      packer.Add(line);
    }
    transport_->values_skipped.fetch_add(skipped, std::memory_order_relaxed);
    transport_->lines_dropped_too_long.fetch_add(packer.lines_dropped(), std::memory_order_relaxed);
    transport_->Send(packer.Take());
  } catch (const std::exception& e) {
    // Only allocation failure gets here; losing one snapshot beats taking a worker down.
    spdlog::error("dogstatsd: dropped the snapshot of {}: {}", snapshot->target_id, e.what());
  }
}

void DogStatsDSink::Forget(const std::string& /*target_id*/) {}

void DogStatsDSink::Flush() {}

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
