// Scrapes one target on its own schedule and publishes each result to the sinks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "check/check.h"
#include "http/client.h"
#include "pipeline/observer.h"
#include "pipeline/sink.h"
#include "pipeline/target.h"

namespace expvar::schedule {

enum class TargetHealth { kPending, kUp, kDown };

struct TargetStatus {
  std::string id;
  std::string url;
  std::string source;
  std::chrono::milliseconds interval{0};
  TargetHealth health = TargetHealth::kPending;
  std::optional<std::chrono::system_clock::time_point> last_scrape;
  double last_duration_seconds = 0;
  std::string last_error;
  std::string last_warning;  // what the last good scrape had to skip (document errors)
  std::size_t series = 0;
  std::uint64_t scrapes = 0;
  std::uint64_t failures = 0;
  std::uint64_t late_ticks = 0;
};

// The offset of a target inside its interval, from a hash of its id, so that thousands of
// targets spread evenly instead of firing together.
std::chrono::milliseconds PhaseOf(const std::string& id, std::chrono::milliseconds interval);

// The HTTP settings of an instance. The timeout is capped below `interval` (when given) so a
// scrape always ends before the next tick.
http::ClientOptions ClientOptionsFor(const pipeline::Instance& instance,
                                     std::optional<std::chrono::milliseconds> interval);

// The URL to fetch: the plan's URL (which never carries credentials, since it is shown in tags,
// logs and /status) plus the userinfo of expvar_url, which the client sends as basic auth.
// Throws std::invalid_argument for an invalid URL.
http::Url FetchUrl(const check::Plan& plan, const pipeline::Instance& instance);

struct WorkerDeps {
  std::vector<pipeline::Sink*> sinks;
  pipeline::ScrapeObserver* observer = nullptr;
  std::shared_ptr<http::BodyBudget> body_budget;  // shared by every target; may be null
};

class Worker : public std::enable_shared_from_this<Worker> {
 public:
  // Throws std::invalid_argument when the instance cannot be compiled (bad URL).
  Worker(boost::asio::io_context& io, std::string id, const pipeline::TargetSpec& spec,
         std::chrono::milliseconds interval, std::chrono::milliseconds first_delay,
         WorkerDeps deps);

  void Start();
  // The io_context whose thread runs this worker.
  boost::asio::io_context& Context() const { return strand_.get_inner_executor().context(); }
  // Stops scraping; once the strand has run the stop, no further Publish happens and the sinks
  // have forgotten this target.
  void Stop();
  TargetStatus Status() const;
  // Metric items the plan dropped while compiling (a bad regex), for /status and the log.
  const std::vector<std::string>& PlanWarnings() const { return plan_.warnings; }
  void SetSource(std::string source);

 private:
  boost::asio::awaitable<void> Loop();
  boost::asio::awaitable<void> ScrapeOnce();
  void Record(const std::string& error, pipeline::ScrapeOutcome outcome, std::size_t series);
  // A failed scrape: published as health only, then recorded.
  void Fail(const std::string& error, pipeline::ScrapeOutcome outcome);
  // Shows a good scrape's document errors on /status; logs them when they change.
  void RecordWarnings(const std::vector<std::string>& document_errors);
  // Hands the scrape to every sink: the readings of a good one, or only the health of a failed
  // one (`result` null).
  void Publish(check::Result* result, pipeline::ScrapeHealth health);

  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  std::string id_;
  check::Plan plan_;
  std::shared_ptr<const pipeline::Entity> entity_;  // shared by every snapshot
  http::Client client_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds first_delay_;
  WorkerDeps deps_;
  boost::asio::steady_timer timer_;
  check::State state_;
  bool stopped_ = false;                                               // touched only on strand_
  std::optional<std::chrono::system_clock::time_point> last_success_;  // only on strand_

  mutable std::mutex status_mutex_;
  TargetStatus status_;
};

}  // namespace expvar::schedule
