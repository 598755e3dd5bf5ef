#include "discovery/kube/pod_watcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <optional>
#include <random>
#include <vector>

#include "discovery/kube/api_stream.h"
#include "discovery/kube/pod_set.h"
#include "discovery/kube/watch_decoder.h"

namespace expvar::discovery::kube {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;
// A watch that ends sooner than this without a single event counts as a failure, so that a
// server closing streams at once cannot make us re-watch in a hot loop.
constexpr seconds kMinHealthyWatch{1};

std::string QueryEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

struct PodWatcher::Outcome {
  enum class Kind { kOk, kGone, kUnauthorized, kThrottled, kFailed };
  Kind kind = Kind::kOk;
  std::optional<seconds> retry_after;
  std::string error;  // for logs; never holds the token

  static Outcome Ok() { return {}; }
  static Outcome Failed(std::string error) {
    return {Kind::kFailed, std::nullopt, std::move(error)};
  }
  static Outcome FromStatus(int status, std::optional<seconds> retry_after, std::string error) {
    Kind kind = Kind::kFailed;
    if (status == 401) kind = Kind::kUnauthorized;
    if (status == 410) kind = Kind::kGone;
    if (status == 429) kind = Kind::kThrottled;
    return {kind, retry_after, "HTTP " + std::to_string(status) + " " + error};
  }
};

class PodWatcher::Loop {
 public:
  Loop(asio::any_io_executor executor, ApiConfig api, WatcherOptions options, PodsCallback on_pods)
      : strand_(asio::make_strand(executor)),
        api_(std::move(api)),
        options_(std::move(options)),
        on_pods_(std::move(on_pods)),
        tokens_(api_.token_file),
        timer_(strand_),
        random_(options_.seed != 0 ? options_.seed : std::random_device()()) {}

  bool Init(std::string* error) {
    auto url = http::ParseUrl(api_.server, error);
    if (!url) return false;
    server_ = std::move(*url);
    tls_ = MakeApiTlsContext(server_, api_, error);
    if (server_.scheme == "https" && !tls_) return false;
    if (options_.mode == WatchMode::kNode && options_.node_name.empty()) {
      *error = "node mode needs a node name";
      return false;
    }
    if (options_.mode == WatchMode::kPod &&
        (options_.pod_name.empty() || options_.pod_namespace.empty())) {
      *error = "pod mode needs the pod name and namespace";
      return false;
    }
    return true;
  }

  asio::strand<asio::any_io_executor>& strand() { return strand_; }

  void Stop() {
    asio::post(strand_, [this] {
      stopping_ = true;
      timer_.cancel();
      if (stream_ != nullptr) stream_->Cancel();
    });
  }

  WatcherStats stats() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
  }

  asio::awaitable<void> Run() {
    while (!stopping_) {
      Outcome outcome;
      // An exception here is a bug, not a network event; still, discovery must not die of it.
      try {
        // Not `?:` around co_await: GCC 12 miscompiles it for non-trivial results.
        if (need_list_) {
          outcome = co_await List();
        } else {
          outcome = co_await Watch();
        }
      } catch (const std::exception& e) {
        stream_ = nullptr;
        outcome = Outcome::Failed(std::string("internal error: ") + e.what());
      }
      if (stopping_) break;
      co_await React(outcome);
    }
  }

 private:
  void Count(std::uint64_t WatcherStats::*counter, std::uint64_t n = 1) {
    std::lock_guard lock(stats_mu_);
    stats_.*counter += n;
  }

  std::string CollectionPath() const {
    if (options_.mode == WatchMode::kNode) {
      return "/api/v1/pods?fieldSelector=" + QueryEscape("spec.nodeName=" + options_.node_name);
    }
    return "/api/v1/namespaces/" + QueryEscape(options_.pod_namespace) +
           "/pods?fieldSelector=" + QueryEscape("metadata.name=" + options_.pod_name);
  }

  std::string ListTarget(const std::string& continue_token) const {
    std::string target = CollectionPath() + "&limit=" + std::to_string(options_.page_size);
    if (!continue_token.empty()) target += "&continue=" + QueryEscape(continue_token);
    return target;
  }

  std::string WatchTarget(seconds timeout) const {
    return CollectionPath() + "&watch=1&resourceVersion=" + QueryEscape(pods_.resource_version()) +
           "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout.count());
  }

  seconds RandomWatchTimeout() {
    const auto low = options_.min_watch_timeout.count();
    const auto high = std::max(low, options_.max_watch_timeout.count());
    return seconds(std::uniform_int_distribution<long>(low, high)(random_));
  }

