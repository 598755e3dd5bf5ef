// Kubernetes Events for pod annotation problems: dedup and rate limits with injected clocks,
// the POST/PATCH exchange against the in-test API server, and kubectl reading the result.
#include "discovery/kube/event_recorder.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <cstdlib>
#include <thread>

#include "fake_api_server.h"
#include "support/manual_clock.h"
#include "test_util.h"

namespace expvar::discovery::kube {
namespace {

using namespace std::chrono_literals;
using testing::FakeApiOptions;
using testing::FakeApiServer;
using testing::RecordedRequest;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;
namespace json = boost::json;

using SteadyClock = expvar::testing::ManualClock<std::chrono::steady_clock>;
using WallClock = expvar::testing::ManualClock<std::chrono::system_clock>;

PodProblem Problem(const std::string& name, const std::string& message) {
  return {"shop", name, "uid-" + name, message};
}

class EventPlannerTest : public ::testing::Test {
 protected:
  EventPlanner MakePlanner(EventPolicy policy = {}) {
    return EventPlanner(policy, clock_.AsFunction(), wall_.AsFunction());
  }
  SteadyClock clock_;
  WallClock wall_{std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))};
};

TEST_F(EventPlannerTest, PostsANewProblemOnceThenBumpsItEveryFiveMinutes) {
  auto planner = MakePlanner();
  const std::vector<PodProblem> problems{Problem("web-1", "invalid JSON")};
  auto calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].kind, EventCall::Kind::kCreate);
  EXPECT_EQ(calls[0].count, 1);
  EXPECT_EQ(calls[0].event_name, EventName("web-1", "uid-web-1", "invalid JSON"));
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(29s);
    EXPECT_TRUE(planner.Plan(problems).empty()) << "repeated before 5 minutes, at " << i;
  }
  clock_.Advance(10s);  // 300 s after the create
  wall_.Advance(300s);
  calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].kind, EventCall::Kind::kBump);
  EXPECT_EQ(calls[0].count, 2);
  EXPECT_EQ(calls[0].last_timestamp - calls[0].first_timestamp, 300s);
  EXPECT_TRUE(planner.Plan(problems).empty());
  clock_.Advance(300s);
  calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].count, 3);
  EXPECT_EQ(planner.stats().creates, 1u);
  EXPECT_EQ(planner.stats().bumps, 2u);
}

TEST_F(EventPlannerTest, BumpsOfOnePodComeAtMostOnceEveryFiveMinutes) {
  auto planner = MakePlanner();
  std::vector<PodProblem> problems{Problem("web-1", "first")};
  ASSERT_EQ(planner.Plan(problems).size(), 1u);
  clock_.Advance(240s);
  problems.push_back(Problem("web-1", "second"));
  ASSERT_EQ(planner.Plan(problems).size(), 1u);  // the second is created at once
  clock_.Advance(60s);
  auto calls = planner.Plan(problems);  // the first is due, the second not yet
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].message, "first");
  clock_.Advance(240s);  // the second is due now, but the pod was bumped 240 s ago
  EXPECT_TRUE(planner.Plan(problems).empty());
  clock_.Advance(60s);
  EXPECT_EQ(planner.Plan(problems).size(), 2u);
}

TEST_F(EventPlannerTest, TokenBucketDropsAndCountsTheRestThenCatchesUp) {
  auto planner = MakePlanner({.events_per_minute = 30});
  std::vector<PodProblem> problems;
  for (int i = 0; i < 100; ++i) problems.push_back(Problem("pod-" + std::to_string(i), "bad"));
  EXPECT_EQ(planner.Plan(problems).size(), 30u);
  EXPECT_EQ(planner.stats().dropped, 70u);
  EXPECT_TRUE(planner.Plan(problems).empty());  // no token left, nothing refilled
  clock_.Advance(10s);                          // 5 tokens
  EXPECT_EQ(planner.Plan(problems).size(), 5u);
  clock_.Advance(10min);  // the bucket holds at most 30; creates come before due bumps
  auto calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 30u);
  EXPECT_EQ(calls.back().kind, EventCall::Kind::kCreate);
  clock_.Advance(10min);
  EXPECT_EQ(planner.Plan(problems).size(), 30u);
  EXPECT_EQ(planner.stats().creates, 95u);
  EXPECT_EQ(planner.stats().bumps, 0u);
  clock_.Advance(10min);
  calls = planner.Plan(problems);  // the last 5 creates, then 25 of the due bumps
  ASSERT_EQ(calls.size(), 30u);
  EXPECT_EQ(calls[4].kind, EventCall::Kind::kCreate);
  EXPECT_EQ(calls[5].kind, EventCall::Kind::kBump);
  EXPECT_EQ(planner.stats().creates, 100u);
  EXPECT_EQ(planner.stats().bumps, 25u);
}

