#include "discovery/kube/pod_watcher.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <thread>

#include "fake_api_server.h"
#include "pod_watcher_fixture.h"
#include "test_util.h"

namespace expvar::discovery::kube {
namespace {

TEST_F(PodWatcherTest, ListsInPagesThenWatchesFromTheListVersion) {
  options_.page_size = 3;
  AddPods(7, "n1");
  AddPods(2, "n2", "other");
  const auto list_version = server_->ResourceVersion();
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"p0", "p1", "p2", "p3", "p4", "p5", "p6"}));
  ASSERT_TRUE(WaitForWatchCount(1));
  const auto requests = server_->Requests();
  std::vector<RecordedRequest> lists;
  for (const auto& r : requests) {
    if (IsList(r)) lists.push_back(r);
  }
  ASSERT_EQ(lists.size(), 3u);  // 3 + 3 + 1
  EXPECT_EQ(lists[0].path, "/api/v1/pods");
  EXPECT_EQ(lists[0].Query("fieldSelector"), "spec.nodeName=n1");
  EXPECT_EQ(lists[0].Query("limit"), "3");
  EXPECT_EQ(lists[0].Query("continue"), "");
  EXPECT_NE(lists[1].Query("continue"), "");
  EXPECT_NE(lists[2].Query("continue"), lists[1].Query("continue"));
  EXPECT_EQ(lists[0].authorization, "Bearer test-token");
  const auto watch = Watches().at(0);
  EXPECT_EQ(watch.Query("resourceVersion"), list_version);
  EXPECT_EQ(watch.Query("allowWatchBookmarks"), "true");
  EXPECT_EQ(watch.Query("timeoutSeconds"), "30");
  EXPECT_EQ(SnapshotCount(), 1u);  // one snapshot per LIST, not per page
  EXPECT_EQ(watcher_->stats().lists, 1u);
  EXPECT_EQ(watcher_->stats().list_pages, 3u);
}

TEST_F(PodWatcherTest, DefaultsPageBy500AndRandomizeTheWatchTimeout) {
  options_ = WatcherOptions{};
  options_.node_name = "n1";
  AddPods(1001, "n1");
  StartWatcher();
  ASSERT_TRUE(WaitFor([&] { return Last().size() == 1001; }));
  ASSERT_TRUE(WaitForWatchCount(1));
  EXPECT_EQ(server_->CountRequests(IsList), 3);
  const int timeout = std::stoi(Watches().at(0).Query("timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LE(timeout, 600);
}

TEST_F(PodWatcherTest, AppliesAddedModifiedAndDeletedEvents) {
  AddPods(1, "n1");
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"p0"}));
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  server_->AddPod(FakeApiServer::MakePod("ns", "new", "n1", "10.0.0.9"));
  server_->AddPod(FakeApiServer::MakePod("ns", "elsewhere", "n2"));  // not our node
  ASSERT_TRUE(WaitForNames({"p0", "new"}));
  server_->ModifyPod("ns", "new", [](boost::json::object& pod) {
    pod["metadata"].as_object()["annotations"].as_object()["k"] = "v";
  });
  ASSERT_TRUE(WaitFor([&] {
    for (const auto& [uid, pod] : Last()) {
      if (pod.name == "new") return pod.annotations.count("k") == 1;
    }
    return false;
  }));
  const auto uid = *server_->PodUid("ns", "new");
  EXPECT_EQ(Last().at(uid).pod_ip, "10.0.0.9");
  server_->DeletePod("ns", "p0");
  ASSERT_TRUE(WaitForNames({"new"}));
  EXPECT_EQ(watcher_->stats().events, 3u);
  EXPECT_EQ(watcher_->stats().lists, 1u);
  std::lock_guard lock(mu_);
  EXPECT_TRUE(all_synced_);
}

TEST_F(PodWatcherTest, StreamEndReWatchesFromTheLastEventVersion) {
  StartWatcher();
  ASSERT_TRUE(WaitForWatchCount(1));
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  const auto version = server_->AddPod(FakeApiServer::MakePod("ns", "a", "n1"));
  ASSERT_TRUE(WaitForNames({"a"}));
  server_->EndWatches();
  ASSERT_TRUE(WaitForWatchCount(2));
  EXPECT_EQ(Watches().at(1).Query("resourceVersion"), version);
  EXPECT_EQ(server_->CountRequests(IsList), 1);  // no re-list
  EXPECT_EQ(watcher_->stats().errors, 0u);
}

TEST_F(PodWatcherTest, ServerSideTimeoutEndsTheStreamAndItIsReopened) {
  options_.min_watch_timeout = options_.max_watch_timeout = 1s;
  StartWatcher();
  ASSERT_TRUE(WaitForWatchCount(3));
  EXPECT_EQ(watcher_->stats().errors, 0u);
  EXPECT_EQ(Watches().at(0).Query("timeoutSeconds"), "1");
}

