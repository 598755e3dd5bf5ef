#include "schedule/worker.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace expvar::schedule {

using pipeline::ScrapeOutcome;
using pipeline::ScrapeResult;
using pipeline::TargetSpec;

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::uint64_t Fnv1a(const std::string& text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

http::Url ParsedUrl(const std::string& url) {
  std::string error;
  auto parsed = http::ParseUrl(url, &error);
  if (!parsed) throw std::invalid_argument("invalid expvar_url: " + error);
  return *parsed;
}

// The first tick strictly after `now` on this target's grid (phase + k * interval).
Clock::time_point NextOnGrid(Clock::time_point now, milliseconds phase, milliseconds interval) {
  auto since_epoch = now.time_since_epoch() - phase;
  auto periods = since_epoch / interval + 1;
  return Clock::time_point(phase + periods * interval);
}

std::size_t ReportedSeries(const check::Result& result) {
  std::size_t count = 0;
  for (const auto& reading : result.readings) count += reading.report.has_value();
  return count + (result.pauses.pauses_ns.empty() ? 0 : 1);
}

}  // namespace

http::ClientOptions ClientOptionsFor(const pipeline::Instance& instance,
                                     std::optional<milliseconds> interval) {
  http::ClientOptions options;
  options.timeout = interval ? std::min(instance.timeout, *interval * 9 / 10) : instance.timeout;
  options.max_body_bytes = instance.max_body_bytes;
  options.username = instance.username;
  options.password = instance.password;
  options.headers = instance.headers;
  options.tls_verify = instance.tls.verify;
  options.tls_ca_cert = instance.tls.ca_cert;
  options.tls_cert = instance.tls.cert;
  options.tls_private_key = instance.tls.private_key;
  return options;
}

namespace {

http::ClientOptions ClientOptionsWithBudget(const pipeline::Instance& instance,
                                            std::optional<milliseconds> interval,
                                            std::shared_ptr<http::BodyBudget> budget) {
  http::ClientOptions options = ClientOptionsFor(instance, interval);
  options.body_budget = std::move(budget);
  return options;
}

}  // namespace

http::Url FetchUrl(const check::Plan& plan, const pipeline::Instance& instance) {
  http::Url url = ParsedUrl(plan.url);
  std::string error;
  if (auto raw = http::ParseUrl(instance.expvar_url, &error)) url.userinfo = raw->userinfo;
  return url;
}

milliseconds PhaseOf(const std::string& id, milliseconds interval) {
  if (interval.count() <= 0) return milliseconds(0);
  return milliseconds(Fnv1a(id) % static_cast<std::uint64_t>(interval.count()));
}

Worker::Worker(asio::io_context& io, std::string id, const TargetSpec& spec, milliseconds interval,
               milliseconds first_delay, WorkerDeps deps)
    : strand_(asio::make_strand(io)),
      id_(std::move(id)),
      plan_(check::Compile(spec.instance)),
      entity_(std::make_shared<const pipeline::Entity>(spec.entity)),
      client_(strand_, FetchUrl(plan_, spec.instance),
              ClientOptionsWithBudget(spec.instance, interval, deps.body_budget)),
      interval_(interval),
      first_delay_(first_delay),
      deps_(std::move(deps)),
      timer_(strand_) {
  status_.id = id_;
  status_.url = plan_.url;
  status_.source = spec.source;
  status_.interval = interval_;
}

void Worker::Start() {
  asio::co_spawn(
      strand_, [self = shared_from_this()] { return self->Loop(); }, asio::detached);
}

void Worker::Stop() {
  asio::post(strand_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timer_.cancel();
    self->client_.Close();
    for (auto* sink : self->deps_.sinks) sink->Forget(self->id_);
  });
}

void Worker::SetSource(std::string source) {
  std::lock_guard lock(status_mutex_);
  status_.source = std::move(source);
}

TargetStatus Worker::Status() const {
  std::lock_guard lock(status_mutex_);
  return status_;
}

