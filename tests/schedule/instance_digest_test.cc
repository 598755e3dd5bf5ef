#include "schedule/instance_digest.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace expvar::schedule {
namespace {

using namespace std::chrono_literals;

pipeline::Instance Fixed() {
  pipeline::Instance instance;
  instance.expvar_url = "http://10.0.0.5:6060/debug/vars";
  instance.username = "admin";
  instance.password = "hunter2";
  return instance;
}

TEST(InstanceDigestTest, TheSameInstanceKeepsItsIdWithinTheProcess) {
  const pipeline::Instance a = Fixed();
  const pipeline::Instance copy = a;
  EXPECT_EQ(InstanceDigest(a), InstanceDigest(copy));
  EXPECT_EQ(InstanceDigest(a), InstanceDigest(a));
}

TEST(InstanceDigestTest, IsSixteenLowercaseHexCharacters) {
  for (const pipeline::Instance& instance : {pipeline::Instance{}, Fixed()}) {
    const std::string id = InstanceDigest(instance);
    EXPECT_EQ(id.size(), 16u) << id;
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
}

struct FieldChange {
  std::string label;
  std::function<void(pipeline::Instance&)> change;
};

void PrintTo(const FieldChange& c, std::ostream* os) { *os << c.label; }

class InstanceDigestFieldTest : public ::testing::TestWithParam<FieldChange> {};

TEST_P(InstanceDigestFieldTest, AnyChangeGivesAnotherId) {
  pipeline::Instance base = Fixed();
  base.metrics.push_back({"memstats/Alloc", pipeline::MetricType::kGauge, std::nullopt, {"a:b"}});
  base.headers = {{"X-Token", "t"}};
  pipeline::Instance changed = base;
  GetParam().change(changed);
  EXPECT_NE(InstanceDigest(base), InstanceDigest(changed));
}

using I = pipeline::Instance;

INSTANTIATE_TEST_SUITE_P(
    Fields, InstanceDigestFieldTest,
    ::testing::Values(
        FieldChange{"Url", [](I& i) { i.expvar_url += "2"; }},
        FieldChange{"Namespace", [](I& i) { i.metric_namespace = "other"; }},
        FieldChange{"OneMoreMetric", [](I& i) { i.metrics.push_back(i.metrics[0]); }},
        FieldChange{"MetricPath", [](I& i) { i.metrics[0].path = "memstats/Frees"; }},
        FieldChange{"MetricType", [](I& i) { i.metrics[0].type = pipeline::MetricType::kRate; }},
        FieldChange{"EmptyAlias", [](I& i) { i.metrics[0].alias = ""; }},
        FieldChange{"MetricTag", [](I& i) { i.metrics[0].tags = {"a:c"}; }},
        FieldChange{"MaxReturnedMetrics", [](I& i) { i.max_returned_metrics = 10; }},
        FieldChange{"Tag", [](I& i) { i.tags = {"x:y"}; }},
        FieldChange{"Timeout", [](I& i) { i.timeout = 3s; }},
        FieldChange{"Interval", [](I& i) { i.min_collection_interval = 30s; }},
        FieldChange{"Username", [](I& i) { i.username = "root"; }},
        FieldChange{"PasswordOnly", [](I& i) { i.password = "hunter3"; }},
        FieldChange{"HeaderValue", [](I& i) { i.headers[0].second = "u"; }},
        FieldChange{"NoHeaders", [](I& i) { i.headers.clear(); }},
        FieldChange{"TlsVerify", [](I& i) { i.tls.verify = false; }},
        FieldChange{"CaCert", [](I& i) { i.tls.ca_cert = "/ca.pem"; }},
        FieldChange{"Cert", [](I& i) { i.tls.cert = "/cert.pem"; }},
        FieldChange{"PrivateKey", [](I& i) { i.tls.private_key = "/key.pem"; }},
        FieldChange{"MaxBodyBytes", [](I& i) { i.max_body_bytes = 1024; }},
        // The length prefixes keep fields apart: moving bytes across a boundary is a change.
        FieldChange{"UserPasswordBoundary",
                    [](I& i) {
                      i.username = "adminh";
                      i.password = "unter2";
                    }}),
    [](const auto& info) { return info.param.label; });

// The unkeyed FNV-1a the ids used to be, over the same length-prefixed encoding.
class Fnv1a {
 public:
  void Add(std::string_view field) {
    AddRaw(std::to_string(field.size()) + ":");
    AddRaw(field);
  }
  std::string Hex() const {
    char out[17];
    std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash_));
    return out;
  }

 private:
  void AddRaw(std::string_view bytes) {
    for (unsigned char c : bytes) {
      hash_ ^= c;
      hash_ *= 0x100000001b3ULL;
    }
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

// Fixed()'s fields in InstanceDigest's order, defaults written out.
std::string UnkeyedFnvOfFixed() {
  Fnv1a h;
  for (std::string_view field :
       {"http://10.0.0.5:6060/debug/vars", "go_expvar", "0", "350", "0", "10000", "-1", "admin",
        "hunter2", "0", "1", "", "", "", "8388608"}) {
    h.Add(field);
  }
  return h.Hex();
}

TEST(InstanceDigestTest, IsNotTheUnkeyedHashAnyoneCouldRecompute) {
  // What the unkeyed digest gave for Fixed() (pins this test's FNV to the old code).
  ASSERT_EQ(UnkeyedFnvOfFixed(), "f69de214149f493d");
  EXPECT_NE(InstanceDigest(Fixed()), UnkeyedFnvOfFixed());
}

// Another process draws another key. The "threadsafe" style re-executes this binary for the
// death test (the default style forks, and a forked child keeps the parent's key); the child
// exits 0 when its id differs from the parent's, which it finds in the environment.
TEST(InstanceDigestTest, DiffersBetweenProcesses) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  constexpr char kParentId[] = "EXPVAR_TEST_PARENT_TARGET_ID";
  setenv(kParentId, InstanceDigest(Fixed()).c_str(), /*overwrite=*/0);  // the child keeps it
  EXPECT_EXIT(std::exit(InstanceDigest(Fixed()) != std::getenv(kParentId) ? 0 : 1),
              ::testing::ExitedWithCode(0), "");
  unsetenv(kParentId);
}

}  // namespace
}  // namespace expvar::schedule
