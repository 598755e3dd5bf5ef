// Table-test helpers shared by the annotation tests: a pod "shop/web-1" with the given
// annotations, and the templates and errors TemplatesFromAnnotations should give for it.
#pragma once

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "discovery/annotations.h"
#include "pipeline/pod.h"
#include "support/pod_builder.h"

namespace expvar::discovery::annotations_testing {

using pipeline::Pod;

inline constexpr const char* kExpvar = R"({"expvar_url": "http://%%host%%:%%port_metrics%%"})";

inline const std::string kAppChecks = "ad.datadoghq.com/app.checks";
inline const std::string kSidecarChecks = "ad.datadoghq.com/sidecar.checks";

// A pod "shop/web-1" with the containers "app" and "sidecar" and the given annotations.
inline Pod MakePod(std::map<std::string, std::string> annotations,
                   std::vector<std::string> containers = {"app", "sidecar"}) {
  expvar::testing::PodBuilder pod("shop", "web-1");
  for (auto& [key, value] : annotations) pod.Annotate(key, value);
  for (std::string& name : containers) pod.AddContainer(std::move(name));
  return pod.Build();
}

// `{"go_expvar": {"init_config": {}, "instances": [<instances>]}}`.
inline std::string V2(const std::string& instances) {
  return R"({"go_expvar": {"init_config": {}, "instances": [)" + instances + "]}}";
}

struct WantTemplate {
  std::string container;
  std::string annotation;
  std::string init_config;  // JSON text
  std::string instance;     // JSON text
  std::vector<std::string> tags;
};

struct WantError {
  std::string annotation;
  std::vector<std::string> contains;  // substrings of the message
};

struct Case {
  std::string name;
  std::map<std::string, std::string> annotations;
  std::vector<WantTemplate> templates = {};
  std::vector<WantError> errors = {};
  bool tolerate_unready = false;
};

// gtest prints a failing parameter with this instead of its bytes.
inline void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

inline std::string Describe(const PodTemplates& got) {
  std::string out;
  for (const CheckTemplate& t : got.templates) {
    out += "  template " + t.container + " " + t.annotation + " " +
           boost::json::serialize(t.init_config) + " " + boost::json::serialize(t.instance) +
           " tags:";
    for (const std::string& tag : t.tags) out += " " + tag;
    out += "\n";
  }
  for (const AnnotationError& e : got.errors)
    out += "  error " + e.annotation + ": " + e.message + "\n";
  return out;
}

inline void ExpectMatches(const Case& c, const PodTemplates& got) {
  SCOPED_TRACE("got:\n" + Describe(got));
  EXPECT_EQ(got.tolerate_unready, c.tolerate_unready);
  ASSERT_EQ(got.templates.size(), c.templates.size());
  for (std::size_t i = 0; i < c.templates.size(); ++i) {
    const WantTemplate& want = c.templates[i];
    const CheckTemplate& t = got.templates[i];
    EXPECT_EQ(t.container, want.container) << i;
    EXPECT_EQ(t.annotation, want.annotation) << i;
    EXPECT_EQ(t.init_config, boost::json::parse(want.init_config)) << i;
    EXPECT_EQ(t.instance, boost::json::parse(want.instance)) << i;
    EXPECT_EQ(t.tags, want.tags) << i;
  }
  ASSERT_EQ(got.errors.size(), c.errors.size());
  for (std::size_t i = 0; i < c.errors.size(); ++i) {
    const AnnotationError& e = got.errors[i];
    EXPECT_EQ(e.annotation, c.errors[i].annotation) << i;
    // Every message names the pod and the annotation.
    const std::string prefix = "pod shop/web-1: annotation " + c.errors[i].annotation + ": ";
    EXPECT_EQ(e.message.rfind(prefix, 0), 0u) << e.message;
    for (const std::string& part : c.errors[i].contains) {
      EXPECT_NE(e.message.find(part), std::string::npos) << e.message << "\nlacks: " << part;
    }
  }
}

// One table row: the pod's annotations in, the templates and errors expected out. The rows live
// in the test files (annotations_test.cc, annotation_tags_test.cc), which instantiate this suite;
// the one TEST_P is in annotations_test.cc.
class TemplatesFromAnnotationsTest : public ::testing::TestWithParam<Case> {};

}  // namespace expvar::discovery::annotations_testing
