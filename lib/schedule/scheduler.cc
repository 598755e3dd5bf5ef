#include "schedule/scheduler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <stdexcept>

#include "schedule/instance_digest.h"
#include "schedule/worker.h"

namespace expvar::schedule {

using pipeline::ScrapeObserver;
using pipeline::SourceError;
using pipeline::TargetSpec;

namespace {

using std::chrono::milliseconds;

std::string Iso8601(std::chrono::system_clock::time_point time) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  auto millis = std::chrono::duration_cast<milliseconds>(time.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char buffer[40];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buffer, static_cast<int>(millis));
  return out;
}

std::string_view HealthName(TargetHealth health) {
  switch (health) {
    case TargetHealth::kUp:
      return "up";
    case TargetHealth::kDown:
      return "down";
    default:
      return "pending";
  }
}

boost::json::object StatusObject(const TargetStatus& s) {
  boost::json::object o;
  o["id"] = s.id;
  o["url"] = s.url;
  o["source"] = s.source;
  o["interval_seconds"] = std::chrono::duration<double>(s.interval).count();
  o["health"] = HealthName(s.health);
  o["last_scrape"] = s.last_scrape ? boost::json::value(Iso8601(*s.last_scrape)) : nullptr;
  o["last_duration_seconds"] = s.last_duration_seconds;
  o["last_error"] = s.last_error;
  if (!s.last_warning.empty()) o["last_warning"] = s.last_warning;
  o["series"] = s.series;
  o["scrapes"] = s.scrapes;
  o["failures"] = s.failures;
  o["late_ticks"] = s.late_ticks;
  return o;
}

milliseconds IntervalOf(const pipeline::Instance& instance, milliseconds fallback) {
  milliseconds interval = instance.min_collection_interval.value_or(fallback);
  return interval.count() > 0 ? interval : fallback;
}

}  // namespace

Scheduler::Scheduler(boost::asio::io_context& io, std::vector<pipeline::Sink*> sinks,
                     ScrapeObserver* observer, SchedulerOptions options)
    : Scheduler(std::vector<boost::asio::io_context*>{&io}, std::move(sinks), observer,
                std::move(options)) {}

Scheduler::Scheduler(std::vector<boost::asio::io_context*> contexts,
                     std::vector<pipeline::Sink*> sinks, ScrapeObserver* observer,
                     SchedulerOptions options)
    : contexts_(std::move(contexts)),
      sinks_(std::move(sinks)),
      observer_(observer),
      options_(options) {
  if (contexts_.empty()) throw std::invalid_argument("scheduler: no io_context");
}

boost::asio::io_context& Scheduler::LeastLoaded() const {
  return **std::min_element(contexts_.begin(), contexts_.end(),
                            [this](boost::asio::io_context* a, boost::asio::io_context* b) {
                              auto load = [this](boost::asio::io_context* c) {
                                auto it = load_.find(c);
                                return it == load_.end() ? 0 : it->second;
                              };
                              return load(a) < load(b);
                            });
}

Scheduler::~Scheduler() { StopAll(); }

void Scheduler::Apply(const std::vector<TargetSpec>& desired, std::vector<SourceError> errors) {
  std::lock_guard lock(mutex_);
  source_errors_ = std::move(errors);
  std::map<std::string, const TargetSpec*> wanted;
  for (const auto& spec : desired) {
    // Identical instances from two sources are one target: scraping it twice would double-count.
    wanted.emplace(InstanceDigest(spec.instance), &spec);
  }
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (wanted.count(it->first)) {
      ++it;
      continue;
    }
    spdlog::info("target {} removed", it->second->Status().url);
    --load_[&it->second->Context()];
    it->second->Stop();
    it = workers_.erase(it);
  }
  const milliseconds batch_window = FirstScrapeWindow(wanted);
  for (const auto& [digest, spec] : wanted) {
    if (auto running = workers_.find(digest); running != workers_.end()) {
      running->second->SetSource(spec->source);
      continue;
    }
    milliseconds interval = IntervalOf(spec->instance, options_.default_interval);
    milliseconds window = std::min(batch_window, interval);
    try {
      boost::asio::io_context& context = LeastLoaded();
      auto worker =
          std::make_shared<Worker>(context, digest, *spec, interval, PhaseOf(digest, window),
                                   WorkerDeps{sinks_, observer_, options_.body_budget});
      worker->Start();
      ++load_[&context];
      spdlog::info("target {} added from {} (every {} ms)", worker->Status().url, spec->source,
                   interval.count());
      workers_.emplace(digest, std::move(worker));
    } catch (const std::invalid_argument& e) {
      source_errors_.push_back({spec->source, e.what()});
    }
  }
  CollectAndLogErrors();
  if (observer_) observer_->OnTargetCount(workers_.size());
}

void Scheduler::CollectAndLogErrors() {
  for (const auto& [digest, worker] : workers_) {
    const auto& warnings = worker->PlanWarnings();
    if (warnings.empty()) continue;
    std::string source = worker->Status().source;
    for (const auto& warning : warnings) source_errors_.push_back({source, warning});
  }
  std::set<std::pair<std::string, std::string>> current;
  std::map<std::string_view, std::size_t> new_by_kind;
  for (const auto& e : source_errors_) {
    auto key = std::make_pair(e.source, e.message);
    if (!logged_errors_.count(key)) {
      spdlog::warn("{}: {}", e.source, e.message);
      ++new_by_kind[pipeline::SourceKindOf(e.source)];
    }
    current.insert(std::move(key));
  }
  logged_errors_ = std::move(current);
  if (!observer_) return;
  for (const auto& [kind, count] : new_by_kind) observer_->OnConfigErrors(kind, count);
}

// The first scrapes of a batch of new targets are spread at most kFirstScrapesPerMillisecond a
// millisecond, within first_scrape_window: the 10,000 targets of a start take ten seconds
// rather than all firing at once, and the one target of a new pod is scraped at once (a fixed
// window alone put its first scrape up to a second after the pod event). One a millisecond is
// well under what two I/O threads scrape (~5,000 a second), so a start's documents are not all
// in memory at once: at ten a millisecond 1,800 of 4,000 were in flight together, and the peak
// stayed in RSS as fragmentation long after.
milliseconds Scheduler::FirstScrapeWindow(
    const std::map<std::string, const TargetSpec*>& wanted) const {
  constexpr std::size_t kFirstScrapesPerMillisecond = 1;
  std::size_t added = 0;
  for (const auto& entry : wanted) added += workers_.count(entry.first) == 0 ? 1 : 0;
  return std::min(options_.first_scrape_window,
                  milliseconds(static_cast<long>(added / kFirstScrapesPerMillisecond)));
}

void Scheduler::StopAll() {
  std::lock_guard lock(mutex_);
  for (auto& [digest, worker] : workers_) worker->Stop();
  workers_.clear();
  load_.clear();
  if (observer_) observer_->OnTargetCount(0);
}

std::size_t Scheduler::TargetCount() const {
  std::lock_guard lock(mutex_);
  return workers_.size();
}

std::string Scheduler::StatusJson() const {
  boost::json::array targets;
  boost::json::array errors;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [digest, worker] : workers_) targets.push_back(StatusObject(worker->Status()));
    for (const auto& e : source_errors_) {
      errors.push_back(boost::json::object{{"source", e.source}, {"error", e.message}});
    }
  }
  boost::json::object root{{"targets", std::move(targets)}, {"errors", std::move(errors)}};
  return boost::json::serialize(root);
}

}  // namespace expvar::schedule
