#include "cli/run_command.h"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "admin/self_metrics.h"
#include "admin/server.h"
#include "cli/kube_setup.h"
#include "common/environment.h"
#include "discovery/confd.h"
#include "discovery/kube/event_recorder.h"
#include "discovery/kube/pod_watcher.h"
#include "discovery/pod_targets.h"
#include "discovery/podinfo.h"
#include "http/body_budget.h"
#include "schedule/scheduler.h"
#include "sink/registry.h"

namespace expvar::cli {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// A small fixed pool: scrapes are I/O bound and the check is microseconds of CPU.
constexpr int kIoThreads = 2;

// Turns scheduler events into the collector's self-metrics.
class SelfMetricsObserver : public pipeline::ScrapeObserver {
 public:
  explicit SelfMetricsObserver(admin::SelfMetrics& metrics) : metrics_(metrics) {}

  void OnScrape(const pipeline::ScrapeOutcome& outcome) override {
    metrics_.Scrapes(ToAdmin(outcome.result)).Increment();
    metrics_.ScrapeDuration().Observe(outcome.duration.count());
    metrics_.ScrapedBytes().Increment(static_cast<double>(outcome.bytes));
    metrics_.SeriesEmitted().Increment(static_cast<double>(outcome.series));
    metrics_.SeriesDroppedMaxReturned().Increment(static_cast<double>(outcome.dropped_by_cap));
  }
  void OnLateTicks(std::size_t count) override {
    metrics_.LateTicks().Increment(static_cast<double>(count));
  }
  void OnTargetCount(std::size_t count) override {
    metrics_.Targets().Set(static_cast<double>(count));
  }
  void OnConfigErrors(std::string_view source_kind, std::size_t count) override {
    metrics_.ConfigErrors(source_kind).Increment(static_cast<double>(count));
  }

 private:
  static admin::ScrapeResult ToAdmin(pipeline::ScrapeResult result) {
    switch (result) {
      case pipeline::ScrapeResult::kOk:
        return admin::ScrapeResult::kOk;
      case pipeline::ScrapeResult::kFetchError:
        return admin::ScrapeResult::kFetchError;
      default:
        return admin::ScrapeResult::kParseError;
    }
  }
  admin::SelfMetrics& metrics_;
};

// The sinks the operator asked for; a sink that cannot be built is a usage error (exit 2).
std::vector<sink::BuiltSink> SinksFor(const RunOptions& options, asio::io_context& io) {
  sink::SinkContext context{io.get_executor(), {}, common::ProcessEnvironment, common::PathExists};
  context.settings.dogstatsd_url = options.dogstatsd_url;
  context.settings.tags = options.tags;
  if (!options.prometheus_label_tags.empty()) {
    context.settings.prometheus_label_tags = options.prometheus_label_tags;
  }
  context.settings.dogstatsd_flush_interval =
      options.dogstatsd_flush_seconds > 0 ? WholeMilliseconds(options.dogstatsd_flush_seconds)
                                          : std::chrono::milliseconds(0);
  try {
    return sink::BuiltinSinks().Build(context);
  } catch (const sink::SinkConfigError& e) {
    throw UsageError(e.what());
  }
}

std::vector<pipeline::Sink*> SinkPointers(const std::vector<sink::BuiltSink>& sinks) {
  std::vector<pipeline::Sink*> pointers;
  for (const auto& built : sinks) pointers.push_back(built.sink.get());
  return pointers;
}

// What /metrics serves: the self-metrics, then every sink's exposition.
common::ExpositionSources ExpositionSources(const admin::SelfMetrics& self_metrics,
                                            const std::vector<sink::BuiltSink>& sinks) {
  common::ExpositionSources sources{self_metrics.Exposition()};
  for (const auto& built : sinks) {
    sources.insert(sources.end(), built.exposition.begin(), built.exposition.end());
  }
  return sources;
}

std::string DescribeSinks(const std::vector<sink::BuiltSink>& sinks) {
  std::string text;
  for (const auto& built : sinks) text += (text.empty() ? "" : "; ") + built.description;
  return text;
}

admin::ServerOptions AdminOptionsFor(const RunOptions& options) {
  admin::ServerOptions admin;
  admin.listen = options.listen;
  if (options.web_config_file.empty()) return admin;
  try {
    admin.web = admin::LoadWebConfig(options.web_config_file);
  } catch (const admin::WebConfigError& e) {
    throw UsageError(std::string("--web-config-file: ") + e.what());
  }
  return admin;
}

// glibc keeps the memory of removed targets for reuse rather than returning it to the system, so
// RSS would stay at its peak after a large removal (measured: 253 MB left after all of 10,000
// targets were removed, 52 MB after a trim). A trim a few seconds after the target set shrank,
// once the stopped workers have finished, gives it back.
class HeapTrimmer {
 public:
  explicit HeapTrimmer(asio::io_context& io) : timer_(io) {}
  void Schedule() {
    timer_.expires_after(2s);
    timer_.async_wait([](boost::system::error_code ec) {
      if (!ec) malloc_trim(0);
    });
  }
  void Stop() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

// Re-reads the downward-API annotations file when it changes (the kubelet replaces it through
// a symlink swap, so the modification time and size are compared every two seconds).
class PodinfoFileWatcher {
 public:
  using Callback = std::function<void(discovery::ProviderResult)>;
  PodinfoFileWatcher(asio::io_context& io, const RunOptions& options, Callback callback)
      : timer_(io),
        path_(options.podinfo_annotations),
        name_(options.pod_name),
        namespace_(options.pod_namespace),
        callback_(std::move(callback)),
        targets_(PodTargetOptionsFor(options, "pod")) {}

