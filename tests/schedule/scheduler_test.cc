#include "schedule/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>

#include "schedule/instance_digest.h"
#include "schedule/worker.h"
#include "support/recording_sink.h"
#include "test_server.h"

namespace expvar::schedule {

using pipeline::TargetSpec;

namespace {

using namespace std::chrono_literals;
using http::testing::TestReply;
using http::testing::TestRequest;
using http::testing::TestServer;
using testing::RecordingSink;

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : server_([this](const TestRequest&) {
          TestReply reply;
          reply.body = R"({"counter": )" + std::to_string(counter_ += 10) + "}";
          return reply;
        }),
        guard_(io_.get_executor()),
        thread_([this] { io_.run(); }) {}

  ~SchedulerTest() override {
    scheduler_.StopAll();
    guard_.reset();
    // Stopped workers finish on their own; bound the wait anyway.
    for (int i = 0; i < 300 && !io_.stopped(); ++i) std::this_thread::sleep_for(10ms);
    io_.stop();
    thread_.join();
  }

  TargetSpec Spec(std::string tag, int interval_ms = 200) {
    TargetSpec spec;
    spec.source = "test#" + tag;
    spec.instance.expvar_url = server_.Url("/debug/vars");
    spec.instance.tags = {"t:" + tag};
    spec.instance.min_collection_interval = std::chrono::milliseconds(interval_ms);
    spec.instance.metrics = {{"counter", pipeline::MetricType::kRate, std::nullopt, {}}};
    return spec;
  }

  std::atomic<int> counter_{0};
  TestServer server_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  RecordingSink sink_;
  Scheduler scheduler_{io_, {&sink_}, nullptr, SchedulerOptions{1000ms, 50ms, nullptr}};
  std::thread thread_;
};

bool HasRate(const pipeline::SnapshotPtr& snapshot) {
  for (const auto& r : snapshot->readings) {
    if (r.name() == "go_expvar.counter" && r.report) return true;
  }
  return false;
}

TEST_F(SchedulerTest, ScrapesEachTargetOnItsInterval) {
  TargetSpec a = Spec("a");
  std::string id = InstanceDigest(a.instance);
  scheduler_.Apply({a});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Publishes(id) >= 3; }));
  EXPECT_EQ(scheduler_.TargetCount(), 1u);
  EXPECT_NE(scheduler_.StatusJson().find("\"health\":\"up\""), std::string::npos);
}

// A pod event adds one target; it must not wait out the window meant for a start's thousands.
TEST_F(SchedulerTest, ALoneNewTargetIsScrapedAtOnceWhateverTheWindow) {
  Scheduler patient{io_, {&sink_}, nullptr, SchedulerOptions{60s, 60s, nullptr}};
  TargetSpec a = Spec("alone", 60'000);
  std::string id = InstanceDigest(a.instance);
  auto start = std::chrono::steady_clock::now();
  patient.Apply({a});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Publishes(id) >= 1; }, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  patient.StopAll();
}

// Workers are spread over the contexts: with the second context not running, only the targets
// placed on the first are scraped; once it runs, the others are too.
TEST_F(SchedulerTest, WorkersAreSpreadOverTheContextsEachRunByItsOwnThread) {
  boost::asio::io_context second(1);
  Scheduler spread{std::vector<boost::asio::io_context*>{&io_, &second},
                   {&sink_},
                   nullptr,
                   SchedulerOptions{1000ms, 50ms, nullptr}};
  std::vector<TargetSpec> specs = {Spec("s1"), Spec("s2"), Spec("s3"), Spec("s4")};
  spread.Apply(specs);
  std::vector<std::string> ids;
  for (const auto& spec : specs) ids.push_back(InstanceDigest(spec.instance));
  auto scraped = [&] {
    int n = 0;
    for (const auto& id : ids) n += sink_.Publishes(id) > 0;
    return n;
  };
  ASSERT_TRUE(sink_.WaitFor([&] { return scraped() >= 2; }, 3s));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(scraped(), 2);  // the other two wait for their context's thread
  auto guard = boost::asio::make_work_guard(second);
  std::thread second_thread([&] { second.run(); });
  EXPECT_TRUE(sink_.WaitFor([&] { return scraped() == 4; }, 3s));
  spread.StopAll();
  guard.reset();
  second.stop();
  second_thread.join();
}

