#include "common/datadog_naming.h"

#include <gtest/gtest.h>

namespace expvar::common {
namespace {

struct NamingCase {
  const char* path;
  const char* metric_namespace;
  const char* expected;
};

class NamingTest : public ::testing::TestWithParam<NamingCase> {};

TEST_P(NamingTest, FollowsDatadogNormalize) {
  const NamingCase& c = GetParam();
  EXPECT_EQ(NormalizeMetricName(c.path, c.metric_namespace), c.expected) << c.path;
}

// Expected names worked out by hand from AgentCheck.normalize(fix_case=True).
INSTANTIATE_TEST_SUITE_P(
    Datadog, NamingTest,
    ::testing::Values(
        NamingCase{"memstats.Alloc", "go_expvar", "go_expvar.memstats.alloc"},
        NamingCase{"memstats.NumGC", "go_expvar", "go_expvar.memstats.num_gc"},
        NamingCase{"memstats.PauseTotalNs", "go_expvar", "go_expvar.memstats.pause_total_ns"},
        NamingCase{"memstats.BySize.1.Mallocs", "go_expvar",
                   "go_expvar.memstats.by_size.1.mallocs"},
        NamingCase{"memstats.MSpanInuse", "go_expvar", "go_expvar.memstats.m_span_inuse"},
        NamingCase{"memstats.GCCPUFraction", "go_expvar", "go_expvar.memstats.gccpu_fraction"},
        NamingCase{"HTTPServer", "go_expvar", "go_expvar.http_server"},
        NamingCase{"dogstatsd-udp", "go_expvar", "go_expvar.dogstatsd_udp"},
        NamingCase{"memstats.Alloc", "MyApp", "my_app.memstats.alloc"},
        NamingCase{"memstats.PauseNs", "go_expvar", "go_expvar.memstats.pause_ns"},
        NamingCase{"cache/hits", "go_expvar", "go_expvar.cache_hits"},
        NamingCase{"a__b", "ns", "ns.a_b"},
        NamingCase{"0.name", "ns", "ns.name"},  // leading non-letters dropped
        NamingCase{"x.-y-.z", "ns", "ns.x.y.z"}, NamingCase{"requests", "", "requests"},
        NamingCase{"caf\xc3\xa9", "ns", "ns.caf"}));

TEST(ToUnderscoreSeparated, MatchesPythonReSubScanning) {
  // (.)([A-Z][a-z]+) does not overlap: "ABc" splits once; "aBcDe" splits twice.
  EXPECT_EQ(ToUnderscoreSeparated("ABc"), "a_bc");
  EXPECT_EQ(ToUnderscoreSeparated("aBcDe"), "a_bc_de");
  EXPECT_EQ(ToUnderscoreSeparated("HeapIdle"), "heap_idle");
  EXPECT_EQ(ToUnderscoreSeparated("_x_"), "x");
}

}  // namespace
}  // namespace expvar::common