TEST_F(PodWatcherTest, BookmarkAdvancesTheVersionUsedByTheNextWatch) {
  AddPods(1, "n1");
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"p0"}));
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  // Changes elsewhere move the version without any event for this node.
  server_->AddPod(FakeApiServer::MakePod("ns", "x", "n2"));
  const auto version = server_->AddPod(FakeApiServer::MakePod("ns", "y", "n2"));
  server_->SendBookmark();
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().bookmarks == 1; }));
  const auto snapshots = SnapshotCount();
  server_->EndWatches();
  ASSERT_TRUE(WaitForWatchCount(2));
  EXPECT_EQ(Watches().at(1).Query("resourceVersion"), version);
  EXPECT_EQ(SnapshotCount(), snapshots);  // a bookmark changes no pod: nothing emitted
}

TEST_F(PodWatcherTest, PeriodicBookmarksFromTheServer) {
  FakeApiOptions fake;
  fake.bookmark_interval = 100ms;
  server_ = std::make_unique<FakeApiServer>(fake);
  StartWatcher();
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().bookmarks >= 3; }));
}

class GoneTest : public PodWatcherTest, public ::testing::WithParamInterface<GoneMode> {};

// The watcher misses a delete while disconnected and the server compacts its history: the next
// watch is refused with 410, the re-list no longer has the pod, and the snapshot drops it.
TEST_P(GoneTest, ReListsAndSynthesizesDeletes) {
  server_->SetGoneMode(GetParam());
  AddPods(3, "n1");
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"p0", "p1", "p2"}));
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  server_->FailNext(1000, 500);
  server_->EndWatches();
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().errors >= 1; }));
  server_->DeletePod("ns", "p1");
  server_->AddPod(FakeApiServer::MakePod("ns", "p3", "n1"));
  server_->Compact();
  const auto list_version = server_->ResourceVersion();
  server_->FailNext(0, 0);
  ASSERT_TRUE(WaitForNames({"p0", "p2", "p3"}));
  const auto stats = watcher_->stats();
  EXPECT_EQ(stats.relists_410, 1u);
  EXPECT_EQ(stats.synthesized_deletes, 1u);
  EXPECT_EQ(stats.lists, 2u);
  ASSERT_TRUE(WaitFor([&] { return Watches().back().Query("resourceVersion") == list_version; }));
}

INSTANTIATE_TEST_SUITE_P(BothForms, GoneTest,
                         ::testing::Values(GoneMode::kHttpStatus, GoneMode::kErrorEvent));

TEST_F(PodWatcherTest, UnauthorizedUntilTheTokenFileChanges) {
  AddPods(1, "n1");
  server_->SetToken("rotated");
  StartWatcher();
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().unauthorized >= 4; }));
  EXPECT_EQ(SnapshotCount(), 0u);
  WriteFile(token_file_, "rotated\n");
  ASSERT_TRUE(WaitForNames({"p0"}));
  // Each retry re-reads the token, but backs off after the first immediate one.
  const auto unauthorized = watcher_->stats().unauthorized;
  EXPECT_LE(unauthorized, 20u);
  EXPECT_GE(watcher_->stats().backoffs, unauthorized - 2);
}

// The kubelet rotated the token file less than a minute after the last read: the 401 makes the
// watcher re-read it and retry at once, with no backoff.
TEST_F(PodWatcherTest, ReReadsARotatedTokenRightAfterA401) {
  AddPods(1, "n1");
  options_.backoff_initial = options_.backoff_max = 5s;  // any backoff would fail the bound below
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"p0"}));
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  // A watch that ends at once without events is backed off; this one had an event.
  server_->AddPod(FakeApiServer::MakePod("ns", "p1", "n1"));
  ASSERT_TRUE(WaitForNames({"p0", "p1"}));
  WriteFile(token_file_, "rotated\n");
  server_->SetToken("rotated");
  const auto start = std::chrono::steady_clock::now();
  server_->EndWatches();
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1 && Watches().size() == 3; }, 3s))
      << Watches().size() << " watches, " << watcher_->stats().unauthorized << " 401s";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(watcher_->stats().unauthorized, 1u);
  EXPECT_EQ(watcher_->stats().backoffs, 0u);
  EXPECT_EQ(Watches().back().authorization, "Bearer rotated");
}

TEST_F(PodWatcherTest, TooManyRequestsWaitsForRetryAfter) {
  server_->FailNext(1, 429, 1);
  options_.backoff_initial = options_.backoff_max = 10ms;
  StartWatcher();
  ASSERT_TRUE(WaitFor([&] { return server_->CountRequests(IsList) >= 2; }));
  std::vector<RecordedRequest> lists;
  for (const auto& r : server_->Requests()) {
    if (IsList(r)) lists.push_back(r);
  }
  EXPECT_GE(lists[1].at - lists[0].at, 1s);
  EXPECT_EQ(watcher_->stats().throttled, 1u);
}

