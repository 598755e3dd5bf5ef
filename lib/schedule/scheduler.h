// Keeps one scrape worker per desired target, starting and stopping them as the set changes.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "http/body_budget.h"
#include "pipeline/observer.h"
#include "pipeline/sink.h"
#include "pipeline/target.h"

namespace expvar::schedule {

class Worker;

struct SchedulerOptions {
  std::chrono::milliseconds default_interval{15'000};  // when an instance sets none
  // Newly added targets are first scraped within this window (jittered, shorter for small
  // batches: one target a millisecond, and never longer than a target's interval), then on
  // their phase.
  std::chrono::milliseconds first_scrape_window{30'000};
  // Response bodies held at once over all targets (null: no bound); see http::BodyBudget.
  std::shared_ptr<http::BodyBudget> body_budget;
};

class Scheduler {
 public:
  Scheduler(boost::asio::io_context& io, std::vector<pipeline::Sink*> sinks,
            pipeline::ScrapeObserver* observer, SchedulerOptions options);
  // Workers are spread over `contexts`, each run by one thread (Envoy's worker model): a
  // target's handlers always run on the same thread, so a scrape never wakes another thread
  // and never contends for its strand.
  Scheduler(std::vector<boost::asio::io_context*> contexts, std::vector<pipeline::Sink*> sinks,
            pipeline::ScrapeObserver* observer, SchedulerOptions options);
  ~Scheduler();

  // Replaces the desired set. Targets whose digest is unchanged keep running with their rate
  // state; the others are started or stopped, and a stopped target's series are forgotten.
  // `errors` are the providers' current problems; they replace the previous ones on /status.
  void Apply(const std::vector<pipeline::TargetSpec>& desired,
             std::vector<pipeline::SourceError> errors = {});

  // Stops every worker (their series are forgotten).
  void StopAll();

  std::size_t TargetCount() const;
  // JSON for /status: every target's health and every source error.
  std::string StatusJson() const;

 private:
  // Adds the running targets' plan warnings to source_errors_ and logs the errors that are new
  // since the last Apply: a problem is logged once when it appears, not at every sync.
  void CollectAndLogErrors();

  // How long the first scrapes of the wanted targets not yet running are spread over.
  std::chrono::milliseconds FirstScrapeWindow(
      const std::map<std::string, const pipeline::TargetSpec*>& wanted) const;

  // The context with the fewest workers, for a new one.
  boost::asio::io_context& LeastLoaded() const;

  std::vector<boost::asio::io_context*> contexts_;
  std::map<boost::asio::io_context*, std::size_t> load_;  // workers per context
  std::vector<pipeline::Sink*> sinks_;
  pipeline::ScrapeObserver* observer_;
  SchedulerOptions options_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Worker>> workers_;  // by digest
  std::vector<pipeline::SourceError> source_errors_;
  std::set<std::pair<std::string, std::string>> logged_errors_;  // (source, error) last Apply
};

}  // namespace expvar::schedule
