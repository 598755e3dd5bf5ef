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
#include "pod_watcher_fixture.h"
#include "test_util.h"

namespace expvar::discovery::kube {
namespace {

using expvar::testing::Fault;
using expvar::testing::FaultServer;

// The fault tests count retries, so they pin the backoff steps.
class ApiFaultTest : public PodWatcherTest {
 protected:
  void SetUp() override {
    PodWatcherTest::SetUp();
    options_.backoff_initial = 100ms;
    options_.backoff_max = 400ms;
  }
  void Start(const std::string& url) { StartWatcher(url); }
  std::size_t LastSize() { return Last().size(); }
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
