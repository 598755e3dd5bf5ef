// API-server faults that pod_watcher_test.cc does not cover: errors on the WATCH (after a good
// LIST), 429 without Retry-After, a connection cut in the middle of a LIST body, a server that
// never answers, a LIST that is not JSON, and watches that end at once after a bookmark. Each
// asserts a bound on the number of requests (no hot loop) and that the last pod set is kept.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <thread>

#include "discovery/kube/pod_watcher.h"
#include "fake_api_server.h"
#include "fault_server.h"
#include "test_util.h"

namespace expvar::discovery::kube {
namespace {

using namespace std::chrono_literals;
using expvar::testing::Fault;
using expvar::testing::FaultServer;
using testing::FakeApiOptions;
using testing::FakeApiServer;
using testing::RecordedRequest;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;
using Snapshot = std::map<std::string, Pod>;

bool IsList(const RecordedRequest& r) { return r.path.ends_with("/pods") && !r.IsWatch(); }
bool IsWatch(const RecordedRequest& r) { return r.path.ends_with("/pods") && r.IsWatch(); }

class ApiFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.path() + "/token";
    WriteFile(token_file_, "test-token\n");
    options_.node_name = "n1";
    options_.min_watch_timeout = 30s;
    options_.max_watch_timeout = 30s;
    options_.backoff_initial = 100ms;
    options_.backoff_max = 400ms;
    options_.request_timeout = 2s;
    options_.seed = 11;
  }
  void TearDown() override { Stop(); }

  void Start(const std::string& url) {
    ApiConfig api{url, token_file_, "", false};
    watcher_ = std::make_unique<PodWatcher>(io_.get_executor(), api, options_,
                                            [this](const Snapshot& pods, bool) {
                                              std::lock_guard lock(mu_);
                                              snapshots_.push_back(pods);
                                            });
    std::string error;
    ASSERT_TRUE(watcher_->Start(&error)) << error;
    thread_ = std::thread([this] { io_.run(); });
  }
  // Stop() must end the loop promptly whatever the server is doing.
  void Stop() {
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
  std::size_t LastSize() {
    std::lock_guard lock(mu_);
    return snapshots_.empty() ? 0 : snapshots_.back().size();
  }

  TempDir dir_;
  std::string token_file_;
  WatcherOptions options_;
  boost::asio::io_context io_;
  std::thread thread_;
  std::unique_ptr<PodWatcher> watcher_;
  std::mutex mu_;
  std::vector<Snapshot> snapshots_;
};

// Backoff steps 100, 200, 400, 400, ... ms, each at least half of itself: in 2 s at most ~10.
constexpr int kMaxRetriesIn2s = 14;

TEST_F(ApiFaultTest, WatchServerErrorsBackOffAndKeepThePods) {
  FakeApiServer server;
  server.AddPod(FakeApiServer::MakePod("ns", "p0", "n1"));
  Start(server.Url());
  ASSERT_TRUE(WaitFor([&] { return LastSize() == 1 && server.open_watches() == 1; }));
  const auto snapshots = SnapshotCount();
  server.FailNext(100000, 500);
  server.EndWatches();
  std::this_thread::sleep_for(2s);
  const int retries = server.CountRequests(IsWatch) + server.CountRequests(IsList) - 2;
  EXPECT_GE(retries, 3);
  EXPECT_LE(retries, kMaxRetriesIn2s);
  EXPECT_EQ(SnapshotCount(), snapshots) << "the pods must be kept while the API fails";
  server.FailNext(0, 0);
  EXPECT_TRUE(WaitFor([&] { return server.open_watches() == 1; }, 3s));
  EXPECT_EQ(LastSize(), 1u);
}

TEST_F(ApiFaultTest, TooManyRequestsWithoutRetryAfterBacksOff) {
  FakeApiServer server;
  server.AddPod(FakeApiServer::MakePod("ns", "p0", "n1"));
  server.FailNext(100000, 429);
  Start(server.Url());
  std::this_thread::sleep_for(2s);
  const int lists = server.CountRequests(IsList);
  EXPECT_GE(lists, 3);
  EXPECT_LE(lists, kMaxRetriesIn2s);
  EXPECT_GE(watcher_->stats().throttled, 3u);
  server.FailNext(0, 0);
  EXPECT_TRUE(WaitFor([&] { return LastSize() == 1; }, 3s));
}

// The connection drops halfway through a LIST body: an error, then a backoff, never a partial
// pod set.
TEST_F(ApiFaultTest, ListCutShortBacksOffAndEmitsNothing) {
  std::string list = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"5"},)"
                     R"("items":[)" +
                     boost::json::serialize(FakeApiServer::MakePod("ns", "p0", "n1")) + "]}";
  FaultServer server(Fault::kCloseMidBody, list);
  Start(server.Url(""));
  std::this_thread::sleep_for(2s);
  EXPECT_GE(server.requests(), 3);
  EXPECT_LE(server.requests(), kMaxRetriesIn2s);
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_GE(watcher_->stats().errors, 3u);
}

// 200 with a body that is not a pod list.
TEST_F(ApiFaultTest, ListThatIsNotJsonBacksOff) {
  FaultServer server(Fault::kServe, "<html>proxy error</html>");
  Start(server.Url(""));
  std::this_thread::sleep_for(2s);
  EXPECT_GE(server.requests(), 3);
  EXPECT_LE(server.requests(), kMaxRetriesIn2s);
  EXPECT_EQ(SnapshotCount(), 0u);
}

// The API accepts the connection and never answers: request_timeout ends each attempt, and
// Stop() does not wait for it.
TEST_F(ApiFaultTest, ServerThatNeverAnswersTimesOutAndStopsPromptly) {
  FaultServer server(Fault::kHang);
  options_.request_timeout = 300ms;
  Start(server.Url(""));
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().errors >= 2; }, 5s));
  EXPECT_LE(server.requests(), 4);
  EXPECT_EQ(SnapshotCount(), 0u);
  // Stop() while a request hangs (TearDown asserts it takes less than a second).
  ASSERT_TRUE(WaitFor([&] { return server.requests() >= 3; }, 5s));
}

// A proxy that cuts every watch right after the server's first bookmark: the watches make
// progress on paper, but re-watching at once would spin.
TEST_F(ApiFaultTest, WatchesEndingRightAfterABookmarkDoNotSpin) {
  FakeApiOptions fake;
  fake.bookmark_interval = 1ms;
  fake.max_watch_duration = 20ms;
  FakeApiServer server(fake);
  server.AddPod(FakeApiServer::MakePod("ns", "p0", "n1"));
  Start(server.Url());
  ASSERT_TRUE(WaitFor([&] { return LastSize() == 1; }));
  std::this_thread::sleep_for(2s);
  const int watches = server.CountRequests(IsWatch);
  EXPECT_GE(watches, 2);
  EXPECT_LE(watches, kMaxRetriesIn2s);
  EXPECT_EQ(LastSize(), 1u);
}

}  // namespace
}  // namespace expvar::discovery::kube