TEST_F(EventPlannerTest, FailuresAreRetriedAndAnExpiredEventIsCreatedAgain) {
  auto planner = MakePlanner();
  const std::vector<PodProblem> problems{Problem("web-1", "bad")};
  auto calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 1u);
  planner.Report(calls[0], EventPlanner::Result::kRetry);
  calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].kind, EventCall::Kind::kCreate);
  planner.Report(calls[0], EventPlanner::Result::kDone);
  clock_.Advance(300s);
  calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].count, 2);
  planner.Report(calls[0], EventPlanner::Result::kGone);  // 404: the server dropped it (TTL)
  clock_.Advance(1s);
  calls = planner.Plan(problems);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].kind, EventCall::Kind::kCreate);
  EXPECT_EQ(calls[0].count, 1);
}

TEST_F(EventPlannerTest, ForgetsGoneProblemsAndBoundsWhatItTracks) {
  auto planner = MakePlanner({.forget_after = 3600s, .max_tracked = 3});
  std::vector<PodProblem> problems{Problem("a", "x"), Problem("b", "x"), Problem("c", "x")};
  EXPECT_EQ(planner.Plan(problems).size(), 3u);
  problems.push_back(Problem("d", "x"));  // the cap: all three tracked ones are present
  EXPECT_TRUE(planner.Plan(problems).empty());
  EXPECT_EQ(planner.stats().dropped, 1u);
  EXPECT_EQ(planner.tracked(), 3u);
  // "a" is fixed: a returning problem within the hour is the same Event, not a new one.
  problems.erase(problems.begin());
  problems.pop_back();
  EXPECT_TRUE(planner.Plan(problems).empty());
  clock_.Advance(100s);
  EXPECT_TRUE(planner.Plan({Problem("a", "x"), Problem("b", "x"), Problem("c", "x")}).empty());
  // A new problem takes the place of the one gone longest.
  clock_.Advance(3599s);
  EXPECT_EQ(planner.Plan({Problem("d", "x")}).size(), 1u);
  EXPECT_EQ(planner.tracked(), 3u);
  planner.Plan({});  // all gone from now on
  clock_.Advance(3600s);
  planner.Plan({});
  EXPECT_EQ(planner.tracked(), 0u);
}

TEST(EventText, ProblemsComeFromPodSourcesWithAKnownUid) {
  const std::map<std::string, std::string> uids{{"shop/web-1", "u1"}};
  const std::vector<pipeline::SourceError> errors{
      {"pod shop/web-1 annotation ad.datadoghq.com/app.checks", "invalid JSON at 3"},
      {"pod shop/web-1", "asks for 12 targets"},
      {"pod shop/web-1 annotation ad.datadoghq.com/app.checks",
       "pod shop/web-1: annotation ad.datadoghq.com/app.checks: incomplete JSON"},
      {"pod shop/unknown annotation x", "no uid: skipped"},
      {"/etc/conf.d/go_expvar.d/a.yaml", "not a pod"}};
  const auto problems = PodProblemsFrom(errors, uids);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].pod_namespace, "shop");
  EXPECT_EQ(problems[0].pod_name, "web-1");
  EXPECT_EQ(problems[0].pod_uid, "u1");
  EXPECT_EQ(problems[0].message, "annotation ad.datadoghq.com/app.checks: invalid JSON at 3");
  EXPECT_EQ(problems[1].message, "asks for 12 targets");
  EXPECT_EQ(problems[2].message, "annotation ad.datadoghq.com/app.checks: incomplete JSON");
}

TEST(EventText, MessagesAreCutAt1024BytesOnACodePoint) {
  const std::map<std::string, std::string> uids{{"shop/web-1", "u1"}};
  std::string long_text = std::string(1021, 'x') + "\xc3\xa9\xc3\xa9";  // é is 2 bytes
  const auto problems = PodProblemsFrom({{"pod shop/web-1", long_text}}, uids);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].message.size(), 1023u);
  EXPECT_EQ(problems[0].message, long_text.substr(0, 1023));
}

TEST(EventText, NamesAreThePodAnd16HexAndFitTheApi) {
  const auto name = EventName("web-1", "u1", "bad");
  EXPECT_TRUE(name.starts_with("web-1."));
  EXPECT_EQ(name.size(), 6u + 16u);
  EXPECT_EQ(name.find_first_not_of("0123456789abcdef", 6), std::string::npos);
  EXPECT_NE(name, EventName("web-1", "u1", "other"));
  EXPECT_NE(name, EventName("web-1", "u2", "bad"));
  const auto long_name = EventName(std::string(240, 'a') + "-" + std::string(12, 'b'), "u", "m");
  EXPECT_LE(long_name.size(), 253u);
  EXPECT_NE(long_name[long_name.size() - 17], '-');
}

