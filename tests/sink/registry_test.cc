#include "sink/registry.h"

#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include <boost/asio/io_context.hpp>
#include <map>
#include <sstream>

#include "sink/dogstatsd.h"
#include "support/datagram_receiver.h"

namespace expvar::sink {
namespace {

using namespace std::chrono_literals;

struct Env {
  std::map<std::string, std::string> values;
  std::optional<std::string> operator()(const std::string& name) const {
    auto found = values.find(name);
    return found == values.end() ? std::nullopt : std::optional(found->second);
  }
};

SinkContext Context(boost::asio::io_context& io, Env env = {}) {
  return {io.get_executor(), {}, env, [](const std::string&) { return false; }};
}

pipeline::SnapshotPtr OneGauge(pipeline::Entity entity) {
  auto snapshot = std::make_shared<pipeline::ScrapeSnapshot>();
  snapshot->target_id = "t";
  snapshot->readings.push_back({pipeline::MakeSeriesKey("g", {"k:v"}, "g"),
                                pipeline::MetricType::kGauge, 1, 1.0,
                                /*is_default=*/false});
  snapshot->entity = std::make_shared<const pipeline::Entity>(std::move(entity));
  return snapshot;
}

// The sample lines a sink writes on /metrics.
std::vector<std::string> Exposed(const BuiltSink& built) {
  common::ExpositionWriter writer;
  for (const auto& source : built.exposition) source->AppendExposition(writer);
  std::vector<std::string> lines;
  std::istringstream text(writer.Finish());
  for (std::string line; std::getline(text, line);) {
    if (!line.starts_with("#")) lines.push_back(line);
  }
  return lines;
}

TEST(SinkRegistry, BuildsTheDefaultKindsInOrder) {
  boost::asio::io_context io;
  std::vector<BuiltSink> sinks = BuiltinSinks().Build(Context(io));
  ASSERT_EQ(sinks.size(), 2u);
  // No DD_* variable and no socket: the Datadog clients' last resort.
  EXPECT_EQ(sinks[0].description, "dogstatsd to udp://127.0.0.1:8125");
  EXPECT_EQ(sinks[1].description, "prometheus on /metrics");
  for (const auto& built : sinks) {
    EXPECT_NE(built.sink, nullptr);
    EXPECT_EQ(built.exposition.size(), 1u);
  }
}

TEST(SinkRegistry, UnknownKindNamesTheKnownOnes) {
  boost::asio::io_context io;
  SinkContext context = Context(io);
  context.settings.kinds = {"prometheus", "otlp"};
  try {
    BuiltinSinks().Build(context);
    FAIL() << "expected SinkConfigError";
  } catch (const SinkConfigError& e) {
    EXPECT_STREQ(e.what(), "unknown sink \"otlp\" (known: dogstatsd, prometheus)");
  }
}

TEST(SinkRegistry, AThirdKindNeedsOnlyARegistration) {
  struct Null : pipeline::Sink {
    void Publish(const pipeline::SnapshotPtr&) override {}
    void Forget(const std::string&) override {}
    void Flush() override {}
  };
  SinkRegistry registry = BuiltinSinks();
  registry.Register("null", [](const SinkContext&) {
    return BuiltSink{std::make_shared<Null>(), {}, "null"};
  });
  boost::asio::io_context io;
  SinkContext context = Context(io);
  context.settings.kinds = {"null"};
  auto sinks = registry.Build(context);
  ASSERT_EQ(sinks.size(), 1u);
  EXPECT_EQ(sinks[0].description, "null");
  EXPECT_EQ(registry.Kinds(), (std::vector<std::string>{"dogstatsd", "null", "prometheus"}));
}

TEST(SinkRegistry, DogStatsDAddressComesFromTheFlagThenTheEnvironment) {
  boost::asio::io_context io;
  SinkContext context = Context(io, Env{{{"DD_DOGSTATSD_URL", "udp://127.0.0.1:9999"}}});
  context.settings.kinds = {"dogstatsd"};
  EXPECT_EQ(BuiltinSinks().Build(context)[0].description, "dogstatsd to udp://127.0.0.1:9999");
  context.settings.dogstatsd_url = "unix:///run/dsd.sock";
  EXPECT_EQ(BuiltinSinks().Build(context)[0].description, "dogstatsd to unix:///run/dsd.sock");
  context.settings.dogstatsd_url = "tcp://x";
  EXPECT_THROW(BuiltinSinks().Build(context), SinkConfigError);
}

TEST(SinkRegistry, DogStatsDLinesCarryTheEntityTagThenTheGlobalTags) {
  // DD_ENV/DD_SERVICE/DD_VERSION, then DD_TAGS, then --tag.
  testing::DatagramReceiver receiver;
  boost::asio::io_context io;
  SinkContext context = Context(io, Env{{{"DD_ENV", "prod"}, {"DD_TAGS", "region:eu, tier:web"}}});
  context.settings.kinds = {"dogstatsd"};
  context.settings.dogstatsd_url = "udp://127.0.0.1:" + std::to_string(receiver.port());
  context.settings.tags = {"team:a"};
  BuiltSink built = std::move(BuiltinSinks().Build(context)[0]);
  built.sink->Publish(OneGauge({"uid-1", "web-0", "shop", "app"}));
  built.sink->Publish(OneGauge({}));  // a conf.d target: no pod, no entity tag
  // The default flush interval gathers both targets' lines into one datagram; the io_context
  // never runs here, so Flush (what shutdown calls) sends it.
  built.sink->Flush();
  std::vector<std::string> lines;
  for (int i = 0; i < 20 && lines.size() < 2; ++i) {
    for (auto& line : receiver.Receive(100ms)) {
      if (!line.starts_with("_sc|")) lines.push_back(line);  // service checks: dogstatsd_test
    }
  }
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "g:1|g|#k:v,dd.internal.entity_id:uid-1,env:prod,region:eu,tier:web,team:a",
                       "g:1|g|#k:v,env:prod,region:eu,tier:web,team:a"}));
  EXPECT_EQ(Exposed(built),
            (std::vector<std::string>{
                R"(expvar_collector_dogstatsd_datagrams_total{result="sent"} 1)",
                R"(expvar_collector_dogstatsd_datagrams_total{result="dropped"} 0)"}));
}

TEST(EntityTags, OnlyPodsHaveAnEntityId) {
  EXPECT_EQ(EntityTags({"uid-1", "web-0", "shop", "app"}),
            std::vector<std::string>{"dd.internal.entity_id:uid-1"});
  EXPECT_TRUE(EntityTags({}).empty());
}

}  // namespace
}  // namespace expvar::sink