  // Opens one request; non-2xx answers become an Outcome (with the Status text for logs).
  asio::awaitable<std::optional<Outcome>> Open(ApiStream& stream, const std::string& target,
                                               Clock::time_point deadline) {
    ApiResponseHead head;
    stream_ = &stream;
    auto error = co_await stream.Open(target, tokens_.Get(), deadline, &head);
    if (!error.empty()) co_return Outcome::Failed(std::move(error));
    if (head.status >= 200 && head.status < 300) co_return std::nullopt;
    std::string body;
    co_await stream.ReadAll(&body, kMaxErrorBodyBytes);
    boost::system::error_code ec;
    const auto status = json::parse(body, ec);
    co_return Outcome::FromStatus(head.status, head.retry_after, ec ? "" : StatusText(status));
  }

  asio::awaitable<Outcome> List() {
    PodListing listing;
    do {
      json::value page;
      if (auto failed = co_await FetchPage(ListTarget(listing.continue_token()), &page)) {
        co_return *failed;
      }
      Count(&WatcherStats::list_pages);
      if (const auto bad_pods = listing.AddPage(page)) Count(&WatcherStats::bad_pods, bad_pods);
    } while (!listing.continue_token().empty());
    ReplacePods(std::move(listing));
    co_return Outcome::Ok();
  }

  asio::awaitable<std::optional<Outcome>> FetchPage(const std::string& target, json::value* page) {
    ApiStream stream(strand_, server_, tls_);
    const auto deadline = Clock::now() + options_.request_timeout;
    auto failed = co_await Open(stream, target, deadline);
    std::string body;
    if (!failed) {
      if (auto error = co_await stream.ReadAll(&body, options_.max_list_page_bytes);
          !error.empty()) {
        failed = Outcome::Failed("LIST: " + error);
      }
    }
    stream_ = nullptr;
    if (failed) co_return failed;
    boost::system::error_code ec;
    *page = json::parse(body, ec);
    if (ec || !page->is_object()) co_return Outcome::Failed("LIST: response is not a JSON object");
    co_return std::nullopt;
  }

  void ReplacePods(PodListing listing) {
    const bool relisted = pods_.listed();
    const std::uint64_t vanished = pods_.Replace(std::move(listing));
    if (relisted) Count(&WatcherStats::synthesized_deletes, vanished);
    need_list_ = false;
    Count(&WatcherStats::lists);
    spdlog::info("kube: listed {} pods at resourceVersion {} ({} gone since the last list)",
                 pods_.pods().size(), pods_.resource_version(), vanished);
    Emit();
  }

  asio::awaitable<Outcome> Watch() {
    ApiStream stream(strand_, server_, tls_);
    const auto timeout = RandomWatchTimeout();
    const auto started = Clock::now();
    auto failed =
        co_await Open(stream, WatchTarget(timeout), started + timeout + options_.watch_grace);
    if (!failed) {
      Count(&WatcherStats::watches);
      failed = co_await Consume(stream, started);
    }
    stream_ = nullptr;
    co_return failed ? *failed : Outcome::Ok();
  }

  asio::awaitable<std::optional<Outcome>> Consume(ApiStream& stream, Clock::time_point started) {
    WatchDecoder decoder(options_.max_event_bytes);
    std::string piece;
    bool got_events = false;
    for (bool done = false; !done;) {
      if (auto error = co_await stream.ReadSome(&piece, &done); !error.empty()) {
        co_return Outcome::Failed(error);
      }
      std::vector<WatchEvent> events;
      const bool ok = decoder.Feed(piece, &events) && (!done || decoder.Finish(&events));
      // Bookmarks do not count: a proxy that cuts every watch right after one would otherwise
      // make the watcher re-watch at once, forever (a hot loop against the API server).
      for (const auto& event : events) got_events |= event.type != EventType::kBookmark;
      if (auto stop = ApplyAll(events)) co_return stop;
      if (!ok) co_return Outcome::Failed("malformed watch stream: " + decoder.error());
    }
    if (!got_events && Clock::now() - started < kMinHealthyWatch) {
      co_return Outcome::Failed("watch ended at once without events");
    }
    progressed_ = true;
    co_return std::nullopt;
  }

  // Applies a batch and emits once if the pod set changed; an ERROR event ends the batch.
  std::optional<Outcome> ApplyAll(const std::vector<WatchEvent>& events) {
    bool changed = false;
    std::optional<Outcome> stop;
    for (const auto& event : events) {
      if (event.type != EventType::kError) progressed_ = true;
      stop = Apply(event, &changed);
      if (stop) break;
    }
    if (changed) Emit();
    return stop;
  }

