// What the scheduler reports about its scrapes, so that self-metrics can count them.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace expvar::pipeline {

enum class ScrapeResult { kOk, kFetchError, kParseError };

struct ScrapeOutcome {
  ScrapeResult result = ScrapeResult::kOk;
  std::chrono::duration<double> duration{0};
  std::size_t bytes = 0;
  std::size_t series = 0;          // values reported this scrape
  std::size_t dropped_by_cap = 0;  // values past max_returned_metrics
};

// Called from worker coroutines on any io_context thread: implementations must be thread-safe.
class ScrapeObserver {
 public:
  virtual ~ScrapeObserver() = default;
  virtual void OnScrape(const ScrapeOutcome& outcome) = 0;
  virtual void OnLateTicks(std::size_t count) = 0;
  virtual void OnTargetCount(std::size_t count) = 0;
  // `count` configuration problems appeared that were not there before ("confd" or
  // "annotation", see SourceKindOf): each is counted once, when it appears.
  virtual void OnConfigErrors(std::string_view source_kind, std::size_t count) = 0;
};

}  // namespace expvar::pipeline
