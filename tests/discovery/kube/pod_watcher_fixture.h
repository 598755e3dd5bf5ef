// The PodWatcher fixture shared by pod_watcher_test.cc and api_fault_test.cc: one watcher on
// its own io_context thread against the in-test API server, recording every snapshot.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "discovery/kube/pod_watcher.h"
#include "fake_api_server.h"
#include "test_util.h"

namespace expvar::discovery::kube {

using pipeline::Pod;

using namespace std::chrono_literals;
using testing::FakeApiOptions;
using testing::FakeApiServer;
using testing::GoneMode;
using testing::RecordedRequest;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;
using Snapshot = std::map<std::string, Pod>;

inline bool IsList(const RecordedRequest& r) { return r.path.ends_with("/pods") && !r.IsWatch(); }
inline bool IsWatch(const RecordedRequest& r) { return r.path.ends_with("/pods") && r.IsWatch(); }

// Runs one PodWatcher on its own io_context thread and records every snapshot it emits.
class PodWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.path() + "/token";
    WriteFile(token_file_, "test-token\n");
    options_.node_name = "n1";
    // Short enough that tests see stream ends, backoffs and retries within seconds.
    options_.min_watch_timeout = 30s;
    options_.max_watch_timeout = 30s;
    options_.backoff_initial = 50ms;
    options_.backoff_max = 200ms;
    options_.request_timeout = 2s;
    options_.seed = 7;
  }

  void TearDown() override { StopWatcher(); }

  void StartWatcher(std::string server = "") {
    ApiConfig api{server.empty() ? server_->Url() : server, token_file_, ca_file_, false};
    watcher_ = std::make_unique<PodWatcher>(io_.get_executor(), api, options_,
                                            [this](const Snapshot& pods, bool synced) {
                                              std::lock_guard lock(mu_);
                                              snapshots_.push_back(pods);
                                              all_synced_ = all_synced_ && synced;
                                            });
    std::string error;
    ASSERT_TRUE(watcher_->Start(&error)) << error;
    thread_ = std::thread([this] { io_.run(); });
  }

  // Stop() must end the loop promptly whatever the server is doing.
  void StopWatcher() {
    if (!watcher_ || !thread_.joinable()) return;
    const auto start = std::chrono::steady_clock::now();
    watcher_->Stop();
    EXPECT_TRUE(WaitFor([&] { return watcher_->done(); }, 5s)) << "Stop() did not end the loop";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
    io_.stop();
    thread_.join();
    watcher_.reset();
  }

  std::size_t SnapshotCount() {
    std::lock_guard lock(mu_);
    return snapshots_.size();
  }

  Snapshot Last() {
    std::lock_guard lock(mu_);
    return snapshots_.empty() ? Snapshot() : snapshots_.back();
  }

  bool LastHasNames(const std::set<std::string>& names) {
    std::set<std::string> seen;
    for (const auto& [uid, pod] : Last()) seen.insert(pod.name);
    return seen == names;
  }

  bool WaitForNames(const std::set<std::string>& names, std::chrono::milliseconds timeout = 5s) {
    return WaitFor([&] { return LastHasNames(names); }, timeout);
  }

  std::vector<RecordedRequest> Watches() {
    std::vector<RecordedRequest> out;
    for (const auto& r : server_->Requests()) {
      if (IsWatch(r)) out.push_back(r);
    }
    return out;
  }

  // Waits for the (n+1)th watch request, which means n watches were opened before it.
  bool WaitForWatchCount(int n) {
    return WaitFor([&] { return static_cast<int>(Watches().size()) >= n; });
  }

  void AddPods(int n, const std::string& node, const std::string& prefix = "p") {
    for (int i = 0; i < n; ++i) {
      server_->AddPod(FakeApiServer::MakePod("ns", prefix + std::to_string(i), node));
    }
  }

  TempDir dir_;
  std::string token_file_;
  std::string ca_file_;
  std::unique_ptr<FakeApiServer> server_ = std::make_unique<FakeApiServer>();
  WatcherOptions options_;
  boost::asio::io_context io_;
  std::thread thread_;
  std::unique_ptr<PodWatcher> watcher_;
  std::mutex mu_;
  std::vector<Snapshot> snapshots_;
  bool all_synced_ = true;
};

}  // namespace expvar::discovery::kube