  void Start() {
    Poll();
    timer_.expires_after(2s);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) Start();
    });
  }
  void Stop() { timer_.cancel(); }

 private:
  void Poll() {
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(path_, ec);
    auto size = ec ? 0 : std::filesystem::file_size(path_, ec);
    if (ec || (seen_ && mtime == mtime_ && size == size_)) return;
    seen_ = true;
    mtime_ = mtime;
    size_ = size;
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string error;
    auto annotations = discovery::ParseDownwardApiAnnotations(text.str(), &error);
    discovery::ProviderResult result;
    if (!annotations) {
      // Named as a pod source: the file holds the pod's own annotations (downward API).
      result.errors.push_back(
          {"pod " + namespace_ + "/" + name_ + " annotations file " + path_, error});
    } else {
      std::string pod_ip = targets_.sidecar_host;
      result = discovery::TargetsFromPods(
          {discovery::PodFromAnnotations(std::move(*annotations), name_, namespace_, pod_ip)},
          targets_);
    }
    spdlog::info("{}: {} instances, {} problems", path_, result.targets.size(),
                 result.errors.size());
    callback_(std::move(result));
  }

  asio::steady_timer timer_;
  std::string path_, name_, namespace_;
  Callback callback_;
  discovery::PodTargetOptions targets_;
  bool seen_ = false;
  std::filesystem::file_time_type mtime_;
  std::uintmax_t size_ = 0;
};

// Everything the daemon runs, wired in data-flow order: provider -> scheduler -> sinks.
class Daemon {
 public:
  Daemon(const RunOptions& options, const char* version)
      : options_(options),
        self_metrics_(version),
        sinks_(SinksFor(options, io_)),
        observer_(self_metrics_),
        scheduler_(WorkerContexts(), SinkPointers(sinks_), &observer_,
                   {WholeMilliseconds(options.interval_seconds), 1000ms,
                    std::make_shared<http::BodyBudget>(options.max_bodies_in_flight_bytes)}),
        server_(admin_io_, AdminOptionsFor(options), ExpositionSources(self_metrics_, sinks_),
                [this] { return scheduler_.StatusJson(); }),
        heap_trimmer_(io_),
        signals_(io_, SIGINT, SIGTERM, SIGHUP) {
    if (!options.confd.empty()) confd_.emplace(options.confd);
    std::string mode = EffectiveKubeMode(options);
    pod_options_ = PodTargetOptionsFor(options, mode);
    if (mode == "pod" && !options.podinfo_annotations.empty()) {
      podinfo_.emplace(io_, options,
                       [this](discovery::ProviderResult r) { OnPodinfo(std::move(r)); });
    }
    try {
      if (auto setup = KubeSetupFor(options)) {
        watcher_.emplace(io_.get_executor(), setup->api, setup->watcher,
                         [this](const auto& pods, bool) { OnPods(pods); });
        if (options.kube_events) {
          discovery::kube::EventRecorderOptions events;
          events.source.instance = mode == "pod" ? options.pod_name : options.node_name;
          events.source.host = options.node_name;
          events_.emplace(io_.get_executor(), setup->api, events);
        }
      }
    } catch (const UsageError& e) {
      if (!podinfo_) throw;
      // A sidecar without API access still has its own annotations in the downward-API file.
      spdlog::warn("{}; using {} only", e.what(), options.podinfo_annotations);
    }
  }