asio::awaitable<void> Worker::Loop() {
  const milliseconds phase = PhaseOf(id_, interval_);
  Clock::time_point next = Clock::now() + first_delay_;
  while (!stopped_) {
    timer_.expires_at(next);
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopped_) break;
    co_await ScrapeOnce();
    Clock::time_point after = Clock::now();
    Clock::time_point planned = NextOnGrid(next, phase, interval_);
    next = NextOnGrid(after, phase, interval_);
    // Ticks that passed while the scrape ran are counted, never queued.
    if (auto late = static_cast<std::size_t>((next - planned) / interval_); late > 0) {
      {
        std::lock_guard lock(status_mutex_);
        status_.late_ticks += late;
      }
      if (deps_.observer) deps_.observer->OnLateTicks(late);
    }
  }
}

asio::awaitable<void> Worker::ScrapeOnce() {
  Clock::time_point start = Clock::now();
  http::FetchResult fetched = co_await client_.Get();
  if (stopped_) co_return;
  ScrapeOutcome outcome;
  outcome.bytes = fetched.bytes_read;
  if (!fetched.ok) {
    outcome.result = ScrapeResult::kFetchError;
    outcome.duration = Clock::now() - start;
    Fail("fetch failed: " + fetched.error, outcome);
    co_return;
  }
  check::Result result =
      check::Run(plan_, fetched.body, state_, Seconds(Clock::now().time_since_epoch()));
  outcome.duration = Clock::now() - start;
  if (!result.ok) {
    outcome.result = ScrapeResult::kParseError;
    Fail("invalid document: " + result.error, outcome);
    co_return;
  }
  RecordWarnings(result.document_errors);
  for (const auto& note : result.notes) spdlog::debug("{}: {}", plan_.url, note);
  outcome.series = ReportedSeries(result);
  outcome.dropped_by_cap = result.dropped_by_cap;
  std::size_t series = result.readings.size();
  last_success_ = std::chrono::system_clock::now();
  Publish(&result, {true, "", outcome.duration.count(), last_success_});
  Record("", outcome, series);
}

void Worker::Fail(const std::string& error, ScrapeOutcome outcome) {
  Publish(nullptr, {false, error, outcome.duration.count(), last_success_});
  Record(error, outcome, 0);
}

void Worker::Publish(check::Result* result, pipeline::ScrapeHealth health) {
  auto snapshot = std::make_shared<pipeline::ScrapeSnapshot>();
  snapshot->target_id = id_;
  snapshot->url = plan_.url;
  snapshot->metric_namespace = plan_.metric_namespace;
  snapshot->time = std::chrono::system_clock::now();
  if (result) {
    snapshot->readings = std::move(result->readings);
    snapshot->pauses_ns = std::move(result->pauses.pauses_ns);
  }
  snapshot->pause_metric_name = plan_.pause_metric_name;
  snapshot->pause_tags = plan_.base_tags;
  snapshot->entity = entity_;
  snapshot->health = std::move(health);
  pipeline::SnapshotPtr shared = std::move(snapshot);
  for (auto* sink : deps_.sinks) sink->Publish(shared);
}

void Worker::RecordWarnings(const std::vector<std::string>& document_errors) {
  std::string warning;
  if (!document_errors.empty()) {
    warning = document_errors.front();
    if (document_errors.size() > 1) {
      warning += " (and " + std::to_string(document_errors.size() - 1) + " more)";
    }
  }
  {
    std::lock_guard lock(status_mutex_);
    if (status_.last_warning == warning) return;
    status_.last_warning = warning;
  }
  if (!warning.empty()) spdlog::warn("target {}: {}", plan_.url, warning);
}

// Updates the status and logs only when the target changes between up and down.
void Worker::Record(const std::string& error, ScrapeOutcome outcome, std::size_t series) {
  if (deps_.observer) deps_.observer->OnScrape(outcome);
  TargetHealth before;
  TargetHealth after = error.empty() ? TargetHealth::kUp : TargetHealth::kDown;
  {
    std::lock_guard lock(status_mutex_);
    before = status_.health;
    status_.health = after;
    status_.last_scrape = std::chrono::system_clock::now();
    status_.last_duration_seconds = outcome.duration.count();
    status_.last_error = error;
    status_.scrapes++;
    if (!error.empty()) status_.failures++;
    if (error.empty()) status_.series = series;
  }
  if (before == after) return;
  if (after == TargetHealth::kUp) {
    spdlog::info("target {} is up ({} series){}", plan_.url, series,
                 before == TargetHealth::kDown ? ", recovered" : "");
  } else {
    spdlog::warn("target {} is down: {}", plan_.url, error);
  }
}

}  // namespace expvar::schedule