TEST_F(PodWatcherTest, ServerErrorsBackOffWithoutAHotLoop) {
  AddPods(1, "n1");
  server_->FailNext(100000, 500);
  options_.backoff_initial = 100ms;
  options_.backoff_max = 400ms;
  StartWatcher();
  std::this_thread::sleep_for(2s);
  // Steps 100, 200, 400, 400, ... each at least half of itself: at most ~10 in 2 s.
  const int requests = server_->CountRequests(IsList);
  EXPECT_GE(requests, 3);
  EXPECT_LE(requests, 14);
  EXPECT_EQ(SnapshotCount(), 0u);
  server_->FailNext(0, 0);
  ASSERT_TRUE(WaitForNames({"p0"}));
}

TEST_F(PodWatcherTest, UnreachableApiKeepsTheLastSnapshot) {
  AddPods(2, "n1");
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"p0", "p1"}));
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  const auto snapshots = SnapshotCount();
  server_.reset();  // the API server goes away
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().errors >= 3; }));
  EXPECT_EQ(SnapshotCount(), snapshots);
  EXPECT_TRUE(LastHasNames({"p0", "p1"}));
}

TEST_F(PodWatcherTest, NeverReachableNeverEmits) {
  boost::asio::io_context probe;
  boost::asio::ip::tcp::acceptor acceptor(probe, {boost::asio::ip::make_address("127.0.0.1"), 0});
  const auto port = acceptor.local_endpoint().port();
  acceptor.close();  // a port nobody listens on
  StartWatcher("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().errors >= 3; }));
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_GE(watcher_->stats().backoffs, 2u);
}

TEST_F(PodWatcherTest, PodModeWatchesOnlyTheOwnPod) {
  options_.mode = WatchMode::kPod;
  options_.pod_namespace = "ns";
  options_.pod_name = "me";
  AddPods(2, "n1");
  server_->AddPod(FakeApiServer::MakePod("ns", "me", "n1"));
  server_->AddPod(FakeApiServer::MakePod("other", "me", "n1"));
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"me"}));
  ASSERT_TRUE(WaitForWatchCount(1));
  EXPECT_EQ(Last().begin()->second.namespace_name, "ns");
  const auto watch = Watches().at(0);
  EXPECT_EQ(watch.path, "/api/v1/namespaces/ns/pods");
  EXPECT_EQ(watch.Query("fieldSelector"), "metadata.name=me");
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  server_->ModifyPod("ns", "me", [](boost::json::object& pod) {
    pod["status"].as_object()["podIP"] = "10.1.1.1";
  });
  ASSERT_TRUE(WaitFor([&] { return Last().begin()->second.pod_ip == "10.1.1.1"; }));
}

TEST_F(PodWatcherTest, StopEndsAnOpenWatchPromptly) {
  StartWatcher();
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  const auto start = std::chrono::steady_clock::now();
  watcher_->Stop();
  ASSERT_TRUE(WaitFor([&] { return watcher_->done(); }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

TEST_F(PodWatcherTest, WatchesOverHttpsWithTheCaFile) {
  ca_file_ = dir_.path() + "/api.crt";
  const std::string key = dir_.path() + "/api.key";
  ASSERT_TRUE(testing::MakeSelfSignedCert(ca_file_, key));
  server_ = std::make_unique<FakeApiServer>(FakeApiOptions{
      .token = "test-token", .max_watch_duration = 30s, .tls_cert = ca_file_, .tls_key = key});
  AddPods(1, "n1");
  StartWatcher();
  ASSERT_TRUE(WaitForNames({"p0"}));
  ASSERT_TRUE(WaitFor([&] { return server_->open_watches() == 1; }));
  server_->AddPod(FakeApiServer::MakePod("ns", "tls", "n1"));
  ASSERT_TRUE(WaitForNames({"p0", "tls"}));
}

TEST_F(PodWatcherTest, RefusesAnHttpsServerItCannotVerify) {
  const std::string cert = dir_.path() + "/api.crt";
  const std::string key = dir_.path() + "/api.key";
  ASSERT_TRUE(testing::MakeSelfSignedCert(cert, key));
  ASSERT_TRUE(testing::MakeSelfSignedCert(dir_.path() + "/other.crt", dir_.path() + "/other.key"));
  ca_file_ = dir_.path() + "/other.crt";  // a CA that did not sign the server's certificate
  server_ = std::make_unique<FakeApiServer>(FakeApiOptions{
      .token = "test-token", .max_watch_duration = 30s, .tls_cert = cert, .tls_key = key});
  AddPods(1, "n1");
  StartWatcher();
  ASSERT_TRUE(WaitFor([&] { return watcher_->stats().errors >= 2; }));
  EXPECT_EQ(SnapshotCount(), 0u);
  EXPECT_EQ(server_->CountRequests(IsList), 0);  // nothing got past the handshake
}

TEST_F(PodWatcherTest, RejectsAnIncompleteConfiguration) {
  options_.node_name = "";
  PodWatcher watcher(io_.get_executor(), {server_->Url(), "", "", false}, options_,
                     [](const Snapshot&, bool) {});
  std::string error;
  EXPECT_FALSE(watcher.Start(&error));
  EXPECT_NE(error.find("node name"), std::string::npos);
}

}  // namespace
}  // namespace expvar::discovery::kube