  int Run() {
    try {
      server_.Start();
    } catch (const admin::WebConfigError& e) {
      // Same shape as AdminOptionsFor's errors, whose text already starts with the file.
      throw UsageError("--web-config-file: " + options_.web_config_file + ": " + e.what());
    }
    spdlog::info("admin server on {} (port {}); {}", options_.listen, server_.BoundPort(),
                 DescribeSinks(sinks_));
    Reload();
    if (watcher_) {
      std::string error;
      if (!watcher_->Start(&error)) throw UsageError("kubernetes: " + error);
      if (events_ && !events_->Start(&error)) throw UsageError("kubernetes events: " + error);
    }
    if (podinfo_) podinfo_->Start();
    UpdateReadiness();
    WaitForSignal();
    auto admin_guard = asio::make_work_guard(admin_io_);
    std::thread admin_thread([this] { admin_io_.run(); });
    std::vector<std::thread> threads;
    for (auto& context : worker_io_) threads.emplace_back([&context] { context->run(); });
    io_.run();
    // The main context has drained (or the shutdown deadline stopped it): so do the others.
    worker_guards_.clear();
    for (auto& context : worker_io_) context->stop();
    for (auto& thread : threads) thread.join();
    // What the last scrapes published while the workers drained.
    for (const auto& built : sinks_) built.sink->Flush();
    server_.Stop();
    admin_guard.reset();
    admin_io_.stop();
    admin_thread.join();
    spdlog::info("stopped");
    return 0;
  }

 private:
  void Reload() {
    if (!confd_) {
      ApplyAll();
      return;
    }
    discovery::ProviderResult result = confd_->Load();
    spdlog::info("conf.d loaded: {} instances, {} problems", result.targets.size(),
                 result.errors.size());
    {
      std::lock_guard lock(providers_mutex_);
      confd_result_ = std::move(result);
    }
    ApplyAll();
  }

  // Runs on the watcher's strand after every change of the pod set.
  void OnPods(const std::map<std::string, pipeline::Pod>& pods) {
    std::vector<pipeline::Pod> list;
    list.reserve(pods.size());
    for (const auto& [uid, pod] : pods) list.push_back(pod);
    discovery::ProviderResult result =
        discovery::TargetsFromPods(list, pod_options_, &parse_cache_);
    std::map<std::string, std::string> uids;
    for (const auto& [uid, pod] : pods) uids[pod.namespace_name + "/" + pod.name] = uid;
    {
      std::lock_guard lock(providers_mutex_);
      pod_uids_ = std::move(uids);
      kube_result_ = std::move(result);
      kube_synced_ = true;
    }
    ApplyAll();
    UpdateReadiness();
  }

  void ApplyAll() {
    std::lock_guard lock(providers_mutex_);
    std::vector<pipeline::TargetSpec> targets = confd_result_.targets;
    targets.insert(targets.end(), kube_result_.targets.begin(), kube_result_.targets.end());
    std::vector<pipeline::SourceError> errors = confd_result_.errors;
    errors.insert(errors.end(), kube_result_.errors.begin(), kube_result_.errors.end());
    std::size_t count = targets.size();
    scheduler_.Apply(targets, std::move(errors));
    // Hands the pods' problems over; the recorder posts Events on its own time.
    if (events_) events_->Update(discovery::kube::PodProblemsFrom(kube_result_.errors, pod_uids_));
    if (count < applied_targets_) heap_trimmer_.Schedule();
    applied_targets_ = count;
  }