// ---- the HTTP exchange ----

class EventRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    token_file_ = dir_.path() + "/token";
    WriteFile(token_file_, "test-token\n");
  }
  void TearDown() override {
    if (recorder_) recorder_->Stop();
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }

  void Start(FakeApiServer& server, const std::string& ca_file = "") {
    EventRecorderOptions options;
    options.source = {"expvar-collector", "node-a", "node-a"};
    options.request_timeout = 2s;
    options.replan_interval = 1h;  // plans follow Update() only: the clocks move between them
    options.clock = clock_.AsFunction();
    options.wall = wall_.AsFunction();
    recorder_ = std::make_unique<EventRecorder>(
        io_.get_executor(), ApiConfig{server.Url(), token_file_, ca_file, false}, options);
    std::string error;
    ASSERT_TRUE(recorder_->Start(&error)) << error;
    thread_ = std::thread([this] { io_.run(); });
  }

  static int CountEventWrites(const FakeApiServer& server, const std::string& method) {
    return server.CountRequests([&](const RecordedRequest& r) {
      return r.method == method && r.path.find("/events") != std::string::npos;
    });
  }

  TempDir dir_;
  std::string token_file_;
  SteadyClock clock_;
  WallClock wall_{std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000))};
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::thread thread_;
  std::unique_ptr<EventRecorder> recorder_;
};