TEST_F(SchedulerTest, UnchangedDigestKeepsTheWorkerAndItsRateState) {
  TargetSpec a = Spec("a");
  std::string id = InstanceDigest(a.instance);
  scheduler_.Apply({a});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Publishes(id) >= 2; }));
  std::size_t before = sink_.Events().size();
  TargetSpec same = a;
  same.source = "renamed.yaml#0";  // where it comes from is not what it is
  scheduler_.Apply({same, Spec("b")});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Publishes(id) >= 3; }));
  EXPECT_FALSE(sink_.Forgot(id));
  // The first publish after the reload already has a rate: the state survived.
  auto events = sink_.Events();
  for (std::size_t i = before; i < events.size(); ++i) {
    if (!events[i].forget() && events[i].target_id == id) {
      EXPECT_TRUE(HasRate(events[i].snapshot));
      break;
    }
  }
  EXPECT_NE(scheduler_.StatusJson().find("renamed.yaml#0"), std::string::npos);
}

TEST_F(SchedulerTest, ChangedInstanceRestartsAndRemovedTargetIsForgottenForGood) {
  TargetSpec a = Spec("a");
  std::string old_id = InstanceDigest(a.instance);
  scheduler_.Apply({a});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Publishes(old_id) >= 1; }));
  TargetSpec changed = a;
  changed.instance.tags.push_back("new:tag");
  std::string new_id = InstanceDigest(changed.instance);
  ASSERT_NE(new_id, old_id);
  scheduler_.Apply({changed});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Forgot(old_id) && sink_.Publishes(new_id) >= 2; }));
  // Nothing is published for a target after it was forgotten.
  bool forgotten = false;
  for (const auto& e : sink_.Events()) {
    if (e.target_id != old_id) continue;
    if (e.forget())
      forgotten = true;
    else
      EXPECT_FALSE(forgotten) << "publish after forget";
  }
  scheduler_.Apply({});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Forgot(new_id); }));
  EXPECT_EQ(scheduler_.TargetCount(), 0u);
}

TEST_F(SchedulerTest, UnreachableTargetIsDownOnStatusWithItsError) {
  TargetSpec bad = Spec("bad");
  bad.instance.expvar_url = "http://127.0.0.1:1/debug/vars";
  scheduler_.Apply({bad}, {{"conf.d/broken.yaml", "not YAML"}});
  bool down = false;
  for (int i = 0; i < 100 && !down; ++i) {
    down = scheduler_.StatusJson().find("\"health\":\"down\"") != std::string::npos;
    if (!down) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(down) << scheduler_.StatusJson();
  std::string status = scheduler_.StatusJson();
  EXPECT_NE(status.find("fetch failed"), std::string::npos);
  EXPECT_NE(status.find("conf.d/broken.yaml"), std::string::npos);
}

// expvar_url's userinfo is sent as basic auth (it used to be dropped with the rest of the
// credentials when the shown URL was made), yet /status shows the URL without it.
TEST_F(SchedulerTest, UrlUserinfoIsSentAsBasicAuthButNeverShown) {
  TargetSpec a = Spec("a");
  a.instance.expvar_url = "http://bob:s%40cret@" + server_.Url("/debug/vars").substr(7);
  std::string id = InstanceDigest(a.instance);
  scheduler_.Apply({a});
  ASSERT_TRUE(sink_.WaitFor([&] { return sink_.Publishes(id) >= 1; }));
  ASSERT_FALSE(server_.Requests().empty());
  EXPECT_EQ(server_.Requests().back().Header("authorization"), "Basic Ym9iOnNAY3JldA==");
  EXPECT_EQ(scheduler_.StatusJson().find("s%40cret"), std::string::npos);
  EXPECT_EQ(sink_.Events().back().snapshot->url, server_.Url("/debug/vars"));
}

TEST(FetchUrl, KeepsTheUserinfoThePlanUrlDrops) {
  pipeline::Instance instance;
  instance.expvar_url = "http://u:p@127.0.0.1:8080";
  check::Plan plan = check::Compile(instance);
  EXPECT_EQ(plan.url, "http://127.0.0.1:8080/debug/vars");
  http::Url url = FetchUrl(plan, instance);
  EXPECT_EQ(url.userinfo, "u:p");
  EXPECT_EQ(url.Target(), "/debug/vars");
}

TEST(PhaseOf, SpreadsTenThousandTargetsEvenlyOverTheInterval) {
  constexpr int kTargets = 10'000, kBuckets = 15;
  std::vector<int> buckets(kBuckets);
  for (int i = 0; i < kTargets; ++i) {
    auto phase = PhaseOf("target-" + std::to_string(i), 15'000ms);
    ASSERT_GE(phase.count(), 0);
    ASSERT_LT(phase.count(), 15'000);
    buckets[phase.count() / 1000]++;
  }
  for (int count : buckets) {
    EXPECT_GT(count, kTargets / kBuckets * 8 / 10);
    EXPECT_LT(count, kTargets / kBuckets * 12 / 10);
  }
}

}  // namespace
}  // namespace expvar::schedule
