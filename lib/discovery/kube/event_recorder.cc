#include "discovery/kube/event_recorder.h"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/serialize.hpp>
#include <deque>
#include <mutex>
#include <optional>

#include "discovery/kube/api_request.h"
#include "discovery/kube/api_stream.h"

namespace expvar::discovery::kube {

namespace asio = boost::asio;

class EventRecorder::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(asio::any_io_executor executor, ApiConfig api, EventRecorderOptions options)
      : strand_(asio::make_strand(executor)),
        api_(std::move(api)),
        options_(std::move(options)),
        planner_(options_.policy, options_.clock, options_.wall),
        tokens_(api_.token_file),
        timer_(strand_) {}

  bool Init(std::string* error) {
    auto url = http::ParseUrl(api_.server, error);
    if (!url) return false;
    auto tls = MakeApiTlsContext(*url, api_, error);
    if (url->scheme == "https" && !tls) return false;
    request_.emplace(strand_, std::move(*url), std::move(tls));
    asio::post(strand_, [self = shared_from_this()] { self->Arm(); });
    return true;
  }

  void Update(std::vector<PodProblem> problems) {
    {
      std::lock_guard lock(mu_);
      pending_ = std::move(problems);
      if (update_posted_) return;  // the posted handler takes the newest list
      update_posted_ = true;
    }
    asio::post(strand_, [self = shared_from_this()] {
      {
        std::lock_guard lock(self->mu_);
        self->latest_ = std::move(self->pending_);
        self->update_posted_ = false;
      }
      self->Replan();
    });
  }

  void Stop() {
    asio::post(strand_, [self = shared_from_this()] {
      self->stopping_ = true;
      self->queue_.clear();
      self->timer_.cancel();
      if (self->request_) self->request_->Cancel();
    });
  }

  EventRecorderStats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }

 private:
  // At most this many calls wait for the one in flight; the bucket keeps it far below.
  static constexpr std::size_t kMaxQueued = 256;

  void Arm() {
    if (stopping_) return;
    timer_.expires_after(options_.replan_interval);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping_) return;
      self->Replan();
      self->Arm();
    });
  }

  void Replan() {
    if (stopping_) return;
    std::vector<EventCall> calls = planner_.Plan(latest_);
    for (auto& call : calls) {
      if (queue_.size() >= kMaxQueued) {
        planner_.Report(call, EventPlanner::Result::kRetry);
        continue;
      }
      queue_.push_back(std::move(call));
    }
    {
      std::lock_guard lock(mu_);
      if (planner_.stats().dropped > stats_.dropped && stats_.dropped == 0) {
        spdlog::warn(
            "kubernetes events: more than {} a minute; the rest are dropped and counted (logged "
            "once)",
            options_.policy.events_per_minute);
      }
      stats_.dropped = planner_.stats().dropped;
    }
    if (!sending_ && !queue_.empty()) {
      sending_ = true;
      asio::co_spawn(strand_, Drain(shared_from_this()), asio::detached);
    }
  }

  // self keeps this object alive while the coroutine runs.
  asio::awaitable<void> Drain(std::shared_ptr<Impl> /*self*/) {
    while (!queue_.empty() && !stopping_) {
      EventCall call = std::move(queue_.front());
      queue_.pop_front();
      const bool create = call.kind == EventCall::Kind::kCreate;
      ApiRequestSpec spec;
      spec.token = tokens_.Get();
      spec.target = "/api/v1/namespaces/" + call.pod_namespace + "/events";
      if (create) {
        spec.method = "POST";
        spec.content_type = "application/json";
        spec.body = boost::json::serialize(EventBody(call, options_.source));
      } else {
        spec.method = "PATCH";
        spec.target += "/" + call.event_name;
        spec.content_type = "application/strategic-merge-patch+json";
        spec.body = boost::json::serialize(EventPatch(call));
      }
      const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
      ApiReply reply = co_await request_->Send(std::move(spec), deadline);
      planner_.Report(call, Judge(call, reply));
    }
    sending_ = false;
  }

  EventPlanner::Result Judge(const EventCall& call, const ApiReply& reply) {
    using Result = EventPlanner::Result;
    const bool create = call.kind == EventCall::Kind::kCreate;
    std::lock_guard lock(mu_);
    if (create && (reply.status == 200 || reply.status == 201)) {
      ++stats_.created;
      return Result::kDone;
    }
    if (create && reply.status == 409) {
      ++stats_.existed;
      return Result::kDone;
    }
    if (!create && reply.status == 200) {
      ++stats_.patched;
      return Result::kDone;
    }
    ++stats_.failed;
    const std::string what = create ? "creating" : "updating";
    const std::string why =
        reply.status == 0 ? reply.error : "HTTP " + std::to_string(reply.status);
    spdlog::debug("kubernetes events: {} event {}/{} failed: {}", what, call.pod_namespace,
                  call.event_name, why);
    if (reply.status == 403) {
      if (stats_.forbidden++ == 0) {
        spdlog::warn(
            "kubernetes events: the API refused to post an event (403); grant the service account "
            "`events: create, patch` in the pods' namespaces (RBAC), or run with "
            "--kube-events=false (logged once)");
      }
      return Result::kDone;  // tried again at the next count bump, not at every re-plan
    }
    if (reply.status == 401) tokens_.Invalidate();
    if (!create && reply.status == 404) return Result::kGone;  // expired: create it again
    // A request the server judged invalid would fail the same way again.
    if (reply.status == 400 || reply.status == 422) return Result::kDone;
    return Result::kRetry;
  }

  asio::strand<asio::any_io_executor> strand_;
  ApiConfig api_;
  EventRecorderOptions options_;
  // The rest is used on the strand only, but for what mu_ guards.
  EventPlanner planner_;
  TokenSource tokens_;
  asio::steady_timer timer_;
  std::optional<ApiRequest> request_;
  std::vector<PodProblem> latest_;
  std::deque<EventCall> queue_;
  bool sending_ = false;
  bool stopping_ = false;
  mutable std::mutex mu_;
  std::vector<PodProblem> pending_;  // under mu_
  bool update_posted_ = false;       // under mu_
  EventRecorderStats stats_;         // under mu_
};

EventRecorder::EventRecorder(boost::asio::any_io_executor executor, ApiConfig api,
                             EventRecorderOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(api), std::move(options))) {}

EventRecorder::~EventRecorder() { impl_->Stop(); }

bool EventRecorder::Start(std::string* error) { return impl_->Init(error); }

void EventRecorder::Update(std::vector<PodProblem> problems) { impl_->Update(std::move(problems)); }

void EventRecorder::Stop() { impl_->Stop(); }

EventRecorderStats EventRecorder::stats() const { return impl_->stats(); }

}  // namespace expvar::discovery::kube