TEST_F(EventRecorderTest, PostsTheEventThenPatchesItsCount) {
  FakeApiServer server;
  Start(server);
  const std::vector<PodProblem> problems{
      {"shop", "web-1", "uid-1", "annotation ad.datadoghq.com/app.checks: invalid JSON"}};
  recorder_->Update(problems);
  ASSERT_TRUE(WaitFor([&] { return recorder_->stats().created == 1; }));
  const auto requests = server.Requests();
  const auto post = std::find_if(requests.begin(), requests.end(),
                                 [](const RecordedRequest& r) { return r.method == "POST"; });
  ASSERT_NE(post, requests.end());
  EXPECT_EQ(post->path, "/api/v1/namespaces/shop/events");
  EXPECT_EQ(post->authorization, "Bearer test-token");
  EXPECT_EQ(post->content_type, "application/json");
  const auto body = json::parse(post->body).as_object();
  EXPECT_EQ(body.at("kind"), "Event");
  EXPECT_EQ(body.at("apiVersion"), "v1");
  EXPECT_EQ(body.at("reason"), "ExpvarConfigError");
  EXPECT_EQ(body.at("type"), "Warning");
  EXPECT_EQ(body.at("message"), "annotation ad.datadoghq.com/app.checks: invalid JSON");
  EXPECT_EQ(body.at("count"), 1);
  EXPECT_EQ(body.at("firstTimestamp"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(body.at("lastTimestamp"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(body.at("reportingComponent"), "expvar-collector");
  EXPECT_EQ(body.at("reportingInstance"), "node-a");
  EXPECT_EQ(body.at("source"),
            (json::object{{"component", "expvar-collector"}, {"host", "node-a"}}));
  EXPECT_EQ(body.at("involvedObject"), (json::object{{"kind", "Pod"},
                                                     {"apiVersion", "v1"},
                                                     {"namespace", "shop"},
                                                     {"name", "web-1"},
                                                     {"uid", "uid-1"}}));
  const std::string name(body.at("metadata").at("name").as_string());
  EXPECT_TRUE(name.starts_with("web-1.")) << name;

  // Still present a minute later: nothing; five minutes later: one PATCH with count 2.
  clock_.Advance(60s);
  recorder_->Update(problems);
  std::this_thread::sleep_for(100ms);  // planned before the clocks move on
  wall_.Advance(300s);
  clock_.Advance(240s);
  recorder_->Update(problems);
  ASSERT_TRUE(WaitFor([&] { return recorder_->stats().patched == 1; }));
  EXPECT_EQ(CountEventWrites(server, "POST"), 1);
  EXPECT_EQ(CountEventWrites(server, "PATCH"), 1);
  const auto patch = server.Requests().back();
  EXPECT_EQ(patch.path, "/api/v1/namespaces/shop/events/" + name);
  EXPECT_EQ(patch.content_type, "application/strategic-merge-patch+json");
  EXPECT_EQ(json::parse(patch.body),
            (json::object{{"count", 2}, {"lastTimestamp", "2023-11-14T22:18:20Z"}}));
  const auto stored = server.Events();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].at("count"), 2);
  EXPECT_EQ(stored[0].at("firstTimestamp"), "2023-11-14T22:13:20Z");
  EXPECT_EQ(stored[0].at("lastTimestamp"), "2023-11-14T22:18:20Z");
}

TEST_F(EventRecorderTest, ForbiddenIsCountedAndNotRetriedAtEveryPlan) {
  FakeApiServer server;
  server.SetEventStatus(403);
  Start(server);
  const std::vector<PodProblem> problems{{"shop", "web-1", "uid-1", "bad"}};
  recorder_->Update(problems);
  ASSERT_TRUE(WaitFor([&] { return recorder_->stats().forbidden == 1; }));
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(30s);
    recorder_->Update(problems);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(CountEventWrites(server, "POST"), 1);
  EXPECT_EQ(recorder_->stats().failed, 1u);
}

TEST_F(EventRecorderTest, AnUnreachableServerNeverHoldsUpUpdates) {
  FakeApiServer server;
  server.SetEventStatus(500);
  Start(server);
  // Update() returns at once whatever the API does; failed creates are retried.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    recorder_->Update({{"shop", "web-" + std::to_string(i % 50), "uid", "bad"}});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_TRUE(WaitFor([&] { return recorder_->stats().failed >= 1; }));
  clock_.Advance(1min);
  server.SetEventStatus(0);
  recorder_->Update({{"shop", "web-1", "uid", "bad"}});
  EXPECT_TRUE(WaitFor([&] { return recorder_->stats().created >= 1; }));
}

TEST_F(EventRecorderTest, KubectlDescribesThePodWithTheEvent) {
  if (std::system("command -v kubectl >/dev/null") != 0) GTEST_SKIP() << "no kubectl";
  const std::string kubectl = "kubectl";
  const std::string cert = dir_.path() + "/api.crt";
  const std::string key = dir_.path() + "/api.key";
  ASSERT_TRUE(testing::MakeSelfSignedCert(cert, key));
  FakeApiServer server(FakeApiOptions{.token = "test-token", .tls_cert = cert, .tls_key = key});
  server.AddPod(FakeApiServer::MakePod("shop", "web-1", "node-a"));
  const std::string uid = *server.PodUid("shop", "web-1");
  Start(server, cert);
  recorder_->Update({{"shop", "web-1", uid, "annotation ad.datadoghq.com/app.checks: bad JSON"}});
  ASSERT_TRUE(WaitFor([&] { return recorder_->stats().created == 1; }));
  WriteFile(dir_.path() + "/kubeconfig",
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n"
            "  cluster:\n    server: " +
                server.Url() + "\n    certificate-authority: " + cert +
                "\nusers:\n- name: c\n  user:\n    token: test-token\n"
                "contexts:\n- name: fake\n  context:\n    cluster: "
                "fake\n    user: c\ncurrent-context: fake\n");
  const auto run = [&](const std::string& args) {
    const std::string out = dir_.path() + "/out.txt";
    const std::string command = "HOME=" + dir_.path() + " timeout 30 " + kubectl +
                                " --kubeconfig " + dir_.path() + "/kubeconfig --cache-dir " +
                                dir_.path() + "/cache --request-timeout=10s " + args + " >" + out +
                                " 2>&1";
    const int status = std::system(command.c_str());
    return std::make_pair(status, testing::ReadFile(out));
  };
  // kubectl decodes the list into typed v1.Events (timestamps, count) to print them.
  const auto [get_status, get_out] = run("get events -n shop -o json");
  ASSERT_EQ(get_status, 0) << get_out;
  const auto list = json::parse(get_out);
  ASSERT_EQ(list.at("items").as_array().size(), 1u) << get_out;
  EXPECT_EQ(list.at("items").at(0).at("reason"), "ExpvarConfigError");
  // What the pod's owner sees: the Events section of kubectl describe pod.
  const auto [describe_status, describe_out] = run("describe pod -n shop web-1");
  ASSERT_EQ(describe_status, 0) << describe_out;
  const auto events = describe_out.find("Events:");
  ASSERT_NE(events, std::string::npos) << describe_out;
  EXPECT_NE(describe_out.find("Warning", events), std::string::npos) << describe_out;
  EXPECT_NE(describe_out.find("ExpvarConfigError", events), std::string::npos) << describe_out;
  EXPECT_NE(describe_out.find("annotation ad.datadoghq.com/app.checks: bad JSON"),
            std::string::npos)
      << describe_out;
  EXPECT_NE(describe_out.find("expvar-collector", events), std::string::npos) << describe_out;
}

}  // namespace
}  // namespace expvar::discovery::kube