  std::optional<Outcome> Apply(const WatchEvent& event, bool* changed) {
    if (event.type == EventType::kError) {
      const int code = StatusCode(event.object);
      return Outcome::FromStatus(code, std::nullopt,
                                 "in watch stream: " + StatusText(event.object));
    }
    const EventEffect effect = pods_.Apply(event);
    Count(event.type == EventType::kBookmark ? &WatcherStats::bookmarks : &WatcherStats::events);
    if (effect.bad_pod) Count(&WatcherStats::bad_pods);
    *changed = effect.changed || *changed;
    return std::nullopt;
  }

  void Emit() {
    try {
      on_pods_(pods_.pods(), true);
    } catch (const std::exception& e) {
      spdlog::error("kube: pods callback failed: {}", e.what());
    }
  }

  asio::awaitable<void> React(const Outcome& outcome) {
    using Kind = Outcome::Kind;
    if (outcome.kind == Kind::kOk) {
      failures_ = 0;
      unauthorized_retried_ = false;
      if (progressed_) gone_streak_ = 0;
      progressed_ = false;
      co_return;
    }
    if (outcome.kind == Kind::kGone) {
      co_await OnGone(outcome);
      co_return;
    }
    Count(&WatcherStats::errors);
    spdlog::warn("kube: {} failed: {}", need_list_ ? "LIST" : "WATCH", outcome.error);
    if (outcome.kind == Kind::kUnauthorized) {
      Count(&WatcherStats::unauthorized);
      tokens_.Invalidate();
      if (!unauthorized_retried_) {  // the token may have rotated: one immediate retry
        unauthorized_retried_ = true;
        co_return;
      }
    }
    if (outcome.kind == Kind::kThrottled) Count(&WatcherStats::throttled);
    if (outcome.kind == Kind::kThrottled && outcome.retry_after) {
      co_await Sleep(std::min<seconds>(*outcome.retry_after, options_.max_retry_after));
      co_return;
    }
    co_await Sleep(NextBackoff());
  }

  // 410: our version is older than the server's watch cache. Re-listing right away is what the
  // server asks for; only a second 410 with no progress in between backs off.
  asio::awaitable<void> OnGone(const Outcome& outcome) {
    Count(&WatcherStats::relists_410);
    spdlog::info("kube: resourceVersion {} expired ({}), re-listing", pods_.resource_version(),
                 outcome.error);
    need_list_ = true;
    if (progressed_) gone_streak_ = 0;
    progressed_ = false;
    if (++gone_streak_ > 1) co_await Sleep(NextBackoff());
  }

  // Exponential backoff with "equal jitter": half the step is fixed, half random, so retries
  // spread out but never collapse to zero.
  milliseconds NextBackoff() {
    const auto cap = options_.backoff_max.count();
    const auto step =
        std::min<long long>(cap, options_.backoff_initial.count() << std::min(failures_, 20));
    ++failures_;
    const auto jitter = std::uniform_int_distribution<long long>(0, step / 2)(random_);
    return milliseconds(step - step / 2 + jitter);
  }

  asio::awaitable<void> Sleep(milliseconds delay) {
    Count(&WatcherStats::backoffs);
    timer_.expires_after(delay);
    co_await timer_.async_wait(kNoThrow);
  }

  asio::strand<asio::any_io_executor> strand_;
  ApiConfig api_;
  WatcherOptions options_;
  PodsCallback on_pods_;
  TokenSource tokens_;
  asio::steady_timer timer_;
  std::mt19937_64 random_;
  http::Url server_;
  std::shared_ptr<asio::ssl::context> tls_;
  ApiStream* stream_ = nullptr;  // the request in flight, for Stop()
  bool stopping_ = false;        // strand-only, like everything below
  bool need_list_ = true;
  bool progressed_ = false;  // an event or bookmark arrived since the last React()
  bool unauthorized_retried_ = false;
  int failures_ = 0;
  int gone_streak_ = 0;
  PodSet pods_;  // with the resourceVersion to watch from
  mutable std::mutex stats_mu_;
  WatcherStats stats_;
};

PodWatcher::PodWatcher(boost::asio::any_io_executor executor, ApiConfig api, WatcherOptions options,
                       PodsCallback on_pods)
    : loop_(std::make_unique<Loop>(std::move(executor), std::move(api), std::move(options),
                                   std::move(on_pods))) {}

PodWatcher::~PodWatcher() = default;

bool PodWatcher::Start(std::string* error) {
  if (!loop_->Init(error)) return false;
  asio::co_spawn(loop_->strand(), loop_->Run(), [this](std::exception_ptr failure) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        spdlog::error("kube: pod watcher stopped by an internal error: {}", e.what());
      }
    }
    done_ = true;
  });
  return true;
}

void PodWatcher::Stop() { loop_->Stop(); }

WatcherStats PodWatcher::stats() const { return loop_->stats(); }

}  // namespace expvar::discovery::kube