  // The downward-API file stands in for the API until the watcher has synced once.
  void OnPodinfo(discovery::ProviderResult result) {
    {
      std::lock_guard lock(providers_mutex_);
      podinfo_read_ = true;
      if (kube_synced_) return;
      kube_result_ = std::move(result);
    }
    ApplyAll();
    UpdateReadiness();
  }

  // Ready once every provider delivered its first complete view.
  void UpdateReadiness() {
    std::lock_guard lock(providers_mutex_);
    if (!watcher_ || kube_synced_ || podinfo_read_) server_.SetReady(true);
  }

  void WaitForSignal() {
    signals_.async_wait([this](boost::system::error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        spdlog::info("SIGHUP: reloading {}", options_.confd);
        Reload();
        WaitForSignal();
        return;
      }
      Shutdown(signal);
    });
  }

  // Stops accepting work and lets the io_context drain; nothing is left buffered in the sinks.
  void Shutdown(int signal) {
    spdlog::info("signal {}: stopping", signal);
    {
      std::lock_guard lock(providers_mutex_);
      heap_trimmer_.Stop();
    }
    if (watcher_) watcher_->Stop();
    if (events_) events_->Stop();
    if (podinfo_) podinfo_->Stop();
    scheduler_.StopAll();
    for (const auto& built : sinks_) built.sink->Flush();
    // Workers end as soon as their strands run the stop; bound the wait for in-flight work.
    auto deadline = std::make_shared<asio::steady_timer>(io_, 300ms);
    deadline->async_wait([this, deadline](boost::system::error_code) { io_.stop(); });
  }

  // The contexts workers are spread over: io_ (which also runs discovery, signals and the sinks'
  // timers, on the main thread) and one more per further I/O thread, each run by its own thread.
  std::vector<asio::io_context*> WorkerContexts() {
    std::vector<asio::io_context*> contexts{&io_};
    for (int i = 1; i < kIoThreads; ++i) {
      // Concurrency hint 1: one thread runs it, so asio can skip the locking a shared one needs.
      worker_io_.push_back(std::make_unique<asio::io_context>(1));
      worker_guards_.push_back(asio::make_work_guard(*worker_io_.back()));
      contexts.push_back(worker_io_.back().get());
    }
    return contexts;
  }

  RunOptions options_;
  asio::io_context io_;
  std::vector<std::unique_ptr<asio::io_context>> worker_io_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> worker_guards_;
  // The admin server has its own thread: rendering /metrics for thousands of targets takes
  // long enough that it must not hold up the scrape workers.
  asio::io_context admin_io_;
  admin::SelfMetrics self_metrics_;
  std::vector<sink::BuiltSink> sinks_;
  SelfMetricsObserver observer_;
  schedule::Scheduler scheduler_;
  admin::Server server_;
  HeapTrimmer heap_trimmer_;         // under providers_mutex_
  std::size_t applied_targets_ = 0;  // under providers_mutex_
  asio::signal_set signals_;
  std::optional<discovery::ConfdProvider> confd_;
  std::optional<discovery::kube::PodWatcher> watcher_;
  std::optional<discovery::kube::EventRecorder> events_;
  discovery::PodTargetOptions pod_options_;
  discovery::ParseCache parse_cache_;  // OnPods only (the watcher's strand)
  // The providers' latest results; the scheduler always gets their union.
  std::mutex providers_mutex_;
  discovery::ProviderResult confd_result_;
  discovery::ProviderResult kube_result_;
  std::map<std::string, std::string> pod_uids_;  // "<ns>/<name>" → uid, from the last pod set
  bool kube_synced_ = false;
  bool podinfo_read_ = false;
  std::optional<PodinfoFileWatcher> podinfo_;
};

}  // namespace

int RunDaemon(const RunOptions& options, const char* version) {
  spdlog::info("expvar-collector {} starting: {}", version, DescribeRunOptions(options));
  try {
    Daemon daemon(options, version);
    return daemon.Run();
  } catch (const UsageError& e) {
    spdlog::error("{}", e.what());
    return 2;
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    return 1;
  }
}

}  // namespace expvar::cli
